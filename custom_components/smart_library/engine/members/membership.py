"""Members and the smart-access rules: who may come in, and why not.

The rules are the library service's (seeds 000 and 001): aged 16 or over, inducted, card not
expired, a new induction after every card renewal, not barred, not on a final warning; under-16s
only with an adult of 18 or over; meeting rooms only when booked. Every refusal has a reason code
that a door reader can show and a member of staff can act on.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from enum import StrEnum
import hashlib
import hmac
import re

from ..errors import CodedError

ADULT_AGE = 18
MIN_AGE = 16
SENIOR_AGE = 60  # the usage statistics' oldest age band starts here
AGE_BANDS = ("under_16", "16_59", "60_plus")


def age_band(age: int) -> str:
    """Return the usage statistics' age band of an age in whole years."""
    if age < MIN_AGE:
        return "under_16"
    return "16_59" if age < SENIOR_AGE else "60_plus"


CARD_RE = re.compile(r"[0-9A-Za-z]{4,20}")


class Restriction(StrEnum):
    """A restriction on a member's smart access."""

    NONE = "none"
    BARRED = "barred"
    FINAL_WARNING = "final_warning"


class Reason(StrEnum):
    """Why a request was granted or refused."""

    GRANTED = "granted"
    STAFF = "staff"  # a staff or contractor card, in its time window
    UNKNOWN_CARD = "unknown_card"
    WRONG_PIN = "wrong_pin"
    # A member of the local store whose PIN was never set (an imported member: the CSV has no
    # PIN column). Staff see it; a door reader is told `not_recognised`, as for a wrong PIN.
    NO_PIN_SET = "no_pin_set"
    LOCKED_OUT = "locked_out"
    UNDER_16 = "under_16"
    INDUCTION_NEEDED = "induction_needed"
    CARD_EXPIRED = "card_expired"
    INDUCTION_OUTDATED = "induction_outdated"
    # Inducted on an older version of the induction than the latest one its administrators
    # published as significant (engine.induction): the induction is needed again.
    INDUCTION_REVISED = "induction_revised"
    BARRED = "barred"
    FINAL_WARNING = "final_warning"
    NOT_OPEN = "not_open"
    ROOM_NOT_BOOKED = "room_not_booked"
    ADULT_UNDER_18 = "adult_under_18"
    ADULT_NOT_MEMBER = (
        "adult_not_member"  # a staff card offered as a child's accompanying adult
    )
    OUTSIDE_WINDOW = "outside_window"  # a staff/contractor card outside its hours
    FIRE_ALARM = (
        "fire_alarm"  # card checks are suspended; the doors are already released
    )
    # After a fire alarm until a person resets the branch: no entry (the doors stay released).
    EVACUATION = "evacuation"
    LOCKDOWN = "lockdown"  # the branch is locked down: staff cards only
    # A card or PIN holding what no keypad types (a control character; with the library's
    # system, also `|` or a character its charset lacks): refused before any lock-out is
    # counted or anyone is asked. Says nothing about the card, so a reader may show it.
    INVALID_REQUEST = "invalid_request"
    # The member store cannot record the PIN attempt (full, read-only) or be read: no PIN is
    # evaluated whose failure cannot be counted (engine.access). Says nothing about the card.
    STORE_UNAVAILABLE = "store_unavailable"


# What a door reader is told instead of `unknown_card` or `wrong_pin`: the person at the door
# needs to know the attempt failed; an attacker must not learn which cards belong to members.
NOT_RECOGNISED = "not_recognised"
# With the library's system (engine.lms) as the backend, two more say nothing a reader may
# tell: `pin_not_checked` (the LMS knows the card but left out whether the PIN was right: it
# would tell a member's card from a stranger's) and `lms_unavailable` (the LMS is away and the
# card has no recent grant: it would tell a recently granted card, refused `wrong_pin`, from
# the others). Kept as text here: engine.lms defines them and imports this module.
_PRIVATE_REASONS = frozenset(
    {
        Reason.UNKNOWN_CARD,
        Reason.WRONG_PIN,
        Reason.NO_PIN_SET,
        "pin_not_checked",
        "lms_unavailable",
    }
)


