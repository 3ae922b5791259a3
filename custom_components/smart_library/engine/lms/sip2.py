"""An asyncio SIP2 client: the library management system (LMS) as the membership backend.

SIP2 (3M Standard Interchange Protocol 2.00) is line-oriented text over TCP: one request, one
answer, each a frame ending in a carriage return. This module holds

- the frame codec: `encode_frame` / `decode_frame`, with the optional error-detection trailer
  `AY<sequence>AZ<checksum>` (checksum = two's complement of the 16-bit sum of the *encoded
  bytes* from the first byte through `AZ`, four upper-case hex digits; sequence one digit 0-9,
  wrapping), CR or CRLF line ends, cp850 by default, UTF-8 as an option;
- the requests this integration sends: login (93/94), SC status (99/98), patron information
  (63/64, the PIN in `AD`; 64 carries the extension fields that 24 lacks; without `AD` for a
  re-check of a card's standing that evaluates no PIN), and request ACS resend (97);
- `patron_input_problem`: the one check of a card and PIN before they go into a frame (no `|`,
  no control or other unprintable character, nothing the connection's charset cannot encode),
  shared by the door path (engine.lms, engine.access) and scripts/sip2_probe.py;
- `Sip2Client`: one persistent connection (plain TCP or TLS) with log-in on connect, keep-alive
  (a periodic 99 while idle), reconnect on the next request after a loss, timeouts, a resend
  of the last message when the LMS answers 96, a 97 when an answer's checksum is wrong;
- typed results (`AcsStatus`, `PatronInformation`) and typed errors (`Sip2ConnectionError`,
  `Sip2TimeoutError`, `Sip2LoginError`, `Sip2MalformedError`).

No PIN, password or full card number is ever logged or kept in an error message.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
import contextlib
from dataclasses import dataclass, field
from datetime import datetime
import logging
import os
import re
import ssl
import time

_LOGGER = logging.getLogger(__name__)

DEFAULT_PORT = 6001
DEFAULT_ENCODING = "cp850"
ENCODINGS = ("cp850", "utf-8")
DEFAULT_TIMEOUT = (
    5.0  # seconds for one request and its answer (the access path uses its own)
)
DEFAULT_KEEPALIVE = 60.0  # seconds of idleness before a 99 keeps the connection warm
MAX_FRAME = 65536  # an answer longer than this without a CR is not SIP2
DELIMITER = "|"

# Length of the fixed part (after the two-character command) of the answers we read.
FIXED_LENGTHS: Mapping[str, int] = {
    "94": 1,  # ok
    "96": 0,  # request SC resend
    "98": 34,  # online, checkin, checkout, renewal, update, offline, timeout 3, retries 3, date 18, version 4
    "64": 59,  # patron status 14, language 3, date 18, six counts of 4
    "24": 35,  # patron status 14, language 3, date 18
    "36": 19,  # end session 1, date 18
}

# The 14 patron status flags of 24/64 ('Y' = denied), by position.
PATRON_STATUS_FLAGS: tuple[str, ...] = (
    "charge privileges denied",
    "renewal privileges denied",
    "recall privileges denied",
    "hold privileges denied",
    "card reported lost",
    "too many items charged",
    "too many items overdue",
    "too many renewals",
    "too many claims of items returned",
    "too many items lost",
    "excessive outstanding fines",
    "excessive outstanding fees",
    "recall overdue",
    "too many items billed",
)

# 97 with error detection carries a checksum but no sequence number (SIP2 2.00, and Evergreen's
# SIPServer Sip/Constants.pm: REQUEST_ACS_RESEND_CKSUM => '97AZFEF5').
REQUEST_ACS_RESEND = b"97AZFEF5\r"

_TRAILER_RE = re.compile(rb"(?:AY([0-9]))?AZ([0-9A-Fa-f]{4})$")
_FIELD_CODE_RE = re.compile(r"[A-Z0-9]{2}")


# -- errors -------------------------------------------------------------------------------------


class Sip2Error(Exception):
    """Any failure to hold a SIP2 conversation. Messages never contain a PIN, password or card."""


class Sip2ConnectionError(Sip2Error):
    """The LMS could not be reached, or the connection was lost."""


class Sip2TimeoutError(Sip2Error):
    """The LMS did not answer in time."""


class Sip2LoginError(Sip2Error):
    """The LMS refused the SIP login (94 with ok = 0): the account or its password is wrong."""


class Sip2MalformedError(Sip2Error):
    """The LMS answered something that is not the SIP2 answer expected."""


class Sip2ChecksumError(Sip2MalformedError):
    """An answer's checksum does not match its bytes."""


