"""The SIP2 codec and client, against frames other implementations produced and a scripted LMS."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime

from pysip2 import calculate_checksum
import pytest

from custom_components.smart_library.engine.lms.sip2 import (
    REQUEST_ACS_RESEND,
    AcsStatus,
    PatronInformation,
    Sip2ChecksumError,
    Sip2Client,
    Sip2Config,
    Sip2InputError,
    Sip2MalformedError,
    checksum,
    decode_frame,
    encode_frame,
    field_problem,
    login_request,
    next_sequence,
    patron_information_request,
    patron_input_problem,
    sc_status_request,
)
from scripts import sip2_probe

# Known-good frames from Evergreen's SIPServer test suite (evergreen-library-system/SIPServer,
# t/0001_checksum.t): "990 402.00" is the example on page 26 of 3M's SIP2 developers' guide (the
# suite's first version, 2010), "941" an example from CASSIE, and the 18s came "from a 3M
# V-series checkout running with the UTF8 encoding set" (Dan Scott, 2011, commit 5f3de48): their
# titles carry combining accents, so the checksums count UTF-8 bytes, not characters.
EVERGREEN_FRAMES = {
    "990 402.00AY1AZ": "FCB4",
    "941AY0AZ": "FDFD",
    "1804020120110630    110250AB30007008641424|AJLe zahir|CK001|AQOSUL|APOSUL|BGOSUL|"
    "AH2011-10-28 23:59:59|CSPB LP COE|AY7AZ": "E174",
    "1804020120110630    110249AB30007008503046|AJLe Pie\u0300ge de Bogota|CK001|AQOSUL|APOSUL|"
    "BGOSUL|AH2011-10-28 23:59:59|CSPB LP DAL|AY7AZ": "DCF8",
    "1804020120110630    110249AB30007008317298|AJUne e\u0301pouse presque parfaite! |CK001|"
    "AQOSUL|APOSUL|BGOSUL|AH2011-10-28 23:59:59|CSPB LP COL|AY8AZ": "D852",
    "1804020120110630    110249AB30007007632515|AJMeurtre a\u0300 Canton : (les dernie\u0300res "
    "enque\u0302tes du juge Ti)|CK001|AQOSUL|APOSUL|BGOSUL|AH2011-10-28 23:59:59|CSPB LP GUL|"
    "AY1AZ": "CD67",
}


@pytest.mark.parametrize(("prefix", "expected"), EVERGREEN_FRAMES.items())
def test_checksum_matches_evergreens_known_frames(prefix: str, expected: str) -> None:
    """Each checksum Evergreen's suite expects is what we compute over the UTF-8 bytes."""
    assert checksum(prefix.encode("utf-8")) == expected
    frame = (prefix + expected + "\r").encode("utf-8")
    decoded = decode_frame(
        frame, encoding="utf-8", fixed_lengths={"18": 24, "99": 8, "94": 1}
    )
    assert decoded.checksum == expected
    if decoded.command == "18":
        assert (decoded.first("AJ") or "?") in prefix


def test_login_frame_layout() -> None:
    """Our 93 for Evergreen's test login, sequence 5: fields, trailer, checksum by pysip2's rule."""
    frame = encode_frame(
        login_request("LoginUserID", "LoginPassword", "LocationCode"), sequence=5
    )
    prefix = b"9300CNLoginUserID|COLoginPassword|CPLocationCode|AY5AZ"
    assert frame == prefix + calculate_checksum(prefix).encode() + b"\r"
    assert decode_frame(b"941AY5AZFDF8\r").sequence == 5


def test_resend_requests_are_evergreens_constants() -> None:
    """97 with a checksum is Evergreen's REQUEST_ACS_RESEND_CKSUM; 96 decodes from its constant."""
    assert REQUEST_ACS_RESEND == b"97AZFEF5\r"
    assert decode_frame(b"96AZFEF6\r").command == "96"


