"""The access decision: card + PIN at a door -> granted, or refused with a reason.

Pure Python and blocking (a store lookup and one or two key derivations): Home Assistant runs
`AccessDecider.decide` in its executor. A PIN is evaluated only after an attempt has been taken
for its card (engine.lockout), so the lock-out holds however many requests arrive at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from .lockout import Lockout
from .membership import (
    ADULT_AGE,
    MIN_AGE,
    Member,
    MemberError,
    Reason,
    StaffCard,
    booking_admits,
    mask_card,
    normalise_card,
    public_reason,
)
from .pins import LockoutPolicy, verify_pin
from .pointmap import DoorKind
from .store import MembershipStore

__all__ = ["AccessDecider", "AccessRequest", "Decision", "public_reason"]

DEFAULT_ROOM_GRACE = timedelta(minutes=10)


@dataclass(frozen=True)
class AccessRequest:
    """One attempt at one door. `pin` and `card` never leave this object unmasked."""

    branch: str  # the branch's id (its sub-entry)
    door: str
    door_kind: DoorKind
    card: str
    pin: str
    at: datetime  # aware, local time of the branch
    open_to_members: bool
    fire_alarm: bool = False
    minors: int = 0  # accompanied under-16s the card holder declares
    adult_card: str | None = (
        None  # when the card is an under-16's: the accompanying adult
    )
    adult_pin: str | None = None

    def __repr__(self) -> str:
        """Show the request without its secrets."""
        return (
            f"AccessRequest(branch={self.branch!r}, door={self.door!r}, "
            f"card={mask_card(self.card)!r}, minors={self.minors})"
        )


@dataclass(frozen=True)
class Decision:
    """What the door does, and why. Holds only a masked card."""

    granted: bool
    reason: Reason
    card: str  # masked
    party: int = 0  # how many may come in on this release (card holder, adult, minors)
    staff_role: str | None = None
    locked_until: datetime | None = None


class AccessDecider:
    """Decides access requests against a membership store."""

    def __init__(
        self,
        store: MembershipStore,
        pepper: bytes,
        policy: LockoutPolicy | None = None,
        room_grace: timedelta = DEFAULT_ROOM_GRACE,
        now: datetime | None = None,
    ) -> None:
        """Create the decider; wrong PINs and lock-outs are counted in the store."""
        self.store = store
        self.pepper = pepper
        self.lockout = Lockout(store, pepper, policy, now)
        self.room_grace = room_grace

    def unlock_card(self, card: str, at: datetime | None = None) -> bool:
        """Lift a card's lock-out (staff set a new PIN, or unlocked it); True if one ran."""
        return self.lockout.clear(card, at)

    def locked_until(self, card: str, at: datetime) -> datetime | None:
        """Return when a card's lock-out ends, or None (also for a malformed card)."""
        try:
            return self.lockout.locked_until(card, at)
        except MemberError:
            return None

    def _check_pin(
        self, card: str, pin: str, stored: str | None, at: datetime
    ) -> tuple[Reason, datetime | None]:
        """Return GRANTED, WRONG_PIN or LOCKED_OUT (with its end), counting the attempt.

        The attempt is taken before the derivation: a request beyond the policy's number of
        attempts is refused without its PIN being evaluated.
        """
        attempt = self.lockout.reserve(card, at)
        if not attempt.allowed:
            return Reason.LOCKED_OUT, attempt.locked_until
        if verify_pin(pin, stored, self.pepper):
            self.lockout.succeeded(attempt)
            return Reason.GRANTED, None
        until = self.lockout.failed(attempt, at)
        return Reason.WRONG_PIN, until

    def _holder(
        self, card: str, pin: str, at: datetime
    ) -> tuple[Reason, Member | StaffCard | None, datetime | None]:
        """Identify the card and check its PIN; an unknown card number is counted too."""
        try:
            card = normalise_card(card)
        except MemberError:
            verify_pin(pin, None, self.pepper)  # same time as a real check
            return Reason.UNKNOWN_CARD, None, None
        holder: Member | StaffCard | None = self.store.staff(card) or self.store.member(
            card
        )
        reason, until = self._check_pin(
            card, pin, holder.pin_hash if holder else None, at
        )
        if holder is None and reason is Reason.WRONG_PIN:
            reason = Reason.UNKNOWN_CARD
        return reason, holder, until

    def decide(self, request: AccessRequest) -> Decision:
        """Decide one request."""
        masked = mask_card(request.card)

        def refuse(reason: Reason, until: datetime | None = None) -> Decision:
            return Decision(False, reason, masked, locked_until=until)

        if request.fire_alarm:
            return refuse(Reason.FIRE_ALARM)
        reason, holder, until = self._holder(request.card, request.pin, request.at)
        if reason is not Reason.GRANTED or holder is None:
            return refuse(reason, until)
        if isinstance(holder, StaffCard):
            if not holder.admits(request.at, request.branch):
                return refuse(Reason.OUTSIDE_WINDOW)
            return Decision(True, Reason.STAFF, masked, party=1, staff_role=holder.role)

        today = request.at.date()
        party = 1 + request.minors
        if holder.age(today) < MIN_AGE:
            # An under-16's card opens the door only with an adult of 18+ and the adult's PIN.
            if holder.restriction.value != "none":
                return refuse(Reason(holder.restriction.value))
            if holder.card_expiry < today:
                return refuse(Reason.CARD_EXPIRED)
            if not request.adult_card or request.adult_pin is None:
                return refuse(Reason.UNDER_16)
            adult_reason, adult, until = self._holder(
                request.adult_card, request.adult_pin, request.at
            )
            if adult_reason is not Reason.GRANTED or adult is None:
                return refuse(adult_reason, until)
            if not isinstance(adult, Member):
                # A staff card has no birth date to check: the adult must be a member.
                return refuse(Reason.ADULT_NOT_MEMBER)
            if adult.age(today) < ADULT_AGE:
                return refuse(Reason.ADULT_UNDER_18)
            eligibility = adult.eligibility(today)
            party += 1
        else:
            eligibility = holder.eligibility(today)
            if eligibility is Reason.GRANTED and request.minors > 0:
                if holder.age(today) < ADULT_AGE:
                    return refuse(Reason.ADULT_UNDER_18)
        if eligibility is not Reason.GRANTED:
            return refuse(eligibility)
        if request.door_kind is DoorKind.MEETING_ROOM:
            bookings = self.store.bookings(
                request.branch,
                request.at,
                request.at + self.room_grace + timedelta(microseconds=1),
            )
            room = [b for b in bookings if b.room == request.door]
            if not booking_admits(
                room, normalise_card(request.card), request.at, self.room_grace
            ):
                return refuse(Reason.ROOM_NOT_BOOKED)
        elif not request.open_to_members:
            return refuse(Reason.NOT_OPEN)
        return Decision(True, Reason.GRANTED, masked, party=party)
