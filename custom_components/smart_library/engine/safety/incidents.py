"""Incidents: what happened, where, when, what was done, who recorded it (seed 003).

Libraries Connected's "Creating safer libraries" asks for incident forms completed as soon as
possible, with the time, the place, what was said and done, reviewed afterwards. An incident here
is that form: a category, the branch and where in it (a door, a zone, an area), when it happened,
what happened, the actions taken (a timeline the integration keeps as things happen, and the
duty manager's own words), who recorded it, and optionally the member involved — only as a masked
card and a peppered digest, which is what links the incident to a bar and to the bar's review.

Nothing else about people is kept (UK GDPR: data minimisation). Incidents are kept for the
service's retention period and then deleted, with their camera snapshots; an open incident (not
yet reviewed) is kept until a person completes it, and so is every incident of a member who is
still barred (the bar's history stays with its incidents).

Pure Python, no Home Assistant; the store is `engine.incident_store`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
import csv
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, tzinfo
from enum import StrEnum
import io
import secrets

from ..errors import CodedError
from ..members.store import neutralise_cell

MAX_TEXT = 4000  # what happened, actions taken
MAX_SHORT = 200  # where, who, a police reference
# A repeat of the same alarm at the same place this soon adds to the open incident's timeline.
REPEAT_WINDOW = timedelta(minutes=10)
# An incident may be recorded after the fact, but not for a time to come (a clock a little ahead
# is forgiven).
FUTURE_TOLERANCE = timedelta(minutes=5)
DEFAULT_RETENTION_DAYS = 365
MIN_RETENTION_DAYS = 30
MAX_RETENTION_DAYS = 3650
RECENT_WINDOW = timedelta(days=30)  # the period the counts per category cover


class Category(StrEnum):
    """What kind of incident."""

    FIRE = "fire"
    PANIC = "panic"
    FORCED_DOOR = "forced_door"
    HELD_OPEN = "held_open"
    TAILGATING = "tailgating"
    ANTISOCIAL = "antisocial_behaviour"
    INJURY = "injury"  # injury or first aid
    DAMAGE = "damage"
    LOCKDOWN = "lockdown"
    HELP_POINT = "help_point"
    OTHER = "other"


TITLES: Mapping[Category, str] = {
    Category.FIRE: "Fire alarm",
    Category.PANIC: "Panic alarm",
    Category.FORCED_DOOR: "Door forced",
    Category.HELD_OPEN: "Door held open",
    Category.TAILGATING: "Tailgating",
    Category.ANTISOCIAL: "Antisocial behaviour",
    Category.INJURY: "Injury / first aid",
    Category.DAMAGE: "Damage",
    Category.LOCKDOWN: "Lockdown",
    Category.HELP_POINT: "Help point",
    Category.OTHER: "Other",
}


class Priority(StrEnum):
    """How staff are told of an incident as it happens."""

    CRITICAL = "critical"  # through silent mode and do-not-disturb
    NORMAL = "normal"
    NONE = "none"  # recorded for review, nobody is called


# Fire and panic reach a lone worker whatever their phone is set to; a help point, a door forced
# or held open, a lockdown, a reader under attack call staff normally; tailgating is for review.
PRIORITY: Mapping[Category, Priority] = {
    Category.FIRE: Priority.CRITICAL,
    Category.PANIC: Priority.CRITICAL,
    Category.FORCED_DOOR: Priority.NORMAL,
    Category.HELD_OPEN: Priority.NORMAL,
    Category.HELP_POINT: Priority.NORMAL,
    Category.LOCKDOWN: Priority.NORMAL,
    Category.OTHER: Priority.NORMAL,
    Category.TAILGATING: Priority.NONE,
    Category.ANTISOCIAL: Priority.NONE,
    Category.INJURY: Priority.NONE,
    Category.DAMAGE: Priority.NONE,
}

# The kinds of alarm the building reports (its `smart_library_alarm` events), by category.
_ALARM_KINDS: Mapping[str, Category] = {
    "fire": Category.FIRE,
    "fire_alarm": Category.FIRE,
    "panic": Category.PANIC,
    "forced": Category.FORCED_DOOR,
    "door_forced": Category.FORCED_DOOR,
    "forced_door": Category.FORCED_DOOR,
    "held_open": Category.HELD_OPEN,
    "door_held_open": Category.HELD_OPEN,
    "help": Category.HELP_POINT,
    "help_point": Category.HELP_POINT,
    "tailgating": Category.TAILGATING,
}


class Status(StrEnum):
    """Whether a person still has to review the incident."""

    OPEN = "open"
    COMPLETE = "complete"


class Source(StrEnum):
    """How the incident came to be recorded."""

    ALARM = "alarm"  # the building's alarms, by themselves
    STAFF = "staff"  # a person, through an action or the to-do list
    VOICE = "voice"  # a voice command or a codeword
    PHONE = "phone"  # an on-call phone's notification action
    HELP_POINT = "help_point"
    READER = "reader"  # a door reader stopped after a burst of refusals


class IncidentError(CodedError):
    """Incident data that cannot be kept."""


def category(value: str) -> Category:
    """Return a category from its value, or raise IncidentError('incident_unknown_category')."""
    try:
        return Category(value.strip().lower())
    except ValueError:
        raise IncidentError(
            "incident_unknown_category",
            category=value[:40],
            categories=", ".join(c.value for c in Category),
        ) from None


def alarm_category(kind: str) -> Category:
    """Return the category of an alarm the building reported (unknown kinds: other)."""
    return _ALARM_KINDS.get(kind.strip().lower(), Category.OTHER)


def check_text(value: str, field_name: str, limit: int = MAX_TEXT) -> str:
    """Return `value` trimmed when it can be kept: UTF-8, at most `limit` characters."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise IncidentError("invalid_text", field=field_name) from None
    value = value.strip()
    if len(value) > limit:
        raise IncidentError(
            "incident_text_too_long", field=field_name, limit=str(limit)
        )
    return value