def test_checksum_is_over_the_encoded_bytes() -> None:
    """A name outside ASCII: the checksum counts its bytes in the chosen encoding."""
    body = "64              00020261125    100000000000000000000000000000AODEMO|AA21000012|AEZoë Café|BLY|CQY|"
    for encoding in ("cp850", "utf-8"):
        frame = encode_frame(body, sequence=3, encoding=encoding)
        prefix = body.encode(encoding) + b"AY3AZ"
        # pysip2's checksum is an independent implementation of the same rule.
        assert frame == prefix + calculate_checksum(prefix).encode() + b"\r"
        decoded = decode_frame(frame, encoding=encoding)
        assert decoded.first("AE") == "Zoë Café"
        assert decoded.sequence == 3
    # Summing characters instead of bytes gives another checksum, which a server rejects.
    by_characters = f"{-sum(map(ord, body + 'AY3AZ')) & 0xFFFF:04X}"
    utf8_frame = body.encode() + b"AY3AZ" + by_characters.encode() + b"\r"
    with pytest.raises(Sip2ChecksumError):
        decode_frame(utf8_frame, encoding="utf-8")


@pytest.mark.parametrize("ending", [b"\r", b"\r\n", b"", b"\n"])
def test_answers_end_in_cr_or_crlf(ending: bytes) -> None:
    """CR, CRLF, and the LF a CRLF server leaves before the next frame are all accepted."""
    frame = decode_frame(b"\n" + b"941AY0AZFDFD" + ending)
    assert (frame.command, frame.fixed, frame.sequence) == ("94", "1", 0)


def test_a_wrong_checksum_is_detected() -> None:
    """One byte changed after the checksum was made: the answer is refused."""
    good = encode_frame("941", sequence=0)
    assert decode_frame(good).fixed == "1"
    with pytest.raises(Sip2ChecksumError):
        decode_frame(good.replace(b"941", b"940"))


def test_answers_without_error_detection_and_lower_case_checksums() -> None:
    """A server that sends no trailer, or lower-case hex, is understood."""
    assert decode_frame(b"941\r").sequence is None
    assert decode_frame(b"941AY0AZfdfd\r").checksum == "FDFD"


@pytest.mark.parametrize(
    "raw",
    [
        b"HTTP/1.1 400 Bad Request\r\n",
        b"64YYYY\r",  # a 64 cut short
        b"9\r",
        b"98YNNNNY030003" + b"\x00" * 20 + b"\r",
        b"64" + b" " * 59 + b"AO|A\r",  # a field without a two-character code
    ],
)
def test_what_is_not_a_sip2_answer_is_malformed(raw: bytes) -> None:
    """Garbage, truncated frames and broken fields raise Sip2MalformedError."""
    with pytest.raises(Sip2MalformedError):
        decode_frame(raw)


def test_sequence_numbers_wrap_after_nine() -> None:
    """AY is one digit: 9 is followed by 0; two digits are refused."""
    assert [next_sequence(n) for n in (0, 8, 9)] == [1, 9, 0]
    with pytest.raises(ValueError):
        encode_frame("9900802.00", sequence=10)


def test_patron_information_request_layout() -> None:
    """63: language, SIP date, blank summary, AO, AA, an empty AC present, the PIN in AD."""
    body = patron_information_request(
        "DEMO", "21000001", "1234", moment=datetime(2026, 11, 25, 9, 30, 5)
    )
    assert (
        body
        == "63000" + "20261125    093005" + " " * 10 + "AODEMO|AA21000001|AC|AD1234|"
    )
    assert sc_status_request() == "9900802.00"


@pytest.mark.parametrize("card", ["123|AD0000", "12\r34", "1234\n"])
def test_a_card_cannot_inject_fields(card: str) -> None:
    """A delimiter or line end in a value is refused, not sent."""
    with pytest.raises(ValueError):
        patron_information_request("DEMO", card, "1234")


