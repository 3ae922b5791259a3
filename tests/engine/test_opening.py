"""A branch's week ahead and its iCalendar feed of opening hours."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from custom_components.smart_library.engine.building.opening import (
    build_ics,
    week_ahead,
)
from custom_components.smart_library.engine.building.schedule import (
    DayException,
    Event,
    Mode,
    Period,
    Schedule,
)

LONDON = ZoneInfo("Europe/London")
MONDAY = date(2026, 12, 21)
WEEK = (
    (Period(time(9), time(13), Mode.STAFFED), Period(time(13), time(19), Mode.SMART)),
) * 5 + ((Period(time(10), time(16), Mode.SMART),), ())
SCHEDULE = Schedule(
    week=WEEK,
    exceptions=(DayException(date(2026, 12, 25), (), "Christmas Day"),),
    events=(
        Event(
            "talk1",
            "Author talk; with Q&A, books",
            datetime(2026, 12, 22, 19, 30, tzinfo=LONDON),
            datetime(2026, 12, 22, 21, 0, tzinfo=LONDON),
        ),
    ),
)


def test_week_ahead_has_hours_holidays_and_events() -> None:
    """Seven days: each day's periods, Christmas closed with its label, the evening talk."""
    days = week_ahead(SCHEDULE, MONDAY, LONDON)
    assert [d.day for d in days] == [MONDAY + timedelta(days=n) for n in range(7)]
    assert [p.mode for p in days[0].periods] == [Mode.STAFFED, Mode.SMART]
    assert days[1].events[0].title.startswith("Author talk")
    christmas = days[4]
    assert (
        christmas.closed and christmas.label == "Christmas Day" and christmas.exception
    )
    assert days[6].closed and not days[6].label  # Sunday: closed, no label


def _unfold(text: str) -> list[str]:
    return text.replace("\r\n ", "").split("\r\n")


def test_the_feed_is_valid_icalendar() -> None:
    """CRLF lines of at most 75 octets, escaped text, UTC times, stable UIDs, the holiday."""
    now = datetime(2026, 12, 20, 8, 0, tzinfo=LONDON)
    feed = build_ics(
        name="Oadby Library",
        owner="branch_oadby",
        schedule=SCHEDULE,
        today=MONDAY,
        zone=LONDON,
        now=now,
        days=7,
        location="Church St, Oadby\nLE2 5AB",
    )
    assert feed.startswith("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n")
    assert feed.endswith("END:VCALENDAR\r\n")
    assert all(len(line.encode()) <= 75 for line in feed.split("\r\n"))
    lines = _unfold(feed)
    assert lines.count("BEGIN:VEVENT") == lines.count("END:VEVENT")
    assert "SUMMARY:Author talk\\; with Q&A\\, books" in lines
    assert "LOCATION:Church St\\, Oadby\\nLE2 5AB" in lines
    assert "SUMMARY:Closed: Christmas Day" in lines
    assert "DTSTART;VALUE=DATE:20261225" in lines
    # Monday: staffed 09:00-13:00 London = UTC in winter.
    assert "DTSTART:20261221T090000Z" in lines and "DTEND:20261221T130000Z" in lines
    summaries = [line for line in lines if line.startswith("SUMMARY:")]
    # 4 weekdays x 2 (Christmas closed), Saturday smart, the talk, the holiday.
    assert len(summaries) == 4 * 2 + 1 + 1 + 1
    uids = [line for line in lines if line.startswith("UID:")]
    assert len(uids) == len(set(uids))
    again = build_ics(
        name="Oadby Library",
        owner="branch_oadby",
        schedule=SCHEDULE,
        today=MONDAY,
        zone=LONDON,
        now=now + timedelta(hours=1),
        days=7,
    )
    assert uids == [line for line in _unfold(again) if line.startswith("UID:")]


def test_the_feed_crosses_the_clock_change() -> None:
    """Local 09:00 is 08:00 UTC in summer: times follow the zone, day by day."""
    schedule = Schedule(week=((Period(time(9), time(17), Mode.STAFFED),),) * 7)
    feed = build_ics(
        name="X",
        owner="b",
        schedule=schedule,
        today=date(2027, 3, 27),
        zone=LONDON,
        now=datetime(2027, 3, 27, tzinfo=LONDON),
        days=2,
    )
    assert "DTSTART:20270327T090000Z" in feed and "DTSTART:20270328T080000Z" in feed


def test_long_text_folds_without_breaking_characters() -> None:
    """A name of accented letters is folded between characters, never inside one."""
    feed = build_ics(
        name="Bibliothèque " * 12,
        owner="b",
        schedule=Schedule(),
        today=MONDAY,
        zone=LONDON,
        now=datetime(2026, 12, 20, tzinfo=LONDON),
        days=1,
    )
    for line in feed.split("\r\n"):
        line.encode().decode("utf-8")
        assert len(line.encode()) <= 75
    assert "Bibliothèque" in "".join(_unfold(feed))
