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

At closed hours (an entrance not open to members) only staff and contractor cards are worth a
PIN check: any other card, a member's or a stranger's, is refused `not_open` before its PIN is
evaluated (nothing counted, the LMS not asked), and a staff card's refusal reads `not_open` at
the reader too (`Decision.reader_reason`; the real reason stays in `reason` for staff). So a
closed door confirms no PIN and tells no card from another. Every refusal of a card that is not
locked out costs one key derivation of a staff check's cost (a dummy one where no PIN is
evaluated, and with the LMS one beside its answer), so neither the answer nor its time tells a
staff card from a member's.

While the member store cannot record a PIN attempt (a full disk, a read-only file system), a
lock-out cannot hold, so no PIN whose failure cannot be counted is evaluated: members and
strangers are refused `store_unavailable` before their PIN is looked at (with the LMS, before it
is asked). Staff and contractor cards still open while the store can be read (their hash and
running lock-out), their attempts counted in memory under the same policy; nobody opens while
the store cannot be read at all. Life safety (the fire rule, egress) does not depend on it.

What no keypad types is refused first, as `invalid_request`, before any attempt is counted or
anyone is asked: a card or PIN holding a control or other unprintable character (either
backend), and with the LMS also `|` or a character its connection's charset cannot encode
(engine.sip2's `patron_input_problem`, the check scripts/sip2_probe.py makes too). Such a
request says nothing about any card, so it counts against none.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
import logging
from typing import Any

from ..building.pointmap import DoorKind
from ..database import StorageError
from ..lms.gateway import (
    OFFLINE_LOG2_N,
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
from .pins import SCRYPT_LOG2_N, LockoutPolicy, spend_derivation, verify_pin
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
_LOGGER = logging.getLogger(__name__)


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

    @property
    def closed_to_members(self) -> bool:
        """Return True at closed hours: a door other than a meeting room, not open to members.

        A meeting room's door follows its bookings, not the opening hours.
        """
        return not self.open_to_members and self.door_kind is not DoorKind.MEETING_ROOM

    def typed(self) -> list[tuple[str, str | None]]:
        """Return each (card, PIN) as typed: the holder's, then the adult's when named.

        The characters themselves, whatever the caller's type prints (Home Assistant's glue
        masks PINs with a str subclass).
        """
        pairs: list[tuple[str, str | None]] = [
            (str.__str__(self.card), str.__str__(self.pin))
        ]
        if self.adult_card:
            adult_pin = self.adult_pin
            pairs.append(
                (
                    str.__str__(self.adult_card),
                    None if adult_pin is None else str.__str__(adult_pin),
                )
            )
        return pairs


def unprintable(value: str | None) -> bool:
    """Return True when a card or PIN holds a character no keypad or card reader types.

    Anything `str.isprintable` rejects: CR, LF, NUL, tab, escape and every other control or
    format character, line separators, unassigned code points. Digits and letters (any case)
    are kept as typed.
    """
    return value is not None and not value.isprintable()


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
    # What the reader is told instead of `reason`, when that would tell too much (a staff
    # card's refusal at closed hours reads `not_open`, as every other card's does).
    shown_as: AnyReason | None = None

    @property
    def reader_reason(self) -> str:
        """Return the reason a door reader may show (`public_reason` of what it is shown)."""
        return public_reason(self.shown_as or self.reason)


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
    shown_as: AnyReason | None = None  # what the reader is told instead (see Decision)


@dataclass(frozen=True)
class LmsBegin:
    """The local half of an LMS check before the LMS is asked (see `AccessDecider.lms_begin`)."""

    card: str  # normalised: the local store's form (its lookups, the lock-out), never sent
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
        # The code of the store's last failure (engine.database's STORAGE_CODES) while
        # decisions are refused `store_unavailable`; None once one goes through again.
        self.storage_problem: str | None = None

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
        self,
        card: str,
        pin: str,
        stored: str | None,
        at: datetime,
        *,
        staff: bool = False,
    ) -> Identified:
        """Return GRANTED, WRONG_PIN or LOCKED_OUT (with its end), counting the attempt.

        The attempt is taken before the derivation: a request beyond the policy's number of
        attempts is refused without its PIN being evaluated. When the store cannot record the
        attempt, StorageError is raised before any PIN is evaluated, except for a `staff` card:
        its attempt is then counted in memory (engine.lockout) and its refusal reads
        `store_unavailable` at the reader, as every other card's does.
        """
        attempt = self.lockout.reserve(card, at, fallback=staff)
        shown = Reason.STORE_UNAVAILABLE if attempt.in_memory else None
        if not attempt.allowed:
            return Identified(
                Reason.LOCKED_OUT, None, attempt.locked_until, shown_as=shown
            )
        if verify_pin(pin, stored, self.pepper):
            self.lockout.succeeded(attempt)
            return Identified(Reason.GRANTED, None)
        until = self.lockout.failed(attempt, at)
        return Identified(Reason.WRONG_PIN, None, until, shown_as=shown)

    def _holder(self, card: str, pin: str, at: datetime) -> Identified:
        """Identify the card and check its PIN; an unknown card number is counted too.

        A member with no PIN set is refused `no_pin_set` after the same derivation and the same
        count as a wrong PIN: nothing but the reason tells them apart.
        """
        try:
            card = normalise_card(card)
        except MemberError:
            verify_pin(pin, None, self.pepper)  # same time as a real check
            return Identified(Reason.UNKNOWN_CARD, None)
        holder: Member | StaffCard | None = self.store.staff(card) or self.store.member(
            card
        )
        checked = self._check_pin(
            card,
            pin,
            holder.pin_hash if holder else None,
            at,
            staff=isinstance(holder, StaffCard),
        )
        if holder is None and checked.reason is Reason.WRONG_PIN:
            return replace(checked, reason=Reason.UNKNOWN_CARD)
        if (
            checked.reason is Reason.WRONG_PIN
            and isinstance(holder, Member)
            and holder.pin_hash is None
        ):
            # Counted as a wrong PIN (the lock-out is the same for every card); staff are
            # told the member has no PIN yet, a reader `not_recognised` (public_reason).
            return replace(checked, reason=Reason.NO_PIN_SET, holder=holder)
        return replace(checked, holder=holder)

    def identify(self, card: str, pin: str, at: datetime) -> Identified:
        """Check a card and its PIN as a door does, for anything else that needs a member.

        The same path and the same lock-out as `decide`: the attempt is counted for the card
        (a locked-out card is refused without its PIN being evaluated), an unknown card reads
        as a wrong PIN would, and a staff card is identified as a staff card.
        """
        try:
            return self._holder(card, pin, at)
        except StorageError as err:
            # The attempt could not be counted: no PIN is evaluated (as at the door).
            self.storage_problem = err.code
            return Identified(Reason.STORE_UNAVAILABLE, None)

    def decide(self, request: AccessRequest) -> Decision:
        """Decide one request against the local store.

        A store that cannot record a PIN attempt (full, read-only) or be read refuses
        `store_unavailable` (see `store_unavailable`).
        """
        if request.fire_alarm:
            return Decision(False, Reason.FIRE_ALARM, mask_card(request.card))
        if request.evacuation:
            return Decision(False, Reason.EVACUATION, mask_card(request.card))
        if any(unprintable(c) or unprintable(p) for c, p in request.typed()):
            # Before any lock-out is counted: such a request says nothing about a card.
            return Decision(False, Reason.INVALID_REQUEST, mask_card(request.card))
        try:
            decision = self._decide(request)
        except StorageError as err:
            return self.store_unavailable(request, err)
        self.storage_problem = None
        return decision

    def _decide(self, request: AccessRequest) -> Decision:
        if request.closed_to_members and (shut := self.closed(request)) is not None:
            return shut
        first = self._holder(request.card, request.pin, request.at)
        holder = first.holder
        if first.reason is not Reason.GRANTED or holder is None:
            decision = Decision(
                False,
                first.reason,
                mask_card(request.card),
                locked_until=first.until,
                shown_as=first.shown_as,
            )
            return self.as_shown(request, decision)
        adult: Identified | None = None
        if self.wants_adult(request, holder):
            assert request.adult_card is not None and request.adult_pin is not None
            adult = self._holder(request.adult_card, request.adult_pin, request.at)
        return self.as_shown(request, self.rules(request, holder, adult))

    def store_unavailable(self, request: AccessRequest, err: StorageError) -> Decision:
        """Refuse because the store cannot be written or read, after one dummy derivation.

        The safe rule: no PIN whose failure cannot be counted is evaluated, so a lock-out that
        cannot be recorded is no way in. Members and strangers are refused before their PIN
        is looked at; a staff card still opens while the store can be read (its attempts
        counted in memory), and nobody while it cannot. `storage_problem` keeps the error's
        code for the glue (a repair issue) until a decision goes through again.
        """
        self.storage_problem = err.code
        _LOGGER.debug("Refused: the member store failed (%s)", err.code)
        self.dummy_check(request.pin)  # the time of a PIN check, as any refusal
        return Decision(False, Reason.STORE_UNAVAILABLE, mask_card(request.card))

    def dummy_check(self, pin: str, log2_n: int = SCRYPT_LOG2_N) -> None:
        """Spend one key derivation of a PIN check's cost (2^14 by default) on nothing.

        Where no PIN is evaluated, or the LMS evaluates it, so that the time taken does not
        tell a staff card (checked here) from any other.
        """
        spend_derivation(pin, self.pepper, log2_n)

    def closed(self, request: AccessRequest) -> Decision | None:
        """At closed hours: refuse any card but a staff card, before its PIN is evaluated.

        None for a staff or contractor card (its PIN is checked, its window decides). Any other
        card, a member's, a stranger's or no card number at all, is refused `not_open` with
        nothing counted and no one asked, after one dummy derivation (a staff card's check
        costs one). Blocking (a store lookup and a key derivation).
        """
        if self.store.staff(request.card) is not None:
            return None
        self.dummy_check(request.pin)
        return Decision(False, Reason.NOT_OPEN, mask_card(request.card))

    @staticmethod
    def as_shown(request: AccessRequest, decision: Decision) -> Decision:
        """Return the decision with what its reader is told.

        A refusal at closed hours reads `not_open`, whatever it was (a staff card's wrong PIN,
        its window, its lock-out).
        """
        if request.closed_to_members and not decision.granted:
            return replace(decision, shown_as=Reason.NOT_OPEN)
        return decision

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
            self.dummy_check(pin)  # same time as a real check
            return LmsBegin(card, done=Identified(Reason.UNKNOWN_CARD, None))
        staff = self.store.staff(card)
        if staff is not None:
            checked = self._check_pin(card, pin, staff.pin_hash, at, staff=True)
            return LmsBegin(card, done=replace(checked, holder=staff))
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
        if verdict.reason is Reason.INVALID_REQUEST:
            # Not asked (engine.access checks first; the gateway checks again): not counted.
            self.lockout.release(begin.attempt)
            return Identified(verdict.reason, None)
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
        except MemberError, StorageError:
            # Data the store refuses (a birth date in the future, a staff card's number), or
            # a store that cannot be written now: the decision goes on with the LMS's facts
            # and the local record as read, nothing is kept.
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

    def invalid(self, request: AccessRequest) -> bool:
        """Return True when a card or PIN of the request cannot go to the LMS as typed."""
        return any(
            unprintable(card)
            or unprintable(pin)
            or self.gateway.input_problem(card, pin) is not None
            for card, pin in request.typed()
        )

    async def identify(self, card: str, pin: str, at: datetime) -> Identified:
        """Check one card and PIN: a staff card locally, any other card with the LMS."""
        # The characters themselves, whatever the caller's type prints (masked PINs).
        card, pin = str.__str__(card), str.__str__(pin)
        problem = self.gateway.input_problem(card, pin)
        if unprintable(card) or unprintable(pin) or problem is not None:
            return Identified(Reason.INVALID_REQUEST, None)
        begin: LmsBegin = await self._run(self.decider.lms_begin, card, pin, at)
        if begin.done is not None:
            return begin.done
        # Cancelled while the LMS is asked, the attempt stays taken until the lock-out's
        # window passes: the LMS may have evaluated the PIN, so it counts (the safe side).
        # The card goes as typed (the gateway's `card_case` applies), not in the local form.
        result = await self._authenticate(card, pin, at)
        identified: Identified = await self._run(
            self.decider.lms_finish, begin, result, at
        )
        return identified

    async def _authenticate(self, card: str, pin: str, at: datetime) -> LmsResult:
        """Ask the gateway, spending what a staff card's local check costs on the way.

        A staff card's PIN is one local derivation at 2^14 (about 40 ms on a small server); an
        LMS answers in a few ms. With the LMS answering, one dummy derivation at 2^14 runs
        beside the question and is waited for, so a refusal takes as long as a staff card's.
        With the circuit breaker open, the cache decides with one derivation at 2^13 and one
        dummy at 2^13 follows: the same work as a staff check.
        """
        parity: asyncio.Future[Any] | None = None
        if self.gateway.reachable:
            parity = asyncio.ensure_future(self._run(self.decider.dummy_check, pin))
        try:
            result = await self.gateway.authenticate(card, pin, today=at.date(), now=at)
            if parity is not None:
                await parity
            elif not result.online:
                await self._run(self.decider.dummy_check, pin, OFFLINE_LOG2_N)
        except BaseException:
            if parity is not None:
                parity.cancel()
            raise
        return result

    async def decide(self, request: AccessRequest) -> Decision:
        """Decide one request: the LMS for who the card holder is, the house rules for entry.

        A store that cannot record a PIN attempt refuses `store_unavailable` before the LMS
        is asked (`AccessDecider.store_unavailable`).
        """
        try:
            decision = await self._decide(request)
        except StorageError as err:
            refused: Decision = await self._run(
                self.decider.store_unavailable, request, err
            )
            return refused
        self.decider.storage_problem = None
        return self.decider.as_shown(request, decision)

    async def _decide(self, request: AccessRequest) -> Decision:
        masked = mask_card(request.card)
        if request.fire_alarm:
            return Decision(False, Reason.FIRE_ALARM, masked)
        if request.evacuation:
            return Decision(False, Reason.EVACUATION, masked)
        if self.invalid(request):
            # Before any lock-out is counted or the LMS is asked, for either card.
            return Decision(False, Reason.INVALID_REQUEST, masked)
        if request.closed_to_members:
            shut: Decision | None = await self._run(self.decider.closed, request)
            if shut is not None:
                return shut
        first = await self.identify(request.card, request.pin, request.at)
        if first.reason is not Reason.GRANTED or first.holder is None:
            return Decision(
                False,
                first.reason,
                masked,
                locked_until=first.until,
                message=first.message,
                shown_as=first.shown_as,
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
