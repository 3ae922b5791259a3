"""The lock-out under attack: concurrent guesses, restarts, unknown cards (plain pytest).

Each test first tries to get round the rule: many guesses at once (the check, the derivation and
the count used to be three steps), a restart between guesses, a card no member holds.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path
import sqlite3
import threading
import time
from zoneinfo import ZoneInfo

import pytest

from custom_components.smart_library.engine.building.pointmap import DoorKind
from custom_components.smart_library.engine.members import access as access_module
from custom_components.smart_library.engine.members.access import (
    AccessDecider,
    AccessRequest,
)
from custom_components.smart_library.engine.members.membership import (
    Member,
    Reason,
    legacy_card_key,
    public_reason,
)
from custom_components.smart_library.engine.members.pins import (
    LockoutPolicy,
    hash_pin,
    new_pepper,
)
from custom_components.smart_library.engine.members.store import MembershipStore

LONDON = ZoneInfo("Europe/London")
NOW = datetime(2026, 11, 24, 18, 30, tzinfo=LONDON)
PEPPER = new_pepper()
CARD, PIN = "10000001", "2468"
STRANGER = "77777777"
GUESSES = 200
GUARD = 60.0  # seconds: only to fail rather than hang should the rule break


@pytest.fixture
def db(tmp_path: Path) -> Path:
    """Give a store file holding one inducted adult member with PIN 2468."""
    path = tmp_path / "members.db"
    store = MembershipStore(path)
    store.add(
        Member(
            CARD,
            date(1980, 5, 1),
            date(2028, 1, 31),
            induction_date=date(2026, 3, 1),
            pin_hash=hash_pin(PIN, PEPPER),
        ),
        NOW.date(),
    )
    store.close()
    return path


@pytest.fixture
def store(db: Path) -> Iterator[MembershipStore]:
    """Open the store file."""
    opened = MembershipStore(db)
    yield opened
    opened.close()


def ask(
    decider: AccessDecider, card: str, pin: str, at: datetime = NOW
) -> tuple[Reason, datetime | None]:
    """Return a request's reason and the end of the lock-out it reports."""
    decision = decider.decide(
        AccessRequest("oadby", "entrance", DoorKind.ENTRANCE, card, pin, at, True)
    )
    return decision.reason, decision.locked_until


class CountingGate:
    """Stands in for the key derivation: counts every PIN evaluated and holds it until opened."""

    def __init__(self) -> None:
        """Start closed, with nothing evaluated."""
        self.evaluated = 0
        self.finished = 0
        self.opened = threading.Event()
        self._lock = threading.Lock()
        self._real: Callable[[str, str | None, bytes], bool] = access_module.verify_pin

    def verify(self, pin: str, stored: str | None, pepper: bytes) -> bool:
        """Count the evaluation, wait for the gate, then evaluate for real."""
        with self._lock:
            self.evaluated += 1
        self.opened.wait(GUARD)
        return self._real(pin, stored, pepper)

    def done(self) -> None:
        """Note a request that has its answer."""
        with self._lock:
            self.finished += 1

    def wait_until(self, condition: Callable[[], bool]) -> None:
        """Wait for `condition` (polling); give up after the guard time."""
        deadline = time.monotonic() + GUARD
        while not condition() and time.monotonic() < deadline:
            time.sleep(0.001)


