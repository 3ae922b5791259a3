"""Our SIP2 client against the simulated LMS (pysip2's server) over TCP on 127.0.0.1.

Every patron of the simulated LMS, every dialect, both encodings, TLS, every fault mode (down,
slow, garbage, bad checksums, a resend asked, the login refused), the gateway's offline
fallback and circuit breaker, and scripts/sip2-probe as an installer would run it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from datetime import UTC, date, datetime, timedelta
import ipaddress
from pathlib import Path
import ssl
import sys

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
import pytest

from custom_components.smart_library.engine.lms.gateway import (
    LmsFailure,
    LmsGateway,
    LmsPolicy,
    LmsReason,
    OfflineCache,
    evaluate,
    make_dialect,
    member_from_lms,
)
from custom_components.smart_library.engine.lms.sip2 import (
    Sip2Client,
    Sip2Config,
    Sip2ConnectionError,
    Sip2LoginError,
    Sip2MalformedError,
    Sip2TimeoutError,
)
from custom_components.smart_library.engine.members.membership import Member, Reason
from custom_components.smart_library.engine.members.pins import new_pepper
from simulator.lms import SimulatedLms

pytestmark = pytest.mark.usefixtures("socket_enabled")

TODAY = date(2026, 11, 25)
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
async def lms() -> AsyncGenerator[SimulatedLms]:
    """Serve the simulated LMS (Evergreen dialect, cp850) on 127.0.0.1."""
    sim = SimulatedLms(today=TODAY)
    await sim.start()
    yield sim
    await sim.stop()


def settings(sim: SimulatedLms, **changes: object) -> Sip2Config:
    """Return client settings for the simulated LMS, with `changes`."""
    values: dict[str, object] = {
        "host": "127.0.0.1",
        "port": sim.port,
        "login_user": "sip",
        "login_password": "sip-password",
        "institution": "DEMO",
        "timeout": 2.0,
        "keepalive": 0,
    } | changes
    return Sip2Config(**values)  # type: ignore[arg-type]


@pytest.fixture
async def client(lms: SimulatedLms) -> AsyncGenerator[Sip2Client]:
    """Return a client of the simulated LMS, closed afterwards."""
    sip = Sip2Client(settings(lms))
    yield sip
    await sip.close()


def inducted(card: str) -> Member:
    """Return the local record of a member inducted this year (what the LMS does not know)."""
    return Member(card, date(1900, 1, 1), date.max, induction_date=date(2026, 1, 5))


# -- patrons --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("card", "pin", "lms_reason", "house_reason"),
    [
        ("21000001", "1234", Reason.GRANTED, Reason.GRANTED),
        ("21000001", "9999", Reason.WRONG_PIN, None),
        ("99999999", "1234", Reason.UNKNOWN_CARD, None),
        ("21000002", "2345", Reason.CARD_EXPIRED, None),
        ("21000003", "3456", Reason.GRANTED, Reason.UNDER_16),
        ("21000004", "4567", Reason.GRANTED, Reason.GRANTED),
        ("21000005", "5678", LmsReason.CHARGE_PRIVILEGES_DENIED, None),
        ("21000006", "6789", LmsReason.CARD_REPORTED_LOST, None),
        ("21000007", "7890", LmsReason.EXCESSIVE_FINES, None),
        ("21000008", "8901", LmsReason.CATEGORY_DENIED, None),
        ("21000009", "9012", LmsReason.PIN_NOT_CHECKED, None),
        ("21000009", "0000", LmsReason.PIN_NOT_CHECKED, None),  # any PIN: never checked
        ("21000010", "1122", Reason.GRANTED, Reason.GRANTED),
        ("21000011", "2233", LmsReason.AGE_UNKNOWN, None),
        ("21000012", "3344", Reason.GRANTED, Reason.GRANTED),
    ],
)
async def test_every_patron_gets_its_reason(
    client: Sip2Client,
    card: str,
    pin: str,
    lms_reason: str,
    house_reason: str | None,
) -> None:
    """Each patron of the simulated LMS: the LMS's reason, then the house rules on its facts."""
    policy = LmsPolicy(categories_denied=frozenset({"TEMP"}))
    verdict = evaluate(await client.patron_information(card, pin), card, policy, TODAY)
    assert verdict.reason == lms_reason
    if house_reason is not None:
        member, _ = member_from_lms(card, verdict.patron, inducted(card), TODAY)
        assert member.eligibility(TODAY) == house_reason


