"""Decisions from the LMS's 64 answer, the offline cache and the circuit breaker (no network)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
import json
from typing import Any

import pytest

from custom_components.smart_library.engine.lms.gateway import (
    DEFAULT_MAX_AGE,
    DEFAULT_RECHECKS_PER_MINUTE,
    DEFAULT_REFUSING_FLAGS,
    DIALECTS,
    FLAG_REASONS,
    MAX_RECHECKS_PER_MINUTE,
    OFFLINE_LOG2_N,
    CachedGrant,
    CircuitBreaker,
    LmsFailure,
    LmsGateway,
    LmsPatron,
    LmsPolicy,
    LmsReason,
    MemoryGrantStore,
    OfflineCache,
    RecheckOutcome,
    RecheckPlanner,
    evaluate,
    make_dialect,
    member_from_lms,
    parse_sip_date,
)
from custom_components.smart_library.engine.lms.sip2 import (
    PatronInformation,
    Sip2Client,
    Sip2Config,
    Sip2ConnectionError,
    Sip2Error,
    Sip2LoginError,
    Sip2MalformedError,
    Sip2TimeoutError,
    decode_frame,
    encode_frame,
)
from custom_components.smart_library.engine.members import pins
from custom_components.smart_library.engine.members.membership import Member, Reason
from custom_components.smart_library.engine.members.pins import new_pepper

TODAY = date(2026, 11, 25)
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
CARD = "21000001"
PIN = "1234"
ADULT_FIELDS = {"PA": "20271231", "PB": "19860101", "PC": "ADULT"}


def answer(
    flags: Iterable[int] = (),
    *,
    bl: str | None = "Y",
    cq: str | None = "Y",
    fields: dict[str, str] | None = None,
    af: Iterable[str] = (),
) -> PatronInformation:
    """Return a 64 as an LMS would send it, read by the client's codec."""
    flag_set = set(flags)
    status = "".join("Y" if n in flag_set else " " for n in range(14))
    body = (
        f"64{status}00020261125    100000"
        + "0000" * 6
        + f"AODEMO|AA{CARD}|AEAda Adult|"
    )
    if bl is not None:
        body += f"BL{bl}|"
    if cq is not None:
        body += f"CQ{cq}|"
    for code, value in (ADULT_FIELDS if fields is None else fields).items():
        body += f"{code}{value}|"
    body += "".join(f"AF{m}|" for m in af)
    return PatronInformation.from_frame(decode_frame(encode_frame(body, sequence=2)))


def decide(reply: PatronInformation, policy: LmsPolicy | None = None) -> str:
    """Return the reason the LMS's answer gives under `policy` (default policy)."""
    return str(evaluate(reply, CARD, policy or LmsPolicy(), TODAY).reason)


# -- the LMS's answer ------------------------------------------------------------------------


def test_a_member_in_good_standing_is_granted_with_the_facts_for_the_house_rules() -> (
    None
):
    """BL=Y, CQ=Y, no flag: granted; expiry, birth date and category read from PA/PB/PC."""
    verdict = evaluate(answer(af=["Welcome back"]), CARD, LmsPolicy(), TODAY)
    assert verdict.reason is Reason.GRANTED and verdict.granted
    patron = verdict.patron
    assert (patron.expiry, patron.birth_date, patron.category) == (
        date(2027, 12, 31),
        date(1986, 1, 1),
        "ADULT",
    )
    assert patron.age(TODAY) == 40
    assert patron.screen_message == "Welcome back"
    assert patron.masked_card == "••••0001"
    assert CARD not in repr(verdict)


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        (answer(bl="N", cq=None), Reason.UNKNOWN_CARD),
        (answer(bl=None), Reason.UNKNOWN_CARD),  # no BL is no valid patron
        (answer(cq="N"), Reason.WRONG_PIN),
        (answer(cq=None), LmsReason.PIN_NOT_CHECKED),  # a missing CQ is a failure
        (answer(cq=" "), LmsReason.PIN_NOT_CHECKED),  # and so is a blank one
    ],
)
def test_valid_patron_and_valid_pin_are_both_required(
    reply: PatronInformation, reason: str
) -> None:
    """Only BL=Y and CQ=Y together get past the identity check."""
    assert decide(reply) == reason


def test_the_pin_is_checked_before_anything_about_the_account_is_told() -> None:
    """A lost card with fines and a wrong PIN: wrong_pin, not card_reported_lost."""
    assert decide(answer({4, 10}, cq="N")) == Reason.WRONG_PIN
    assert decide(answer({4, 10}, cq=None)) == LmsReason.PIN_NOT_CHECKED


