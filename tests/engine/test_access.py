"""Membership rules, PINs, lock-out and the access decision (plain pytest, a real SQLite file)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import date, datetime, time, timedelta
from pathlib import Path
import sqlite3
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from custom_components.smart_library.engine.building.pointmap import DoorKind
from custom_components.smart_library.engine.database import storage_error
from custom_components.smart_library.engine.members import pins
from custom_components.smart_library.engine.members.access import (
    AccessDecider,
    AccessRequest,
    Decision,
)
from custom_components.smart_library.engine.members.membership import (
    NOT_RECOGNISED,
    Booking,
    Member,
    MemberError,
    Reason,
    Restriction,
    StaffCard,
    age_on,
    mask_card,
    parse_windows,
    public_reason,
)
from custom_components.smart_library.engine.members.pins import (
    SCRYPT_LOG2_N,
    LockoutPolicy,
    PinFormatError,
    hash_pin,
    new_pepper,
    verify_pin,
)
from custom_components.smart_library.engine.members.store import MembershipStore

LONDON = ZoneInfo("Europe/London")
NOW = datetime(2026, 11, 24, 18, 30, tzinfo=LONDON)  # a Tuesday evening, smart hours
TODAY = NOW.date()
PEPPER = new_pepper()


def member(card: str, born: date, **changes: object) -> Member:
    """Return an eligible member with a PIN of 2468 unless `changes` say otherwise."""
    base = Member(
        card=card,
        birth_date=born,
        card_expiry=date(2028, 1, 31),
        name="A Member",
        induction_date=date(2026, 3, 1),
        pin_hash=hash_pin("2468", PEPPER),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[MembershipStore]:
    """Give a store with one member of each kind the rules tell apart."""
    db = MembershipStore(tmp_path / "members.db")
    for m in (
        member("10000001", date(1980, 5, 1)),  # adult, fine
        member("10000002", date(2010, 11, 25)),  # 16 tomorrow: 15 today
        member("10000003", date(2009, 11, 24)),  # 17 today
        member("10000004", date(1990, 1, 1), induction_date=None),
        member("10000005", date(1990, 1, 1), card_expiry=date(2026, 11, 23)),
        member(
            "10000006",
            date(1990, 1, 1),
            renewed_on=date(2026, 6, 1),
            induction_date=date(2025, 1, 1),
        ),
        member(
            "10000007",
            date(1990, 1, 1),
            restriction=Restriction.BARRED,
            restriction_date=date(2026, 10, 1),
            review_date=date(2027, 4, 1),
        ),
        member("10000008", date(1990, 1, 1), restriction=Restriction.FINAL_WARNING),
        member("10000009", date(2015, 6, 1), induction_date=None),  # a child
        member("10000010", date(1990, 1, 1), pin_hash=None),  # no PIN set yet
    ):
        db.add(m, TODAY)
    yield db
    db.close()


@pytest.fixture
def decider(store: MembershipStore) -> AccessDecider:
    """Give a decider with the default lock-out (5 wrong PINs in 15 min lock 15 min)."""
    return AccessDecider(store, PEPPER, now=NOW)


def ask(
    decider: AccessDecider,
    card: str,
    pin: str = "2468",
    *,
    at: datetime = NOW,
    door: str = "entrance",
    open_to_members: bool = True,
    **extra: object,
) -> Reason:
    """Return the reason of a request's decision."""
    request = AccessRequest(
        branch="oadby",
        door=door,
        door_kind=DoorKind.MEETING_ROOM
        if door == "meeting_room"
        else DoorKind.ENTRANCE,
        card=card,
        pin=pin,
        at=at,
        open_to_members=open_to_members,
        **extra,  # type: ignore[arg-type]
    )
    decision = decider.decide(request)
    assert decision.granted is (decision.reason in (Reason.GRANTED, Reason.STAFF))
    assert card not in decision.card or len(card) <= 4
    return decision.reason