async def test_what_the_reader_is_shown_and_ages(client: Sip2Client) -> None:
    """The LMS's screen message reaches the verdict; a 17-year-old is 17 (alone yes, adult no)."""
    fines = evaluate(
        await client.patron_information("21000007", "7890"),
        "21000007",
        LmsPolicy(),
        TODAY,
    )
    assert fines.patron.screen_message == "Fines of 25.00 exceed the limit"
    wrong = evaluate(
        await client.patron_information("21000001", "0000"),
        "21000001",
        LmsPolicy(),
        TODAY,
    )
    assert wrong.patron.screen_message == "Invalid PIN"
    teen = evaluate(
        await client.patron_information("21000004", "4567"),
        "21000004",
        LmsPolicy(),
        TODAY,
    )
    assert teen.patron.age(TODAY) == 17
    zoe = evaluate(
        await client.patron_information("21000012", "3344"),
        "21000012",
        LmsPolicy(),
        TODAY,
    )
    assert zoe.patron.screen_message == "Bienvenue, Zoë"


async def test_login_and_status(client: Sip2Client, lms: SimulatedLms) -> None:
    """Connecting logs in (93) then asks the status (99), as Evergreen requires."""
    status = await client.connect()
    assert status.online
    assert (status.institution_id, status.library_name) == (
        "DEMO",
        "Demo Library Service",
    )
    assert lms.received == ["93", "99"]


@pytest.mark.parametrize("dialect", ["evergreen", "koha", "polaris", "custom"])
async def test_dialects(client: Sip2Client, lms: SimulatedLms, dialect: str) -> None:
    """Expiry and birth date come from each dialect's own fields."""
    lms.dialect = dialect
    policy = LmsPolicy(
        dialect=make_dialect(dialect, expiry="XE", birth_date="XB", category="XC")
    )
    adult = evaluate(
        await client.patron_information("21000001", "1234"), "21000001", policy, TODAY
    )
    assert adult.reason is Reason.GRANTED
    assert adult.patron.expiry == TODAY + timedelta(days=365)
    assert adult.patron.age(TODAY) == 40
    child = evaluate(
        await client.patron_information("21000003", "3456"), "21000003", policy, TODAY
    )
    assert child.patron.age(TODAY) == 12


async def test_polaris_read_as_evergreen_goes_wrong(
    client: Sip2Client, lms: SimulatedLms
) -> None:
    """Polaris's PA is not an expiry: the wrong dialect refuses a member in good standing."""
    lms.dialect = "polaris"
    verdict = evaluate(
        await client.patron_information("21000001", "1234"),
        "21000001",
        LmsPolicy(),
        TODAY,
    )
    assert verdict.reason is Reason.CARD_EXPIRED


async def test_utf8(lms: SimulatedLms) -> None:
    """An LMS speaking UTF-8, a client set to UTF-8: names and messages arrive intact."""
    sim = SimulatedLms(today=TODAY, encoding="utf-8")
    await sim.start()
    sip = Sip2Client(settings(sim, encoding="utf-8"))
    try:
        answer = await sip.patron_information("21000012", "3344")
    finally:
        await sip.close()
        await sim.stop()
    assert answer.screen_message == ("Bienvenue, Zoë",)
    assert answer.value("AE") == "Zoë Café"


# -- TLS ------------------------------------------------------------------------------------


