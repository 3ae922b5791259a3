"""Members and the smart-access rules: who may come in, and why not.

The rules are the library service's (seeds 000 and 001): aged 16 or over, inducted, card not
expired, a new induction after every card renewal, not barred, not on a final warning; under-16s
only with an adult of 18 or over; meeting rooms only when booked. Every refusal has a reason code
that a door reader can show and a member of staff can act on.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from enum import StrEnum
import hashlib
import re

ADULT_AGE = 18
MIN_AGE = 16
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
    LOCKED_OUT = "locked_out"
    UNDER_16 = "under_16"
    INDUCTION_NEEDED = "induction_needed"
    CARD_EXPIRED = "card_expired"
    INDUCTION_OUTDATED = "induction_outdated"
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


class MemberError(ValueError):
    """Bad member data; `code` is a translation key, placeholders never hold a full card."""

    def __init__(self, code: str, **placeholders: str) -> None:
        """Create the error."""
        super().__init__(code)
        self.code = code
        self.placeholders = placeholders


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


def card_key(card: str) -> str:
    """Return a digest naming a card where its number must not appear (lock-out keys)."""
    return hashlib.sha256(normalise_card(card).encode()).hexdigest()[:32]


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

    def eligibility(self, day: date) -> Reason:
        """Return GRANTED when the member may use smart access on `day`, else the first reason.

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
        return Reason.GRANTED

    def renewed(self, day: date, expiry: date) -> Member:
        """Return the member after a card renewal: new expiry, a new induction needed.

        The old induction no longer counts, even one done earlier the same day.
        """
        if expiry <= day:
            raise MemberError("expiry_not_after_renewal")
        return replace(self, card_expiry=expiry, renewed_on=day, induction_date=None)


def check_member_fields(member: Member, today: date) -> None:
    """Raise MemberError when a member's dates cannot be right."""
    if member.birth_date > today:
        raise MemberError("birth_date_in_future")
    if member.induction_date is not None and member.induction_date > today:
        raise MemberError("induction_in_future")


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


def booking_admits(
    bookings: Iterable[Booking], card: str, moment: datetime, grace: timedelta
) -> bool:
    """Return True when one of `bookings` admits the card now."""
    return any(b.admits(card, moment, grace) for b in bookings)
