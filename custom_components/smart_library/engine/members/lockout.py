"""The PIN lock-out: at most a set number of PINs evaluated for one card in a window.

The attempt is taken before the key derivation, in the same store transaction as the check of the
count (`reserve`), and resolved after it (`failed` or `succeeded`). Whatever arrives at once, no
more than `policy.attempts` PINs of a card are ever being evaluated or evaluated wrong within the
window: a request beyond that is refused without its PIN being looked at. The counts live in the
membership store, so a reload or a restart neither lifts a lock-out nor forgets a wrong PIN.

Cards are named by a peppered digest (`card_key`), never by their number. Any well-formed card
number is counted, a member's or not, so a lock-out does not tell a member's card from a stranger's.

While the store cannot be written (a full disk, a read-only file system) a wrong PIN cannot be
counted where it must survive a restart, and an uncounted guess is a free one: `reserve` raises
the StorageError, and no PIN is evaluated. Only where the caller asks for it (`fallback`: staff
and contractor cards, the service's own few cards that must still open a building) the attempt is
counted in memory under the same policy, provided the store can still be read and shows the card
not locked out; such an attempt is `in_memory`. The memory counts are lost on a restart, which
an attacker at a door cannot cause. A failure to resolve an attempt in the store leaves it taken
(counted as a PIN being evaluated) until its window passes: the safe side.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
import itertools
import logging
import threading

from ..database import StorageError
from .membership import card_key
from .pins import LockoutPolicy
from .store import MembershipStore

_LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True)
class Attempt:
    """The answer to a reservation: an attempt to evaluate, or a refusal.

    `id` is set when one PIN may be evaluated; otherwise the card is locked out (`locked_until`
    says until when, or None while the attempts of the window are all taken but still running).
    """

    key: str
    id: int | None
    locked_until: datetime | None = None
    in_memory: bool = False  # counted in memory: the store could not be written

    @property
    def allowed(self) -> bool:
        """Return True when one PIN may be evaluated."""
        return self.id is not None


class _MemoryCounts:
    """The store's attempt counting, in memory, for while the store cannot be written."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._attempts: dict[
            str, dict[int, tuple[float, bool]]
        ] = {}  # id: (at, failed)
        self._locked: dict[str, float] = {}

    def reserve(
        self, key: str, at: datetime, attempts: int, window: timedelta
    ) -> tuple[int | None, datetime | None]:
        now = at.timestamp()
        with self._lock:
            until = self._locked.get(key)
            if until is not None and until > now:
                return None, datetime.fromtimestamp(until, at.tzinfo)
            self._locked.pop(key, None)
            taken = self._attempts.setdefault(key, {})
            for stale in [
                i for i, (t, _) in taken.items() if t < now - window.total_seconds()
            ]:
                del taken[stale]
            if len(taken) >= attempts:
                return None, None
            attempt = next(self._ids)
            taken[attempt] = (now, False)
            return attempt, None

    def failed(
        self,
        attempt: int,
        key: str,
        at: datetime,
        policy: LockoutPolicy,
    ) -> datetime | None:
        now = at.timestamp()
        with self._lock:
            taken = self._attempts.setdefault(key, {})
            if attempt in taken:
                taken[attempt] = (taken[attempt][0], True)
            since = now - policy.window.total_seconds()
            failed = sum(1 for t, f in taken.values() if f and t >= since)
            if failed < policy.attempts:
                return None
            until = now + policy.duration.total_seconds()
            self._locked[key] = until
            self._attempts.pop(key, None)
            return datetime.fromtimestamp(until, at.tzinfo)

    def succeeded(self, attempt: int, key: str) -> None:
        with self._lock:
            taken = self._attempts.get(key, {})
            for done in [i for i, (_, f) in taken.items() if f or i == attempt]:
                del taken[done]