@pytest.mark.parametrize(
    ("card", "pin", "expected"),
    [
        ("10000001", "2468", Reason.GRANTED),
        ("99999999", "2468", Reason.UNKNOWN_CARD),
        ("not a card!", "2468", Reason.UNKNOWN_CARD),
        ("10000001", "1357", Reason.WRONG_PIN),
        ("10000001", "24", Reason.WRONG_PIN),
        ("10000010", "2468", Reason.NO_PIN_SET),  # imported, no PIN set yet
        ("10000002", "2468", Reason.UNDER_16),
        ("10000003", "2468", Reason.GRANTED),  # 16-17 may come in alone
        ("10000004", "2468", Reason.INDUCTION_NEEDED),
        ("10000005", "2468", Reason.CARD_EXPIRED),
        ("10000006", "2468", Reason.INDUCTION_OUTDATED),
        ("10000007", "2468", Reason.BARRED),
        ("10000008", "2468", Reason.FINAL_WARNING),
        ("10000009", "2468", Reason.UNDER_16),
    ],
)
def test_each_rule(
    decider: AccessDecider, card: str, pin: str, expected: Reason
) -> None:
    """Every refusal of the seeds has its own reason."""
    assert ask(decider, card, pin) is expected


def test_a_member_with_no_pin_reads_no_pin_set_and_counts_as_a_wrong_pin(
    decider: AccessDecider,
) -> None:
    """Staff are told the member has no PIN yet; a reader, `not_recognised`; the lock-out counts.

    Whatever is typed, nothing opens the door, and five tries lock the card as five wrong PINs
    would (so the reason cannot be used to try PINs faster).
    """
    assert decider.locked_until("10000010", NOW) is None
    for pin in ("2468", "0000", "12345678", "24", "1357"):
        assert ask(decider, "10000010", pin) is Reason.NO_PIN_SET
    assert public_reason(Reason.NO_PIN_SET) == NOT_RECOGNISED
    assert decider.locked_until("10000010", NOW) is not None
    assert ask(decider, "10000010") is Reason.LOCKED_OUT


def test_wrong_pin_is_checked_before_the_member_is_described(
    decider: AccessDecider,
) -> None:
    """A stolen card with a guessed PIN learns nothing about its holder's standing."""
    assert ask(decider, "10000007", "1111") is Reason.WRONG_PIN
    assert ask(decider, "10000005", "1111") is Reason.WRONG_PIN


def test_not_open_and_fire(decider: AccessDecider) -> None:
    """Closed hours refuse a good card; during a fire alarm card checks are suspended."""
    assert ask(decider, "10000001", open_to_members=False) is Reason.NOT_OPEN
    assert ask(decider, "10000001", fire_alarm=True) is Reason.FIRE_ALARM


def test_evacuation_and_lockdown(store: MembershipStore) -> None:
    """After a fire nobody enters until a reset; a lockdown admits staff cards only.

    A lockdown refuses a member only once the PIN was right (a wrong one says just that), and
    never a staff card in its window; an evacuation refuses every card before any check.
    """
    store.save_staff(
        StaffCard(
            "SEC001",
            "Security",
            "security",
            parse_windows("00:00-23:59"),
            hash_pin("97531", PEPPER),
        )
    )
    decider = AccessDecider(store, PEPPER, now=NOW)
    assert ask(decider, "10000001", lockdown=True) is Reason.LOCKDOWN
    assert ask(decider, "10000001", "1357", lockdown=True) is Reason.WRONG_PIN
    assert ask(decider, "10000007", lockdown=True) is Reason.LOCKDOWN
    assert ask(decider, "SEC001", "97531", lockdown=True) is Reason.STAFF
    assert ask(decider, "10000001", evacuation=True) is Reason.EVACUATION
    assert ask(decider, "SEC001", "97531", evacuation=True) is Reason.EVACUATION
    assert (
        ask(decider, "SEC001", "97531", evacuation=True, lockdown=True)
        is Reason.EVACUATION
    )
    assert (
        ask(decider, "10000001", fire_alarm=True, evacuation=True) is Reason.FIRE_ALARM
    )


