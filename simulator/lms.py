"""A simulated library management system (LMS) speaking SIP2: python -m simulator.lms [--port 6001].

The SIP2 side is pysip2 (PyPI, MIT): its server, its codec, its message models — an
implementation independent of ours (custom_components/smart_library/engine/sip2.py), which is
the point: the integration's client is tested against somebody else's reading of the protocol.

How pysip2 0.1.0 is extended, minimally:
- Its 64 model (`PatronInformationResponse`) has no extension fields. `ExtendedPatronInformation`
  subclasses it with the fields the dialects need (Evergreen/Koha `PA` expiry, `PB` birth date,
  `PC` category; Polaris `BC` birth date, `PX` expiry; `XE`/`XB`/`XC` for a "custom" dialect) and
  registers a layout for it in `pysip2.models.MESSAGE_SPECS_BY_TYPE` — the base layout with the
  extension fields inserted before `AF`. pysip2's encoder picks the layout by the model's type,
  and the server accepts the subclass where a 64 is due; decoding and every other message are
  untouched.
- pysip2's `SIP2Server.start()` resolves its host through AnyIO's getaddrinfo, which the Home
  Assistant test harness refuses (it allows no name resolution, and AnyIO passes the address as
  bytes). `_LoopbackSip2Server` adds one method that serves pysip2's own connection handler on
  a socket bound to 127.0.0.1 beforehand (AnyIO's `SocketListener.from_socket`); the protocol
  handling is pysip2's, unchanged.
- Fault modes live in a small TCP relay in front of pysip2's server (the port clients see), the
  way stunnel or a load balancer would sit in front of a real LMS. It passes frames through
  unchanged unless a fault is switched on: down (nothing listens, open connections dropped),
  slow (each answer delayed), garbage (answers replaced by an HTTP error line), bad checksums
  (the next N answers' checksums altered), resend (the next N requests answered with pysip2's
  own 96 instead of being passed on), and, in pysip2's login handler, login refused (94 ok=0,
  then pysip2 closes the connection). TLS is terminated by the relay too, as stunnel would.

Patrons (dates relative to today; PINs are demo data):

    card      PIN   what it exercises
    21000001  1234  an adult in good standing: granted
    21000002  2345  card expired (the LMS also sets flag 0, as Evergreen and Koha do)
    21000003  3456  aged 12: the 16+ rule (only with an adult of 18+)
    21000004  4567  aged 17: may come alone, may not bring a child
    21000005  5678  flag 0: charge privileges denied (e.g. debarred)
    21000006  6789  flag 4: card reported lost
    21000007  7890  flag 10: excessive outstanding fines
    21000008  8901  category TEMP (a category a policy may deny)
    21000009  9012  the LMS leaves CQ (valid PIN) out: never authenticated
    21000010  1122  flag 2 only (recall privileges denied, Evergreen's habit): granted
    21000011  2233  no birth date on record
    21000012  3344  a name and screen message outside ASCII (encodings)
    any other card  unknown to the LMS (BL = N)

While it runs, type commands on standard input:

    down on|off       stop/start listening (open connections dropped)
    slow SECONDS      delay every answer (0 = off)
    garbage on|off    answer with an HTTP error line instead of SIP2
    badsum N          alter the checksum of the next N answers
    resend N          answer the next N requests with 96 (resend)
    refuse on|off     refuse the SIP login
    dialect NAME      evergreen, koha, polaris or custom
    patrons           print the patrons            status    print the fault modes
    quit
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from dataclasses import dataclass, field
from datetime import date, timedelta
import logging
import os
import signal
import socket
import ssl
import stat
import sys

from anyio.abc import SocketListener
import msgspec
from pysip2 import (
    LOGIN,
    PATRON_INFORMATION,
    LoginRequest,
    LoginResponse,
    PatronInformationRequest,
    PatronInformationResponse,
    RequestContext,
    RequestSCResend,
    SIP2Server,
    encode_message,
)
from pysip2.models import MESSAGE_SPECS_BY_TYPE, MessageSpec, ident

_LOGGER = logging.getLogger("simulator.lms")

DEFAULT_PORT = 6001
DIALECTS = ("evergreen", "koha", "polaris", "custom")
HELP = __doc__.split("on standard input:", 1)[1].rstrip() if __doc__ else ""
PATRONS = (
    __doc__.split("Patrons ", 1)[1].split("While it runs", 1)[0].rstrip()
    if __doc__
    else ""
)


# -- pysip2's 64 with extension fields ------------------------------------------------------------


class ExtendedPatronInformation(PatronInformationResponse, frozen=True, kw_only=True):
    """A 64 with the extension fields LMSs add (pysip2's model has none)."""

    expiry_pa: str | None = (
        None  # PA: Evergreen/Koha expiry (Polaris uses PA for something else)
    )
    birth_date_pb: str | None = None  # PB: Evergreen/Koha birth date
    category_pc: str | None = None  # PC: Evergreen/Koha profile or category
    birth_date_bc: str | None = None  # BC: Polaris birth date
    expiry_px: str | None = None  # PX: Polaris expiry
    expiry_xe: str | None = None  # XE, XB, XC: the "custom" dialect of our tests
    birth_date_xb: str | None = None
    category_xc: str | None = None


_EXTENSION_FIELDS = (
    ident("expiry_pa", "PA"),
    ident("birth_date_pb", "PB"),
    ident("category_pc", "PC"),
    ident("birth_date_bc", "BC"),
    ident("expiry_px", "PX"),
    ident("expiry_xe", "XE"),
    ident("birth_date_xb", "XB"),
    ident("category_xc", "XC"),
)


def _register_extended_64() -> None:
    """Give pysip2's encoder a layout for the extended 64: the base one, extensions before AF."""
    if ExtendedPatronInformation in MESSAGE_SPECS_BY_TYPE:
        return
    base = MESSAGE_SPECS_BY_TYPE[PatronInformationResponse]
    names = [f.name for f in base.fields]
    at = names.index("screen_message")
    fields = (*base.fields[:at], *_EXTENSION_FIELDS, *base.fields[at:])
    MESSAGE_SPECS_BY_TYPE[ExtendedPatronInformation] = MessageSpec(
        base.command_id, ExtendedPatronInformation, fields
    )


_register_extended_64()


class _LoopbackSip2Server(SIP2Server):
    """pysip2's server, serving a socket bound beforehand (see the module docstring)."""

    async def serve_socket(self, sock: socket.socket) -> None:
        """Serve connections on the listening `sock` until cancelled."""
        listener = await SocketListener.from_socket(sock)
        async with listener:
            await listener.serve(self._handle_connection)


# -- patrons --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SimPatron:
    """A patron of the simulated LMS. Ages and expiry are relative to the LMS's `today`."""

    card: str
    pin: str
    name: str
    age: int | None = 40  # None: no birth date on record
    expires_in_days: int = 365  # negative: expired
    category: str = "ADULT"
    flags: frozenset[int] = (
        frozenset()
    )  # positions 0-13 of the patron status set to 'Y'
    reports_pin: bool = True  # False: CQ left out of the answer
    screen_message: str = ""
    fee_amount: str | None = None

    def birth_date(self, today: date) -> date | None:
        """Return the birth date (the patron's birthday fell a month ago)."""
        if self.age is None:
            return None
        born = today - timedelta(days=30)
        return born.replace(year=born.year - self.age, day=min(born.day, 28))

    def expiry(self, today: date) -> date:
        """Return the card's expiry date."""
        return today + timedelta(days=self.expires_in_days)


DEMO_PATRONS: tuple[SimPatron, ...] = (
    SimPatron("21000001", "1234", "Ada Adult"),
    SimPatron(
        "21000002", "2345", "Eli Expired", expires_in_days=-10, flags=frozenset({0})
    ),
    SimPatron("21000003", "3456", "Jo Junior", age=12, category="JUV"),
    SimPatron("21000004", "4567", "Sam Seventeen", age=17, category="YA"),
    SimPatron(
        "21000005",
        "5678",
        "Dee Debarred",
        flags=frozenset({0}),
        screen_message="Patron is restricted",
    ),
    SimPatron("21000006", "6789", "Lou Lost", flags=frozenset({4})),
    SimPatron(
        "21000007",
        "7890",
        "Fin Fines",
        flags=frozenset({10}),
        fee_amount="25.00",
        screen_message="Fines of 25.00 exceed the limit",
    ),
    SimPatron("21000008", "8901", "Tam Temporary", category="TEMP"),
    SimPatron("21000009", "9012", "Cy Blank", reports_pin=False),
    SimPatron("21000010", "1122", "Rae Recall", flags=frozenset({2})),
    SimPatron("21000011", "2233", "Nob Birthless", age=None),
    SimPatron(
        "21000012",
        "3344",
        "Zoë Café",
        screen_message="Bienvenue, Zoë",
    ),
)


@dataclass
class LmsFaults:
    """Fault modes, switchable while the LMS runs."""

    down: bool = False
    delay: float = 0.0  # seconds before each answer
    garbage: bool = False
    bad_checksums: int = 0  # how many of the next answers get a wrong checksum
    resend: int = 0  # how many of the next requests are answered 96
    refuse_login: bool = False

    def describe(self) -> str:
        """Return the fault modes as one line."""
        return (
            f"down={'on' if self.down else 'off'} slow={self.delay:g}s "
            f"garbage={'on' if self.garbage else 'off'} badsum={self.bad_checksums} "
            f"resend={self.resend} refuse={'on' if self.refuse_login else 'off'}"
        )


def _ymd(day: date | None) -> str | None:
    return None if day is None else f"{day:%Y%m%d}"


@dataclass
class SimulatedLms:
    """A SIP2 LMS on 127.0.0.1: pysip2's server behind a relay that injects faults."""

    patrons: tuple[SimPatron, ...] = DEMO_PATRONS
    dialect: str = "evergreen"
    login_user: str = "sip"
    login_password: str = "sip-password"
    institution: str = "DEMO"
    library_name: str = "Demo Library Service"
    encoding: str = "cp850"
    today: date | None = None  # None: the real date, each time
    ssl_context: ssl.SSLContext | None = None  # the relay speaks TLS (stunnel-style)
    faults: LmsFaults = field(default_factory=LmsFaults)
    received: list[str] = field(default_factory=list)  # command ids received, in order
    connections: int = 0  # connections accepted by the relay

    def __post_init__(self) -> None:
        """Build pysip2's server and its handlers."""
        if self.dialect not in DIALECTS:
            raise ValueError(f"dialect must be one of {DIALECTS}")
        self._by_card = {p.card: p for p in self.patrons}
        self.sip = _LoopbackSip2Server(
            institution_id=self.institution,
            library_name=self.library_name,
            encoding=self.encoding,
            login_required=True,
        )
        self.sip.route(LOGIN)(self._login)
        self.sip.route(PATRON_INFORMATION)(self._patron_information)
        self._inner_port = 0
        self._host = "127.0.0.1"
        self.port = 0
        self._inner_task: asyncio.Task[None] | None = None
        self._relay: asyncio.Server | None = None
        self._open: set[asyncio.StreamWriter] = set()

    # -- pysip2 handlers ------------------------------------------------------------------------

    def _today(self) -> date:
        return self.today or date.today()

    async def _login(
        self, req: LoginRequest, ctx: RequestContext[LoginRequest, LoginResponse]
    ) -> LoginResponse:
        ok = (
            not self.faults.refuse_login
            and req.login_user_id == self.login_user
            and req.login_password == self.login_password
        )
        return LoginResponse(ok="1" if ok else "0")

    async def _patron_information(
        self,
        req: PatronInformationRequest,
        ctx: RequestContext[PatronInformationRequest, PatronInformationResponse],
    ) -> PatronInformationResponse:
        patron = self._by_card.get(req.patron_identifier)
        if patron is None:
            # As Koha and Evergreen answer an unknown card: no privileges, BL = N.
            return PatronInformationResponse(
                patron_status="YYYY" + " " * 10,
                language=req.language,
                transaction_date=ctx.now_18(),
                hold_items_count="0000",
                overdue_items_count="0000",
                charged_items_count="0000",
                fine_items_count="0000",
                recall_items_count="0000",
                unavailable_holds_count="0000",
                institution_id=self.institution,
                patron_identifier=req.patron_identifier,
                personal_name="",
                valid_patron="N",
                screen_message=("Invalid patron barcode",),
            )
        today = self._today()
        pin_ok = req.patron_password == patron.pin
        messages = [m for m in (patron.screen_message,) if m]
        if not pin_ok and patron.reports_pin:
            messages.append("Invalid PIN")
        birth, expiry = patron.birth_date(today), patron.expiry(today)
        extensions: dict[str, str | None] = {}
        if self.dialect in ("evergreen", "koha"):
            extensions = {
                "expiry_pa": _ymd(expiry),
                "birth_date_pb": _ymd(birth),
                "category_pc": patron.category,
            }
        elif self.dialect == "polaris":
            extensions = {
                # PA is not the expiry in Polaris: a date-like decoy catches a wrong dialect.
                "expiry_pa": "20000101",
                "birth_date_bc": None if birth is None else f"{birth:%Y%m%d}    000000",
                "expiry_px": f"{expiry:%Y%m%d}    235959",
            }
        else:
            extensions = {
                "expiry_xe": expiry.isoformat(),
                "birth_date_xb": None if birth is None else birth.isoformat(),
                "category_xc": patron.category,
            }
        answer = ExtendedPatronInformation(
            patron_status="".join("Y" if n in patron.flags else " " for n in range(14)),
            language=req.language,
            transaction_date=ctx.now_18(),
            hold_items_count="0000",
            overdue_items_count="0000",
            charged_items_count="0000",
            fine_items_count="0000",
            recall_items_count="0000",
            unavailable_holds_count="0000",
            institution_id=self.institution,
            patron_identifier=patron.card,
            personal_name=patron.name,
            valid_patron="Y",
            valid_patron_password=("Y" if pin_ok else "N")
            if patron.reports_pin
            else None,
            currency_type="GBP" if patron.fee_amount else None,
            fee_amount=patron.fee_amount,
            screen_message=tuple(messages),
        )
        return msgspec.structs.replace(answer, **extensions)

    # -- serving --------------------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> int:
        """Start pysip2's server (an internal port) and the relay on `host`:`port`; return it."""
        inner = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        inner.bind(("127.0.0.1", 0))
        inner.listen()
        self._inner_port = inner.getsockname()[1]
        self._inner_task = asyncio.create_task(self.sip.serve_socket(inner))
        self._host = host
        await self._listen(port)
        return self.port

    async def _listen(self, port: int) -> None:
        self._relay = await asyncio.start_server(
            self._relay_connection, self._host, port, ssl=self.ssl_context
        )
        self.port = self._relay.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Stop listening, drop every connection and stop pysip2's server."""
        await self.set_down(True)
        if self._inner_task is not None:
            self._inner_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._inner_task
            self._inner_task = None

    async def set_down(self, down: bool) -> None:
        """Take the LMS off the network (connection refused) or bring it back on the same port."""
        self.faults.down = down
        if down:
            if self._relay is not None:
                self._relay.close()
                self._relay = None
            for writer in list(self._open):
                writer.close()
            self._open.clear()
        elif self._relay is None:
            await self._listen(self.port)

    # -- the fault-injecting relay --------------------------------------------------------------

    async def _relay_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        """Relay one client connection to pysip2, frame by frame, applying the fault modes."""
        self.connections += 1
        self._open.add(writer)
        try:
            up_reader, up_writer = await asyncio.open_connection(
                "127.0.0.1", self._inner_port
            )
        except OSError:
            writer.close()
            self._open.discard(writer)
            return
        self._open.add(up_writer)
        tasks = [
            asyncio.create_task(self._requests(reader, writer, up_writer)),
            asyncio.create_task(self._answers(up_reader, writer)),
        ]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            for w in (writer, up_writer):
                w.close()
                self._open.discard(w)

    async def _requests(
        self,
        reader: asyncio.StreamReader,
        client: asyncio.StreamWriter,
        upstream: asyncio.StreamWriter,
    ) -> None:
        """Client -> pysip2: record each request; answer 96 instead when told to."""
        with contextlib.suppress(asyncio.IncompleteReadError, OSError):
            while True:
                frame = (await reader.readuntil(b"\r")).lstrip(b"\n")
                command = frame[:2].decode("ascii", errors="replace")
                self.received.append(command)
                if self.faults.resend > 0 and command not in ("96", "97"):
                    self.faults.resend -= 1
                    client.write(encode_message(RequestSCResend(), checksum=True))
                    await client.drain()
                    continue
                upstream.write(frame)
                await upstream.drain()

    async def _answers(
        self, reader: asyncio.StreamReader, client: asyncio.StreamWriter
    ) -> None:
        """PySIP2 -> client: delay, replace with garbage or alter the checksum when told to."""
        with contextlib.suppress(asyncio.IncompleteReadError, OSError):
            while True:
                frame = await reader.readuntil(b"\r")
                if self.faults.delay > 0:
                    await asyncio.sleep(self.faults.delay)
                if self.faults.garbage:
                    frame = b"HTTP/1.1 400 Bad Request\r\n"
                elif self.faults.bad_checksums > 0 and frame[-7:-5] == b"AZ":
                    self.faults.bad_checksums -= 1
                    wrong = (int(frame[-5:-1], 16) + 1) & 0xFFFF
                    frame = frame[:-5] + f"{wrong:04X}".encode() + b"\r"
                client.write(frame)
                await client.drain()


# -- command line ---------------------------------------------------------------------------------


async def command(lms: SimulatedLms, line: str) -> str:
    """Apply one command line; return what to print."""
    words = line.split()
    if not words:
        return ""
    verb, args = words[0].lower(), words[1:]
    arg = args[0].lower() if args else ""
    try:
        if verb == "down" and arg in ("on", "off"):
            await lms.set_down(arg == "on")
        elif verb == "slow" and args:
            lms.faults.delay = max(0.0, float(arg))
        elif verb == "garbage" and arg in ("on", "off"):
            lms.faults.garbage = arg == "on"
        elif verb == "badsum" and args:
            lms.faults.bad_checksums = max(0, int(arg))
        elif verb == "resend" and args:
            lms.faults.resend = max(0, int(arg))
        elif verb == "refuse" and arg in ("on", "off"):
            lms.faults.refuse_login = arg == "on"
        elif verb == "dialect" and arg in DIALECTS:
            lms.dialect = arg
        elif verb == "patrons":
            return f"Patrons {PATRONS}"
        elif verb != "status":
            return f"unknown command {line!r}; commands:{HELP}"
    except ValueError:
        return f"not a number: {args[0]!r}"
    return f"{lms.faults.describe()} dialect={lms.dialect}"


async def _read_stdin(lms: SimulatedLms, stop: asyncio.Event) -> None:
    """Take commands from standard input until it ends or says quit."""
    if sys.stdin is None or sys.stdin.closed:
        return
    mode = os.fstat(sys.stdin.fileno()).st_mode
    if not (sys.stdin.isatty() or stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)):
        return
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    try:
        await loop.connect_read_pipe(
            lambda: asyncio.StreamReaderProtocol(reader), sys.stdin
        )
    except OSError, ValueError:
        return
    while raw := await reader.readline():
        line = raw.decode(errors="replace").strip()
        if line.lower() in ("quit", "exit"):
            stop.set()
            return
        if reply := await command(lms, line):
            print(reply, flush=True)


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m simulator.lms",
        description="A simulated library management system speaking SIP2 (pysip2).",
        epilog=f"Patrons {PATRONS}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="address (default 127.0.0.1)"
    )
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})"
    )
    parser.add_argument("--dialect", default="evergreen", choices=DIALECTS)
    parser.add_argument("--login", default="sip", help="SIP login user (default sip)")
    parser.add_argument("--password", default="sip-password", help="SIP login password")
    parser.add_argument("--institution", default="DEMO", help="institution id (AO)")
    parser.add_argument("--encoding", default="cp850", choices=("cp850", "utf-8"))
    parser.add_argument("--tls-cert", help="PEM certificate: serve TLS")
    parser.add_argument("--tls-key", help="PEM private key for --tls-cert")
    return parser.parse_args(argv)


async def main(argv: list[str] | None = None) -> None:
    """Serve the simulated LMS until told to stop."""
    args = _parse(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s"
    )
    logging.getLogger("pysip2").setLevel(logging.WARNING)
    context = None
    if args.tls_cert:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(args.tls_cert, args.tls_key)
    lms = SimulatedLms(
        dialect=args.dialect,
        login_user=args.login,
        login_password=args.password,
        institution=args.institution,
        encoding=args.encoding,
        ssl_context=context,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await lms.start(args.host, args.port)
    print(
        f"Simulated LMS ({args.dialect}) on {args.host}:{lms.port}"
        f"{' over TLS' if context else ''}, login {args.login!r}, institution "
        f"{args.institution!r}",
        flush=True,
    )
    stdin_task = asyncio.create_task(_read_stdin(lms, stop))
    try:
        await stop.wait()
    finally:
        stdin_task.cancel()
        await lms.stop()


def run(argv: list[str] | None = None) -> int:
    """Run the simulated LMS; return the exit status."""
    try:
        asyncio.run(main(argv))
    except OSError as err:
        print(f"simulator.lms: cannot start: {err}", file=sys.stderr, flush=True)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(run())