@pytest.mark.parametrize(
    ("flags", "reason"),
    [
        ({0}, LmsReason.CHARGE_PRIVILEGES_DENIED),
        ({4}, LmsReason.CARD_REPORTED_LOST),
        ({10}, LmsReason.EXCESSIVE_FINES),
        ({11}, LmsReason.EXCESSIVE_FEES),
        (
            {0, 4, 10},
            LmsReason.CARD_REPORTED_LOST,
        ),  # the most useful to the person at the door
        ({2}, Reason.GRANTED),  # recall privileges: Evergreen sets it for everyone
        ({1, 3, 5, 6, 7, 8, 9, 12, 13}, Reason.GRANTED),  # lending, not entry
    ],
)
def test_default_flag_policy(flags: set[int], reason: str) -> None:
    """By default 0, 4, 10 and 11 refuse, each with its own reason; the lending flags do not."""
    assert {0, 4, 10, 11} == DEFAULT_REFUSING_FLAGS
    assert decide(answer(flags)) == reason


def test_every_flag_can_refuse_with_its_own_reason() -> None:
    """A policy refusing all 14 flags names each one."""
    policy = LmsPolicy(refusing_flags=frozenset(range(14)))
    reasons = [decide(answer({n}), policy) for n in range(14)]
    assert reasons == [str(r) for r in FLAG_REASONS]
    assert len(set(reasons)) == 14
    assert decide(answer({10}), LmsPolicy(refusing_flags=frozenset())) == Reason.GRANTED
    with pytest.raises(ValueError):
        LmsPolicy(refusing_flags=frozenset({14}))


def test_verdict_lists_the_flags_it_refused_on_and_let_through() -> None:
    """The probe and the events can say which flags counted."""
    verdict = evaluate(answer({2, 10}), CARD, LmsPolicy(), TODAY)
    assert verdict.refusing_flags == (10,)
    assert verdict.ignored_flags == (2,)


def test_an_expired_card_says_so_rather_than_the_flag_the_lms_set_for_it() -> None:
    """Evergreen and Koha set flag 0 on expired cards: the reason is card_expired."""
    fields = ADULT_FIELDS | {"PA": "20261124"}
    assert decide(answer({0}, fields=fields)) == Reason.CARD_EXPIRED
    assert decide(answer(fields=ADULT_FIELDS | {"PA": "20261125"})) == Reason.GRANTED


def test_categories_allowed_and_denied() -> None:
    """An allow list admits only its categories (a missing one too is refused); a deny list refuses."""
    allow = LmsPolicy(categories_allowed=frozenset({"adult", " Staff "}))
    assert allow.categories_allowed == {"ADULT", "STAFF"}
    assert decide(answer(), allow) == Reason.GRANTED
    assert (
        decide(answer(fields=ADULT_FIELDS | {"PC": "TEMP"}), allow)
        == LmsReason.CATEGORY_DENIED
    )
    no_category = {"PA": "20271231", "PB": "19860101"}
    assert decide(answer(fields=no_category), allow) == LmsReason.CATEGORY_DENIED
    deny = LmsPolicy(categories_denied=frozenset({"temp"}))
    assert (
        decide(answer(fields=ADULT_FIELDS | {"PC": "temp"}), deny)
        == LmsReason.CATEGORY_DENIED
    )
    assert decide(answer(fields=no_category), deny) == Reason.GRANTED


def test_a_birth_date_is_needed_unless_the_library_vouches() -> None:
    """No PB: age_unknown, unless the policy takes such members for adults."""
    fields = {"PA": "20271231", "PC": "ADULT"}
    assert decide(answer(fields=fields)) == LmsReason.AGE_UNKNOWN
    assert (
        decide(answer(fields=fields), LmsPolicy(require_birth_date=False))
        == Reason.GRANTED
    )
    bad = fields | {"PB": "not a date"}
    assert decide(answer(fields=bad)) == LmsReason.AGE_UNKNOWN


def test_polaris_dialect_reads_bc_and_px_and_ignores_pa() -> None:
    """Polaris: BC birth date, PX expiry; its PA is something else (here a date long past)."""
    fields = {"PA": "20000101", "BC": "19860101    000000", "PX": "20271231    235959"}
    polaris = LmsPolicy(dialect=DIALECTS["polaris"])
    verdict = evaluate(answer(fields=fields), CARD, polaris, TODAY)
    assert verdict.reason is Reason.GRANTED
    assert (verdict.patron.birth_date, verdict.patron.expiry) == (
        date(1986, 1, 1),
        date(2027, 12, 31),
    )
    # Read as Evergreen, the same answer would refuse on Polaris's PA: the dialect matters.
    assert decide(answer(fields=fields)) == Reason.CARD_EXPIRED