def public_reason(reason: Reason | str) -> str:
    """Return the reason a door reader may show: `not_recognised` for an unknown card or PIN.

    A member with no PIN set yet reads `not_recognised` too: told apart, it would say the card is
    a member's.

    Every other reason either needs the right PIN first (a member's standing), or is the same
    for every card number (`locked_out`: unknown card numbers are counted and locked out too), or
    is about the building (`not_open`, `fire_alarm`, `evacuation`, `lockdown`). Staff-facing
    events keep the detail. The LMS backend's `pin_not_checked` and `lms_unavailable` read
    `not_recognised` too.
    """
    value = str(reason)
    return NOT_RECOGNISED if value in _PRIVATE_REASONS else value


class MemberError(CodedError):
    """Bad member data; placeholders never hold a full card."""


def normalise_card(card: str) -> str:
    """Return a card number as stored (trimmed, upper case) or raise MemberError."""
    value = card.strip().replace(" ", "").upper()
    if not CARD_RE.fullmatch(value):
        raise MemberError("invalid_card")
    return value


def mask_card(card: str) -> str:
    """Return a card number fit for logs, events and states: its last four characters at most.

    Never more than half of it, so a short card number is not all but shown.
    """
    value = card.strip()
    shown = min(4, len(value) // 2)
    return "•" * 4 + value[-shown:] if shown else "•" * 4


def card_key(card: str, pepper: bytes) -> str:
    """Return a peppered digest naming a card where its number must not appear (lock-out keys).

    Keyed with the service's pepper: a card number has too few digits for a plain hash to hide it.
    """
    value = normalise_card(card).encode()
    return hmac.new(pepper, value, hashlib.sha256).hexdigest()[:32]


# A reference to a card that names it without its number, for a screen that must act on a member
# it shows masked (the administrator's panel). Never a valid card number: it has a '-'.
CARD_REF_PREFIX = "ref-"
_CARD_REF_RE = re.compile(r"ref-[0-9a-f]{24}")


def card_referrer(pepper: bytes) -> Callable[[str], str]:
    """Return the function giving a stored (normalised) card number's reference, for many cards.

    The keyed hash is prepared once and copied per card: the store reads every card to find the
    one a reference names.
    """
    prepared = hmac.new(pepper, b"card-ref\0", hashlib.sha256)

    def reference(card: str) -> str:
        digest = prepared.copy()
        digest.update(card.encode())
        return f"{CARD_REF_PREFIX}{digest.hexdigest()[:24]}"

    return reference


def card_ref(card: str, pepper: bytes) -> str:
    """Return a card's reference: a peppered digest of its own purpose, not the lock-out key.

    Without the service's pepper it cannot be turned back into the number (nor tried against
    guessed numbers); with it, the store finds the card it names (`MembershipStore.card_for_ref`).
    """
    return card_referrer(pepper)(normalise_card(card))


def is_card_ref(value: str) -> bool:
    """Return True when a card field holds a reference rather than a number."""
    return bool(_CARD_REF_RE.fullmatch(value.strip()))


def legacy_card_key(card: str) -> str:
    """Return the unpeppered key lock-outs were saved under before version 2 of the store."""
    return hashlib.sha256(normalise_card(card).encode()).hexdigest()[:32]


def check_text(value: str, field: str) -> str:
    """Return `value` when it can be stored as UTF-8 text, else raise MemberError('invalid_text').

    A lone surrogate (for example U+D800, which JSON can carry) has no UTF-8 form: SQLite and
    Home Assistant's storage would fail on it part-way through a change.
    """
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise MemberError("invalid_text", field=field) from None
    return value


def age_on(birth_date: date, day: date) -> int:
    """Return the age in whole years on `day` (a 29 February birthday counts on 1 March)."""
    years = day.year - birth_date.year
    if (day.month, day.day) < (birth_date.month, birth_date.day):
        years -= 1
    return years


@dataclass(frozen=True)
class Member:
    """What a rule needs about a member, and nothing more (UK GDPR: data minimisation)."""

    card: str
    birth_date: date
    card_expiry: date
    name: str = ""
    induction_date: date | None = None
    # Which version of the induction (engine.induction) and where: "online", or the branch
    # (its sub-entry id) where staff gave it face to face. None: before versions were kept.
    induction_version: int | None = None
    induction_where: str = ""
    renewed_on: date | None = None  # the last card renewal; an induction must follow it
    restriction: Restriction = Restriction.NONE
    restriction_date: date | None = None  # when the bar or the final warning was given
    review_date: date | None = None  # when a bar is reviewed
    restriction_reason: str = ""
    pin_hash: str | None = None

    @property
    def masked_card(self) -> str:
        """Return the card number masked."""
        return mask_card(self.card)

    def age(self, day: date) -> int:
        """Return the member's age on `day`."""
        return age_on(self.birth_date, day)

    def eligibility(self, day: date, induction_required: int = 0) -> Reason:
        """Return GRANTED when the member may use smart access on `day`, else the first reason.

        `induction_required`: the latest induction version published as significant (0: none);
        an induction on an older version (or on no known version) is asked for again.
        The PIN, the opening hours and the door are the caller's: this is the member alone.
        """
        if self.restriction is Restriction.BARRED:
            return Reason.BARRED
        if self.restriction is Restriction.FINAL_WARNING:
            return Reason.FINAL_WARNING
        if self.age(day) < MIN_AGE:
            return Reason.UNDER_16
        if self.card_expiry < day:
            return Reason.CARD_EXPIRED
        if self.renewed_on is not None and (
            self.induction_date is None or self.induction_date < self.renewed_on
        ):
            return Reason.INDUCTION_OUTDATED
        if self.induction_date is None:
            return Reason.INDUCTION_NEEDED
        if (self.induction_version or 0) < induction_required:
            return Reason.INDUCTION_REVISED
        return Reason.GRANTED

    def renewed(self, day: date, expiry: date) -> Member:
        """Return the member after a card renewal: new expiry, a new induction needed.

        The old induction no longer counts, even one done earlier the same day.
        """
        if expiry <= day:
            raise MemberError("expiry_not_after_renewal")
        return replace(
            self,
            card_expiry=expiry,
            renewed_on=day,
            induction_date=None,
            induction_version=None,
            induction_where="",
        )


def check_member_fields(member: Member, today: date) -> None:
    """Raise MemberError when a member's text cannot be stored or their dates cannot be right."""
    check_text(member.name, "name")
    check_text(member.restriction_reason, "reason")
    if member.birth_date > today:
        raise MemberError("birth_date_in_future")
    if member.induction_date is not None and member.induction_date > today:
        raise MemberError("induction_in_future")


# -- a member's life: pure changes the staff actions apply (the store writes them) --------------


INDUCTED_ONLINE = "online"  # `Member.induction_where` of the online induction
WHERE_MAX = 64


def record_induction(
    member: Member,
    today: date,
    day: date | None = None,
    *,
    version: int | None = None,
    where: str = "",
) -> Member:
    """Return the member inducted on `day` (today when not given); not a date to come.

    What is kept is what a rule needs, nothing more: the date, the induction's version and
    where it was done ("online" or a branch's id).
    """
    day = today if day is None else day
    if day > today:
        raise MemberError("induction_in_future")
    if version is not None and version < 1:
        raise MemberError("invalid_induction_version")
    check_text(where, "where")
    if len(where) > WHERE_MAX:
        raise MemberError("invalid_text", field="where")
    return replace(
        member, induction_date=day, induction_version=version, induction_where=where
    )


def renew_card(member: Member, today: date, expiry: date) -> Member:
    """Return the member after a card renewal (a new induction is then due)."""
    return member.renewed(today, expiry)


def bar_member(member: Member, today: date, reason: str, review_date: date) -> Member:
    """Return the member barred from today until a review after today."""
    check_text(reason, "reason")
    if review_date <= today:
        raise MemberError("review_date_not_after_today")
    return replace(
        member,
        restriction=Restriction.BARRED,
        restriction_date=today,
        review_date=review_date,
        restriction_reason=reason,
    )


def issue_final_warning(member: Member, today: date, reason: str) -> Member:
    """Return the member on a final warning; a barred member must have the bar lifted first."""
    check_text(reason, "reason")
    if member.restriction is Restriction.BARRED:
        raise MemberError("member_barred", card=member.masked_card)
    return replace(
        member,
        restriction=Restriction.FINAL_WARNING,
        restriction_date=today,
        review_date=None,
        restriction_reason=reason,
    )


def lift_restriction(member: Member) -> Member:
    """Return the member without a bar or a final warning (a PIN lock-out is not lifted here)."""
    return replace(
        member,
        restriction=Restriction.NONE,
        restriction_date=None,
        review_date=None,
        restriction_reason="",
    )


# -- staff and contractor cards ------------------------------------------------------------------

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class StaffWindow:
    """A weekly time window: days of the week and a start-end time (end may pass midnight)."""

    days: frozenset[int]  # 0 = Monday
    start: time
    end: time

    def contains(self, moment: datetime) -> bool:
        """Return True when `moment` (local time) falls in the window."""
        t = moment.time().replace(tzinfo=None)
        day = moment.weekday()
        if self.start < self.end:
            return day in self.days and self.start <= t < self.end
        # Overnight (e.g. security 22:00-06:00): the evening of a listed day, or the morning after.
        return (day in self.days and t >= self.start) or (
            (day - 1) % 7 in self.days and t < self.end
        )

    def __str__(self) -> str:
        """Return e.g. `mon-fri 06:00-08:00`."""
        days = ",".join(WEEKDAYS[d] for d in sorted(self.days))
        return f"{days} {self.start:%H:%M}-{self.end:%H:%M}"


def parse_windows(text: str) -> tuple[StaffWindow, ...]:
    """Parse `mon-fri 06:00-08:00; sat 07:00-09:00` (days optional: every day)."""
    windows = []
    for part in filter(None, (p.strip() for p in text.replace("\n", ";").split(";"))):
        words = part.lower().split()
        if len(words) not in (1, 2):
            raise MemberError("invalid_window", window=part)
        days = set(range(7))
        if len(words) == 2:
            days = set()
            for chunk in words[0].split(","):
                first, _, last = chunk.partition("-")
                if first not in WEEKDAYS or (last and last not in WEEKDAYS):
                    raise MemberError("invalid_window", window=part)
                a, b = WEEKDAYS.index(first), WEEKDAYS.index(last or first)
                days.update(
                    range(a, b + 1) if a <= b else [*range(a, 7), *range(b + 1)]
                )
        start_text, sep, end_text = words[-1].partition("-")
        try:
            start, end = time.fromisoformat(start_text), time.fromisoformat(end_text)
        except ValueError as err:
            raise MemberError("invalid_window", window=part) from err
        if not sep or start == end:
            raise MemberError("invalid_window", window=part)
        windows.append(StaffWindow(frozenset(days), start, end))
    if not windows:
        raise MemberError("invalid_window", window=text)
    return tuple(windows)


@dataclass(frozen=True)
class StaffCard:
    """A staff or contractor card (cleaner, security): its own windows, outside member rules."""

    card: str
    name: str
    role: str
    windows: tuple[StaffWindow, ...]
    pin_hash: str | None = None
    branches: frozenset[str] = frozenset()  # empty: every branch of the service

    def admits(self, moment: datetime, branch: str) -> bool:
        """Return True when the card may open a door of `branch` at `moment` (local)."""
        if self.branches and branch not in self.branches:
            return False
        return any(w.contains(moment) for w in self.windows)


# -- meeting-room bookings -----------------------------------------------------------------------


@dataclass(frozen=True)
class Booking:
    """A meeting-room booking: the booker's card opens the room door in its window."""

    id: str
    branch: str
    room: str  # the door id of the room
    card: str
    start: datetime
    end: datetime
    title: str = ""

    def admits(self, card: str, moment: datetime, grace: timedelta) -> bool:
        """Return True for the booker's card from `grace` before the start until the end."""
        return card == self.card and self.start - grace <= moment < self.end


# A meeting room is booked for a meeting, not a season; and not for a date no clock can reach
# (a booking ending 9999-12-31 cannot even be converted to UTC in a time zone west of Greenwich).
MAX_BOOKING_LENGTH = timedelta(days=7)
MAX_BOOKING_AHEAD = timedelta(days=731)


def check_booking(start: datetime, end: datetime, now: datetime, title: str) -> None:
    """Raise MemberError unless a booking's times (aware) and title can be kept.

    Only subtraction is used on the times, which cannot overflow where a time-zone change can;
    once checked, both lie within a few years of now.
    """
    check_text(title, "title")
    if end <= start:
        raise MemberError("booking_end_before_start")
    if end <= now:
        raise MemberError("booking_in_past")
    if end - start > MAX_BOOKING_LENGTH:
        raise MemberError("booking_too_long", days=str(MAX_BOOKING_LENGTH.days))
    if end - now > MAX_BOOKING_AHEAD:
        raise MemberError("booking_too_far_ahead", days=str(MAX_BOOKING_AHEAD.days))


def booking_admits(
    bookings: Iterable[Booking], card: str, moment: datetime, grace: timedelta
) -> bool:
    """Return True when one of `bookings` admits the card now."""
    return any(b.admits(card, moment, grace) for b in bookings)
