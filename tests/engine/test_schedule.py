"""Opening hours: modes, exceptions, events, clearance, validation, clock changes."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from custom_components.smart_library.engine.building.schedule import (
    DayException,
    Event,
    Mode,
    Period,
    Schedule,
    ScheduleError,
    closing_timeline,
    example_schedule,
    format_periods,
    parse_periods,
)

LONDON = ZoneInfo("Europe/London")


def at(day: date, hh: int, mm: int = 0) -> datetime:
    """Return a London wall-clock instant."""
    return datetime(day.year, day.month, day.day, hh, mm, tzinfo=LONDON)


def every_day(*periods: Period) -> Schedule:
    """Return a schedule with the same periods every day of the week."""
    return Schedule(week=(tuple(periods),) * 7)


SMART_EVENING = every_day(Period(time(18), time(21, 30), Mode.SMART))
TUESDAY = date(2026, 11, 24)


def test_modes_through_a_typical_tuesday() -> None:
    """The example branch: smart early, staffed morning, smart until 21:30, then closed."""
    s = example_schedule()
    assert s.mode_at(at(TUESDAY, 7, 59), LONDON) is Mode.CLOSED
    assert s.mode_at(at(TUESDAY, 8), LONDON) is Mode.SMART
    assert s.mode_at(at(TUESDAY, 10), LONDON) is Mode.STAFFED
    assert s.mode_at(at(TUESDAY, 13), LONDON) is Mode.SMART
    assert s.mode_at(at(TUESDAY, 21, 29), LONDON) is Mode.SMART
    assert s.mode_at(at(TUESDAY, 21, 30), LONDON) is Mode.CLOSED
    # Staffed to smart is not a closing: the building stays open until 21:30.
    assert s.closes_at(at(TUESDAY, 10), LONDON) == at(TUESDAY, 21, 30)
    assert s.next_change(at(TUESDAY, 10), LONDON) == (at(TUESDAY, 13), Mode.SMART)
    assert s.closes_at(at(TUESDAY, 22), LONDON) is None
    assert s.opens_at(at(TUESDAY, 22), LONDON) == at(TUESDAY + timedelta(days=1), 8)
    assert s.opens_at(at(TUESDAY, 12), LONDON) is None


def test_next_change_over_the_weekend() -> None:
    """Saturday afternoon's close is followed by Monday 08:00 (Sunday is closed)."""
    s = example_schedule()
    saturday = date(2026, 11, 28)
    assert s.next_change(at(saturday, 17, 30), LONDON) == (
        at(saturday + timedelta(days=2), 8),
        Mode.SMART,
    )


def test_holiday_and_changed_hours() -> None:
    """A holiday closes all day; changed hours replace the weekly plan for that date only."""
    christmas = date(2026, 12, 25)
    s = SMART_EVENING.with_exception(DayException(christmas, (), "Christmas Day"))
    assert s.mode_at(at(christmas, 19), LONDON) is Mode.CLOSED
    assert s.mode_at(at(christmas + timedelta(days=1), 19), LONDON) is Mode.SMART
    short = s.with_exception(
        DayException(
            christmas + timedelta(days=1), (Period(time(18), time(20), Mode.SMART),)
        )
    )
    assert short.closes_at(at(christmas + timedelta(days=1), 19), LONDON) == at(
        christmas + timedelta(days=1), 20
    )
    back = short.without_exception(christmas)
    assert back.mode_at(at(christmas, 19), LONDON) is Mode.SMART
    with pytest.raises(ScheduleError) as err:
        back.without_exception(christmas)
    assert err.value.code == "no_exception"


def test_evening_event_in_closed_time() -> None:
    """An author talk after closing makes the branch open in event mode until it ends."""
    talk = Event("talk", "Author talk", at(TUESDAY, 21, 30), at(TUESDAY, 23))
    s = SMART_EVENING.with_event(talk)
    assert s.mode_at(at(TUESDAY, 22), LONDON) is Mode.EVENT
    assert s.closes_at(at(TUESDAY, 19), LONDON) == at(TUESDAY, 23)
    assert s.without_event("talk").closes_at(at(TUESDAY, 19), LONDON) == at(
        TUESDAY, 21, 30
    )


def test_staffed_time_stays_staffed_during_an_event() -> None:
    """Staff are there anyway: an event overlapping staffed time leaves it staffed."""
    s = every_day(Period(time(9), time(13), Mode.STAFFED)).with_event(
        Event("story", "Story time", at(TUESDAY, 12), at(TUESDAY, 14))
    )
    assert s.mode_at(at(TUESDAY, 12, 30), LONDON) is Mode.STAFFED
    assert s.mode_at(at(TUESDAY, 13, 30), LONDON) is Mode.EVENT


