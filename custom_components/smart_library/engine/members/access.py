"""The access decision: card + PIN at a door -> granted, or refused with a reason.

Two membership backends, one set of house rules:
- the local store: `AccessDecider.decide`, pure Python and blocking (a store lookup and one or
  two key derivations): Home Assistant runs it in its executor;
- the library's own system over SIP2: `LmsAccess.decide` (async) asks the LMS (engine.lms) for
  the card and PIN, then applies the same house rules (`AccessDecider.rules`) to the member the
  LMS describes, with what the LMS does not know (induction, local bars and final warnings,
  staff cards, room bookings) from the local store.
Either way a PIN is evaluated only after an attempt has been taken for its card (engine.lockout),
so the lock-out holds however many requests arrive at once, and a wrong PIN the LMS reports
counts as one evaluated here.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any

from ..building.pointmap import DoorKind
from ..lms.gateway import (
    AnyReason,
    LmsGateway,
    LmsPatron,
    LmsReason,
    LmsResult,
    member_from_lms,
)
from .induction import revised_reason
from .lockout import Attempt, Lockout
from .membership import (
    ADULT_AGE,
    MIN_AGE,
    Member,
    MemberError,
    Reason,
    Restriction,
    StaffCard,
    age_band,
    booking_admits,
    mask_card,
    normalise_card,
    public_reason,
)
from .pins import LockoutPolicy, verify_pin
from .store import MembershipStore

__all__ = [
    "AccessDecider",
    "AccessRequest",
    "Decision",
    "Identified",
    "LmsAccess",
    "public_reason",
]

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
    # From a fire alarm until a person resets the branch: nobody enters (checked before the card).
    evacuation: bool = False
    # The branch is locked down: only staff cards enter (checked once the card is identified).
    lockdown: bool = False
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
    reason: AnyReason  # a membership.Reason, or with the LMS backend an lms.LmsReason
    card: str  # masked
    party: int = 0  # how many may come in on this release (card holder, adult, minors)
    staff_role: str | None = None
    locked_until: datetime | None = None
    # The LMS's screen message for the door reader (only once the PIN was right): for example
    # "Fines of 25.00 exceed the limit". Not for events or logs (it may name the member).
    message: str = field(default="", repr=False)
    # Whom a grant admits by age band (membership.AGE_BANDS), for the usage statistics: counts
    # only, never a birth date. Empty for a refusal or a staff card.
    age_bands: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True)
class Identified:
    """A card and PIN checked: GRANTED with its holder, or why not.

    `offline` when the library's system did not answer and its offline cache decided.
    """

    reason: AnyReason
    holder: Member | StaffCard | None
    until: datetime | None = None  # the end of a lock-out this attempt is in or started
    offline: bool = False
    message: str = field(default="", repr=False)  # the LMS's screen message, PIN right


@dataclass(frozen=True)
class LmsBegin:
    """The local half of an LMS check before the LMS is asked (see `AccessDecider.lms_begin`)."""

    card: str  # normalised
    attempt: Attempt | None = None  # the lock-out attempt taken for this PIN
    done: Identified | None = None  # decided locally: malformed, staff card, locked out


# What the LMS (or its cache) answers when the card and PIN were not both recognised: each is a
# wrong PIN for the lock-out, as an unknown card is with the local store.
_NOT_IDENTIFIED: frozenset[AnyReason] = frozenset(
    {
        Reason.UNKNOWN_CARD,
        Reason.WRONG_PIN,
        LmsReason.PIN_NOT_CHECKED,
        LmsReason.LMS_UNAVAILABLE,
    }
)


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

    def identify(self, card: str, pin: str, at: datetime) -> Identified:
        """Check a card and its PIN as a door does, for anything else that needs a member.

        The same path and the same lock-out as `decide`: the attempt is counted for the card
        (a locked-out card is refused without its PIN being evaluated), an unknown card reads
        as a wrong PIN would, and a staff card is identified as a staff card.
        """
        return Identified(*self._holder(card, pin, at))

    def decide(self, request: AccessRequest) -> Decision:
        """Decide one request against the local store."""
        if request.fire_alarm:
            return Decision(False, Reason.FIRE_ALARM, mask_card(request.card))
        if request.evacuation:
            return Decision(False, Reason.EVACUATION, mask_card(request.card))
        reason, holder, until = self._holder(request.card, request.pin, request.at)
        if reason is not Reason.GRANTED or holder is None:
            return Decision(False, reason, mask_card(request.card), locked_until=until)
        adult: Identified | None = None
        if self.wants_adult(request, holder):
            assert request.adult_card is not None and request.adult_pin is not None
            adult = Identified(
                *self._holder(request.adult_card, request.adult_pin, request.at)
            )
        return self.rules(request, holder, adult)

    @staticmethod
    def wants_adult(request: AccessRequest, holder: Member | StaffCard) -> bool:
        """Return True when the decision needs the accompanying adult's card checked.

        Only for an under-16 whose own card is in order (not barred, warned or expired), and
        only when the request names an adult: otherwise the adult's PIN is not evaluated.
        """
        if not isinstance(holder, Member):
            return False
        today = request.at.date()
        return (
            holder.age(today) < MIN_AGE
            and holder.restriction is Restriction.NONE
            and holder.card_expiry >= today
            and bool(request.adult_card)
            and request.adult_pin is not None
        )

    def rules(
        self,
        request: AccessRequest,
        holder: Member | StaffCard,
        adult: Identified | None = None,
    ) -> Decision:
        """Apply the house rules to an identified card holder (and the adult, when checked).

        Blocking (a meeting room's bookings are read from the store). Whichever backend
        identified the card, these are the same: staff windows, 16+, under-16s with an adult of
        18+, induction and renewal, bars and final warnings, rooms by booking, opening hours.
        """
        masked = mask_card(request.card)

        def refuse(reason: AnyReason, until: datetime | None = None) -> Decision:
            return Decision(False, reason, masked, locked_until=until)

        if isinstance(holder, StaffCard):
            if not holder.admits(request.at, request.branch):
                return refuse(Reason.OUTSIDE_WINDOW)
            return Decision(True, Reason.STAFF, masked, party=1, staff_role=holder.role)
        if request.lockdown:
            # Every card but a staff card, after its PIN was checked (as a member's standing).
            return refuse(Reason.LOCKDOWN)

        today = request.at.date()
        party = 1 + request.minors
        bands = Counter({"under_16": request.minors})  # the accompanied under-16s
        bands[age_band(holder.age(today))] += 1
        required = self.store.induction_required
        if holder.age(today) < MIN_AGE:
            # An under-16's card opens the door only with an adult of 18+ and the adult's PIN.
            if holder.restriction.value != "none":
                return refuse(Reason(holder.restriction.value))
            if holder.card_expiry < today:
                return refuse(Reason.CARD_EXPIRED)
            if adult is None:
                return refuse(Reason.UNDER_16)
            companion = adult.holder
            if adult.reason is not Reason.GRANTED or companion is None:
                return refuse(adult.reason, adult.until)
            if not isinstance(companion, Member):
                # A staff card has no birth date to check: the adult must be a member.
                return refuse(Reason.ADULT_NOT_MEMBER)
            if companion.age(today) < ADULT_AGE:
                return refuse(Reason.ADULT_UNDER_18)
            eligibility = companion.eligibility(today, required)
            party += 1
            bands[age_band(companion.age(today))] += 1
        else:
            eligibility = holder.eligibility(today, required)
            if eligibility is Reason.GRANTED and request.minors > 0:
                if holder.age(today) < ADULT_AGE:
                    return refuse(Reason.ADULT_UNDER_18)
        if eligibility is Reason.INDUCTION_REVISED:
            # What changed, in the administrators' words: the reader shows it to the member.
            why = revised_reason(self.store.induction_history())
            return replace(refuse(eligibility), message=why)
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
        return Decision(
            True,
            Reason.GRANTED,
            masked,
            party=party,
            age_bands=tuple(sorted((band, n) for band, n in bands.items() if n)),
        )

    # -- the LMS backend: the local halves of a check (blocking; LmsAccess runs them) ----------

    def lms_begin(self, card: str, pin: str, at: datetime) -> LmsBegin:
        """Before the LMS is asked: a malformed number, a staff card, or a lock-out.

        Staff and contractor cards are the service's own (the LMS does not know them): their
        PIN is checked here. For any other well-formed number an attempt is taken now, so no
        more PINs of a card reach the LMS than the lock-out allows.
        """
        try:
            card = normalise_card(card)
        except MemberError:
            return LmsBegin(card, done=Identified(Reason.UNKNOWN_CARD, None))
        staff = self.store.staff(card)
        if staff is not None:
            reason, until = self._check_pin(card, pin, staff.pin_hash, at)
            return LmsBegin(card, done=Identified(reason, staff, until))
        attempt = self.lockout.reserve(card, at)
        if not attempt.allowed:
            return LmsBegin(
                card, done=Identified(Reason.LOCKED_OUT, None, attempt.locked_until)
            )
        return LmsBegin(card, attempt=attempt)

    def lms_finish(
        self, begin: LmsBegin, result: LmsResult, at: datetime
    ) -> Identified:
        """After the LMS (or its offline cache) answered: count the attempt, keep the record.

        Not identified (unknown card, wrong PIN, PIN not checked, no recent grant offline):
        a wrong PIN for the lock-out. Identified but refused by the LMS (expired, a refusing
        flag, a denied category, no birth date): the PIN was right, the refusal stands.
        Granted: the member the house rules run on, from the LMS's facts and the local record
        (induction, renewal, bars); the local record is created or brought up to date.
        """
        assert begin.attempt is not None
        verdict = result.verdict
        offline = not result.online
        if verdict.reason in _NOT_IDENTIFIED:
            until = self.lockout.failed(begin.attempt, at)
            return Identified(verdict.reason, None, until, offline)
        self.lockout.succeeded(begin.attempt)
        message = verdict.reader_message
        if not verdict.granted:
            return Identified(verdict.reason, None, None, offline, message)
        member = self._lms_member(begin.card, verdict.patron, at.date())
        return Identified(Reason.GRANTED, member, None, offline, message)

    def _lms_member(self, card: str, patron: LmsPatron, today: date) -> Member:
        """Return the member from the LMS's facts and the local record; save what changed.

        The change is recomputed inside the store's transaction, so an induction or a bar
        recorded by staff meanwhile is never overwritten.
        """
        member, changed = member_from_lms(card, patron, self.store.member(card), today)
        if not changed:
            return member

        def edit(current: Member) -> Member:
            return member_from_lms(card, patron, current, today)[0]

        try:
            if self.store.member(card) is None:
                try:
                    return self.store.add(member, today)
                except MemberError as err:
                    if err.code != "member_exists":
                        raise
            return self.store.change(card, edit)
        except MemberError:
            # Data the store refuses (a birth date in the future, a staff card's number):
            # the decision goes on with the LMS's facts, nothing is kept.
            return member


type RunBlocking = Callable[..., Any]


async def _to_thread(func: Callable[..., Any], *args: Any) -> Any:
    return await asyncio.to_thread(func, *args)


class LmsAccess:
    """Access decisions with the library's system (SIP2) as the membership backend.

    For each card in a request (the holder's, an under-16's accompanying adult's): the local
    half first (`AccessDecider.lms_begin`: staff card, lock-out attempt), then the LMS through
    the gateway (within its timeout, else its offline cache), then the local half again
    (`AccessDecider.lms_finish`); then the house rules (`AccessDecider.rules`). A grant the
    offline cache allowed reads `granted_offline`. `run_blocking(func, *args)` runs the store
    and the key derivations off the event loop (Home Assistant passes
    `hass.async_add_executor_job`).
    """

    def __init__(
        self,
        decider: AccessDecider,
        gateway: LmsGateway,
        run_blocking: RunBlocking | None = None,
    ) -> None:
        """Decide with `decider`'s store and lock-out and `gateway`'s LMS."""
        self.decider = decider
        self.gateway = gateway
        self._run: RunBlocking = run_blocking or _to_thread

    async def identify(self, card: str, pin: str, at: datetime) -> Identified:
        """Check one card and PIN: a staff card locally, any other card with the LMS."""
        # The characters themselves, whatever the caller's type prints (masked PINs).
        card, pin = str.__str__(card), str.__str__(pin)
        begin: LmsBegin = await self._run(self.decider.lms_begin, card, pin, at)
        if begin.done is not None:
            return begin.done
        # Cancelled while the LMS is asked, the attempt stays taken until the lock-out's
        # window passes: the LMS may have evaluated the PIN, so it counts (the safe side).
        result = await self.gateway.authenticate(
            begin.card, pin, today=at.date(), now=at
        )
        identified: Identified = await self._run(
            self.decider.lms_finish, begin, result, at
        )
        return identified

    async def decide(self, request: AccessRequest) -> Decision:
        """Decide one request: the LMS for who the card holder is, the house rules for entry."""
        masked = mask_card(request.card)
        if request.fire_alarm:
            return Decision(False, Reason.FIRE_ALARM, masked)
        if request.evacuation:
            return Decision(False, Reason.EVACUATION, masked)
        first = await self.identify(request.card, request.pin, request.at)
        if first.reason is not Reason.GRANTED or first.holder is None:
            return Decision(
                False,
                first.reason,
                masked,
                locked_until=first.until,
                message=first.message,
            )
        adult: Identified | None = None
        if self.decider.wants_adult(request, first.holder):
            assert request.adult_card is not None and request.adult_pin is not None
            adult = await self.identify(
                request.adult_card, request.adult_pin, request.at
            )
        decision: Decision = await self._run(
            self.decider.rules, request, first.holder, adult
        )
        offline = first.offline or (adult is not None and adult.offline)
        if decision.granted and offline and decision.reason is Reason.GRANTED:
            decision = replace(decision, reason=LmsReason.GRANTED_OFFLINE)
        return replace(decision, message=first.message or decision.message)