def test_two_hundred_guesses_at_once_never_evaluate_more_than_the_policy(
    store: MembershipStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """200 wrong PINs released together: exactly 5 evaluated, the other 195 refused unread."""
    gate = CountingGate()
    gate.opened.set()
    monkeypatch.setattr(access_module, "verify_pin", gate.verify)
    decider = AccessDecider(store, PEPPER, now=NOW)
    start = threading.Barrier(GUESSES)
    answers: list[Reason] = []

    def guess(number: int) -> None:
        start.wait(GUARD)
        answers.append(ask(decider, CARD, f"{1000 + number}")[0])

    threads = [threading.Thread(target=guess, args=(n,)) for n in range(GUESSES)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(GUARD)
    assert gate.evaluated == 5
    assert Counter(answers) == {Reason.WRONG_PIN: 5, Reason.LOCKED_OUT: 195}
    assert ask(decider, CARD, PIN)[0] is Reason.LOCKED_OUT


def test_the_right_pin_sixteenth_of_two_hundred_is_never_evaluated(
    store: MembershipStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The attack of the issue: 200 at once, the right PIN 16th. It is refused, never read.

    The first 15 go out, and their derivations are held while all 200 are in flight; the other
    185 (the right PIN first of them) follow. Before the fix every one of them passed the check
    before any wrong PIN was counted, and the right PIN was granted.
    """
    gate = CountingGate()
    monkeypatch.setattr(access_module, "verify_pin", gate.verify)
    decider = AccessDecider(store, PEPPER, now=NOW)
    answers: dict[int, Reason] = {}

    def guess(number: int) -> None:
        pin = PIN if number == 15 else f"{1000 + number}"
        answers[number] = ask(decider, CARD, pin)[0]
        gate.done()

    threads = [threading.Thread(target=guess, args=(n,)) for n in range(GUESSES)]
    for thread in threads[:15]:
        thread.start()
    gate.wait_until(lambda: gate.evaluated >= 5)
    for thread in threads[15:]:
        thread.start()
    # Every request is either held in a derivation or answered: then let the derivations run.
    gate.wait_until(lambda: gate.evaluated + gate.finished >= GUESSES)
    gate.opened.set()
    for thread in threads:
        thread.join(GUARD)
    assert gate.evaluated <= 5
    assert answers[15] is Reason.LOCKED_OUT
    assert Reason.GRANTED not in answers.values()
    assert Counter(answers.values()) == {Reason.WRONG_PIN: 5, Reason.LOCKED_OUT: 195}
    assert ask(decider, CARD, PIN)[0] is Reason.LOCKED_OUT


def test_wrong_pins_are_counted_across_a_restart(db: Path) -> None:
    """4 wrong, restart, 4 wrong, right PIN: the fifth wrong PIN locked the card (was: granted)."""
    store = MembershipStore(db)
    decider = AccessDecider(store, PEPPER, now=NOW)
    for minute in range(4):
        assert ask(decider, CARD, "0000", NOW + timedelta(minutes=minute))[0] is (
            Reason.WRONG_PIN
        )
    store.close()
    store = MembershipStore(db)
    decider = AccessDecider(store, PEPPER, now=NOW)
    later = NOW + timedelta(minutes=5)
    reason, until = ask(decider, CARD, "0000", later)
    assert (reason, until) == (Reason.WRONG_PIN, later + timedelta(minutes=15))
    for _ in range(3):
        assert ask(decider, CARD, "0000", later)[0] is Reason.LOCKED_OUT
    assert ask(decider, CARD, PIN, later) == (Reason.LOCKED_OUT, until)
    assert ask(decider, CARD, PIN, until)[0] is Reason.GRANTED
    store.close()


def test_an_evaluation_cut_short_still_counts(store: MembershipStore) -> None:
    """Attempts taken and never answered (a process killed mid-derivation) count in the window."""
    decider = AccessDecider(store, PEPPER, now=NOW)
    for _ in range(5):
        assert decider.lockout.reserve(CARD, NOW).allowed
    assert ask(decider, CARD, PIN)[0] is Reason.LOCKED_OUT
    after_window = NOW + timedelta(minutes=15, seconds=1)
    assert ask(decider, CARD, PIN, after_window)[0] is Reason.GRANTED


def test_a_strangers_card_is_locked_out_like_a_members(store: MembershipStore) -> None:
    """Guessing on a card no member holds ends the same way: the reply does not tell them apart."""
    decider = AccessDecider(store, PEPPER, now=NOW)
    member = [ask(decider, CARD, "0000")[0] for _ in range(6)]
    stranger = [ask(decider, STRANGER, "0000")[0] for _ in range(6)]
    assert [public_reason(r) for r in member] == [public_reason(r) for r in stranger]
    assert [public_reason(r) for r in stranger] == ["not_recognised"] * 5 + [
        "locked_out"
    ]
    assert stranger[:5] == [Reason.UNKNOWN_CARD] * 5  # staff still see the detail


def test_the_right_pin_clears_the_count_and_unlocking_lifts_a_lockout(
    store: MembershipStore,
) -> None:
    """A right PIN before the limit forgets the wrong ones; staff can lift a lock-out."""
    decider = AccessDecider(store, PEPPER, LockoutPolicy(attempts=2), now=NOW)
    assert ask(decider, CARD, "0000")[0] is Reason.WRONG_PIN
    assert ask(decider, CARD, PIN)[0] is Reason.GRANTED
    assert ask(decider, CARD, "0000")[0] is Reason.WRONG_PIN
    assert ask(decider, CARD, "0000")[0] is Reason.WRONG_PIN
    assert decider.locked_until(CARD, NOW) is not None
    assert len(decider.lockout.snapshot(NOW)) == 1
    assert decider.unlock_card(CARD, NOW) is True
    assert decider.unlock_card(CARD, NOW) is False  # nothing left to lift
    assert ask(decider, CARD, PIN)[0] is Reason.GRANTED


def test_the_store_names_no_card_in_its_lockout_tables(store: MembershipStore) -> None:
    """Lock-outs are kept under a peppered digest: neither the number nor a plain hash of it."""
    decider = AccessDecider(store, PEPPER, now=NOW)
    for _ in range(5):
        ask(decider, CARD, "0000")
    (key,) = decider.lockout.snapshot(NOW)
    assert CARD not in key and key != legacy_card_key(CARD)
    assert key == decider.lockout.key(CARD)
    assert AccessDecider(store, new_pepper(), now=NOW).lockout.key(CARD) != key


def test_a_lockout_kept_by_the_first_store_version_survives_the_upgrade(
    db: Path,
) -> None:
    """A running lock-out saved under the old unpeppered key is carried over, not lifted."""
    raw = sqlite3.connect(db)
    raw.execute("CREATE TABLE lockouts (key TEXT PRIMARY KEY, until TEXT NOT NULL)")
    raw.execute(
        "INSERT INTO lockouts VALUES (?, ?)",
        (legacy_card_key(CARD), (NOW + timedelta(minutes=10)).isoformat()),
    )
    raw.commit()
    raw.close()
    store = MembershipStore(db)
    decider = AccessDecider(store, PEPPER, now=NOW)
    assert ask(decider, CARD, PIN)[0] is Reason.LOCKED_OUT
    assert ask(decider, CARD, PIN, NOW + timedelta(minutes=10))[0] is Reason.GRANTED
    tables = {r[0] for r in store._read("SELECT name FROM sqlite_master")}
    assert "lockouts" not in tables
    store.close()


def test_a_childs_request_counts_against_the_adults_card_too(
    store: MembershipStore,
) -> None:
    """Guessing an accompanying adult's PIN is limited by the adult card's own lock-out."""
    child = replace(store.require(CARD), card="10000009", birth_date=date(2015, 6, 1))
    store.add(child, NOW.date())
    decider = AccessDecider(store, PEPPER, now=NOW)

    def with_adult(adult_pin: str) -> Reason:
        request = AccessRequest(
            "oadby",
            "entrance",
            DoorKind.ENTRANCE,
            "10000009",
            PIN,
            NOW,
            True,
            adult_card=CARD,
            adult_pin=adult_pin,
        )
        return decider.decide(request).reason

    assert [with_adult("0000") for _ in range(6)] == [Reason.WRONG_PIN] * 5 + [
        Reason.LOCKED_OUT
    ]
    assert ask(decider, CARD, PIN)[0] is Reason.LOCKED_OUT