def test_custom_dialect() -> None:
    """A library's own field codes; malformed codes are refused."""
    custom = make_dialect("custom", expiry="xe", birth_date="XB", category="XC")
    assert (custom.expiry, custom.birth_date, custom.category) == ("XE", "XB", "XC")
    fields = {"XE": "2027-12-31", "XB": "2014-06-01", "XC": "JUV"}
    verdict = evaluate(answer(fields=fields), CARD, LmsPolicy(dialect=custom), TODAY)
    assert verdict.patron.age(TODAY) == 12
    assert verdict.patron.category == "JUV"
    assert verdict.patron.used[-3:] == (
        ("XE", "2027-12-31"),
        ("XB", "2014-06-01"),
        ("XC", "JUV"),
    )
    for bad in ("X", "XYZ", "X|"):
        with pytest.raises(ValueError):
            make_dialect("custom", expiry=bad)
    with pytest.raises(ValueError):
        make_dialect("sierra")
    assert make_dialect("koha") == DIALECTS["koha"]


@pytest.mark.parametrize(
    ("text", "day"),
    [
        ("20271231", date(2027, 12, 31)),
        ("2027-12-31", date(2027, 12, 31)),
        ("20271231    235959", date(2027, 12, 31)),
        (" 20271231", date(2027, 12, 31)),
        ("20270231", None),
        ("31/12/2027", None),
        ("", None),
        (None, None),
    ],
)
def test_dates_in_lms_fields(text: str | None, day: date | None) -> None:
    """YYYYMMDD, ISO and 18-character SIP dates are read; anything else is no date."""
    assert parse_sip_date(text) == day


def test_the_reader_sees_the_lms_message_only_after_the_right_pin() -> None:
    """'Invalid PIN' or 'Invalid card' would tell a card's finder it is a member's."""
    fines = evaluate(
        answer({10}, af=["Fines exceed the limit"]), CARD, LmsPolicy(), TODAY
    )
    assert fines.reader_message == "Fines exceed the limit"
    wrong = evaluate(answer(cq="N", af=["Invalid PIN"]), CARD, LmsPolicy(), TODAY)
    assert wrong.patron.screen_message == "Invalid PIN" and wrong.reader_message == ""
    unknown = evaluate(
        answer(bl="N", cq=None, af=["Invalid card"]), CARD, LmsPolicy(), TODAY
    )
    assert unknown.reader_message == ""


def test_screen_message_is_kept_short_and_printable() -> None:
    """AF parts are joined for the reader, control characters dropped, length bounded."""
    verdict = evaluate(answer(af=["Fines\tdue", "x" * 300]), CARD, LmsPolicy(), TODAY)
    assert verdict.patron.screen_message.startswith("Finesdue xxx")
    assert len(verdict.patron.screen_message) == 200


# -- the house rules on LMS facts ------------------------------------------------------------


def lms_patron(
    expiry: date | None = date(2027, 12, 31), born: date | None = date(1986, 1, 1)
) -> LmsPatron:
    """Return LMS facts for the member."""
    return LmsPatron("••••0001", True, True, frozenset(), expiry, born, "ADULT", "")


def test_a_member_new_to_this_building_needs_an_induction() -> None:
    """No local record: the Member from the LMS is not inducted; save it."""
    member, save = member_from_lms(CARD, lms_patron(), None, TODAY)
    assert save
    assert member.eligibility(TODAY) is Reason.INDUCTION_NEEDED
    assert member.card_expiry == date(2027, 12, 31)


def test_local_induction_counts_until_the_lms_shows_a_renewal() -> None:
    """Same expiry: granted, nothing to save. A later expiry at the LMS: a new induction is due."""
    local = Member(
        CARD, date(1986, 1, 1), date(2027, 12, 31), induction_date=date(2026, 1, 5)
    )
    member, save = member_from_lms(CARD, lms_patron(), local, TODAY)
    assert member.eligibility(TODAY) is Reason.GRANTED and not save
    renewed, save = member_from_lms(
        CARD, lms_patron(expiry=date(2028, 12, 31)), local, TODAY
    )
    assert save
    assert renewed.eligibility(TODAY) is Reason.INDUCTION_OUTDATED
    assert renewed.renewed_on == TODAY


def test_lms_facts_feed_the_age_rules() -> None:
    """An under-16 from the LMS is under_16 alone; no birth date (policy allows) counts as adult."""
    child, _ = member_from_lms(CARD, lms_patron(born=date(2014, 6, 1)), None, TODAY)
    assert child.age(TODAY) < 16
    inducted = Member(
        CARD, date(2014, 6, 1), date(2027, 12, 31), induction_date=date(2026, 1, 5)
    )
    child, _ = member_from_lms(CARD, lms_patron(born=date(2014, 6, 1)), inducted, TODAY)
    assert child.eligibility(TODAY) is Reason.UNDER_16
    vouched, _ = member_from_lms(CARD, lms_patron(born=None, expiry=None), None, TODAY)
    assert vouched.age(TODAY) >= 18
    assert vouched.card_expiry == date.max


