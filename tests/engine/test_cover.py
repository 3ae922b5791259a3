"""Staffed cover nearby: the smart stretches of each branch with no neighbour staffed."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
import random
from zoneinfo import ZoneInfo

import pytest

from custom_components.smart_library.engine.building.cover import (
    Uncovered,
    uncovered_periods,
)
from custom_components.smart_library.engine.building.schedule import (
    DayException,
    Event,
    Mode,
    Period,
    Schedule,
)

LONDON = ZoneInfo("Europe/London")
MONDAY = date(2026, 11, 23)


def at(day: date, hh: int, mm: int = 0) -> datetime:
    """Return a London wall-clock instant."""
    return datetime(day.year, day.month, day.day, hh, mm, tzinfo=LONDON)


def every_day(*periods: Period) -> Schedule:
    """Return a schedule with the same periods every day of the week."""
    return Schedule(week=(tuple(periods),) * 7)


def smart(a: int, b: int, am: int = 0, bm: int = 0) -> Period:
    """Return a smart period a:am-b:bm."""
    return Period(time(a, am), time(b, bm), Mode.SMART)


def staffed(a: int, b: int, am: int = 0, bm: int = 0) -> Period:
    """Return a staffed period a:am-b:bm."""
    return Period(time(a, am), time(b, bm), Mode.STAFFED)


def one_day(
    schedules: dict[str, Schedule], neighbours: dict[str, list[str]], day: date = MONDAY
) -> list[tuple[str, str, str]]:
    """Return the uncovered stretches of one day as (branch, "HH:MM", "HH:MM") local times."""
    found = uncovered_periods(schedules, neighbours, at(day, 0), LONDON, weeks=1)
    return [
        (u.branch, u.start.strftime("%H:%M"), u.end.strftime("%H:%M"))
        for u in found
        if u.start.astimezone(LONDON).date() == day
    ]


# -- the edge cases first -------------------------------------------------------------------------


def test_a_neighbour_staffed_for_the_whole_smart_period_covers_it() -> None:
    """Smart 13:00-17:00 beside a neighbour staffed 09:00-17:00: nothing to report."""
    schedules = {"a": every_day(smart(13, 17)), "b": every_day(staffed(9, 17))}
    assert uncovered_periods(schedules, {"a": ["b"]}, at(MONDAY, 0), LONDON) == []


def test_a_neighbour_staffed_for_part_leaves_the_rest_uncovered() -> None:
    """Staffed 14:00-16:00 beside smart 13:00-17:00: 13-14 and 16-17 are reported, exactly."""
    schedules = {"a": every_day(smart(13, 17)), "b": every_day(staffed(14, 16))}
    assert one_day(schedules, {"a": ["b"]}) == [
        ("a", "13:00", "14:00"),
        ("a", "16:00", "17:00"),
    ]


def test_a_neighbour_staffed_at_the_start_or_the_end_only() -> None:
    """Cover that overhangs either end of the smart period leaves only the middle."""
    schedules = {
        "a": every_day(smart(13, 17)),
        "b": every_day(staffed(9, 14, 0, 30)),
        "c": every_day(staffed(16, 19)),
    }
    assert one_day(schedules, {"a": ["b", "c"]}) == [("a", "14:30", "16:00")]


def test_two_neighbours_add_up() -> None:
    """One staffed 13:00-15:00, the other 15:00-17:00: the smart 13:00-17:00 is covered."""
    schedules = {
        "a": every_day(smart(13, 17)),
        "b": every_day(staffed(13, 15)),
        "c": every_day(staffed(15, 17)),
    }
    assert one_day(schedules, {"a": ["b", "c"]}) == []
    assert one_day(schedules, {"a": ["b"]}) == [("a", "15:00", "17:00")]


def test_a_neighbour_in_smart_mode_is_no_cover() -> None:
    """Two branches both in smart mode cover nothing for each other."""
    schedules = {"a": every_day(smart(8, 20)), "b": every_day(smart(8, 20))}
    assert one_day(schedules, {"a": ["b"], "b": ["a"]}) == [
        ("a", "08:00", "20:00"),
        ("b", "08:00", "20:00"),
    ]


def test_a_branch_naming_no_neighbour_is_not_checked() -> None:
    """No neighbour named: nothing is reported, however much smart time the branch has."""
    schedules = {"a": every_day(smart(8, 21)), "b": every_day(smart(8, 21))}
    assert uncovered_periods(schedules, {}, at(MONDAY, 0), LONDON) == []
    assert uncovered_periods(schedules, {"a": []}, at(MONDAY, 0), LONDON) == []


def test_a_removed_neighbour_drops_out_without_an_error() -> None:
    """A named neighbour that no longer exists is left out; the others still count."""
    schedules = {
        "a": every_day(smart(13, 17)),
        "b": every_day(staffed(13, 15)),
    }
    assert one_day(schedules, {"a": ["b", "gone"]}) == [("a", "15:00", "17:00")]
    # Its only neighbour removed, the branch names none: not checked.
    assert one_day(schedules, {"a": ["gone"]}) == []


def test_a_branch_naming_itself_is_not_its_own_cover() -> None:
    """A branch staffed in the morning and smart later does not cover its own evening."""
    schedules = {"a": every_day(staffed(9, 13), smart(13, 17))}
    assert one_day(schedules, {"a": ["a"]}) == []
    schedules["b"] = every_day()
    assert one_day(schedules, {"a": ["a", "b"]}) == [("a", "13:00", "17:00")]


def test_neighbours_are_one_way() -> None:
    """A names B: A's smart hours are checked against B; B's are not checked at all."""
    schedules = {
        "a": every_day(staffed(9, 13), smart(13, 17)),
        "b": every_day(smart(9, 13), staffed(13, 17)),
    }
    assert one_day(schedules, {"a": ["b"]}) == []
    assert one_day(schedules, {"b": ["a"]}) == []
    schedules["a"] = every_day(smart(9, 17))
    assert one_day(schedules, {"b": ["a"]}) == [("b", "09:00", "13:00")]


def test_a_holiday_at_the_neighbour_leaves_that_day_uncovered() -> None:
    """The neighbour closed on Christmas Day: the branch's smart hours that day are reported."""
    christmas = date(2026, 12, 25)
    schedules = {
        "a": every_day(smart(10, 16)),
        "b": every_day(staffed(9, 17)).with_exception(DayException(christmas)),
    }
    found = uncovered_periods(schedules, {"a": ["b"]}, at(MONDAY, 0), LONDON, weeks=6)
    assert found == [Uncovered(at(christmas, 10), at(christmas, 16), "a")]