def _aware(moment: datetime, field_name: str) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise IncidentError("incident_naive_time", field=field_name)
    return moment


@dataclass(frozen=True, slots=True)
class LogEntry:
    """One line of an incident's timeline: when, what, by whom."""

    at: datetime
    text: str
    by: str = ""


@dataclass(frozen=True, slots=True)
class MemberLink:
    """The member involved: masked card for people, peppered digest to find the bar."""

    key: str
    card: str  # masked (••••1234)


@dataclass(frozen=True, slots=True)
class Incident:
    """One incident form."""

    id: str
    branch: str  # the branch's id (its sub-entry)
    branch_name: str
    category: Category
    occurred_at: datetime  # aware
    recorded_at: datetime  # aware
    recorded_by: str
    source: Source = Source.STAFF
    location: str = ""  # door, zone or area
    description: str = ""  # what happened
    actions_taken: str = ""  # in the duty manager's words
    member: MemberLink | None = None
    police_reference: str = ""
    status: Status = Status.OPEN
    completed_at: datetime | None = None
    completed_by: str = ""
    log: tuple[LogEntry, ...] = ()
    files: tuple[str, ...] = ()  # camera snapshots, file names in the incident's folder

    @property
    def title(self) -> str:
        """Return the category's English title."""
        return TITLES[self.category]

    @property
    def is_open(self) -> bool:
        """Return True until a person has completed the review."""
        return self.status is Status.OPEN

    @property
    def priority(self) -> Priority:
        """Return how staff are told of it."""
        return PRIORITY[self.category]

    def summary(self, zone: tzinfo) -> str:
        """Return one line a duty manager reads: what, where, when (local time)."""
        where = f", {self.location}" if self.location else ""
        when = self.occurred_at.astimezone(zone).strftime("%d %b %H:%M")
        return f"{self.title} at {self.branch_name}{where} ({when})"

    def timeline(self, zone: tzinfo) -> str:
        """Return the timeline, one line per entry, in local time."""
        return "\n".join(
            f"{e.at.astimezone(zone):%H:%M:%S} {e.text}"
            + (f" ({e.by})" if e.by else "")
            for e in self.log
        )


def new_id() -> str:
    """Return a new incident id (random, 12 hex digits)."""
    return secrets.token_hex(6)


def new_incident(
    *,
    branch: str,
    branch_name: str,
    category: Category,
    occurred_at: datetime,
    now: datetime,
    recorded_by: str,
    source: Source = Source.STAFF,
    location: str = "",
    description: str = "",
    actions_taken: str = "",
    member: MemberLink | None = None,
    police_reference: str = "",
    incident_id: str | None = None,
    recorded_text: str = "Recorded",
) -> Incident:
    """Return a new open incident, or raise IncidentError for data that cannot be kept.

    `recorded_text` is its timeline's first line (the glue gives it in the language of the day).
    """
    _aware(occurred_at, "occurred_at")
    _aware(now, "now")
    if occurred_at > now + FUTURE_TOLERANCE:
        raise IncidentError("incident_in_future")
    return Incident(
        id=incident_id or new_id(),
        branch=branch,
        branch_name=check_text(branch_name, "branch", MAX_SHORT),
        category=category,
        occurred_at=occurred_at,
        recorded_at=now,
        recorded_by=check_text(recorded_by, "recorded_by", MAX_SHORT),
        source=source,
        location=check_text(location, "location", MAX_SHORT),
        description=check_text(description, "description"),
        actions_taken=check_text(actions_taken, "actions_taken"),
        member=member,
        police_reference=check_text(police_reference, "police_reference", MAX_SHORT),
        log=(LogEntry(now, recorded_text, recorded_by),),
    )