def test_clearance_gap_between_staffed_and_smart() -> None:
    """With a 15-minute clearance everyone leaves between staffed and smart hours."""
    s = Schedule(
        week=(
            (
                Period(time(9), time(13), Mode.STAFFED),
                Period(time(13), time(20), Mode.SMART),
            ),
        )
        * 7,
        clearance_minutes=15,
    )
    assert s.mode_at(at(TUESDAY, 13, 10), LONDON) is Mode.CLOSED
    assert s.mode_at(at(TUESDAY, 13, 15), LONDON) is Mode.SMART
    assert s.closes_at(at(TUESDAY, 10), LONDON) == at(TUESDAY, 13)


@pytest.mark.parametrize(
    ("periods", "code"),
    [
        ((Period(time(18), time(22), Mode.SMART),), "smart_ends_too_late"),
        ((Period(time(18), time(17), Mode.SMART),), "start_after_end"),
        (
            (
                Period(time(9), time(13), Mode.STAFFED),
                Period(time(12), time(20), Mode.SMART),
            ),
            "overlapping_periods",
        ),
    ],
)
def test_invalid_days_are_refused(periods: tuple[Period, ...], code: str) -> None:
    """Smart hours after 21:30, backwards periods and overlaps are refused with a code."""
    with pytest.raises(ScheduleError) as err:
        every_day(*periods)
    assert err.value.code == code
    assert err.value.placeholders["day"] == "monday"


def test_staffed_hours_may_run_late_and_latest_smart_end_is_configurable() -> None:
    """Only smart hours are capped; a service may set its own latest time."""
    every_day(Period(time(18), time(22), Mode.STAFFED))
    s = Schedule(
        week=((Period(time(18), time(20), Mode.SMART),),) * 7, latest_smart_end=time(20)
    )
    with pytest.raises(ScheduleError, match="smart_ends_too_late"):
        s.extend_day(TUESDAY, time(20, 30))


def test_extend_today_and_close_early() -> None:
    """Extending and closing early change just that date, and refuse what makes no sense."""
    until_eight = every_day(Period(time(18), time(20), Mode.SMART))
    longer = until_eight.extend_day(TUESDAY, time(21)).extend_day(TUESDAY, time(21, 30))
    assert longer.closes_at(at(TUESDAY, 19), LONDON) == at(TUESDAY, 21, 30)
    tomorrow = TUESDAY + timedelta(days=1)
    assert longer.closes_at(at(tomorrow, 19), LONDON) == at(tomorrow, 20)
    early = SMART_EVENING.close_early(TUESDAY, time(19))
    assert early.closes_at(at(TUESDAY, 18, 30), LONDON) == at(TUESDAY, 19)
    assert early.mode_at(at(TUESDAY + timedelta(days=1), 20), LONDON) is Mode.SMART
    whole = SMART_EVENING.close_early(TUESDAY, time(17))
    assert whole.exception_on(TUESDAY).closed
    for call, code in (
        (lambda: SMART_EVENING.extend_day(TUESDAY, time(21)), "not_later"),
        (lambda: SMART_EVENING.extend_day(TUESDAY, time(22)), "smart_ends_too_late"),
        (lambda: SMART_EVENING.close_early(TUESDAY, time(22)), "not_earlier"),
        (lambda: Schedule().extend_day(TUESDAY, time(20)), "closed_that_day"),
    ):
        with pytest.raises(ScheduleError) as err:
            call()
        assert err.value.code == code


@pytest.mark.parametrize(
    ("before", "after", "utc_shift"),
    [
        (date(2026, 3, 28), date(2026, 3, 29), -1),  # clocks go forward
        (date(2026, 10, 24), date(2026, 10, 25), 1),  # clocks go back
        (date(2027, 3, 27), date(2027, 3, 28), -1),
        (date(2027, 10, 30), date(2027, 10, 31), 1),
    ],
)
def test_closing_at_2130_across_clock_changes(
    before: date, after: date, utc_shift: int
) -> None:
    """21:30 stays 21:30 on the wall clock; its UTC instant moves by the hour of the change."""
    s = SMART_EVENING
    close_before = s.closes_at(at(before, 19), LONDON)
    close_after = s.closes_at(at(after, 19), LONDON)
    assert close_before is not None
    assert close_after is not None
    assert (close_before.hour, close_before.minute) == (21, 30)
    assert (close_after.hour, close_after.minute) == (21, 30)
    gap = close_after.astimezone(UTC) - close_before.astimezone(UTC)
    assert gap == timedelta(hours=24 + utc_shift)
    # Asked in UTC, the answer is the same instant.
    assert s.closes_at(at(after, 19).astimezone(UTC), LONDON) == close_after