def test_a_holiday_at_the_branch_needs_no_cover() -> None:
    """The branch itself closed: nothing to cover that day."""
    schedules = {
        "a": every_day(smart(10, 16)).with_exception(DayException(MONDAY)),
        "b": every_day(staffed(9, 13)),
    }
    assert one_day(schedules, {"a": ["b"]}) == []
    assert one_day(schedules, {"a": ["b"]}, MONDAY + timedelta(days=1)) == [
        ("a", "13:00", "16:00")
    ]


def test_extend_today_and_close_early() -> None:
    """The branch open later is more to cover; the neighbour closing early is less cover."""
    schedules = {
        "a": every_day(smart(13, 17)).extend_day(MONDAY, time(19)),
        "b": every_day(staffed(9, 19)),
    }
    assert one_day(schedules, {"a": ["b"]}) == []
    schedules["b"] = schedules["b"].close_early(MONDAY, time(15))
    assert one_day(schedules, {"a": ["b"]}) == [("a", "15:00", "19:00")]
    # The day after follows the weekly plan again.
    assert one_day(schedules, {"a": ["b"]}, MONDAY + timedelta(days=1)) == []


def test_events_at_the_neighbour_and_at_the_branch() -> None:
    """An event is no staffed cover, staffed time stays staffed; the branch's event needs none."""
    talk = Event("talk", "Author talk", at(MONDAY, 16), at(MONDAY, 18))
    quiz = Event("quiz", "Quiz", at(MONDAY, 17), at(MONDAY, 19))  # overlaps the talk
    schedules = {
        "a": every_day(smart(13, 20)),
        "b": every_day(staffed(13, 17), smart(17, 20))
        .with_event(talk)
        .with_event(quiz),
    }
    # b's events make 17-19 event mode, not staffed; 16-17 stays staffed.
    assert one_day(schedules, {"a": ["b"]}) == [("a", "17:00", "20:00")]
    # Events at the branch itself: event time (17-19 here, the two overlapping) needs no cover.
    schedules["a"] = schedules["a"].with_event(talk).with_event(quiz)
    assert one_day(schedules, {"a": ["b"]}) == [("a", "19:00", "20:00")]


def test_the_clearance_gap_is_closed_time() -> None:
    """A branch cleared for 30 minutes between staffed and smart has no smart time in the gap."""
    schedules = {
        "a": Schedule(
            week=((staffed(9, 13), smart(13, 17)),) * 7, clearance_minutes=30
        ),
        "b": every_day(staffed(14, 17)),
    }
    assert one_day(schedules, {"a": ["b"]}) == [("a", "13:30", "14:00")]


def test_a_period_under_way_starts_now_and_the_horizon_cuts_the_last() -> None:
    """From 15:10 on a Monday for one week: today's stretch starts 15:10, none past the week."""
    schedules = {"a": every_day(smart(13, 17)), "b": every_day()}
    now = at(MONDAY, 15, 10)
    found = uncovered_periods(schedules, {"a": ["b"]}, now, LONDON, weeks=1)
    assert found[0] == Uncovered(now, at(MONDAY, 17), "a")
    assert found[-1] == Uncovered(
        at(MONDAY + timedelta(days=7), 13), now + timedelta(weeks=1), "a"
    )
    assert len(found) == 8
    assert all(u.start.tzinfo is LONDON for u in found)