def test_minors(decider: AccessDecider) -> None:
    """An 18+ member may bring under-16s; a 16-17 member may not; a child needs an adult's PIN."""
    request = AccessRequest(
        "oadby", "entrance", DoorKind.ENTRANCE, "10000001", "2468", NOW, True, minors=2
    )
    decision = decider.decide(request)
    assert (decision.granted, decision.party) == (True, 3)
    assert ask(decider, "10000003", minors=1) is Reason.ADULT_UNDER_18
    assert ask(decider, "10000009") is Reason.UNDER_16
    assert (
        ask(decider, "10000009", adult_card="10000003", adult_pin="2468")
        is Reason.ADULT_UNDER_18
    )
    assert (
        ask(decider, "10000009", adult_card="10000001", adult_pin="0000")
        is Reason.WRONG_PIN
    )
    assert (
        ask(decider, "10000009", adult_card="10000007", adult_pin="2468")
        is Reason.BARRED
    )
    child = AccessRequest(
        "oadby",
        "entrance",
        DoorKind.ENTRANCE,
        "10000009",
        "2468",
        NOW,
        True,
        adult_card="10000001",
        adult_pin="2468",
    )
    decision = decider.decide(child)
    assert (decision.granted, decision.party) == (True, 2)


def test_birthday_boundaries() -> None:
    """Ages turn on the birthday itself; a 29 February birthday on 1 March."""
    assert age_on(date(2010, 11, 24), date(2026, 11, 24)) == 16
    assert age_on(date(2010, 11, 25), date(2026, 11, 24)) == 15
    assert age_on(date(2008, 2, 29), date(2026, 2, 28)) == 17
    assert age_on(date(2008, 2, 29), date(2026, 3, 1)) == 18


def test_card_expiry_day_and_renewal(store: MembershipStore) -> None:
    """A card works through its expiry date; a renewal needs a new induction to work again."""
    decider = AccessDecider(store, PEPPER, now=NOW)
    store.change("10000001", lambda m: replace(m, card_expiry=TODAY))
    assert ask(decider, "10000001") is Reason.GRANTED
    store.change("10000001", lambda m: replace(m, card_expiry=TODAY - timedelta(1)))
    assert ask(decider, "10000001") is Reason.CARD_EXPIRED
    store.change("10000001", lambda m: m.renewed(TODAY, date(2029, 11, 30)))
    assert ask(decider, "10000001") is Reason.INDUCTION_OUTDATED
    store.change("10000001", lambda m: replace(m, induction_date=TODAY))
    assert ask(decider, "10000001") is Reason.GRANTED
    with pytest.raises(MemberError, match="expiry_not_after_renewal"):
        store.change("10000001", lambda m: m.renewed(TODAY, TODAY))
    assert store.require("10000001").card_expiry == date(2029, 11, 30)


def test_lockout(store: MembershipStore) -> None:
    """Five wrong PINs in 15 minutes lock the card for 15 minutes, across a restart."""
    decider = AccessDecider(store, PEPPER, now=NOW)
    for minute in range(4):
        assert (
            ask(decider, "10000001", "0000", at=NOW + timedelta(minutes=minute))
            is Reason.WRONG_PIN
        )
    # The right PIN before the fifth wrong one clears the count.
    assert ask(decider, "10000001", at=NOW + timedelta(minutes=4)) is Reason.GRANTED
    for minute in range(5):
        ask(decider, "10000001", "0000", at=NOW + timedelta(minutes=5 + minute))
    locked_at = NOW + timedelta(minutes=10)
    assert ask(decider, "10000001", at=locked_at) is Reason.LOCKED_OUT
    # Another card is not affected.
    assert ask(decider, "10000003", at=locked_at) is Reason.GRANTED
    # A restart does not lift it.
    again = AccessDecider(store, PEPPER, now=locked_at)
    assert ask(again, "10000001", at=locked_at) is Reason.LOCKED_OUT
    assert ask(again, "10000001", at=NOW + timedelta(minutes=9 + 15)) is Reason.GRANTED


def test_lockout_window_and_policy(store: MembershipStore) -> None:
    """Wrong PINs spread over more than the window do not add up; the policy is configurable."""
    decider = AccessDecider(store, PEPPER, now=NOW)
    for step in range(8):
        assert (
            ask(decider, "10000001", "0000", at=NOW + timedelta(minutes=4 * step))
            is Reason.WRONG_PIN
        )
    strict = AccessDecider(
        store,
        PEPPER,
        LockoutPolicy(attempts=2, duration=timedelta(minutes=60)),
        now=NOW,
    )
    ask(strict, "10000003", "0000")
    ask(strict, "10000003", "0000")
    assert ask(strict, "10000003", at=NOW + timedelta(minutes=59)) is Reason.LOCKED_OUT
    strict.unlock_card("10000003")
    assert ask(strict, "10000003", at=NOW + timedelta(minutes=59)) is Reason.GRANTED