def self_signed(tmp_path: Path) -> tuple[Path, Path]:
    """Write a self-signed certificate for 127.0.0.1 and its key; return their paths."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Simulated LMS")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "lms.pem", tmp_path / "lms.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@pytest.fixture
async def tls_lms(tmp_path: Path) -> AsyncGenerator[tuple[SimulatedLms, Path]]:
    """Serve the simulated LMS over TLS; yield it and its certificate."""
    cert, key = self_signed(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    sim = SimulatedLms(today=TODAY, ssl_context=context)
    await sim.start()
    yield sim, cert
    await sim.stop()


async def test_tls(tls_lms: tuple[SimulatedLms, Path]) -> None:
    """Over TLS with the LMS's certificate trusted: the conversation works."""
    sim, cert = tls_lms
    sip = Sip2Client(
        settings(sim, ssl_context=ssl.create_default_context(cafile=str(cert)))
    )
    try:
        answer = await sip.patron_information("21000001", "1234")
    finally:
        await sip.close()
    assert answer.valid_patron_password is True


async def test_tls_with_an_untrusted_certificate_is_refused(
    tls_lms: tuple[SimulatedLms, Path],
) -> None:
    """A certificate nobody vouches for: a connection error, and no PIN was sent."""
    sim, _ = tls_lms
    sip = Sip2Client(settings(sim, ssl_context=ssl.create_default_context()))
    try:
        with pytest.raises(Sip2ConnectionError):
            await sip.patron_information("21000001", "1234")
    finally:
        await sip.close()
    assert "63" not in sim.received


# -- fault modes ----------------------------------------------------------------------------


async def test_lms_down(client: Sip2Client, lms: SimulatedLms) -> None:
    """Nothing listening: a connection error (not a timeout); back up, the next request works."""
    await client.connect()
    await lms.set_down(True)
    with pytest.raises(Sip2ConnectionError):
        await client.patron_information("21000001", "1234")
    with pytest.raises(Sip2ConnectionError):
        await client.connect()
    await lms.set_down(False)
    answer = await client.patron_information("21000001", "1234")
    assert answer.valid_patron_password is True


async def test_lms_slow(lms: SimulatedLms) -> None:
    """Answers later than the timeout: a timeout error; the connection is dropped, then rebuilt."""
    sip = Sip2Client(settings(lms, timeout=0.2))
    try:
        await sip.connect()
        lms.faults.delay = 1.0
        with pytest.raises(Sip2TimeoutError):
            await sip.patron_information("21000001", "1234")
        assert not sip.connected  # a late answer cannot be taken for the next one
        lms.faults.delay = 0
        answer = await sip.patron_information("21000001", "1234")
    finally:
        await sip.close()
    assert answer.valid_patron_password is True
    assert lms.connections == 2


async def test_lms_answering_garbage(client: Sip2Client, lms: SimulatedLms) -> None:
    """Not SIP2 at login or mid-session: a malformed-answer error."""
    lms.faults.garbage = True
    with pytest.raises(Sip2MalformedError):
        await client.connect()
    lms.faults.garbage = False
    await client.connect()
    lms.faults.garbage = True
    with pytest.raises(Sip2MalformedError):
        await client.patron_information("21000001", "1234")
    assert not client.connected


async def test_lms_asks_for_a_resend(client: Sip2Client, lms: SimulatedLms) -> None:
    """The LMS answers 96 once: the 63 is sent again and answered."""
    await client.connect()
    lms.faults.resend = 1
    answer = await client.patron_information("21000001", "1234")
    assert answer.valid_patron_password is True
    assert lms.received[-2:] == ["63", "63"]


async def test_bad_checksum_asks_the_lms_again(
    client: Sip2Client, lms: SimulatedLms
) -> None:
    """One answer with a wrong checksum: the client sends 97 and takes the repeated answer."""
    await client.connect()
    lms.faults.bad_checksums = 1
    answer = await client.patron_information("21000001", "1234")
    assert answer.valid_patron_password is True
    assert lms.received[-2:] == ["63", "97"]


async def test_checksums_that_never_match(
    client: Sip2Client, lms: SimulatedLms
) -> None:
    """Every answer corrupted: after three 97s, a malformed-answer error."""
    await client.connect()
    lms.faults.bad_checksums = 100
    with pytest.raises(Sip2MalformedError):
        await client.patron_information("21000001", "1234")
    assert lms.received[-4:] == ["63", "97", "97", "97"]