class Sip2InputError(ValueError):
    """A card or PIN a SIP2 field cannot carry; `code` is `invalid_request`.

    Raised before anything is sent. Its message names the field and the problem, never the value.
    """

    code = "invalid_request"

    def __init__(self, field_name: str, problem: str) -> None:
        """Create the error for `field_name` ("card", "PIN" or a field code)."""
        super().__init__(f"the {field_name} {problem}")
        self.field_name = field_name
        self.problem = problem


# -- the frame codec ----------------------------------------------------------------------------


def checksum(data: bytes) -> str:
    """Return the SIP2 checksum of `data` (every byte up to and including `AZ`).

    The two's complement of the 16-bit sum of the bytes, as four upper-case hex digits.
    """
    return f"{-sum(data) & 0xFFFF:04X}"


def next_sequence(sequence: int) -> int:
    """Return the sequence number after `sequence`: 0-9, then 0 again."""
    return (sequence + 1) % 10


def encode_frame(
    body: str, *, sequence: int | None, encoding: str = DEFAULT_ENCODING
) -> bytes:
    """Return one frame: `body`, with `AY<sequence>AZ<checksum>` unless `sequence` is None, and CR.

    `body` is the command and its fields (each identified field ending in `|`). The checksum is
    computed over the encoded bytes, so a character outside ASCII counts as cp850 or UTF-8 has it.
    """
    data = body.encode(encoding)
    if sequence is None:
        return data + b"\r"
    if not 0 <= sequence <= 9:
        raise ValueError("a SIP2 sequence number is one digit")
    data += b"AY%dAZ" % sequence
    return data + checksum(data).encode("ascii") + b"\r"


@dataclass(frozen=True)
class Frame:
    """One decoded frame: its command, fixed part and identified fields, in wire order."""

    command: str
    fixed: str
    fields: tuple[tuple[str, str], ...] = field(repr=False)
    sequence: int | None = None
    checksum: str | None = None

    def first(self, code: str) -> str | None:
        """Return the first value of field `code`, or None when it is absent."""
        for key, value in self.fields:
            if key == code:
                return value
        return None

    def every(self, code: str) -> tuple[str, ...]:
        """Return every value of field `code` (a repeatable field such as `AF`)."""
        return tuple(value for key, value in self.fields if key == code)

    def __repr__(self) -> str:
        """Show the command and the field codes present, never the values."""
        codes = ",".join(key for key, _ in self.fields)
        return f"Frame({self.command!r}, fields={codes!r}, sequence={self.sequence})"