def test_meeting_room(store: MembershipStore) -> None:
    """The room door opens for the booker's card from the grace before the start to the end."""
    decider = AccessDecider(store, PEPPER, now=NOW)
    start = NOW.replace(hour=19, minute=0)
    store.add_booking(
        Booking(
            "b1", "oadby", "meeting_room", "10000001", start, start + timedelta(hours=1)
        )
    )
    assert ask(decider, "10000001", door="meeting_room") is Reason.ROOM_NOT_BOOKED
    before = start - timedelta(minutes=10)
    assert ask(decider, "10000001", door="meeting_room", at=before) is Reason.GRANTED
    assert (
        ask(decider, "10000003", door="meeting_room", at=before)
        is Reason.ROOM_NOT_BOOKED
    )
    end = start + timedelta(hours=1)
    assert (
        ask(decider, "10000001", door="meeting_room", at=end) is Reason.ROOM_NOT_BOOKED
    )
    # A booking in another branch does not open this one's room.
    other = AccessRequest(
        "wigston",
        "meeting_room",
        DoorKind.MEETING_ROOM,
        "10000001",
        "2468",
        start,
        True,
    )
    assert decider.decide(other).reason is Reason.ROOM_NOT_BOOKED
    # A barred booker is still barred.
    store.change("10000001", lambda m: replace(m, restriction=Restriction.BARRED))
    assert ask(decider, "10000001", door="meeting_room", at=start) is Reason.BARRED


def test_staff_windows(store: MembershipStore) -> None:
    """A cleaner's card works in its own window, whatever the member rules or the hours say."""
    store.save_staff(
        StaffCard(
            "CL0001",
            "Cleaner",
            "cleaner",
            parse_windows("mon-fri 06:00-08:00; sat 07:00-08:00"),
            hash_pin("97531", PEPPER),
        )
    )
    store.save_staff(
        StaffCard(
            "SEC001",
            "Security",
            "security",
            parse_windows("22:00-06:00"),
            hash_pin("97531", PEPPER),
            frozenset({"wigston"}),
        )
    )
    decider = AccessDecider(store, PEPPER, now=NOW)
    morning = datetime.combine(TODAY, time(6, 30), LONDON)
    assert ask(decider, "CL0001", "97531", at=morning, open_to_members=False) is (
        Reason.STAFF
    )
    assert ask(decider, "CL0001", "97531") is Reason.OUTSIDE_WINDOW
    assert ask(decider, "CL0001", "11111", at=morning) is Reason.WRONG_PIN
    sunday = datetime(2026, 11, 29, 6, 30, tzinfo=LONDON)
    assert ask(decider, "CL0001", "97531", at=sunday) is Reason.OUTSIDE_WINDOW
    late = datetime.combine(TODAY, time(23, 0), LONDON)
    assert ask(decider, "SEC001", "97531", at=late) is Reason.OUTSIDE_WINDOW  # oadby
    night = AccessRequest(
        "wigston", "entrance", DoorKind.ENTRANCE, "SEC001", "97531", late, False
    )
    assert decider.decide(night).reason is Reason.STAFF
    assert decider.decide(replace(night, at=morning - timedelta(hours=1))).granted


@pytest.mark.parametrize(
    "text", ["", "mon-fri", "funday 06:00-07:00", "06:00-06:00", "mon 25:00-26:00"]
)
def test_bad_windows(text: str) -> None:
    """A window that cannot be read is refused with a reason."""
    with pytest.raises(MemberError, match="invalid_window"):
        parse_windows(text)


def test_pins() -> None:
    """PINs are 4-8 digits, salted (two hashes of one PIN differ) and peppered."""
    for bad in ("123", "123456789", "12a4", "١٢٣٤"):
        with pytest.raises(PinFormatError) as err:
            hash_pin(bad, PEPPER)
        assert bad not in str(err.value)
    one, two = hash_pin("2468", PEPPER), hash_pin("2468", PEPPER)
    assert one != two and "2468" not in one
    assert verify_pin("2468", one, PEPPER) and verify_pin("2468", two, PEPPER)
    assert not verify_pin("2469", one, PEPPER)
    assert not verify_pin("2468", one, new_pepper())  # the pepper is part of the key
    assert not verify_pin("2468", "garbage", PEPPER)
    assert not verify_pin("2468", None, PEPPER)