@pytest.mark.parametrize("refuse", ["fault", "password"])
async def test_login_refused(lms: SimulatedLms, refuse: str) -> None:
    """94 with ok=0 (the LMS then hangs up): a login error, whatever the request."""
    if refuse == "fault":
        lms.faults.refuse_login = True
        sip = Sip2Client(settings(lms))
    else:
        sip = Sip2Client(settings(lms, login_password="wrong"))
    try:
        with pytest.raises(Sip2LoginError):
            await sip.patron_information("21000001", "1234")
        with pytest.raises(Sip2LoginError):
            await sip.connect()
    finally:
        await sip.close()
    assert "63" not in lms.received


# -- the gateway: LMS, cache, circuit breaker -----------------------------------------------


@pytest.fixture
async def gateway(lms: SimulatedLms) -> AsyncGenerator[LmsGateway]:
    """Return a gateway to the simulated LMS (timeout 0.3 s, probes only when asked)."""
    gw = LmsGateway(
        Sip2Client(settings(lms)),
        LmsPolicy(),
        OfflineCache(new_pepper()),
        timeout=0.3,
        probe_interval=3600,
    )
    yield gw
    await gw.stop()


async def test_lms_down_a_recent_member_gets_in_an_unknown_card_does_not(
    gateway: LmsGateway, lms: SimulatedLms
) -> None:
    """Granted online, then the LMS goes down: granted offline; a card never seen: refused."""
    online = await gateway.authenticate("21000001", "1234", today=TODAY, now=NOW)
    assert online.online and online.reason is Reason.GRANTED
    await gateway.drain()
    await lms.set_down(True)
    offline = await gateway.authenticate("21000001", "1234", today=TODAY, now=NOW)
    assert (offline.online, offline.reason, offline.failure) == (
        False,
        LmsReason.GRANTED_OFFLINE,
        LmsFailure.CONNECTION,
    )
    wrong = await gateway.authenticate("21000001", "9999", today=TODAY, now=NOW)
    assert wrong.reason is Reason.WRONG_PIN
    never_seen = await gateway.authenticate("21000004", "4567", today=TODAY, now=NOW)
    assert never_seen.reason is LmsReason.LMS_UNAVAILABLE


async def test_slow_lms_is_waited_for_once(
    gateway: LmsGateway, lms: SimulatedLms
) -> None:
    """The first request waits for the timeout; later ones go to the cache without asking."""
    await gateway.authenticate("21000001", "1234", today=TODAY, now=NOW)
    await gateway.drain()
    lms.faults.delay = 5.0
    first = await gateway.authenticate("21000001", "1234", today=TODAY, now=NOW)
    assert (
        first.reason is LmsReason.GRANTED_OFFLINE
        and first.failure is LmsFailure.TIMEOUT
    )
    asked = lms.received.count("63")
    later = await gateway.authenticate("21000001", "1234", today=TODAY, now=NOW)
    assert later.reason is LmsReason.GRANTED_OFFLINE
    assert lms.received.count("63") == asked  # the LMS was not asked again
    lms.faults.delay = 0
    assert await gateway.probe()
    again = await gateway.authenticate("21000001", "1234", today=TODAY, now=NOW)
    assert again.online and again.reason is Reason.GRANTED


async def test_background_probe_notices_the_lms_is_back(lms: SimulatedLms) -> None:
    """While the LMS is down a probe runs now and then; when it is back, listeners hear it."""
    gw = LmsGateway(
        Sip2Client(settings(lms)),
        LmsPolicy(),
        OfflineCache(new_pepper()),
        timeout=0.3,
        probe_interval=0.05,
    )
    states: list[bool] = []
    back = asyncio.Event()

    def heard(reachable: bool) -> None:
        states.append(reachable)
        if reachable:
            back.set()

    gw.add_listener(heard)
    try:
        await lms.set_down(True)
        result = await gw.authenticate("21000001", "1234", today=TODAY, now=NOW)
        assert result.reason is LmsReason.LMS_UNAVAILABLE
        await lms.set_down(False)
        async with asyncio.timeout(10):
            await back.wait()
    finally:
        await gw.stop()
    assert states == [False, True]