def decode_frame(
    raw: bytes,
    *,
    encoding: str = DEFAULT_ENCODING,
    fixed_lengths: Mapping[str, int] = FIXED_LENGTHS,
) -> Frame:
    """Decode one answer. Raise Sip2ChecksumError or Sip2MalformedError.

    The frame may end in CR, CRLF or nothing (already split off), and may start with the LF left
    over from the previous frame's CRLF. A trailer `AY<n>AZ<xxxx>`, when present, is verified.
    """
    data = raw.strip(b"\r\n")
    match = _TRAILER_RE.search(data)
    sequence: int | None = None
    sum_text: str | None = None
    if match is not None:
        prefix = data[: match.start(2)]  # every byte through "AZ"
        sum_text = match.group(2).decode("ascii").upper()
        if (sum(prefix) + int(sum_text, 16)) & 0xFFFF:
            raise Sip2ChecksumError("answer checksum does not match")
        if match.group(1) is not None:
            sequence = int(match.group(1))
        data = data[: match.start()]
    if b"\r" in data or b"\n" in data or b"\x00" in data:
        raise Sip2MalformedError("answer holds a control character inside the frame")
    text = data.decode(encoding, errors="replace")
    command = text[:2]
    if command not in fixed_lengths:
        raise Sip2MalformedError(f"unexpected answer (command {command!r})")
    width = fixed_lengths[command]
    fixed = text[2 : 2 + width]
    if len(fixed) != width:
        raise Sip2MalformedError(f"answer {command} is truncated")
    fields: list[tuple[str, str]] = []
    for piece in text[2 + width :].split(DELIMITER):
        if not piece:
            continue
        code = piece[:2]
        if not _FIELD_CODE_RE.fullmatch(code):
            raise Sip2MalformedError(f"answer {command} has a malformed field")
        fields.append((code, piece[2:]))
    return Frame(command, fixed, tuple(fields), sequence, sum_text)


# -- requests -----------------------------------------------------------------------------------


def _field(code: str, value: str) -> str:
    """Return an identified field; refuse a value that would end it early or end the frame.

    The value's own characters are sent, whatever its type prints: a str subclass that masks
    itself when formatted (Home Assistant's glue masks PINs that way) still sends its digits.
    """
    value = str.__str__(value)
    if any(c in value for c in "|\r\n\x00"):
        raise ValueError(f"field {code} cannot hold '|', CR, LF or NUL")
    return f"{code}{value}{DELIMITER}"


def field_problem(value: str, encoding: str | None = DEFAULT_ENCODING) -> str | None:
    """Return why a patron field (card `AA`, PIN `AD`) cannot carry `value`, or None.

    Refused: the field delimiter `|`; any character `str.isprintable` rejects (CR, LF, NUL, tab
    and every other control or format character, line and paragraph separators, unassigned
    code points: no keypad or card reader types them, and CR ends a frame); a character the
    connection's `encoding` (cp850 by default) cannot encode. With `encoding` None the last
    check is left out. The answer never contains the value.
    """
    value = str.__str__(value)
    if DELIMITER in value:
        return "holds the SIP2 field delimiter '|'"
    if not value.isprintable():
        return "holds a control or other unprintable character"
    if encoding is not None:
        try:
            value.encode(encoding)
        except UnicodeEncodeError:
            return f"holds a character {encoding} cannot encode"
    return None


def patron_input_problem(
    card: str, pin: str | None, encoding: str | None = DEFAULT_ENCODING
) -> Sip2InputError | None:
    """Return the error a card and PIN would raise in a 63, or None when both can be sent.

    The one check of what a person typed before it goes to the library system: the door path
    (engine.lms's gateway, engine.access) refuses such a request with `invalid_request` before
    any lock-out is counted or the LMS is asked, and scripts/sip2_probe.py before it connects.
    `pin` None: a re-check without a PIN.
    """
    if (problem := field_problem(card, encoding)) is not None:
        return Sip2InputError("card", problem)
    if pin is not None and (problem := field_problem(pin, encoding)) is not None:
        return Sip2InputError("PIN", problem)
    return None


def sip_datetime(moment: datetime) -> str:
    """Return the 18-character SIP2 date: YYYYMMDD, four blanks (local time), HHMMSS."""
    return f"{moment:%Y%m%d}    {moment:%H%M%S}"


def login_request(user: str, password: str, location: str = "") -> str:
    """Return the body of a 93 login (user id and password in plain text, algorithm 0)."""
    body = "9300" + _field("CN", user) + _field("CO", password)
    if location:
        body += _field("CP", location)
    return body


def sc_status_request(
    status: int = 0, print_width: int = 80, version: str = "2.00"
) -> str:
    """Return the body of a 99 SC status."""
    return f"99{status:d}{print_width:03d}{version}"