def test_mask() -> None:
    """At most the last four characters of a card are shown, and never more than half."""
    assert mask_card("10000001") == "••••0001"
    assert mask_card("12345") == "••••45"  # never more than half of a short card
    assert mask_card("1") == "••••"


# -- issue 19: the second perimeter ---------------------------------------------------------


@pytest.mark.parametrize(
    ("card", "pin"),
    [
        ("10000001", "2468\x00"),  # a NUL after the right PIN
        ("10000001", "24\r68"),
        ("10000001\n", "2468"),  # a line end after the card (normalising would drop it)
        ("10000001", "\t2468"),
        ("1000\x1b0001", "2468"),
    ],
)
def test_a_control_character_is_an_invalid_request_that_counts_against_no_card(
    store: MembershipStore, card: str, pin: str
) -> None:
    """Refused `invalid_request` before the lock-out is touched, whatever else is right.

    With a lock-out of one attempt, a card tried that way is still not locked out after.
    """
    decider = AccessDecider(store, PEPPER, LockoutPolicy(attempts=1), now=NOW)
    for _ in range(3):
        assert ask(decider, card, pin) is Reason.INVALID_REQUEST
    assert not store.lockouts(NOW)
    assert ask(decider, "10000001") is Reason.GRANTED
    # The accompanying adult's PIN too, before the child's PIN is evaluated.
    assert (
        ask(decider, "10000009", adult_card="10000001", adult_pin="2468\r")
        is Reason.INVALID_REQUEST
    )


def test_at_closed_hours_the_reader_cannot_tell_a_right_pin_from_a_wrong_one(
    store: MembershipStore,
) -> None:
    """At closed hours a member's right PIN, a wrong one and a stranger's card read alike.

    Closed hours are decided before the PIN: all read `not_open`, and no PIN is evaluated, so
    none is counted.

    Staff and contractor cards whose window is open still work; their refusals (a wrong PIN,
    outside the window) keep their reason for staff but read `not_open` at the reader, so a
    staff card cannot be told from the others either.
    """
    store.save_staff(
        StaffCard(
            "CL0001",
            "Cleaner",
            "cleaner",
            parse_windows("06:00-08:00"),
            hash_pin("97531", PEPPER),
        )
    )
    decider = AccessDecider(store, PEPPER, LockoutPolicy(attempts=2), now=NOW)

    def closed(card: str, pin: str, at: datetime = NOW) -> Decision:
        return decider.decide(
            AccessRequest("oadby", "entrance", DoorKind.ENTRANCE, card, pin, at, False)
        )

    right, wrong = closed("10000001", "2468"), closed("10000001", "1357")
    stranger, malformed = closed("99999999", "2468"), closed("x", "2468")
    for decision in (right, wrong, stranger, malformed):
        assert not decision.granted
        assert (decision.reason, decision.reader_reason) == (
            Reason.NOT_OPEN,
            "not_open",
        )
    for _ in range(5):
        closed("10000001", "0000")
    assert not store.lockouts(NOW)  # no PIN was evaluated
    assert ask(decider, "10000001") is Reason.GRANTED  # open again: not locked out
    morning = datetime.combine(TODAY, time(6, 30), LONDON)
    assert closed("CL0001", "97531", morning).reason is Reason.STAFF
    staff_wrong, staff_late = (
        closed("CL0001", "11111", morning),
        closed("CL0001", "97531"),
    )
    assert (staff_wrong.reason, staff_wrong.reader_reason) == (
        Reason.WRONG_PIN,
        "not_open",
    )
    assert (staff_late.reason, staff_late.reader_reason) == (
        Reason.OUTSIDE_WINDOW,
        "not_open",
    )
    for _ in range(
        2
    ):  # a staff card's PINs are counted (the right one cleared the count)
        closed("CL0001", "11111", morning)
    assert closed("CL0001", "97531", morning).reason is Reason.LOCKED_OUT
    # Open hours: the reader's answer is the public reason, as before.
    assert decider.decide(
        AccessRequest(
            "oadby", "entrance", DoorKind.ENTRANCE, "10000003", "1", NOW, True
        )
    ).reader_reason == ("not_recognised")


