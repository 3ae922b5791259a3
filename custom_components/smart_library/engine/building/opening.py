"""Opening hours for the public: the week ahead of a branch and an iCalendar feed of it.

A library's website subscribes to the feed (RFC 5545): one event per staffed or smart period,
one per one-off event in the building (an evening author talk), and an all-day event for a day
closed by an exception that has a label (a holiday). Times are written in UTC (`Z`), so no time
zone definition is needed and a clock change comes out right. A period's UID is stable (its start
and mode), so a calendar that subscribes replaces rather than duplicates it.

Pure Python, no Home Assistant import; the schedule and the time zone are passed in.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
import re

from .schedule import DayException, Event, Mode, Period, Schedule

FEED_DAYS = 56  # eight weeks ahead
WEEK_DAYS = 7
MODE_SUMMARIES = {
    Mode.STAFFED: "Staffed hours",
    Mode.SMART: "Smart hours (members with card and PIN)",
}
MODE_DESCRIPTIONS = {
    Mode.STAFFED: "Library staff are in the building.",
    Mode.SMART: (
        "Self-access: library members aged 16 or over who have completed the Smart Library "
        "induction come in with their card and PIN. No staff are in the building."
    ),
}
# The feed's own words, English; `build_ics(words=...)` takes them in another language.
ICS_WORDS = {
    "name": "{branch} opening hours",
    "staffed": MODE_SUMMARIES[Mode.STAFFED],
    "smart": MODE_SUMMARIES[Mode.SMART],
    "staffed_description": MODE_DESCRIPTIONS[Mode.STAFFED],
    "smart_description": MODE_DESCRIPTIONS[Mode.SMART],
    "event_description": "An event in the library: the building is open for it.",
    "closed": "Closed: {label}",
    "closed_description": "The library is closed all day.",
}
_UID_SAFE = re.compile(r"[^A-Za-z0-9_.-]")


@dataclass(frozen=True, slots=True)
class DayHours:
    """One day of a branch's week ahead, as its public page shows it."""

    day: date
    periods: tuple[Period, ...]  # staffed and smart periods (the clearance gap applied)
    label: str = ""  # an exception's label: "Christmas Day", "Closed for training"
    exception: bool = False  # the day has other hours than the weekly plan
    events: tuple[Event, ...] = ()  # events in the building that day (local start)

    @property
    def closed(self) -> bool:
        """Return True when the building does not open that day at all."""
        return not self.periods and not self.events


def week_ahead(
    schedule: Schedule, today: date, zone: tzinfo, days: int = WEEK_DAYS
) -> list[DayHours]:
    """Return `days` days from `today`: periods, holidays and changed days, events."""
    out = []
    for n in range(days):
        day = today + timedelta(days=n)
        exception: DayException | None = schedule.exception_on(day)
        events = tuple(
            sorted(
                (e for e in schedule.events if e.start.astimezone(zone).date() == day),
                key=lambda e: e.start,
            )
        )
        out.append(
            DayHours(
                day=day,
                periods=schedule.periods_on(day),
                label=exception.label if exception else "",
                exception=exception is not None,
                events=events,
            )
        )
    return out


# -- iCalendar ---------------------------------------------------------------------------------


def _escape(text: str) -> str:
    """Escape a TEXT value (RFC 5545 3.3.11)."""
    return (
        text.replace("\\", "\\\\")
        .replace(";", "\\;")
        .replace(",", "\\,")
        .replace("\r\n", "\\n")
        .replace("\n", "\\n")
        .replace("\r", "\\n")
    )


def _fold(line: str) -> str:
    """Fold a content line at 75 octets (RFC 5545 3.1), never inside a UTF-8 character."""
    raw = line.encode("utf-8")
    if len(raw) <= 75:
        return line
    parts: list[str] = []
    limit = 75
    while raw:
        cut = min(limit, len(raw))
        while cut < len(raw) and (raw[cut] & 0xC0) == 0x80:
            cut -= 1  # do not split a multi-byte character
        parts.append(raw[:cut].decode("utf-8"))
        raw = raw[cut:]
        limit = 74  # continuation lines start with a space
    return "\r\n ".join(parts)


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _uid(text: str, owner: str) -> str:
    return f"{_UID_SAFE.sub('-', text)}@{_UID_SAFE.sub('-', owner)}.smart-library"


def build_ics(
    *,
    name: str,
    owner: str,
    schedule: Schedule,
    today: date,
    zone: tzinfo,
    now: datetime,
    days: int = FEED_DAYS,
    location: str = "",
    words: Mapping[str, str] | None = None,
    language: str = "en",
) -> str:
    """Return the branch's opening hours from `today` for `days` days as an iCalendar feed.

    `owner` makes the UIDs unique to the branch (its id); `location` is its address; `words`
    the feed's texts (`ICS_WORDS`' keys, `{branch}` and `{label}` filled here) in `language`.
    """
    text = {**ICS_WORDS, **(words or {})}
    begin = datetime.combine(today, time(0), zone).astimezone(UTC).astimezone(zone)
    finish = begin + timedelta(days=days)
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:-//Smart Library//Opening hours//{_UID_SAFE.sub('', language).upper()}",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        f"X-WR-CALNAME:{_escape(text['name'].format(branch=name))}",
        "X-PUBLISHED-TTL:PT1H",
        "REFRESH-INTERVAL;VALUE=DURATION:PT1H",
    ]
    stamp = _utc(now)
    where = [f"LOCATION:{_escape(location)}"] if location.strip() else []

    def event(uid: str, start: list[str], summary: str, description: str) -> None:
        lines.extend(
            [
                "BEGIN:VEVENT",
                f"UID:{uid}",
                f"DTSTAMP:{stamp}",
                *start,
                f"SUMMARY:{_escape(summary)}",
                f"DESCRIPTION:{_escape(description)}",
                *where,
                "TRANSP:TRANSPARENT",
                "END:VEVENT",
            ]
        )

    for seg in schedule.segments(begin, zone, days=days):
        if seg.mode not in MODE_SUMMARIES or seg.end <= begin or seg.start >= finish:
            continue
        start = max(seg.start, begin)
        event(
            _uid(f"{_utc(start)}-{seg.mode.value}", owner),
            [f"DTSTART:{_utc(start)}", f"DTEND:{_utc(min(seg.end, finish))}"],
            text[seg.mode.value],
            text[f"{seg.mode.value}_description"],
        )
    for item in sorted(schedule.events, key=lambda e: e.start):
        if item.end <= begin or item.start >= finish:
            continue
        event(
            _uid(f"event-{item.id}", owner),
            [f"DTSTART:{_utc(item.start)}", f"DTEND:{_utc(item.end)}"],
            item.title,
            text["event_description"],
        )
    for exception in schedule.exceptions:
        if exception.closed and exception.label and today <= exception.day:
            if exception.day >= today + timedelta(days=days):
                continue
            day = exception.day
            event(
                _uid(f"closed-{day.isoformat()}", owner),
                [
                    f"DTSTART;VALUE=DATE:{day:%Y%m%d}",
                    f"DTEND;VALUE=DATE:{day + timedelta(days=1):%Y%m%d}",
                ],
                text["closed"].format(label=exception.label),
                text["closed_description"],
            )
    lines.append("END:VCALENDAR")
    return "\r\n".join(_fold(line) for line in lines) + "\r\n"
