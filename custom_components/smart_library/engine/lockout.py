"""The PIN lock-out: at most a set number of PINs evaluated for one card in a window.

The attempt is taken before the key derivation, in the same store transaction as the check of the
count (`reserve`), and resolved after it (`failed` or `succeeded`). Whatever arrives at once, no
more than `policy.attempts` PINs of a card are ever being evaluated or evaluated wrong within the
window: a request beyond that is refused without its PIN being looked at. The counts live in the
membership store, so a reload or a restart neither lifts a lock-out nor forgets a wrong PIN.

Cards are named by a peppered digest (`card_key`), never by their number. Any well-formed card
number is counted, a member's or not, so a lock-out does not tell a member's card from a stranger's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from .membership import card_key
from .pins import LockoutPolicy
from .store import MembershipStore


@dataclass(frozen=True)
class Attempt:
    """The answer to a reservation: an attempt to evaluate, or a refusal.

    `id` is set when one PIN may be evaluated; otherwise the card is locked out (`locked_until`
    says until when, or None while the attempts of the window are all taken but still running).
    """

    key: str
    id: int | None
    locked_until: datetime | None = None

    @property
    def allowed(self) -> bool:
        """Return True when one PIN may be evaluated."""
        return self.id is not None


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
        store.migrate_legacy_lockouts(self.key, now or datetime.now(UTC))

    def key(self, card: str) -> str:
        """Return the digest a card is counted under (MemberError for a malformed card)."""
        return card_key(card, self._pepper)

    def reserve(self, card: str, at: datetime) -> Attempt:
        """Take one attempt for the card, or be refused; one transaction with the check."""
        key = self.key(card)
        attempt, until = self.store.reserve_pin_attempt(
            key, at, self.policy.attempts, self.policy.window
        )
        return Attempt(key, attempt, until)

    def failed(self, attempt: Attempt, at: datetime) -> datetime | None:
        """Count the attempt's PIN as wrong; return the end of the lock-out it starts, if any."""
        if attempt.id is None:
            return attempt.locked_until
        return self.store.pin_attempt_failed(
            attempt.id,
            key=attempt.key,
            at=at,
            attempts=self.policy.attempts,
            window=self.policy.window,
            duration=self.policy.duration,
        )

    def succeeded(self, attempt: Attempt) -> None:
        """Count the attempt's PIN as right: the card's wrong PINs are forgotten."""
        if attempt.id is not None:
            self.store.pin_attempt_succeeded(attempt.id, attempt.key)

    def release(self, attempt: Attempt) -> None:
        """Give back an attempt whose PIN was not evaluated after all (it counts for nothing)."""
        if attempt.id is not None:
            self.store.release_pin_attempt(attempt.id)

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