class Lockout:
    """Wrong-PIN counting per card, shared by every door of a library service."""

    def __init__(
        self,
        store: MembershipStore,
        pepper: bytes,
        policy: LockoutPolicy | None = None,
        now: datetime | None = None,
    ) -> None:
        """Count in `store`; take over the running lock-outs a version-1 store kept."""
        self.store = store
        self.policy = policy or LockoutPolicy()
        self._pepper = pepper
        self._memory = _MemoryCounts()
        try:
            store.migrate_legacy_lockouts(self.key, now or datetime.now(UTC))
        except StorageError as err:  # tried again at the next start
            _LOGGER.warning(
                "Lock-outs of an older store not carried over yet: %s", err.code
            )

    def key(self, card: str) -> str:
        """Return the digest a card is counted under (MemberError for a malformed card)."""
        return card_key(card, self._pepper)

    def reserve(self, card: str, at: datetime, *, fallback: bool = False) -> Attempt:
        """Take one attempt for the card, or be refused; one transaction with the check.

        Raise StorageError when the store cannot take it; with `fallback`, count it in memory
        instead if the store can still be read (its running lock-out of the card is honoured;
        a store that cannot be read raises).
        """
        key = self.key(card)
        try:
            attempt, until = self.store.reserve_pin_attempt(
                key, at, self.policy.attempts, self.policy.window
            )
        except StorageError:
            if not fallback:
                raise
            until = self.store.locked_until(key, at)  # may raise: then nothing opens
            if until is not None:
                return Attempt(key, None, until)
            attempt, until = self._memory.reserve(
                key, at, self.policy.attempts, self.policy.window
            )
            return Attempt(key, attempt, until, in_memory=True)
        return Attempt(key, attempt, until)

    def failed(self, attempt: Attempt, at: datetime) -> datetime | None:
        """Count the attempt's PIN as wrong; return the end of the lock-out it starts, if any."""
        if attempt.id is None:
            return attempt.locked_until
        if attempt.in_memory:
            return self._memory.failed(attempt.id, attempt.key, at, self.policy)
        try:
            return self.store.pin_attempt_failed(
                attempt.id,
                key=attempt.key,
                at=at,
                attempts=self.policy.attempts,
                window=self.policy.window,
                duration=self.policy.duration,
            )
        except StorageError as err:
            # The attempt stays taken (counted) until its window passes.
            _LOGGER.warning(
                "A failed attempt could not be recorded (storage: %s)", err.code
            )
            return None

    def succeeded(self, attempt: Attempt) -> None:
        """Count the attempt's PIN as right: the card's wrong PINs are forgotten."""
        if attempt.id is None:
            return
        if attempt.in_memory:
            self._memory.succeeded(attempt.id, attempt.key)
            return
        try:
            self.store.pin_attempt_succeeded(attempt.id, attempt.key)
        except StorageError as err:  # the attempt stays counted: the safe side
            _LOGGER.warning(
                "A successful attempt could not be recorded (storage: %s)", err.code
            )

    def release(self, attempt: Attempt) -> None:
        """Give back an attempt whose PIN was not evaluated after all (it counts for nothing)."""
        if attempt.id is None or attempt.in_memory:
            return
        try:
            self.store.release_pin_attempt(attempt.id)
        except StorageError as err:  # it stays counted until its window passes
            _LOGGER.warning("An attempt could not be given back: %s", err.code)

    def locked_until(self, card: str, at: datetime) -> datetime | None:
        """Return when the card's lock-out ends, or None when it is not locked out."""
        return self.store.locked_until(self.key(card), at)

    def clear(self, card: str, at: datetime | None = None) -> bool:
        """Lift the card's lock-out and forget its wrong PINs; True when one was running."""
        return self.store.clear_lockout(self.key(card), at or datetime.now(UTC))

    def snapshot(self, at: datetime | None = None) -> dict[str, str]:
        """Return the running lock-outs as card digest -> ISO end (for diagnostics: a count)."""
        return {
            key: until.isoformat()
            for key, until in self.store.lockouts(at or datetime.now(UTC)).items()
        }