async def test_login_refused_is_told_apart_and_not_repeated(lms: SimulatedLms) -> None:
    """The LMS refuses the SIP account: failure login_refused, and no login is tried again.

    The glue asks an administrator to reauthenticate; meanwhile neither requests nor probes
    repeat a wrong password that could lock the SIP account at the LMS.
    """
    lms.faults.refuse_login = True
    gw = LmsGateway(
        Sip2Client(settings(lms)),
        LmsPolicy(),
        OfflineCache(new_pepper()),
        timeout=0.3,
        probe_interval=0.01,
    )
    try:
        assert not await gw.start()
        assert gw.failure is LmsFailure.LOGIN_REFUSED
        for _ in range(3):
            result = await gw.authenticate("21000001", "1234", today=TODAY, now=NOW)
            assert result.failure is LmsFailure.LOGIN_REFUSED
        await asyncio.sleep(0.1)  # ten probe intervals
    finally:
        await gw.stop()
    assert lms.received == ["93"]


# -- scripts/sip2-probe ---------------------------------------------------------------------


async def run_probe(*args: str) -> tuple[int, str, str]:
    """Run the probe's module as scripts/sip2-probe does; return status, stdout, stderr."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "scripts.sip2_probe",
        *args,
        cwd=REPO,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(60):
        out, err = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


def probe_args(sim: SimulatedLms, card: str, pin: str, *extra: str) -> list[str]:
    """Return the probe's arguments for the simulated LMS."""
    return [
        f"127.0.0.1:{sim.port}",
        "--login",
        "sip",
        "--password",
        "sip-password",
        "--institution",
        "DEMO",
        "--card",
        card,
        "--pin",
        pin,
        *extra,
    ]


async def test_probe_prints_the_decision_never_the_pin(lms: SimulatedLms) -> None:
    """Exit 0 and the decision; the fields used are shown; no PIN, password or full card."""
    status, out, err = await run_probe(*probe_args(lms, "21000007", "7890"))
    assert status == 0, err
    assert "decision: excessive_fines" in out
    assert "10 excessive outstanding fines (refuses)" in out
    assert (
        "PA expiry" in out and "PB birth date" in out and "PC category: 'ADULT'" in out
    )
    assert "••••0007" in out
    for secret in ("21000007", "7890", "sip-password"):
        assert secret not in out + err
    assert lms.received[-3:] == ["93", "99", "63"]


async def test_probe_under_16_and_polaris(lms: SimulatedLms) -> None:
    """The age rule is told; another dialect reads other fields."""
    _, out, _ = await run_probe(*probe_args(lms, "21000003", "3456"))
    assert "decision: under_16" in out
    lms.dialect = "polaris"
    status, out, _ = await run_probe(
        *probe_args(lms, "21000001", "1234", "--dialect", "polaris")
    )
    assert status == 0
    assert "PX expiry" in out and "BC birth date" in out and "decision: granted" in out


async def test_probe_over_tls(tls_lms: tuple[SimulatedLms, Path]) -> None:
    """--tls with --cafile talks to an LMS behind TLS."""
    sim, cert = tls_lms
    status, out, err = await run_probe(
        *probe_args(sim, "21000001", "1234", "--tls", "--cafile", str(cert))
    )
    assert status == 0, err
    assert "(TLS)" in out and "decision: granted" in out


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        ("password", "login refused"),
        ("down", "cannot connect"),
        ("garbage", "not a SIP2 answer"),
    ],
)
async def test_probe_fails_with_one_clear_line(
    lms: SimulatedLms, fault: str, message: str
) -> None:
    """A failed conversation: non-zero status, one line on stderr saying why."""
    extra: list[str] = []
    if fault == "password":
        extra = ["--password", "wrong"]
    elif fault == "down":
        await lms.set_down(True)
    else:
        lms.faults.garbage = True
    status, _, err = await run_probe(*probe_args(lms, "21000001", "1234"), *extra)
    assert status == 1
    lines = err.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], err
    assert "wrong" not in err and "1234" not in err