def patron_information_request(
    institution: str,
    card: str,
    pin: str | None,
    *,
    terminal_password: str = "",
    language: str = "000",
    moment: datetime | None = None,
    encoding: str | None = None,
) -> str:
    """Return the body of a 63 patron information request with the PIN in `AD`.

    `AC` (terminal password) is sent even when empty: some servers expect the field present.
    The summary asks for no item lists. `pin` None leaves `AD` out altogether (optional in a
    63): the LMS then evaluates no PIN. An *empty* `AD` is not the same: Koha checks an empty
    password when the field is present (C4/SIP/Sip/MsgType.pm, `handle_patron_info`), which
    can count as a failed login against the member's account there.

    Raise Sip2InputError when the card or PIN cannot be carried (see `patron_input_problem`;
    with `encoding` None the charset is left to the frame's encoder).
    """
    if (error := patron_input_problem(card, pin, encoding)) is not None:
        raise error
    when = sip_datetime(moment or datetime.now())
    body = (
        f"63{language}{when}{' ' * 10}"
        + _field("AO", institution)
        + _field("AA", card)
        + _field("AC", terminal_password)
    )
    return body if pin is None else body + _field("AD", pin)


# -- typed answers ------------------------------------------------------------------------------


def _yes_no(value: str | None) -> bool | None:
    """Return True for Y, False for N, None when the field is absent or blank."""
    if value is None or not value.strip():
        return None
    return value.strip().upper() == "Y"


@dataclass(frozen=True)
class AcsStatus:
    """A 98 ACS status answer."""

    online: bool
    checkin_ok: bool
    checkout_ok: bool
    renewal_policy: bool
    status_update_ok: bool
    offline_ok: bool
    timeout_period: str
    retries_allowed: str
    date_time: str
    protocol_version: str
    institution_id: str
    library_name: str | None
    supported_messages: str
    terminal_location: str | None
    screen_message: tuple[str, ...]

    @classmethod
    def from_frame(cls, frame: Frame) -> AcsStatus:
        """Read a 98 frame."""
        f = frame.fixed
        return cls(
            online=f[0] == "Y",
            checkin_ok=f[1] == "Y",
            checkout_ok=f[2] == "Y",
            renewal_policy=f[3] == "Y",
            status_update_ok=f[4] == "Y",
            offline_ok=f[5] == "Y",
            timeout_period=f[6:9],
            retries_allowed=f[9:12],
            date_time=f[12:30],
            protocol_version=f[30:34],
            institution_id=frame.first("AO") or "",
            library_name=frame.first("AM"),
            supported_messages=frame.first("BX") or "",
            terminal_location=frame.first("AN"),
            screen_message=frame.every("AF"),
        )


@dataclass(frozen=True)
class PatronInformation:
    """A 64 patron information answer: what the LMS says about one card and PIN.

    `fields` holds every identified field (extension fields included) so that a dialect can pick
    its own; the card number (`AA`) and the name are in it, so the repr shows neither.
    """

    patron_status: str  # 14 characters, 'Y' = denied
    language: str
    transaction_date: str
    valid_patron: bool | None  # BL
    valid_patron_password: bool | None  # CQ; None when the LMS left it out
    screen_message: tuple[str, ...]  # AF
    fields: Mapping[str, tuple[str, ...]] = field(repr=False)

    @classmethod
    def from_frame(cls, frame: Frame) -> PatronInformation:
        """Read a 64 frame."""
        f = frame.fixed
        values: dict[str, list[str]] = {}
        for key, value in frame.fields:
            values.setdefault(key, []).append(value)
        return cls(
            patron_status=f[0:14],
            language=f[14:17],
            transaction_date=f[17:35],
            valid_patron=_yes_no(frame.first("BL")),
            valid_patron_password=_yes_no(frame.first("CQ")),
            screen_message=frame.every("AF"),
            fields={k: tuple(v) for k, v in values.items()},
        )

    @property
    def denied_flags(self) -> frozenset[int]:
        """Return the positions (0-13) of the status flags set to 'Y'."""
        return frozenset(
            n for n, c in enumerate(self.patron_status[:14]) if c.upper() == "Y"
        )

    def value(self, code: str) -> str | None:
        """Return the first value of field `code`, or None."""
        values = self.fields.get(code)
        return values[0] if values else None