def test_every_refusal_costs_one_key_derivation_of_the_same_cost(
    store: MembershipStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Staff card, member, stranger, malformed card, closed hours: one derivation at 2^14."""
    store.save_staff(
        StaffCard(
            "CL0001",
            "Cleaner",
            "cleaner",
            parse_windows("00:00-23:59"),
            hash_pin("97531", PEPPER),
        )
    )
    costs = count_derivations(monkeypatch)
    decider = AccessDecider(store, PEPPER, now=NOW)
    for card, pin, open_to_members in [
        ("CL0001", "11111", True),
        ("10000001", "1111", True),
        ("99999999", "1111", True),
        ("not a card!", "1111", True),
        ("CL0001", "11111", False),
        ("10000001", "1111", False),
        ("99999999", "1111", False),
    ]:
        costs.clear()
        ask(decider, card, pin, open_to_members=open_to_members)
        assert costs == [SCRYPT_LOG2_N], (card, open_to_members)


def count_derivations(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count every scrypt derivation from now on, by its cost (log2 n)."""
    costs: list[int] = []
    derive = pins._derive  # noqa: SLF001

    def counting(*args: Any, **kwargs: Any) -> bytes:
        costs.append(kwargs["log2_n"])
        return derive(*args, **kwargs)

    monkeypatch.setattr(pins, "_derive", counting)
    return costs


def test_while_the_store_cannot_be_written_the_lockout_is_no_way_in(
    store: MembershipStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A wrong PIN that cannot be counted is a guess for free: no member PIN is evaluated.

    The store read-only (as after a remount; a full disk is the same, below): members and
    strangers are refused `store_unavailable` before their PIN is looked at, however many
    times they try, at the cost of one dummy derivation. A staff card opens only if the
    store can still be read (its PIN hash, its running lock-out) and its attempts are then
    counted in memory under the same policy; its refusals read `store_unavailable` too.
    """
    store.save_staff(
        StaffCard(
            "CL0001",
            "Cleaner",
            "cleaner",
            parse_windows("00:00-23:59"),
            hash_pin("97531", PEPPER),
        )
    )
    store.save_staff(
        StaffCard(
            "SEC001",
            "Security",
            "security",
            parse_windows("00:00-23:59"),
            hash_pin("97531", PEPPER),
        )
    )
    decider = AccessDecider(store, PEPPER, LockoutPolicy(attempts=2), now=NOW)
    for _ in range(2):
        ask(decider, "SEC001", "00000")  # locked out in the store before
    store._db.execute("PRAGMA query_only = ON")
    costs = count_derivations(monkeypatch)
    for card, pin in [("10000001", "2468")] + [("10000001", "0000")] * 10:
        costs.clear()
        decision = decider.decide(
            AccessRequest("oadby", "entrance", DoorKind.ENTRANCE, card, pin, NOW, True)
        )
        assert (decision.reason, decision.reader_reason) == (
            Reason.STORE_UNAVAILABLE,
            "store_unavailable",
        )
        assert costs == [SCRYPT_LOG2_N]  # a dummy: the PIN itself is never evaluated
    assert ask(decider, "99999999") is Reason.STORE_UNAVAILABLE
    assert ask(decider, "CL0001", "97531") is Reason.STAFF
    assert ask(decider, "SEC001", "97531") is Reason.LOCKED_OUT  # read from the store
    wrong = decider.decide(
        AccessRequest("oadby", "entrance", DoorKind.ENTRANCE, "CL0001", "1", NOW, True)
    )
    assert (wrong.reason, wrong.reader_reason) == (
        Reason.WRONG_PIN,
        "store_unavailable",
    )
    ask(decider, "CL0001", "2")
    assert ask(decider, "CL0001", "97531") is Reason.LOCKED_OUT  # counted in memory
    store._db.execute("PRAGMA query_only = OFF")
    assert ask(decider, "10000001") is Reason.GRANTED

    def full(*args: Any, **kwargs: Any) -> Any:
        raise storage_error(sqlite3.OperationalError("database or disk is full"))

    monkeypatch.setattr(store, "reserve_pin_attempt", full)
    assert ask(decider, "10000001") is Reason.STORE_UNAVAILABLE
    store.close()  # nothing can be read either: nobody, staff included
    assert ask(decider, "CL0001", "97531", at=NOW + timedelta(hours=1)) is (
        Reason.STORE_UNAVAILABLE
    )