# -- the offline cache -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def pepper() -> bytes:
    """Return one pepper for the module."""
    return new_pepper()


def granted(card: str = CARD) -> LmsPatron:
    """Return the facts of a member the LMS just granted."""
    return evaluate(answer(), card, LmsPolicy(), TODAY).patron


def test_offline_a_recent_grant_with_the_right_pin_is_let_in(pepper: bytes) -> None:
    """granted_offline with the cached facts; wrong PIN refused; an unknown card refused."""
    cache = OfflineCache(pepper)
    cache.remember(CARD, PIN, granted(), NOW)
    verdict = cache.decide(CARD, PIN, LmsPolicy(), TODAY, NOW + timedelta(hours=1))
    assert verdict.reason is LmsReason.GRANTED_OFFLINE and verdict.granted
    assert verdict.patron.birth_date == date(1986, 1, 1)
    assert (
        cache.decide(CARD, "9999", LmsPolicy(), TODAY, NOW).reason is Reason.WRONG_PIN
    )
    unknown = cache.decide("21000099", PIN, LmsPolicy(), TODAY, NOW)
    assert unknown.reason is LmsReason.LMS_UNAVAILABLE and not unknown.granted
    assert (
        cache.decide("bad|card", PIN, LmsPolicy(), TODAY, NOW).reason
        is LmsReason.LMS_UNAVAILABLE
    )