def test_four_weeks_by_default_in_order() -> None:
    """The default horizon is four weeks; stretches come by start, then branch."""
    schedules = {
        "a": every_day(smart(13, 17)),
        "b": every_day(smart(13, 17)),
        "c": every_day(),
    }
    found = uncovered_periods(
        schedules, {"b": ["c"], "a": ["c"]}, at(MONDAY, 0), LONDON
    )
    assert len(found) == 2 * 28
    assert found == sorted(found)
    assert [u.branch for u in found[:2]] == ["a", "b"]
    assert found[-1].start == at(MONDAY + timedelta(days=27), 13)


def test_a_naive_now_is_refused() -> None:
    """A time without a zone would be read in the host's zone: refused."""
    with pytest.raises(ValueError):
        uncovered_periods({}, {}, datetime(2026, 11, 23), LONDON)


# -- clock changes --------------------------------------------------------------------------------


def test_spring_forward_keeps_wall_clock_times() -> None:
    """Across the March change, 13:00-17:00 stays 13:00-17:00 local (12:00 UTC from then on)."""
    saturday = date(2027, 3, 27)
    schedules = {"a": every_day(smart(13, 17)), "b": every_day()}
    found = uncovered_periods(schedules, {"a": ["b"]}, at(saturday, 0), LONDON, weeks=1)
    assert found[0].start.astimezone(UTC).hour == 13  # GMT
    assert found[1].start.astimezone(UTC).hour == 12  # BST
    assert all(u.end - u.start == timedelta(hours=4) for u in found)


def test_the_spring_gap_and_the_autumn_fold() -> None:
    """Smart through the night of a clock change: the hour that does not exist is not reported.

    Spring: 00:00-03:00 local lasts two hours; the neighbour staffed 00:00-01:30 (01:30 does not
    exist and falls forward to 02:30 BST) leaves 02:30-03:00 BST, half an hour. Autumn: 00:00-03:00 lasts four hours; staffed
    00:00-01:30 (the first 01:30, BST) leaves 00:30-03:00 UTC uncovered.
    """
    spring, autumn = date(2027, 3, 28), date(2026, 10, 25)
    night = Schedule(week=((smart(0, 3),),) * 7)
    schedules = {"a": night, "b": every_day(staffed(0, 1, 0, 30))}
    found = uncovered_periods(schedules, {"a": ["b"]}, at(spring, 0), LONDON, weeks=1)
    first = found[0]
    assert (first.start.astimezone(UTC), first.end.astimezone(UTC)) == (
        datetime(2027, 3, 28, 1, 30, tzinfo=UTC),
        datetime(2027, 3, 28, 2, 0, tzinfo=UTC),
    )
    assert first.start.strftime("%H:%M") == "02:30"
    schedules = {"a": night, "b": every_day(staffed(0, 1, 0, 30))}
    found = uncovered_periods(schedules, {"a": ["b"]}, at(autumn, 0), LONDON, weeks=1)
    first = found[0]
    assert (first.start.astimezone(UTC), first.end.astimezone(UTC)) == (
        datetime(2026, 10, 25, 0, 30, tzinfo=UTC),
        datetime(2026, 10, 25, 3, 0, tzinfo=UTC),
    )


# -- against a clock that walks ---------------------------------------------------------------------


def _random_day(rng: random.Random) -> tuple[Period, ...]:
    """Return a random valid day on a 30-minute grid, staffed and smart mixed, 06:00-21:30."""
    cuts = sorted(rng.sample(range(12, 44), rng.choice((0, 2, 4, 6))))
    periods = []
    for a, b in zip(cuts[::2], cuts[1::2], strict=True):
        mode = rng.choice((Mode.STAFFED, Mode.SMART))
        periods.append(
            Period(time(a // 2, 30 * (a % 2)), time(b // 2, 30 * (b % 2)), mode)
        )
    return tuple(periods)


@pytest.mark.parametrize("seed", range(12))
def test_matches_a_walk_every_half_hour(seed: int) -> None:
    """Random plans: a half hour is reported exactly when the branch is smart and no neighbour staffed."""
    rng = random.Random(seed)
    names = ["a", "b", "c", "d"]
    schedules = {
        n: Schedule(week=tuple(_random_day(rng) for _ in range(7))) for n in names
    }
    neighbours = {
        n: rng.sample([m for m in names if m != n], rng.randint(0, 2)) for n in names
    }
    start = at(MONDAY, 0)
    found = uncovered_periods(schedules, neighbours, start, LONDON, weeks=1)
    for step in range(7 * 48):
        instant = start + timedelta(minutes=30 * step)
        for name in names:
            expected = (
                bool(neighbours[name])
                and schedules[name].mode_at(instant, LONDON) is Mode.SMART
                and not any(
                    schedules[n].mode_at(instant, LONDON) is Mode.STAFFED
                    for n in neighbours[name]
                )
            )
            reported = any(
                u.branch == name and u.start <= instant < u.end for u in found
            )
            assert reported == expected, (name, instant)
