"""Opening hours of a branch: weekly plan, exceptions, events; the mode at any instant.

Pure Python, no Home Assistant import. Every query takes the time zone to work in (Home
Assistant's configured zone), never the host clock's: local times such as "21:30" are turned into
instants in that zone, day by day, so clock changes come out right.

Rules the library services live by (seeds 000 and 001):
- a day is made of staffed and smart (self-access) periods; the rest is closed;
- smart periods end no later than the service's latest time (21:30 by default);
- a date can be an exception: closed all day (a holiday) or different hours;
- a one-off event (an evening author talk) makes the building open in *event* mode while it runs,
  except that staffed time stays staffed (staff are there anyway);
- some services clear the building between a staffed and a following smart period: during that
  clearance gap the branch is closed.

Local times that do not exist (the spring-forward hour) fall forward to the same wall-clock
offset after the change; ambiguous ones (the autumn hour that happens twice) take the first.
Schedules are immutable: every change returns a new Schedule, so a refused change loses nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from enum import StrEnum
from typing import Any

from ..errors import CodedError

HORIZON_DAYS = 14
DEFAULT_LATEST_SMART_END = time(21, 30)
WEEKDAYS = (
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
)


class Mode(StrEnum):
    """What a branch is doing."""

    STAFFED = "staffed"
    SMART = "smart"
    EVENT = "event"
    CLOSED = "closed"

    @property
    def is_open(self) -> bool:
        """Return True when people may be in the building."""
        return self is not Mode.CLOSED


class ScheduleError(CodedError):
    """A schedule, or a change to it, that breaks a rule."""

    prefix = "schedule_"

    def __str__(self) -> str:
        """Return the code and its placeholders (for logs and tests)."""
        return f"{self.code}: {self.placeholders}"


def parse_time(value: Any) -> time:
    """Parse "HH:MM" (or "HH:MM:SS", as a time selector gives) into a time."""
    if isinstance(value, time):
        return value
    hours, _, rest = str(value).strip().partition(":")
    minutes, _, seconds = rest.partition(":")
    try:
        if seconds.strip("0"):
            raise ScheduleError("invalid_time", value=value)
        return time(int(hours), int(minutes))
    except ValueError, TypeError:
        raise ScheduleError("invalid_time", value=value) from None


def format_time(value: time) -> str:
    """Format a time as HH:MM."""
    return value.strftime("%H:%M")


@dataclass(frozen=True, slots=True)
class Period:
    """Part of a day in one mode: start inclusive, end exclusive, same day."""

    start: time
    end: time
    mode: Mode

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> Period:
        """Build a period from {"start": "HH:MM", "end": "HH:MM", "mode": "staffed"|"smart"}."""
        try:
            mode = Mode(data["mode"])
        except KeyError, ValueError:
            raise ScheduleError("invalid_mode", mode=data.get("mode")) from None
        if mode not in (Mode.STAFFED, Mode.SMART):
            raise ScheduleError("invalid_mode", mode=mode)
        return cls(parse_time(data.get("start")), parse_time(data.get("end")), mode)

    def as_dict(self) -> dict[str, str]:
        """Return the period as plain JSON types."""
        return {
            "start": format_time(self.start),
            "end": format_time(self.end),
            "mode": self.mode.value,
        }


@dataclass(frozen=True, slots=True)
class DayException:
    """A date with other hours than the weekly plan: closed all day if it has no periods."""

    day: date
    periods: tuple[Period, ...] = ()
    label: str = ""

    @property
    def closed(self) -> bool:
        """Return True if the branch is closed all day."""
        return not self.periods


@dataclass(frozen=True, slots=True)
class Event:
    """A one-off event in the building, such as an evening author talk."""

    id: str
    title: str
    start: datetime
    end: datetime


@dataclass(frozen=True, slots=True)
class Segment:
    """A stretch of time in one mode, between two instants."""

    start: datetime
    end: datetime
    mode: Mode


def _check_day(
    periods: Iterable[Period], latest_smart_end: time, where: str
) -> tuple[Period, ...]:
    ordered = tuple(sorted(periods, key=lambda p: p.start))
    for period in ordered:
        if period.start >= period.end:
            raise ScheduleError(
                "start_after_end",
                day=where,
                start=format_time(period.start),
                end=format_time(period.end),
            )
        if period.mode is Mode.SMART and period.end > latest_smart_end:
            raise ScheduleError(
                "smart_ends_too_late",
                day=where,
                end=format_time(period.end),
                latest=format_time(latest_smart_end),
            )
    for before, after in zip(ordered, ordered[1:], strict=False):
        if after.start < before.end:
            raise ScheduleError(
                "overlapping_periods",
                day=where,
                first=format_time(before.start),
                second=format_time(after.start),
            )
    return ordered


def _local(day: date, at: time, zone: tzinfo) -> datetime:
    """Return the instant of a local wall-clock time: gaps fall forward, folds take the first."""
    naive = datetime.combine(day, at)
    return naive.replace(tzinfo=zone).astimezone(UTC).astimezone(zone)


def _aware(instant: datetime) -> datetime:
    if instant.tzinfo is None:
        raise ScheduleError("naive_datetime")
    return instant


@dataclass(frozen=True, slots=True)
class Schedule:
    """A branch's opening hours."""

    week: tuple[tuple[Period, ...], ...] = field(default_factory=lambda: ((),) * 7)
    exceptions: tuple[DayException, ...] = ()
    events: tuple[Event, ...] = ()
    latest_smart_end: time = DEFAULT_LATEST_SMART_END
    clearance_minutes: int = 0

    def __post_init__(self) -> None:
        """Validate every day, exception and event."""
        if len(self.week) != 7:
            raise ScheduleError("invalid_week")
        if not 0 <= self.clearance_minutes <= 120:
            raise ScheduleError("invalid_clearance", minutes=self.clearance_minutes)
        week = tuple(
            _check_day(day, self.latest_smart_end, WEEKDAYS[n])
            for n, day in enumerate(self.week)
        )
        object.__setattr__(self, "week", week)
        exceptions: dict[date, DayException] = {}
        for exc in self.exceptions:
            exceptions[exc.day] = replace(
                exc,
                periods=_check_day(
                    exc.periods, self.latest_smart_end, exc.day.isoformat()
                ),
            )
        object.__setattr__(
            self, "exceptions", tuple(exceptions[d] for d in sorted(exceptions))
        )
        ids: set[str] = set()
        for event in self.events:
            _aware(event.start)
            _aware(event.end)
            if event.start >= event.end:
                raise ScheduleError(
                    "start_after_end",
                    day=event.title,
                    start=event.start.isoformat(),
                    end=event.end.isoformat(),
                )
            if not event.title.strip():
                raise ScheduleError("event_title_required")
            if event.id in ids:
                raise ScheduleError("duplicate_event", id=event.id)
            ids.add(event.id)

    # -- the plan of one day ----------------------------------------------------------------

    def exception_on(self, day: date) -> DayException | None:
        """Return the exception for a date, if any."""
        for exc in self.exceptions:
            if exc.day == day:
                return exc
        return None

    def planned_periods(self, day: date) -> tuple[Period, ...]:
        """Return the day's periods as planned (exception or weekly plan)."""
        exc = self.exception_on(day)
        return exc.periods if exc is not None else self.week[day.weekday()]

    def periods_on(self, day: date) -> tuple[Period, ...]:
        """Return the day's periods with the clearance gap applied."""
        periods = list(self.planned_periods(day))
        if self.clearance_minutes:
            gap = timedelta(minutes=self.clearance_minutes)
            for i in range(1, len(periods)):
                before, period = periods[i - 1], periods[i]
                if (
                    before.mode is Mode.STAFFED
                    and period.mode is Mode.SMART
                    and period.start == before.end
                ):
                    start = (datetime.combine(day, period.start) + gap).time()
                    if start < period.end:
                        periods[i] = replace(period, start=start)
        return tuple(periods)

    # -- the timeline ---------------------------------------------------------------------------

    def segments(
        self, start: datetime, zone: tzinfo, days: int = HORIZON_DAYS
    ) -> list[Segment]:
        """Return the modes from the local day before `start` for `days` days, merged."""
        first_day = _aware(start).astimezone(zone).date() - timedelta(days=1)
        begin = _local(first_day, time(0), zone)
        finish = _local(first_day + timedelta(days=days + 1), time(0), zone)
        base: list[Segment] = []
        for n in range(days + 1):
            day = first_day + timedelta(days=n)
            base.extend(
                Segment(_local(day, p.start, zone), _local(day, p.end, zone), p.mode)
                for p in self.periods_on(day)
            )
        cuts = {begin, finish}
        for seg in base:
            cuts.update((seg.start, seg.end))
        for event in self.events:
            if event.end > begin and event.start < finish:
                cuts.update((max(event.start, begin), min(event.end, finish)))
        instants = sorted(cuts)
        out: list[Segment] = []
        for a, b in zip(instants, instants[1:], strict=False):
            mode = Mode.CLOSED
            for seg in base:
                if seg.start <= a < seg.end:
                    mode = seg.mode
            if mode is not Mode.STAFFED and any(
                e.start <= a < e.end for e in self.events
            ):
                mode = Mode.EVENT
            if out and out[-1].mode is mode:
                out[-1] = Segment(out[-1].start, b, mode)
            else:
                out.append(Segment(a, b, mode))
        return out

    def mode_at(self, instant: datetime, zone: tzinfo) -> Mode:
        """Return the branch's mode at an instant."""
        for seg in self.segments(instant, zone, days=1):
            if seg.start <= instant < seg.end:
                return seg.mode
        return Mode.CLOSED

    def next_change(
        self, instant: datetime, zone: tzinfo
    ) -> tuple[datetime, Mode] | None:
        """Return when the mode next changes and to what, within the horizon."""
        for seg in self.segments(instant, zone):
            if seg.start > instant:
                return seg.start.astimezone(zone), seg.mode
        return None

    def closes_at(self, instant: datetime, zone: tzinfo) -> datetime | None:
        """Return when the current open stretch ends (None if closed now)."""
        open_now = False
        for seg in self.segments(instant, zone):
            if seg.end <= instant:
                continue
            if seg.start <= instant:
                open_now = seg.mode.is_open
                if not open_now:
                    return None
            if open_now and not seg.mode.is_open:
                return seg.start.astimezone(zone)
        return None

    def opens_at(self, instant: datetime, zone: tzinfo) -> datetime | None:
        """Return when the branch next opens (None if open now or nothing in the horizon)."""
        for seg in self.segments(instant, zone):
            if seg.end <= instant:
                continue
            if seg.start <= instant and seg.mode.is_open:
                return None
            if seg.start > instant and seg.mode.is_open:
                return seg.start.astimezone(zone)
        return None

    def override_end(self, instant: datetime, zone: tzinfo, mode: Mode) -> datetime:
        """Return when a mode forced by hand at `instant` gives way to the plan again.

        At the plan's next change, and at the latest at the end of that local day: a branch
        opened by hand is never left open overnight unnoticed. Smart hours forced by hand end at
        the latest smart time too, and cannot be forced once it has passed.
        """
        local = _aware(instant).astimezone(zone)
        end = _local(local.date() + timedelta(days=1), time(0), zone)
        change = self.next_change(instant, zone)
        if change is not None:
            end = min(end, change[0])
        if mode is Mode.SMART:
            latest = _local(local.date(), self.latest_smart_end, zone)
            if local >= latest:
                raise ScheduleError(
                    "smart_too_late_now",
                    now=format_time(local.time()),
                    latest=format_time(self.latest_smart_end),
                )
            end = min(end, latest)
        return end

    # -- changes (each returns a new Schedule) ----------------------------------------------

    def with_week(self, week: Iterable[Iterable[Period]]) -> Schedule:
        """Return the schedule with another weekly plan."""
        return replace(self, week=tuple(tuple(day) for day in week))

    def with_exception(self, exception: DayException) -> Schedule:
        """Return the schedule with an exception added (replacing one on the same date)."""
        others = tuple(e for e in self.exceptions if e.day != exception.day)
        return replace(self, exceptions=(*others, exception))

    def without_exception(self, day: date) -> Schedule:
        """Return the schedule without the exception on a date."""
        if self.exception_on(day) is None:
            raise ScheduleError("no_exception", date=day.isoformat())
        return replace(
            self, exceptions=tuple(e for e in self.exceptions if e.day != day)
        )

    def with_event(self, event: Event) -> Schedule:
        """Return the schedule with a one-off event added."""
        return replace(self, events=(*self.events, event))

    def without_event(self, event_id: str) -> Schedule:
        """Return the schedule without an event."""
        if not any(e.id == event_id for e in self.events):
            raise ScheduleError("no_event", id=event_id)
        return replace(self, events=tuple(e for e in self.events if e.id != event_id))

    def extend_day(self, day: date, new_end: time) -> Schedule:
        """Return the schedule with the day's last period ending later."""
        periods = list(self.planned_periods(day))
        if not periods:
            raise ScheduleError("closed_that_day", date=day.isoformat())
        last = periods[-1]
        if new_end <= last.end:
            raise ScheduleError(
                "not_later", end=format_time(last.end), new_end=format_time(new_end)
            )
        periods[-1] = replace(last, end=new_end)
        label = "extended"
        return self.with_exception(DayException(day, tuple(periods), label))

    def close_early(self, day: date, at: time) -> Schedule:
        """Return the schedule with nothing open after `at` on that day."""
        periods = self.planned_periods(day)
        if not periods or at >= periods[-1].end:
            raise ScheduleError("not_earlier", date=day.isoformat(), at=format_time(at))
        kept = tuple(replace(p, end=min(p.end, at)) for p in periods if p.start < at)
        return self.with_exception(DayException(day, kept, "closed early"))

    # -- storage ----------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """Return the schedule as plain JSON types."""
        return {
            "week": {
                WEEKDAYS[n]: [p.as_dict() for p in day]
                for n, day in enumerate(self.week)
            },
            "exceptions": [
                {
                    "date": e.day.isoformat(),
                    "label": e.label,
                    "periods": [p.as_dict() for p in e.periods],
                }
                for e in self.exceptions
            ],
            "events": [
                {
                    "id": e.id,
                    "title": e.title,
                    "start": e.start.isoformat(),
                    "end": e.end.isoformat(),
                }
                for e in self.events
            ],
            "latest_smart_end": format_time(self.latest_smart_end),
            "clearance_minutes": self.clearance_minutes,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Schedule:
        """Build a schedule from to_dict()'s form; ScheduleError on anything invalid."""
        try:
            week_data = data.get("week", {})
            week = tuple(
                tuple(Period.parse(p) for p in week_data.get(day, []))
                for day in WEEKDAYS
            )
            exceptions = tuple(
                DayException(
                    date.fromisoformat(e["date"]),
                    tuple(Period.parse(p) for p in e.get("periods", [])),
                    str(e.get("label", "")),
                )
                for e in data.get("exceptions", [])
            )
            events = tuple(
                Event(
                    str(e["id"]),
                    str(e["title"]),
                    datetime.fromisoformat(e["start"]),
                    datetime.fromisoformat(e["end"]),
                )
                for e in data.get("events", [])
            )
            latest = parse_time(data.get("latest_smart_end", "21:30"))
            clearance = int(data.get("clearance_minutes", 0))
        except ScheduleError:
            raise
        except (KeyError, TypeError, ValueError, AttributeError) as err:
            raise ScheduleError("invalid_schedule", error=err) from None
        return cls(week, exceptions, events, latest, clearance)


def parse_periods(text: str, mode: Mode) -> list[Period]:
    """Parse "09:00-13:00, 14:00-17:00" (a form field) into periods of one mode."""
    periods: list[Period] = []
    for part in text.replace(";", ",").split(","):
        if not part.strip():
            continue
        start, sep, end = part.partition("-")
        if not sep:
            raise ScheduleError("invalid_period", period=part.strip())
        periods.append(Period(parse_time(start), parse_time(end), mode))
    return periods


def format_periods(periods: Iterable[Period], mode: Mode) -> str:
    """Format one mode's periods of a day for a form field."""
    return ", ".join(
        f"{format_time(p.start)}-{format_time(p.end)}"
        for p in periods
        if p.mode is mode
    )


def closing_timeline(
    closes: datetime, announcements: Iterable[int] = (15, 10, 5), pcs_off: int = 10
) -> dict[str, datetime]:
    """Return the closing routine's instants: announcements and PCs off, minutes before closing."""
    timeline = {f"announce_{m}": closes - timedelta(minutes=m) for m in announcements}
    timeline["pcs_off"] = closes - timedelta(minutes=pcs_off)
    timeline["closed"] = closes
    return timeline


def example_schedule() -> Schedule:
    """Return a typical branch, for the simulator and the demo (an example, not a rule).

    Staffed Tuesday and Thursday 09:00-13:00 and Saturday 09:30-12:30; smart self-access
    08:00-21:30 around them on weekdays, 08:00-17:00 on Saturday; closed on Sunday.
    """
    staffed_morning = (
        Period(time(8), time(9), Mode.SMART),
        Period(time(9), time(13), Mode.STAFFED),
        Period(time(13), time(21, 30), Mode.SMART),
    )
    smart_day = (Period(time(8), time(21, 30), Mode.SMART),)
    saturday = (
        Period(time(8), time(9, 30), Mode.SMART),
        Period(time(9, 30), time(12, 30), Mode.STAFFED),
        Period(time(12, 30), time(17), Mode.SMART),
    )
    return Schedule(
        week=(
            smart_day,
            staffed_morning,
            smart_day,
            staffed_morning,
            smart_day,
            saturday,
            (),
        )
    )
