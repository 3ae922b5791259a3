"""Staffed cover nearby: smart periods during which no neighbouring library is staffed.

Pure Python, no Home Assistant import. Seed 000: "we will also plan the staffed hours so that when
one library is in smart mode, a library nearby is being staffed". A branch names its neighbours
(any branch of any library service); this module finds, over the weeks ahead, every stretch of a
branch's smart (self-access, unstaffed) hours during which none of its neighbours is staffed.

Rules (each decided here, documented in the README's opening-hours section):
- Only *smart* time needs cover. Staffed time has staff in the building; event time has the
  event's people; closed time has nobody.
- Only *staffed* time at a neighbour is cover. A neighbour in smart or event mode, or closed
  (a holiday, closed early, after hours), covers nothing.
- Cover is exact: a neighbour staffed for part of a smart period covers that part; the rest is
  reported. Several neighbours add up (one staffed 13:00-15:00, another 15:00-17:00 cover
  13:00-17:00 between them).
- Neighbours are one way: Branch A naming B asks "is B staffed while A is smart?", not the reverse.
- A branch that names no neighbour (or whose named neighbours have all been removed) is not
  checked: it has nothing to report, and the hours editor says "no neighbours named".
- A neighbour named that is not in `schedules` (a branch removed, or one not running) drops out.
- Everything is computed from each branch's schedule in the one time zone given (Home Assistant's),
  through Schedule.segments, so holidays, changed days, extend today / close early, events and the
  clock changes come out as the doors will follow them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

from .schedule import Mode, Schedule, Segment

DEFAULT_WEEKS = 4


@dataclass(frozen=True, slots=True, order=True)
class Uncovered:
    """A stretch of a branch's smart hours with no neighbour staffed: start inclusive, end exclusive."""

    start: datetime
    end: datetime
    branch: str


type Interval = tuple[datetime, datetime]


def _clipped(
    segments: Iterable[Segment], mode: Mode, start: datetime, end: datetime
) -> list[Interval]:
    """Return the stretches in one mode, cut to [start, end)."""
    out: list[Interval] = []
    for seg in segments:
        if seg.mode is not mode:
            continue
        a, b = max(seg.start, start), min(seg.end, end)
        if a < b:
            out.append((a, b))
    return out


def _union(intervals: Iterable[Interval]) -> list[Interval]:
    """Return the intervals merged where they overlap or touch, in order."""
    merged: list[Interval] = []
    for a, b in sorted(intervals):
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    return merged


def _minus(interval: Interval, cover: list[Interval]) -> list[Interval]:
    """Return the parts of an interval outside the (merged, ordered) cover."""
    start, end = interval
    out: list[Interval] = []
    for a, b in cover:
        if b <= start:
            continue
        if a >= end:
            break
        if a > start:
            out.append((start, a))
        start = max(start, b)
        if start >= end:
            return out
    if start < end:
        out.append((start, end))
    return out


def uncovered_periods(
    schedules: Mapping[str, Schedule],
    neighbours: Mapping[str, Iterable[str]],
    now: datetime,
    zone: tzinfo,
    weeks: int = DEFAULT_WEEKS,
) -> list[Uncovered]:
    """Return every smart stretch, from `now` for `weeks` weeks, with no neighbour staffed.

    `schedules` is each branch's schedule by branch id; `neighbours` the ids each branch names.
    A branch naming none (after dropping ids not in `schedules`, and itself) is not checked. The
    stretches come ordered by start, then branch; a stretch under way at `now` starts at `now`.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    end = now + timedelta(weeks=weeks)
    days = weeks * 7 + 1

    staffed: dict[str, list[Interval]] = {}

    def staffed_at(branch: str) -> list[Interval]:
        if branch not in staffed:
            segments = schedules[branch].segments(now, zone, days=days)
            staffed[branch] = _clipped(segments, Mode.STAFFED, now, end)
        return staffed[branch]

    found: list[Uncovered] = []
    for branch, schedule in schedules.items():
        named = {
            n for n in neighbours.get(branch, ()) if n in schedules and n != branch
        }
        if not named:
            continue
        cover = _union(i for n in sorted(named) for i in staffed_at(n))
        smart = _clipped(schedule.segments(now, zone, days=days), Mode.SMART, now, end)
        for interval in smart:
            found.extend(
                Uncovered(a.astimezone(zone), b.astimezone(zone), branch)
                for a, b in _minus(interval, cover)
            )
    return sorted(found)