def test_config_refuses_values_that_break_a_frame() -> None:
    """A '|' in the password or an unknown encoding is refused when the settings are made."""
    with pytest.raises(ValueError):
        Sip2Config("lms", login_user="sip", login_password="a|b")
    with pytest.raises(ValueError):
        Sip2Config("lms", encoding="latin-1")
    with pytest.raises(ValueError):
        Sip2Config("lms", login_user="€uro")  # not in cp850
    assert "secret" not in repr(Sip2Config("lms", login_password="secret"))


def test_patron_information_answer_is_read() -> None:
    """A 64: flags by position, BL and CQ, repeated AF, extension fields; no card in the repr."""
    status = "Y   Y     Y   "
    body = (
        f"64{status}00020261125    100000"
        + "0000" * 6
        + "AODEMO|AA21000007|AEFin Fines|BLY|CQN|BV25.00|PA20271125|PB19861026|PCADULT|"
        + "AFFines of 25.00 exceed the limit|AFInvalid PIN|"
    )
    answer = PatronInformation.from_frame(decode_frame(encode_frame(body, sequence=1)))
    assert answer.denied_flags == frozenset({0, 4, 10})
    assert (answer.valid_patron, answer.valid_patron_password) == (True, False)
    assert answer.screen_message == ("Fines of 25.00 exceed the limit", "Invalid PIN")
    assert answer.value("PA") == "20271125"
    assert answer.value("XX") is None
    assert "21000007" not in repr(answer)
    assert "Fin Fines" not in repr(answer)
    no_cq = PatronInformation.from_frame(
        decode_frame(body.replace("CQN|", "").encode() + b"\r")
    )
    assert no_cq.valid_patron_password is None


def test_status_answer_is_read() -> None:
    """A 98 as pysip2 sends it."""
    body = "98YNNNNY03000320261125    1000002.00AODEMO|AMDemo Library Service|BXNNNNYYYYNNNNNNNN|"
    frame = decode_frame(encode_frame(body, sequence=1))
    status = AcsStatus.from_frame(frame)
    assert status.online and not status.checkout_ok and status.offline_ok
    assert (status.protocol_version, status.institution_id) == ("2.00", "DEMO")
    assert status.library_name == "Demo Library Service"


# -- the client against a scripted LMS -----------------------------------------------------------