def test_nonexistent_and_ambiguous_local_times() -> None:
    """01:30 on spring-forward day falls forward; on autumn day the first 01:30 counts."""
    s = every_day(Period(time(1, 30), time(3), Mode.STAFFED))
    spring = s.segments(at(date(2026, 3, 29), 0), LONDON, days=1)
    staffed = next(
        seg for seg in spring if seg.mode is Mode.STAFFED and seg.start.day == 29
    )
    assert staffed.start.astimezone(UTC) == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    autumn = s.segments(at(date(2026, 10, 25), 0), LONDON, days=1)
    staffed = next(
        seg for seg in autumn if seg.mode is Mode.STAFFED and seg.start.day == 25
    )
    assert staffed.start.astimezone(UTC) == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    assert staffed.end.astimezone(UTC) == datetime(2026, 10, 25, 3, 0, tzinfo=UTC)


def test_naive_datetimes_are_refused() -> None:
    """The engine never guesses a time zone."""
    with pytest.raises(ScheduleError, match="naive_datetime"):
        SMART_EVENING.closes_at(datetime(2026, 11, 24, 19), LONDON)


def test_round_trip_and_bad_input() -> None:
    """A schedule survives to_dict/from_dict; bad stored data gives a coded error."""
    s = (
        example_schedule()
        .with_exception(DayException(date(2026, 12, 25), (), "Christmas"))
        .with_event(Event("talk", "Author talk", at(TUESDAY, 21, 30), at(TUESDAY, 23)))
    )
    assert Schedule.from_dict(s.to_dict()) == s
    for data, code in (
        (
            {"week": {"monday": [{"start": "9am", "end": "13:00", "mode": "smart"}]}},
            "invalid_time",
        ),
        (
            {"week": {"monday": [{"start": "09:00", "end": "13:00", "mode": "party"}]}},
            "invalid_mode",
        ),
        ({"exceptions": [{"date": "not a date"}]}, "invalid_schedule"),
        ({"clearance_minutes": 500}, "invalid_clearance"),
    ):
        with pytest.raises(ScheduleError) as err:
            Schedule.from_dict(data)
        assert err.value.code == code


def test_form_fields() -> None:
    """A manager types "09:00-13:00, 14:00-17:00"; it parses and formats back."""
    periods = parse_periods("09:00-13:00, 14:00-17:00", Mode.STAFFED)
    assert periods == [
        Period(time(9), time(13), Mode.STAFFED),
        Period(time(14), time(17), Mode.STAFFED),
    ]
    assert format_periods(periods, Mode.STAFFED) == "09:00-13:00, 14:00-17:00"
    assert parse_periods(" ", Mode.SMART) == []
    with pytest.raises(ScheduleError, match="invalid_period"):
        parse_periods("9 till 5", Mode.SMART)


def test_closing_timeline() -> None:
    """Announcements at 15, 10 and 5 minutes, PCs off at 10, then closed."""
    closes = at(TUESDAY, 21, 30)
    timeline = closing_timeline(closes)
    assert timeline["announce_15"] == at(TUESDAY, 21, 15)
    assert timeline["pcs_off"] == at(TUESDAY, 21, 20)
    assert timeline["closed"] == closes


def test_a_mode_forced_by_hand_gives_way_to_the_plan() -> None:
    """Until the plan's next change, never past midnight; smart never past the latest time."""
    assert SMART_EVENING.override_end(at(TUESDAY, 17), LONDON, Mode.STAFFED) == at(
        TUESDAY, 18
    )
    assert SMART_EVENING.override_end(at(TUESDAY, 19), LONDON, Mode.CLOSED) == at(
        TUESDAY, 21, 30
    )
    closed_all_week = Schedule()
    wednesday = TUESDAY + timedelta(days=1)
    assert closed_all_week.override_end(at(TUESDAY, 20), LONDON, Mode.EVENT) == at(
        wednesday, 0
    )
    assert closed_all_week.override_end(at(TUESDAY, 20), LONDON, Mode.SMART) == at(
        TUESDAY, 21, 30
    )
    with pytest.raises(ScheduleError, match="smart_too_late_now") as err:
        closed_all_week.override_end(at(TUESDAY, 22), LONDON, Mode.SMART)
    assert err.value.placeholders == {"now": "22:00", "latest": "21:30"}
    # The night the clocks go back: midnight is still midnight, local time.
    sunday = date(2026, 10, 25)
    assert closed_all_week.override_end(
        at(sunday - timedelta(days=1), 23), LONDON, Mode.STAFFED
    ) == at(sunday, 0)