def _check_answer(answer: Frame, expect: str, sequence: int | None) -> None:
    """Raise Sip2MalformedError unless `answer` is `expect` for the request sent as `sequence`."""
    if answer.command != expect:
        raise Sip2MalformedError(f"expected answer {expect}, got {answer.command}")
    if sequence is not None and answer.sequence not in (None, sequence):
        raise Sip2MalformedError(
            f"answer {expect} carries sequence {answer.sequence}, not {sequence}"
        )


# -- the client ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sip2Config:
    """How to reach and log in to the LMS. The password never appears in a repr."""

    host: str
    port: int = DEFAULT_PORT
    login_user: str = ""  # empty: no 93 login (servers that trust the network)
    login_password: str = field(default="", repr=False)
    institution: str = ""  # AO
    location: str = ""  # CP in the login
    terminal_password: str = field(default="", repr=False)  # AC
    ssl_context: ssl.SSLContext | None = field(default=None, compare=False)
    server_hostname: str | None = None  # for TLS, when it differs from `host`
    encoding: str = DEFAULT_ENCODING
    error_detection: bool = True  # send AY/AZ and verify answers
    timeout: float = DEFAULT_TIMEOUT
    keepalive: float = DEFAULT_KEEPALIVE  # 0: no keep-alive
    resend_attempts: int = 3  # answers of 96 or bad checksums tolerated per request

    def __post_init__(self) -> None:
        """Refuse settings that cannot make a valid login."""
        if self.encoding not in ENCODINGS:
            raise ValueError(f"encoding must be one of {ENCODINGS}")
        for name in (
            "login_user",
            "login_password",
            "institution",
            "location",
            "terminal_password",
        ):
            value: str = getattr(self, name)
            if any(c in value for c in "|\r\n\x00"):
                raise ValueError(f"{name} cannot hold '|', CR, LF or NUL")
            value.encode(self.encoding)  # UnicodeEncodeError is a ValueError

    @property
    def tls(self) -> bool:
        """Return True when the connection is wrapped in TLS."""
        return self.ssl_context is not None