def test_offline_checks_cost_the_same_known_or_not(
    pepper: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cached grant and an unknown card cost one derivation each, at the cache's one cost.

    (Were they different, the time taken would tell a reader which cards were let in lately.)
    """
    costs: list[int] = []
    derive = pins._derive  # noqa: SLF001

    def counting(*args: Any, **kwargs: Any) -> bytes:
        costs.append(kwargs["log2_n"])
        return derive(*args, **kwargs)

    monkeypatch.setattr(pins, "_derive", counting)
    cache = OfflineCache(pepper)
    cache.remember(CARD, PIN, granted(), NOW)
    costs.clear()
    cache.decide(CARD, PIN, LmsPolicy(), TODAY, NOW)
    cache.decide("21000099", PIN, LmsPolicy(), TODAY, NOW)
    assert costs == [OFFLINE_LOG2_N, OFFLINE_LOG2_N]
    assert (
        OFFLINE_LOG2_N < pins.SCRYPT_LOG2_N
    )  # the local store keeps its own, higher cost


def test_offline_grants_last_a_day(pepper: bytes) -> None:
    """24 hours after the LMS's grant it still counts; a moment later it does not, and is pruned."""
    assert timedelta(hours=24) == DEFAULT_MAX_AGE
    store = MemoryGrantStore()
    cache = OfflineCache(pepper, store)
    cache.remember(CARD, PIN, granted(), NOW)
    day = NOW + timedelta(hours=24)
    assert (
        cache.decide(CARD, PIN, LmsPolicy(), TODAY, day).reason
        is LmsReason.GRANTED_OFFLINE
    )
    later = day + timedelta(seconds=1)
    assert (
        cache.decide(CARD, PIN, LmsPolicy(), TODAY, later).reason
        is LmsReason.LMS_UNAVAILABLE
    )
    assert cache.prune(later) == 1
    assert len(cache) == 0 and not store.grants


def test_offline_the_rules_apply_to_the_cached_facts(pepper: bytes) -> None:
    """A card that expired since the grant, or a category denied since: refused offline."""
    cache = OfflineCache(pepper)
    soon = evaluate(
        answer(fields=ADULT_FIELDS | {"PA": "20261126"}), CARD, LmsPolicy(), TODAY
    )
    cache.remember(CARD, PIN, soon.patron, NOW)
    day_after = TODAY + timedelta(days=2)
    assert (
        cache.decide(CARD, PIN, LmsPolicy(), day_after, NOW).reason
        is Reason.CARD_EXPIRED
    )
    deny = LmsPolicy(categories_denied=frozenset({"ADULT"}))
    assert cache.decide(CARD, PIN, deny, TODAY, NOW).reason is LmsReason.CATEGORY_DENIED


def test_the_cache_survives_a_restart_and_holds_no_card_or_pin(pepper: bytes) -> None:
    """Grants come back from the store; what is stored names neither card nor PIN."""
    store = MemoryGrantStore()
    OfflineCache(pepper, store).remember(CARD, PIN, granted(), NOW)
    dumped = json.dumps([g.as_dict() for g in store.load_grants()])
    assert CARD not in dumped and f'"{PIN}"' not in dumped and "scrypt$" in dumped
    restored = [CachedGrant.from_dict(json.loads(dumped)[0])]
    again = OfflineCache(
        pepper, MemoryGrantStore({g.card_key: g for g in restored}), now=NOW
    )
    assert (
        again.decide(CARD, PIN, LmsPolicy(), TODAY, NOW).reason
        is LmsReason.GRANTED_OFFLINE
    )
    # Another service's pepper cannot use it.
    other = OfflineCache(new_pepper(), store, now=NOW)
    assert (
        other.decide(CARD, PIN, LmsPolicy(), TODAY, NOW).reason
        is LmsReason.LMS_UNAVAILABLE
    )
    # Loading prunes what went stale while Home Assistant was stopped.
    late = OfflineCache(pepper, store, now=NOW + timedelta(days=2))
    assert len(late) == 0


def test_forgetting_a_card(pepper: bytes) -> None:
    """A refusal by the LMS forgets the card; a wrong PIN forgets it only if it is the cached PIN."""
    cache = OfflineCache(pepper)
    cache.remember(CARD, PIN, granted(), NOW)
    assert not cache.forget_if_pin(
        CARD, "9999"
    )  # someone guessing: the member's grant stays
    assert cache.decide(CARD, PIN, LmsPolicy(), TODAY, NOW).granted
    assert cache.forget_if_pin(CARD, PIN)  # the member changed PIN at the LMS
    assert (
        cache.decide(CARD, PIN, LmsPolicy(), TODAY, NOW).reason
        is LmsReason.LMS_UNAVAILABLE
    )
    cache.remember(CARD, PIN, granted(), NOW)
    assert cache.forget(CARD) and not cache.forget(CARD)


def test_the_cache_is_bounded_in_size(pepper: bytes) -> None:
    """Past max_entries the oldest grant goes (a re-grant counts as new)."""
    store = MemoryGrantStore()
    cache = OfflineCache(pepper, store, max_entries=2)
    for n, card in enumerate(["21000001", "21000002", "21000001", "21000003"]):
        cache.remember(card, PIN, granted(card), NOW + timedelta(minutes=n))
    assert len(cache) == 2 and len(store.grants) == 2
    decisions = {
        card: cache.decide(card, PIN, LmsPolicy(), TODAY, NOW).reason
        for card in ("21000001", "21000002", "21000003")
    }
    assert decisions == {
        "21000001": LmsReason.GRANTED_OFFLINE,
        "21000002": LmsReason.LMS_UNAVAILABLE,
        "21000003": LmsReason.GRANTED_OFFLINE,
    }


# -- the circuit breaker ---------------------------------------------------------------------


class FakeClock:
    """Monotonic seconds that move only when told."""

    def __init__(self) -> None:
        """Start at 1000 s."""
        self.now = 1000.0

    def __call__(self) -> float:
        """Return the time."""
        return self.now


def test_circuit_breaker() -> None:
    """A failure opens it; probes fall due every interval; an answer closes it."""
    clock = FakeClock()
    breaker = CircuitBreaker(probe_interval=15, clock=clock)
    assert breaker.allows_request() and not breaker.probe_due()
    assert breaker.record_failure()
    assert not breaker.record_failure()  # already open
    assert not breaker.allows_request()
    clock.now += 14.9
    assert not breaker.probe_due()
    clock.now += 0.1
    assert breaker.probe_due()
    breaker.probe_started()
    assert not breaker.probe_due()
    assert breaker.record_success()
    assert breaker.allows_request() and not breaker.record_success()


# -- the gateway, with a fake client ---------------------------------------------------------


class FakeClient(Sip2Client):
    """A client whose answers (or errors) are given in advance; counts what is asked."""

    def __init__(self) -> None:
        """Answer a member in good standing until told otherwise."""
        super().__init__(Sip2Config("lms.invalid"))
        self.error: Sip2Error | None = None
        self.reply = answer()
        self.standing = answer(cq=None)  # the answer to a 63 without a PIN
        self.asked = 0
        self.cards: list[str] = []  # as sent, with a PIN
        self.rechecked: list[str] = []  # as sent, without a PIN
        self.connects = 0

    async def patron_information(self, card: str, pin: str) -> PatronInformation:
        """Return the reply or raise the error."""
        self.asked += 1
        self.cards.append(card)
        if self.error is not None:
            raise self.error
        return self.reply

    async def patron_standing(self, card: str) -> PatronInformation:
        """Return the standing reply (no PIN) or raise the error."""
        self.rechecked.append(card)
        if self.error is not None:
            raise self.error
        return self.standing

    async def connect(self) -> None:  # type: ignore[override]
        """Succeed unless an error is set."""
        self.connects += 1
        if self.error is not None:
            raise self.error

    async def close(self) -> None:
        """Nothing to close."""


async def test_gateway_online_remembers_and_offline_decides_without_asking_again(
    pepper: bytes,
) -> None:
    """Online grant is cached; the LMS away: the first request asks, the next ones do not."""
    client = FakeClient()
    gateway = LmsGateway(client, LmsPolicy(), OfflineCache(pepper), probe_interval=3600)
    changes: list[bool] = []
    gateway.add_listener(changes.append)
    try:
        first = await gateway.authenticate(CARD, PIN, today=TODAY, now=NOW)
        assert first.online and first.reason is Reason.GRANTED
        await gateway.drain()  # the grant is remembered in the background
        client.error = Sip2TimeoutError("no answer")
        offline = await gateway.authenticate(CARD, PIN, today=TODAY, now=NOW)
        assert (offline.online, offline.reason, offline.failure) == (
            False,
            LmsReason.GRANTED_OFFLINE,
            LmsFailure.TIMEOUT,
        )
        assert client.asked == 2 and not gateway.reachable and changes == [False]
        unknown = await gateway.authenticate("21000099", PIN, today=TODAY, now=NOW)
        assert unknown.reason is LmsReason.LMS_UNAVAILABLE
        assert client.asked == 2  # the breaker is open: the LMS was not asked again
        client.error = None
        assert await gateway.probe()
        assert gateway.reachable and changes == [False, True]
        assert (await gateway.authenticate(CARD, PIN, today=TODAY, now=NOW)).online
    finally:
        await gateway.stop()


@pytest.mark.parametrize(
    ("error", "failure"),
    [
        (Sip2ConnectionError("refused"), LmsFailure.CONNECTION),
        (Sip2TimeoutError("slow"), LmsFailure.TIMEOUT),
        (Sip2LoginError("refused"), LmsFailure.LOGIN_REFUSED),
        (Sip2MalformedError("garbage"), LmsFailure.MALFORMED),
    ],
)
async def test_gateway_failures_are_named(
    pepper: bytes, error: Sip2Error, failure: LmsFailure
) -> None:
    """Each kind of failure is told apart (login refused starts a reauthentication)."""
    client = FakeClient()
    client.error = error
    gateway = LmsGateway(client, LmsPolicy(), OfflineCache(pepper), probe_interval=3600)
    try:
        result = await gateway.authenticate(CARD, PIN, today=TODAY, now=NOW)
    finally:
        await gateway.stop()
    assert result.failure is failure and gateway.failure is failure
    assert result.reason is LmsReason.LMS_UNAVAILABLE


async def test_gateway_refusals_forget_the_card(pepper: bytes) -> None:
    """A card the LMS now refuses (reported lost) is no longer let in offline."""
    client = FakeClient()
    cache = OfflineCache(pepper)
    gateway = LmsGateway(client, LmsPolicy(), cache, probe_interval=3600)
    try:
        await gateway.authenticate(CARD, PIN, today=TODAY, now=NOW)
        await gateway.drain()
        assert len(cache) == 1
        client.reply = answer({4})
        lost = await gateway.authenticate(CARD, PIN, today=TODAY, now=NOW)
        assert lost.reason is LmsReason.CARD_REPORTED_LOST
        assert len(cache) == 0
    finally:
        await gateway.stop()


async def test_gateway_background_probe_brings_the_lms_back(pepper: bytes) -> None:
    """While the LMS is away a probe runs every interval; its first success closes the breaker."""
    client = FakeClient()
    client.error = Sip2ConnectionError("refused")
    gateway = LmsGateway(client, LmsPolicy(), OfflineCache(pepper), probe_interval=0.01)
    back = asyncio.Event()
    gateway.add_listener(lambda reachable: back.set() if reachable else None)
    try:
        await gateway.authenticate(CARD, PIN, today=TODAY, now=NOW)
        assert not gateway.reachable
        while client.connects < 2:  # probes keep failing while the error stands
            await asyncio.sleep(0.01)
        client.error = None
        async with asyncio.timeout(10):
            await back.wait()
        assert gateway.reachable and gateway.failure is None
    finally:
        await gateway.stop()


# -- issue 19: the second perimeter ----------------------------------------------------------


@pytest.mark.parametrize(
    ("card", "pin"), [(CARD, "12|34"), (CARD, "1234\r\n"), ("2100\t0001", PIN)]
)
async def test_gateway_never_asks_with_input_it_cannot_carry(
    pepper: bytes, card: str, pin: str
) -> None:
    """invalid_request from the gateway itself (a second line behind engine.access's check)."""
    client = FakeClient()
    cache = OfflineCache(pepper)
    cache.remember(CARD, PIN, granted(), NOW)
    gateway = LmsGateway(client, LmsPolicy(), cache, probe_interval=3600)
    try:
        result = await gateway.authenticate(card, pin, today=TODAY, now=NOW)
    finally:
        await gateway.stop()
    assert result.reason is Reason.INVALID_REQUEST and not result.granted
    assert client.asked == 0 and len(cache) == 1 and gateway.reachable


# -- issue 19, 3: the offline cache tells the truth --------------------------------------------


async def test_a_grant_that_says_the_card_is_lost_is_never_cached(
    pepper: bytes,
) -> None:
    """A policy may let flag 4 through online; the cache never keeps such an answer.

    It drops the card's earlier grant instead: offline nobody can ask again.
    """
    client = FakeClient()
    cache = OfflineCache(pepper)
    cache.remember(CARD, PIN, granted(), NOW)
    lenient = LmsPolicy(refusing_flags=frozenset({0}))
    gateway = LmsGateway(client, lenient, cache, probe_interval=3600)
    client.reply = answer({4})
    try:
        online = await gateway.authenticate(CARD, PIN, today=TODAY, now=NOW)
        await gateway.drain()
        assert online.granted  # the library's policy, online
        assert len(cache) == 0
        client.error = Sip2TimeoutError("away")
        offline = await gateway.authenticate(CARD, PIN, today=TODAY, now=NOW)
        assert offline.reason is LmsReason.LMS_UNAVAILABLE
    finally:
        await gateway.stop()


async def test_a_refusal_wins_over_an_earlier_grant_still_being_kept(
    pepper: bytes,
) -> None:
    """A refusal asked after a grant wins, though the grant's derivation ends after it.

    The LMS grants, then (asked again) refuses the card as lost while the grant's key
    derivation is still running: the grant must not land in the cache after the refusal.
    """
    client = FakeClient()
    cache = OfflineCache(pepper)
    held = asyncio.Event()

    async def run(func: Any, *args: Any) -> Any:
        if getattr(func, "func", None) == cache.remember:
            await held.wait()  # a slow scrypt on a busy host
        return await asyncio.to_thread(func, *args)

    gateway = LmsGateway(
        client, LmsPolicy(), cache, probe_interval=3600, run_blocking=run
    )
    try:
        first = await gateway.authenticate(CARD, PIN, today=TODAY, now=NOW)
        assert first.granted
        client.reply = answer({4})
        lost = await gateway.authenticate(CARD, PIN, today=TODAY, now=NOW)
        assert lost.reason is LmsReason.CARD_REPORTED_LOST
        held.set()
        await gateway.drain()
        assert len(cache) == 0
        client.error = Sip2TimeoutError("away")
        offline = await gateway.authenticate(CARD, PIN, today=TODAY, now=NOW)
        assert offline.reason is LmsReason.LMS_UNAVAILABLE
    finally:
        await gateway.stop()


def test_answers_are_applied_in_the_order_they_were_asked(pepper: bytes) -> None:
    """Each answer carries its question's place: the later one wins, whichever comes first.

    A grant asked after a refusal stands; a wrong PIN outranks an earlier grant of the same
    PIN still on its way, not one of another PIN; nothing is remembered once all are in.
    """
    cache = OfflineCache(pepper)
    refusal, grant = cache.ticket(CARD), cache.ticket(CARD)
    assert cache.remember(CARD, PIN, granted(), NOW, ticket=grant)
    assert not cache.forget(CARD, ticket=refusal)  # a stale refusal removes nothing
    assert len(cache) == 1
    old_grant, wrong_pin = cache.ticket(CARD), cache.ticket(CARD)
    assert not cache.forget_if_pin(CARD, "5678", ticket=wrong_pin)
    assert not cache.remember(CARD, "5678", granted(), NOW, ticket=old_grant)
    assert cache.decide(CARD, PIN, LmsPolicy(), TODAY, NOW).granted
    other_pin, wrong_pin = cache.ticket(CARD), cache.ticket(CARD)
    cache.forget_if_pin(CARD, "9999", ticket=wrong_pin)
    assert cache.remember(CARD, "5678", granted(), NOW, ticket=other_pin)
    assert cache.decide(CARD, "5678", LmsPolicy(), TODAY, NOW).granted
    assert cache.forget(CARD)  # a refusal asked now
    assert cache.remember(CARD, PIN, granted(), NOW)  # and a grant asked after it
    assert cache.ticket("not a card!") is None


def test_the_recheck_pace_oldest_first_at_most_n_a_minute() -> None:
    """Two a minute by default: a 1,000-grant cache is re-checked within 8 h 20 min."""
    clock = FakeClock()
    planner = RecheckPlanner(clock=clock)
    assert planner.per_minute == DEFAULT_RECHECKS_PER_MINUTE == 2
    assert planner.cycle(1000) == timedelta(hours=8, minutes=20)
    assert planner.cycle(1000) < DEFAULT_MAX_AGE
    checked = {"b": NOW, "a": NOW, "c": NOW - timedelta(hours=1)}
    chosen: list[tuple[float, str]] = []
    for _ in range(121):  # ten minutes in steps of 5 s
        if (key := planner.choose(checked.items())) is not None:
            chosen.append((clock.now, key))
            checked[key] = NOW + timedelta(seconds=clock.now)  # the cache notes it
        clock.now += 5
    # The one asked about least recently first (ties by key), then round and round.
    assert [key for _, key in chosen[:6]] == ["c", "a", "b", "c", "a", "b"]
    assert len(chosen) == 21  # 0 s, 30 s, ... 600 s
    for start, _ in chosen:  # never more than 2 in any minute
        assert sum(start <= t < start + 60 for t, _ in chosen) <= 2
    assert planner.choose([]) is None
    for bad in (0, -1, MAX_RECHECKS_PER_MINUTE + 1):
        with pytest.raises(ValueError):
            RecheckPlanner(bad)


@pytest.fixture
def rechecks(pepper: bytes) -> tuple[FakeClient, OfflineCache, LmsGateway, FakeClock]:
    """Give a gateway with a fake LMS and clock, one card granted and cached."""
    client, clock = FakeClient(), FakeClock()
    cache = OfflineCache(pepper)
    gateway = LmsGateway(
        client,
        LmsPolicy(),
        cache,
        probe_interval=3600,
        clock=clock,
        card_case="upper",
    )
    cache.remember("ab000001", PIN, granted(), NOW)
    return client, cache, gateway, clock


@pytest.mark.parametrize(
    ("standing", "reason"),
    [
        (answer({4}, cq=None), LmsReason.CARD_REPORTED_LOST),
        (answer({0}, cq=None), LmsReason.CHARGE_PRIVILEGES_DENIED),
        (answer(bl="N", cq=None), Reason.UNKNOWN_CARD),
        (answer(fields=ADULT_FIELDS | {"PA": "20261101"}, cq="N"), Reason.CARD_EXPIRED),
    ],
)
async def test_a_recheck_drops_a_card_the_lms_now_refuses_without_asking_its_pin(
    rechecks: tuple[FakeClient, OfflineCache, LmsGateway, FakeClock],
    standing: PatronInformation,
    reason: str,
) -> None:
    """One 63 without a PIN, the card as the gateway sends it: dropped, no door needed."""
    client, cache, gateway, _ = rechecks
    client.standing = standing
    result = await gateway.recheck_one(today=TODAY, now=NOW + timedelta(hours=1))
    assert result is not None
    assert (result.outcome, result.reason) == (RecheckOutcome.DROPPED, reason)
    assert client.rechecked == ["AB000001"] and client.asked == 0
    assert len(cache) == 0 and "ab000001" not in repr(result)


async def test_a_recheck_refreshes_a_card_in_order_and_keeps_the_pace(
    rechecks: tuple[FakeClient, OfflineCache, LmsGateway, FakeClock],
) -> None:
    """In order (CQ absent or N says nothing here): its facts refreshed, its age unchanged.

    The next one waits for the planner; nothing is asked while the LMS is away; a grant
    loaded after a restart has no card number to re-check; no answer keeps the grant.
    """
    client, cache, gateway, clock = rechecks
    later = NOW + timedelta(hours=1)
    client.standing = answer(fields=ADULT_FIELDS | {"PA": "20291231"}, cq="N")
    result = await gateway.recheck_one(today=TODAY, now=later)
    assert result is not None and result.outcome is RecheckOutcome.REFRESHED
    kept = cache.store.load_grants()
    assert [(g.expiry, g.granted_at) for g in kept] == [(date(2029, 12, 31), NOW)]
    assert await gateway.recheck_one(today=TODAY, now=later) is None  # not due yet
    clock.now += gateway.planner.interval
    client.error = Sip2TimeoutError("slow")
    failed = await gateway.recheck_one(today=TODAY, now=later)
    assert failed is not None and failed.outcome is RecheckOutcome.FAILED
    assert len(cache) == 1 and gateway.reachable  # a re-check does not open the breaker
    clock.now += gateway.planner.interval
    gateway.breaker.record_failure()
    assert await gateway.recheck_one(today=TODAY, now=later) is None
    assert len(client.rechecked) == 2
    restarted = OfflineCache(cache.pepper, cache.store)
    assert len(restarted) == 1 and restarted.recheck_queue(later) == []
    await gateway.stop()


async def test_draining_with_a_finished_update_still_listed_returns() -> None:
    """A cache update that finished but whose done callback has not run yet ends the drain.

    Before, `drain` gathered the finished task again and again without ever yielding, so the
    event loop froze (Home Assistant too, when an LMS service unloaded).
    """
    gateway = object.__new__(LmsGateway)
    done = asyncio.get_running_loop().create_future()
    done.set_result(None)
    gateway._background = {done}  # noqa: SLF001 - finished, its callback not yet run
    async with asyncio.timeout(2):
        await gateway.drain()