def with_entry(incident: Incident, entry: LogEntry) -> Incident:
    """Return the incident with a line added to its timeline (also after completion)."""
    text = check_text(entry.text, "text", MAX_SHORT * 2)
    return replace(incident, log=(*incident.log, replace(entry, text=text)))


def complete(
    incident: Incident,
    *,
    now: datetime,
    by: str,
    actions_taken: str | None = None,
    police_reference: str | None = None,
    member: MemberLink | None = None,
    completed_text: str = "Review completed",
) -> Incident:
    """Return the incident completed (reviewed) by `by`; refused when it already is.

    `completed_text` is the timeline's line for it (the glue gives it in the language of the day).
    """
    if not incident.is_open:
        raise IncidentError("incident_already_complete", incident=incident.id)
    actions = incident.actions_taken
    if actions_taken:
        actions = check_text(
            "\n".join(filter(None, (actions, actions_taken.strip()))), "actions_taken"
        )
    done = replace(
        incident,
        status=Status.COMPLETE,
        completed_at=_aware(now, "now"),
        completed_by=check_text(by, "completed_by", MAX_SHORT),
        actions_taken=actions,
        police_reference=incident.police_reference
        if police_reference is None
        else check_text(police_reference, "police_reference", MAX_SHORT),
        member=member or incident.member,
    )
    return with_entry(done, LogEntry(now, completed_text, by))


def add_note(incident: Incident, text: str) -> Incident:
    """Return the incident with a duty manager's note added to the actions taken."""
    note = check_text(text, "actions_taken")
    if not note:
        return incident
    actions = "\n".join(filter(None, (incident.actions_taken, note)))
    return replace(incident, actions_taken=check_text(actions, "actions_taken"))


def with_police_reference(incident: Incident, reference: str) -> Incident:
    """Return the incident with its police reference (also after completion)."""
    return replace(
        incident,
        police_reference=check_text(reference, "police_reference", MAX_SHORT),
    )


def is_repeat(
    incident: Incident, category: Category, location: str, at: datetime
) -> bool:
    """Return True when an alarm at `at` repeats this open incident (same kind, same place)."""
    return (
        incident.is_open
        and incident.category is category
        and incident.location == location
        and timedelta(0) <= at - incident.occurred_at <= REPEAT_WINDOW
    )


# -- retention -----------------------------------------------------------------------------------


def check_retention(days: int) -> int:
    """Return a retention period in days, or raise IncidentError('incident_retention_range')."""
    if not MIN_RETENTION_DAYS <= days <= MAX_RETENTION_DAYS:
        raise IncidentError(
            "incident_retention_range",
            min=str(MIN_RETENTION_DAYS),
            max=str(MAX_RETENTION_DAYS),
        )
    return days


def expired(
    incident: Incident, now: datetime, days: int, keep_members: Iterable[str] = ()
) -> bool:
    """Return True when retention deletes the incident now.

    A completed incident goes `days` after it happened; an open one stays until reviewed; an
    incident of a member who is still barred stays with the bar.
    """
    if incident.is_open:
        return False
    if incident.member is not None and incident.member.key in set(keep_members):
        return False
    return incident.occurred_at < now - timedelta(days=days)


# -- counts and export ---------------------------------------------------------------------------


def counts(
    incidents: Iterable[Incident], since: datetime | None = None
) -> dict[str, int]:
    """Return how many incidents of each category (every category, zero included)."""
    found = dict.fromkeys((c.value for c in Category), 0)
    for incident in incidents:
        if since is None or incident.occurred_at >= since:
            found[incident.category.value] += 1
    return found


EXPORT_COLUMNS = (
    "id",
    "branch",
    "category",
    "occurred_at",
    "recorded_at",
    "location",
    "description",
    "actions_taken",
    "timeline",
    "recorded_by",
    "source",
    "member_card",
    "police_reference",
    "status",
    "completed_at",
    "completed_by",
    "snapshots",
)


def _local(moment: datetime | None, zone: tzinfo) -> str:
    return (
        "" if moment is None else moment.astimezone(zone).isoformat(timespec="seconds")
    )


def export_csv(incidents: Iterable[Incident], zone: tzinfo) -> str:
    """Return the incidents as CSV a spreadsheet shows as text (no cell starts a formula).

    Times are local ISO 8601 with their offset. The member appears only as a masked card.
    """
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(EXPORT_COLUMNS)
    for i in incidents:
        row = (
            i.id,
            i.branch_name,
            i.category.value,
            _local(i.occurred_at, zone),
            _local(i.recorded_at, zone),
            i.location,
            i.description,
            i.actions_taken,
            i.timeline(zone),
            i.recorded_by,
            i.source.value,
            i.member.card if i.member else "",
            i.police_reference,
            i.status.value,
            _local(i.completed_at, zone),
            i.completed_by,
            str(len(i.files)),
        )
        writer.writerow([neutralise_cell(cell) for cell in row])
    return out.getvalue()