@dataclass
class ScriptedLms:
    """A bare asyncio server answering each request with what `answer` returns."""

    answer: Callable[[ScriptedLms, bytes], bytes | None]
    line_end: bytes = b"\r"
    encoding: str = "cp850"
    requests: list[bytes] = field(default_factory=list)
    connections: int = 0
    close_after: int | None = None  # close each connection after this many answers
    server: asyncio.Server | None = None

    @property
    def port(self) -> int:
        """Return the port served."""
        assert self.server is not None
        return int(self.server.sockets[0].getsockname()[1])

    async def _serve(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self.connections += 1
        answered = 0
        try:
            while True:
                frame = (await reader.readuntil(b"\r")).strip(b"\r\n")
                self.requests.append(frame)
                reply = self.answer(self, frame)
                if reply is not None:
                    writer.write(reply + self.line_end)
                    await writer.drain()
                answered += 1
                if self.close_after is not None and answered >= self.close_after:
                    break
        except asyncio.IncompleteReadError, ConnectionError:
            pass
        finally:
            writer.close()


def echo_sequence(lms: ScriptedLms, request: bytes, body: str) -> bytes:
    """Return `body` with the request's AY echoed and a checksum."""
    text = request.decode(lms.encoding)
    sequence = int(text[text.rindex("AY") + 2]) if "AY" in text[-9:] else None
    return encode_frame(body, sequence=sequence, encoding=lms.encoding).rstrip(b"\r")


type Start = Callable[[ScriptedLms], Awaitable[ScriptedLms]]

STATUS_98 = "98YNNNNY03000320261125    1000002.00AODEMO|BXNNNNYYYYNNNNNNNN|"


def koha_like(lms: ScriptedLms, request: bytes) -> bytes:
    """Answer 93, 99 and 63 as a Koha would (one patron, 'Zoë')."""
    command = request[:2]
    if command == b"93":
        return echo_sequence(lms, request, "941")
    if command == b"99":
        return echo_sequence(lms, request, STATUS_98)
    body = (
        "64              00020261125    100000"
        + "0000" * 6
        + "AODEMO|AA21000012|AEZoë Café|BLY|CQY|PB1986-10-26|PCADULT|AFBienvenue, Zoë|"
    )
    return echo_sequence(lms, request, body)


@pytest.fixture
async def scripted(socket_enabled: None) -> AsyncGenerator[Start]:
    """Start scripted LMSs on 127.0.0.1; close them afterwards."""
    started: list[ScriptedLms] = []

    async def start(lms: ScriptedLms) -> ScriptedLms:
        lms.server = await asyncio.start_server(lms._serve, "127.0.0.1", 0)
        started.append(lms)
        return lms

    yield start
    for lms in started:
        assert lms.server is not None
        lms.server.close()


def config(
    lms: ScriptedLms, encoding: str = "cp850", keepalive: float = 0
) -> Sip2Config:
    """Return client settings for a scripted LMS."""
    return Sip2Config(
        "127.0.0.1",
        lms.port,
        login_user="sip",
        login_password="pw",
        institution="DEMO",
        encoding=encoding,
        keepalive=keepalive,
    )


async def test_crlf_and_utf8_answers_and_sequence_wrapping(
    scripted: Start,
) -> None:
    """A Koha configured for CRLF and UTF-8; twelve requests number 0-9 then wrap to 0."""
    lms = await scripted(
        ScriptedLms(answer=koha_like, line_end=b"\r\n", encoding="utf-8")
    )
    client = Sip2Client(config(lms, encoding="utf-8"))
    try:
        for _ in range(10):
            answer = await client.patron_information("21000012", "3344")
            assert answer.screen_message == ("Bienvenue, Zoë",)
    finally:
        await client.close()
    sequences = [int(r.decode()[-7]) for r in lms.requests]
    assert sequences == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1]  # 93, 99, then ten 63s
    assert lms.requests[0].startswith(b"9300CNsip|COpw|")


async def test_an_answer_for_another_request_is_refused(
    scripted: Start,
) -> None:
    """An answer carrying another sequence number is not taken for ours."""

    def wrong_sequence(lms: ScriptedLms, request: bytes) -> bytes:
        if request[:2] == b"63":
            return encode_frame(
                "64" + " " * 59 + "AODEMO|AA1|AE|BLY|CQY|", sequence=7
            ).rstrip(b"\r")
        return koha_like(lms, request)

    lms = await scripted(ScriptedLms(answer=wrong_sequence))
    client = Sip2Client(config(lms))
    try:
        with pytest.raises(Sip2MalformedError):
            await client.patron_information("21000012", "3344")
        assert not client.connected
    finally:
        await client.close()


async def test_reconnects_after_the_lms_dropped_an_idle_connection(
    scripted: Start,
) -> None:
    """The LMS closes each connection after three answers; the next request reconnects once."""
    lms = await scripted(ScriptedLms(answer=koha_like, close_after=3))
    client = Sip2Client(config(lms))
    try:
        await client.patron_information("21000012", "3344")  # 93, 99, 63: then closed
        await client.patron_information("21000012", "3344")
    finally:
        await client.close()
    assert lms.connections == 2
    # The 63 written to the closed connection never reached the LMS; it went again, once.
    assert [r[:2] for r in lms.requests] == [b"93", b"99", b"63", b"93", b"99", b"63"]


async def test_keepalive_sends_status_while_idle(
    scripted: Start,
) -> None:
    """With a short keep-alive, an idle connection sees 99s and no other request."""
    seen = asyncio.Event()

    def count(lms: ScriptedLms, request: bytes) -> bytes | None:
        if request[:2] == b"99" and len(lms.requests) > 2:
            seen.set()
        return koha_like(lms, request)

    lms = await scripted(ScriptedLms(answer=count))
    client = Sip2Client(config(lms, keepalive=0.05))
    try:
        await client.connect()
        client.start_keepalive()
        async with asyncio.timeout(10):
            await seen.wait()
    finally:
        await client.close()
    assert {r[:2] for r in lms.requests[2:]} == {b"99"}
    assert lms.connections == 1