class Sip2Client:
    """One persistent SIP2 connection to an LMS, shared by every request of a library service.

    Requests are serialised (SIP2 has no request ids). The connection opens on first use (TCP,
    TLS when configured, then 93 login and 99 status), is kept warm by a 99 after `keepalive`
    seconds of idleness, and is reopened by the next request after it was lost. A request that
    times out or is cancelled closes the connection, so a late answer can never be read as the
    answer to the next request.
    """

    def __init__(self, config: Sip2Config) -> None:
        """Create the client; nothing is opened until the first request or `connect`."""
        self.config = config
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._lock = asyncio.Lock()
        self._sequence = 0
        self._last_used = 0.0
        self._keepalive_task: asyncio.Task[None] | None = None
        self.status: AcsStatus | None = None  # the last 98 received

    # -- lifecycle ----------------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        """Return True while a logged-in connection is open."""
        return self._writer is not None and not self._writer.is_closing()

    async def connect(self) -> AcsStatus:
        """Open the connection (closing any old one), log in and ask for the status."""
        async with self._lock:
            await self._close_locked()
            return await self._open_locked()

    async def close(self) -> None:
        """Close the connection and stop the keep-alive."""
        if self._keepalive_task is not None:
            self._keepalive_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._keepalive_task
            self._keepalive_task = None
        async with self._lock:
            await self._close_locked()

    def start_keepalive(self) -> None:
        """Start the background keep-alive (a 99 after `keepalive` idle seconds); idempotent."""
        if self.config.keepalive <= 0:
            return
        if self._keepalive_task is None or self._keepalive_task.done():
            self._keepalive_task = asyncio.create_task(
                self._keepalive_loop(), name="sip2-keepalive"
            )

    async def _keepalive_loop(self) -> None:
        """Send a 99 whenever the open connection has been idle for `keepalive` seconds."""
        interval = self.config.keepalive
        while True:
            wait = interval
            if self.connected:
                wait -= time.monotonic() - self._last_used
            await asyncio.sleep(max(wait, 0.05))
            if not self.connected or time.monotonic() - self._last_used < interval:
                continue
            try:
                await self.sc_status()
            except Sip2Error as err:
                # The next request reconnects; nothing to do but say so.
                _LOGGER.debug("SIP2 keep-alive failed: %s", err)

    # -- requests -----------------------------------------------------------------------------

    async def sc_status(self) -> AcsStatus:
        """Send 99 and return the 98 (connecting and logging in first when needed)."""
        frame = await self._request(sc_status_request(), "98")
        self.status = AcsStatus.from_frame(frame)
        return self.status

    async def patron_information(self, card: str, pin: str) -> PatronInformation:
        """Send 63 for `card` with `pin` in `AD` and return the 64.

        Raise Sip2InputError (nothing sent) for a card or PIN the connection cannot carry.
        """
        body = patron_information_request(
            self.config.institution,
            card,
            pin,
            terminal_password=self.config.terminal_password,
            encoding=self.config.encoding,
        )
        frame = await self._request(body, "64")
        return PatronInformation.from_frame(frame)

    async def patron_standing(self, card: str) -> PatronInformation:
        """Send 63 for `card` without `AD` (no PIN evaluated) and return the 64.

        For a re-check of a card's standing (blocked, lost, expired) between its holder's
        visits: the answer's `CQ` means nothing here (absent, or N), its `BL`, status flags and
        extension fields do.
        """
        body = patron_information_request(
            self.config.institution,
            card,
            None,
            terminal_password=self.config.terminal_password,
            encoding=self.config.encoding,
        )
        frame = await self._request(body, "64")
        return PatronInformation.from_frame(frame)

    async def _request(self, body: str, expect: str) -> Frame:
        """Send one request on the shared connection and return its answer.

        A connection that was already open and turns out dead (the LMS closed it while idle) is
        reopened once and the request sent again; one opened for this request is not retried.
        """
        async with self._lock:
            fresh = not self.connected
            if fresh:
                await self._open_locked()
            try:
                return await self._exchange_locked(body, expect)
            except Sip2ConnectionError:
                await self._close_locked()
                if fresh:
                    raise
            _LOGGER.debug("SIP2 connection was lost while idle; reconnecting")
            await self._open_locked()
            try:
                return await self._exchange_locked(body, expect)
            except Sip2ConnectionError:
                await self._close_locked()
                raise

    # -- connection internals (hold the lock) ---------------------------------------------------

    async def _open_locked(self) -> AcsStatus:
        """Open TCP (or TLS), log in (93/94) and read the status (99/98)."""
        cfg = self.config
        try:
            async with asyncio.timeout(cfg.timeout):
                self._reader, self._writer = await asyncio.open_connection(
                    cfg.host,
                    cfg.port,
                    ssl=cfg.ssl_context,
                    server_hostname=(cfg.server_hostname or cfg.host)
                    if cfg.ssl_context
                    else None,
                    limit=MAX_FRAME,
                )
        except TimeoutError as err:
            raise Sip2TimeoutError(
                f"no connection to {cfg.host}:{cfg.port} within {cfg.timeout:g} s"
            ) from err
        except ssl.SSLError as err:
            raise Sip2ConnectionError(
                f"TLS with {cfg.host}:{cfg.port} failed: {err.reason or err}"
            ) from err
        except OSError as err:
            why = os.strerror(err.errno).lower() if err.errno else str(err)
            raise Sip2ConnectionError(
                f"cannot connect to {cfg.host}:{cfg.port}: {why}"
            ) from err
        self._sequence = 0
        try:
            if cfg.login_user:
                await self._login_locked()
            status = await self._exchange_locked(sc_status_request(), "98")
        except BaseException:
            await self._close_locked()
            raise
        self.status = AcsStatus.from_frame(status)
        return self.status

    async def _login_locked(self) -> None:
        """Send 93; raise Sip2LoginError unless the answer is 94 with ok = 1."""
        cfg = self.config
        try:
            answer = await self._exchange_locked(
                login_request(cfg.login_user, cfg.login_password, cfg.location), "94"
            )
        except Sip2ConnectionError as err:
            # Some servers close the connection instead of answering 940.
            raise Sip2LoginError(
                "the LMS closed the connection after the login"
            ) from err
        if answer.fixed != "1":
            raise Sip2LoginError("the LMS refused the SIP login")

    async def _close_locked(self) -> None:
        """Close the connection, if any (never raises)."""
        writer, self._writer, self._reader = self._writer, None, None
        if writer is None:
            return
        writer.close()
        with contextlib.suppress(Exception):
            async with asyncio.timeout(1):
                await writer.wait_closed()

    async def _exchange_locked(self, body: str, expect: str) -> Frame:
        """Send `body` and return the answer `expect`, within the timeout.

        On a timeout, a cancellation or a malformed answer the connection is closed, so nothing
        read later can be taken for the answer to another request.
        """
        cfg = self.config
        sequence = self._sequence if cfg.error_detection else None
        if cfg.error_detection:
            self._sequence = next_sequence(self._sequence)
        try:
            async with asyncio.timeout(cfg.timeout):
                answer = await self._converse(body, expect, sequence)
        except TimeoutError as err:
            await self._close_locked()
            raise Sip2TimeoutError(
                f"no answer {expect} within {cfg.timeout:g} s"
            ) from err
        except Sip2MalformedError, asyncio.CancelledError:
            await self._close_locked()
            raise
        self._last_used = time.monotonic()
        return answer

    async def _converse(self, body: str, expect: str, sequence: int | None) -> Frame:
        """Send the frame; resend it on 96, ask for the answer again (97) on a bad checksum."""
        cfg = self.config
        frame = encode_frame(body, sequence=sequence, encoding=cfg.encoding)
        await self._send(frame)
        for _attempt in range(cfg.resend_attempts + 1):
            try:
                answer = decode_frame(await self._read_frame(), encoding=cfg.encoding)
            except Sip2ChecksumError:
                _LOGGER.debug("SIP2 answer with a bad checksum; asking again (97)")
                await self._send(REQUEST_ACS_RESEND if cfg.error_detection else b"97\r")
                continue
            if answer.command == "96":
                _LOGGER.debug("the LMS asked for a resend (96)")
                await self._send(frame)
                continue
            _check_answer(answer, expect, sequence)
            return answer
        raise Sip2MalformedError(
            f"no clean answer {expect} after {cfg.resend_attempts} resends"
        )

    async def _send(self, frame: bytes) -> None:
        """Write one frame."""
        if self._writer is None:
            raise Sip2ConnectionError("not connected")
        try:
            self._writer.write(frame)
            await self._writer.drain()
        except (OSError, RuntimeError) as err:
            raise Sip2ConnectionError(f"connection lost while sending: {err}") from err

    async def _read_frame(self) -> bytes:
        """Read up to the next CR (an LF left from a CRLF is stripped by the decoder)."""
        if self._reader is None:
            raise Sip2ConnectionError("not connected")
        try:
            data = await self._reader.readuntil(b"\r")
            while data.strip(b"\r\n") == b"":  # a bare line end between frames
                data = await self._reader.readuntil(b"\r")
        except asyncio.IncompleteReadError as err:
            raise Sip2ConnectionError("the LMS closed the connection") from err
        except asyncio.LimitOverrunError as err:
            raise Sip2MalformedError(
                f"answer longer than {MAX_FRAME} bytes without an end"
            ) from err
        except (OSError, ssl.SSLError) as err:
            raise Sip2ConnectionError(f"connection lost: {err}") from err
        return data