async def test_no_login_when_no_user_is_configured(
    scripted: Start,
) -> None:
    """A server that trusts the network: the client starts with 99, no 93."""
    lms = await scripted(ScriptedLms(answer=koha_like))
    client = Sip2Client(Sip2Config("127.0.0.1", lms.port, error_detection=False))
    try:
        await client.connect()
    finally:
        await client.close()
    assert lms.requests == [b"9900802.00"]


# -- what a person typed, checked before it goes into a frame (issue 19) ------------------------

UNCARRIABLE = [
    "12|34",  # the field delimiter: would start a field of its own
    "1234\r",  # CR ends a frame
    "12\n34",
    "1234\x00",
    "12\t34",
    "\x1b[2J",  # an escape sequence
    "12\u200b34",  # a zero-width space (a format character): looks like 1234
    "12\u202834",  # a line separator
]


@pytest.mark.parametrize("value", UNCARRIABLE)
def test_a_value_no_keypad_types_is_refused_before_a_frame_is_made(value: str) -> None:
    """As a card or as a PIN: Sip2InputError (code invalid_request), never a frame.

    The error names the field and the problem, never the value.
    """
    for card, pin in ((value, "1234"), ("21000001", value)):
        error = patron_input_problem(card, pin)
        assert isinstance(error, Sip2InputError) and error.code == "invalid_request"
        assert value not in str(error)
        with pytest.raises(Sip2InputError):
            patron_information_request("DEMO", card, pin)


def test_a_character_the_connections_charset_lacks_is_refused() -> None:
    """cp850 has no euro sign: refused for a cp850 connection, carried over UTF-8."""
    assert patron_input_problem("21000001", "€123", "cp850") is not None
    assert patron_input_problem("21000001", "€123", "utf-8") is None
    # ë is in cp850
    assert patron_input_problem("Zoë12345", "1234", "cp850") is None
    with pytest.raises(Sip2InputError):
        patron_information_request("DEMO", "21000001", "€123", encoding="cp850")
    assert field_problem("AbC123") is None and field_problem("") is None


def test_a_standing_recheck_sends_no_pin_field_at_all() -> None:
    """Without a PIN the 63 has no AD (an empty AD is a password Koha would check)."""
    body = patron_information_request(
        "DEMO", "21000001", None, moment=datetime(2026, 11, 25, 9, 30, 5)
    )
    assert body.endswith("AODEMO|AA21000001|AC|") and "AD" not in body[30:]


def test_the_probe_refuses_what_the_door_refuses_before_it_connects(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """scripts/sip2_probe.py uses the same check: exit 2, invalid_request, no connection tried.

    The address is never contacted (nothing listens there, and sockets are blocked in tests).
    """
    status = sip2_probe.main(
        ["127.0.0.1:9", "--institution", "DEMO", "--card", "21000001", "--pin", "12|34"]
    )
    err = capsys.readouterr().err
    assert status == 2
    assert "invalid_request" in err and "12|34" not in err
    status = sip2_probe.main(
        ["127.0.0.1:9", "--card", "21000001", "--pin", "€123", "--encoding", "cp850"]
    )
    assert status == 2 and "cp850" in capsys.readouterr().err
    # The check is made on the card as the gateway would send it (its card case applied):
    # cp850 has a small y with diaeresis but not its capital.
    assert patron_input_problem("\u00ff0001", "1234", "cp850") is None
    args = ["127.0.0.1:9", "--card", "\u00ff0001", "--pin", "1234"]
    assert sip2_probe.main([*args, "--card-case", "upper"]) == 2
    assert "the card holds a character cp850 cannot encode" in capsys.readouterr().err
