"""Usage statistics for planning staffed hours, kept in Home Assistant's long-term statistics.

Per branch, per hour (external statistics, `smart_library:<branch id>_<metric>`):
- `entries_<mode>`: people who came in while the branch was staffed, smart, in an event or
  closed — from the people counter where the branch has one, otherwise from the people each
  granted card admitted;
- `age_<band>`: people admitted by card, by age band (`under_16`: the accompanied under-16s,
  `16_59`, `60_plus`), counted at the decision;
- `refusals_<reason>`: refused attempts, by reason;
- `occupancy`: people inside (mean, lowest and peak of each hour).

Counts only. A row is a number of people in an hour at a branch: no card, no member, nothing
that could be linked back to a person is kept or passed here (the access path hands over an age
band count, never a birth date or a card). Counts wait in memory and are written every minute
they change, at each full hour, when the service unloads and when Home Assistant stops; a power
cut loses at most the last minute. Statistics continue after a restart from the last stored sum.

The monthly CSV for planning (`async_usage_month`, behind the admin action `export_usage` in
services/usage.py) reads them back per local hour.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Mapping, Sequence
import csv
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
import io
from typing import Any, Final, Protocol

from homeassistant.components.recorder import get_instance
from homeassistant.components.recorder.models import (
    StatisticData,
    StatisticMeanType,
    StatisticMetaData,
)
from homeassistant.components.recorder.statistics import (
    async_add_external_statistics,
    async_list_statistic_ids,
    get_last_statistics,
    statistics_during_period,
)
from homeassistant.const import EVENT_HOMEASSISTANT_STOP
from homeassistant.core import CALLBACK_TYPE, Event, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.debounce import Debouncer
from homeassistant.helpers.event import async_track_time_change
from homeassistant.util import dt as dt_util, slugify
from homeassistant.util.hass_dict import HassKey

from ..branch import Branch
from ..building.coordinator import BranchCoordinator
from ..const import DOMAIN, LOGGER

AGE_BANDS: Final = ("under_16", "16_59", "60_plus")
AGE_BAND_LABELS: Final = {
    "under_16": "under 16",
    "16_59": "16–59",
    "60_plus": "60 and over",
}
MODES: Final = ("staffed", "smart", "event", "closed")
METRIC_OCCUPANCY: Final = "occupancy"
UNIT_PEOPLE: Final = "people"
UNIT_ATTEMPTS: Final = "attempts"
FLUSH_COOLDOWN: Final = 60.0  # seconds between writes while counts keep changing
KEEP_PENDING_HOURS: Final = 48  # without a recorder, counts older than this are dropped
# A spreadsheet reads a cell starting with one of these as a formula.
FORMULA_START: Final = ("=", "+", "-", "@", "\t", "\r")

DATA_USAGE: HassKey[dict[str, UsageStatistics]] = HassKey(f"{DOMAIN}_usage")


def age_band(age: int) -> str:
    """Return the age band of an age in whole years (`under_16`, `16_59`, `60_plus`)."""
    if age < 16:
        return "under_16"
    return "16_59" if age < 60 else "60_plus"


def statistic_prefix(branch_id: str) -> str:
    """Return the start of every statistic id of one branch."""
    return f"{DOMAIN}:{slugify(branch_id)}_"


def statistic_id(branch_id: str, metric: str) -> str:
    """Return the external statistic id of one metric of one branch (lower case, a-z0-9_)."""
    return f"{statistic_prefix(branch_id)}{slugify(metric)}"


def hour_start(at: datetime) -> datetime:
    """Return the start of the UTC hour `at` falls in (long-term statistics are hourly)."""
    return dt_util.as_utc(at).replace(minute=0, second=0, microsecond=0)


def _describe(branch: str, metric: str) -> tuple[str, str]:
    """Return a statistic's name and unit."""
    if metric.startswith("entries_"):
        return f"{branch} entries ({metric.removeprefix('entries_')})", UNIT_PEOPLE
    if metric.startswith("age_"):
        band = metric.removeprefix("age_")
        return f"{branch} entries aged {AGE_BAND_LABELS.get(band, band)}", UNIT_PEOPLE
    if metric.startswith("refusals_"):
        reason = metric.removeprefix("refusals_").replace("_", " ")
        return f"{branch} refusals: {reason}", UNIT_ATTEMPTS
    return f"{branch} people inside", UNIT_PEOPLE


@dataclass(slots=True)
class _Series:
    """What is stored of one counted statistic: its last hour, that hour's count, the sum."""

    start: datetime | None = None
    state: float = 0
    total: float = 0


@dataclass(slots=True)
class _Level:
    """People inside over one hour: time-weighted mean, lowest, highest."""

    low: float
    high: float
    weighted: float = 0.0
    seconds: float = 0.0

    def see(self, value: float) -> None:
        """Take a value present during the hour."""
        self.low, self.high = min(self.low, value), max(self.high, value)


@dataclass(slots=True)
class _Occupancy:
    """The level of one branch as it changes, cut into hours."""

    value: float
    since: datetime
    hours: dict[datetime, _Level] = field(default_factory=dict)

    def level(self, start: datetime) -> _Level:
        """Return the hour's level, the value carried into it counted as seen."""
        if start not in self.hours:
            self.hours[start] = _Level(self.value, self.value)
        return self.hours[start]

    def advance(self, now: datetime) -> None:
        """Account for the current value from `since` up to `now`, hour by hour."""
        while self.since < now:
            start = hour_start(self.since)
            end = min(now, start + timedelta(hours=1))
            level = self.level(start)
            seconds = (end - self.since).total_seconds()
            level.weighted += self.value * seconds
            level.seconds += seconds
            self.since = end
        self.level(hour_start(now))

    def observe(self, value: float, now: datetime) -> None:
        """Take a new value at `now`."""
        self.advance(now)
        self.value = value
        self.level(hour_start(now)).see(value)


def _recorder_running(hass: HomeAssistant) -> bool:
    """Return True while the recorder takes statistics (loaded, and not shut down yet)."""
    if "recorder" not in hass.config.components:
        return False
    instance = get_instance(hass)
    return instance.recording and instance.is_alive()


class UsageStatistics:
    """The usage counts of one library service's branches, written to long-term statistics."""

    def __init__(
        self,
        hass: HomeAssistant,
        titles: Mapping[str, str],
        mode_of: Callable[[str], str],
        has_counter: Callable[[str], bool],
    ) -> None:
        """Count for these branches (id -> name); `mode_of` gives a branch's mode now."""
        self.hass = hass
        self.titles = dict(titles)
        self._mode_of = mode_of
        self._has_counter = has_counter
        self._pending: dict[tuple[str, str], dict[datetime, float]] = {}
        self._series: dict[str, _Series] = {}
        self._occupancy: dict[str, _Occupancy] = {}
        self._lock = asyncio.Lock()
        self._debouncer = Debouncer(
            hass,
            LOGGER,
            cooldown=FLUSH_COOLDOWN,
            immediate=False,
            function=self.async_flush,
        )

    # -- counting (callbacks: no I/O) --------------------------------------------------------------

    @callback
    def count(
        self, branch_id: str, metric: str, number: float = 1, at: datetime | None = None
    ) -> None:
        """Add to a metric of a branch in the hour of `at` (now)."""
        if number <= 0 or branch_id not in self.titles:
            return
        hour = hour_start(at or dt_util.utcnow())
        hours = self._pending.setdefault((branch_id, metric), {})
        hours[hour] = hours.get(hour, 0) + number
        self._debouncer.async_schedule_call()

    @callback
    def decision(
        self,
        branch_id: str,
        *,
        granted: bool,
        reason: str,
        party: int = 0,
        age_bands: Mapping[str, int] | None = None,
    ) -> None:
        """Count one decision at a door: a refusal by reason, or who it let in."""
        if not granted:
            self.count(branch_id, f"refusals_{reason}")
            return
        for band, number in (age_bands or {}).items():
            if band in AGE_BANDS:
                self.count(branch_id, f"age_{band}", number)
        if not self._has_counter(branch_id):
            # No people counter: the people a card admitted are the entries we know of.
            self.count(branch_id, f"entries_{self._mode_of(branch_id)}", party)

    @callback
    def entries(self, branch_id: str, number: int) -> None:
        """Count people the branch's counter saw come in, in its mode now."""
        self.count(branch_id, f"entries_{self._mode_of(branch_id)}", number)

    @callback
    def occupancy(
        self, branch_id: str, inside: int, at: datetime | None = None
    ) -> None:
        """Take the number of people inside a branch now."""
        now = at or dt_util.utcnow()
        if (level := self._occupancy.get(branch_id)) is None:
            self._occupancy[branch_id] = level = _Occupancy(inside, now)
            level.level(hour_start(now))
        elif inside == level.value:
            return
        else:
            level.observe(inside, now)
        self._debouncer.async_schedule_call()

    @callback
    def async_cancel(self) -> None:
        """Stop the pending delayed write (the caller writes what is left)."""
        self._debouncer.async_cancel()

    # -- writing -------------------------------------------------------------------------------

    async def async_flush(self, now: datetime | None = None) -> None:
        """Write every pending count and the occupancy hours (needs the recorder loaded)."""
        async with self._lock:
            now = now or dt_util.utcnow()
            if not _recorder_running(self.hass):
                self._drop_old(now)
                return
            pending, self._pending = self._pending, {}
            for (branch_id, metric), hours in pending.items():
                try:
                    await self._write_counts(branch_id, metric, hours)
                except HomeAssistantError as err:  # one bad statistic stops no other
                    LOGGER.warning("Usage statistic %s not written: %s", metric, err)
                except RuntimeError as err:  # the recorder shut down meanwhile
                    LOGGER.debug("Usage statistic %s not written: %s", metric, err)
                    return
            for branch_id, level in self._occupancy.items():
                self._write_levels(branch_id, level, now)

    def _drop_old(self, now: datetime) -> None:
        """Without a recorder, keep only the last hours' counts (memory stays bounded)."""
        oldest = hour_start(now) - timedelta(hours=KEEP_PENDING_HOURS)
        for hours in self._pending.values():
            for hour in [h for h in hours if h < oldest]:
                del hours[hour]
        for level in self._occupancy.values():
            level.advance(now)
            for hour in [h for h in level.hours if h < oldest]:
                del level.hours[hour]

    def _metadata(self, branch_id: str, metric: str) -> StatisticMetaData:
        """Return a statistic's metadata."""
        name, unit = _describe(self.titles[branch_id], metric)
        level = metric == METRIC_OCCUPANCY
        return StatisticMetaData(
            mean_type=StatisticMeanType.ARITHMETIC if level else StatisticMeanType.NONE,
            has_sum=not level,
            name=name,
            source=DOMAIN,
            statistic_id=statistic_id(branch_id, metric),
            unit_class=None,
            unit_of_measurement=unit,
        )

    async def _series_for(self, ident: str) -> _Series:
        """Return what is stored of a counted statistic (read once, then kept)."""
        if (series := self._series.get(ident)) is None:
            last = await get_instance(self.hass).async_add_executor_job(
                get_last_statistics, self.hass, 1, ident, False, {"sum", "state"}
            )
            series = _Series()
            if rows := last.get(ident):
                row = rows[0]
                series.start = dt_util.utc_from_timestamp(row["start"])
                series.state = float(row.get("state") or 0)
                series.total = float(row.get("sum") or 0)
            self._series[ident] = series
        return series

    async def _write_counts(
        self, branch_id: str, metric: str, hours: dict[datetime, float]
    ) -> None:
        """Add counts to a statistic's hours; each row holds its hour's count and the sum."""
        metadata = self._metadata(branch_id, metric)
        series = await self._series_for(metadata["statistic_id"])
        rows: list[StatisticData] = []
        for hour in sorted(hours):
            number = hours[hour]
            if series.start is not None and hour <= series.start:
                # The hour already stored (a restart within the hour), or a clock set back:
                # counted in the last stored hour, so the sum never goes down.
                hour, state = series.start, series.state + number
            else:
                state = number
            series.start, series.state = hour, state
            series.total += number
            if rows and rows[-1]["start"] == hour:
                rows.pop()
            rows.append(StatisticData(start=hour, state=state, sum=series.total))
        async_add_external_statistics(self.hass, metadata, rows)

    def _write_levels(self, branch_id: str, level: _Occupancy, now: datetime) -> None:
        """Write the occupancy hours up to now; finished hours are then forgotten."""
        level.advance(now)
        current = hour_start(now)
        rows = []
        for start in sorted(level.hours):
            hour = level.hours[start]
            mean = hour.weighted / hour.seconds if hour.seconds else level.value
            rows.append(
                StatisticData(
                    start=start, mean=mean, min=float(hour.low), max=float(hour.high)
                )
            )
            if start < current:
                del level.hours[start]
        if rows:
            async_add_external_statistics(
                self.hass, self._metadata(branch_id, METRIC_OCCUPANCY), rows
            )


# -- wiring ----------------------------------------------------------------------------------------


class _Branches(Protocol):
    """What counting needs of a service's runtime data: its branches."""

    @property
    def branches(self) -> Mapping[str, Branch]:
        """Return the service's branches by id."""


class ServiceEntry(Protocol):
    """A library service's config entry with its runtime data set (runtime.py's entry type)."""

    @property
    def entry_id(self) -> str:
        """Return the entry's id."""

    @property
    def runtime_data(self) -> _Branches:
        """Return the service's runtime data."""


async def async_setup_usage_statistics(
    hass: HomeAssistant, entry: ServiceEntry
) -> Callable[[], Coroutine[Any, Any, None] | None]:
    """Start counting for a library service whose runtime data is set; return the undo.

    Give the undo to `entry.async_on_unload`: it returns the write of the counts still pending,
    which the entry awaits as it unloads.

    Follows each branch's coordinator (its people counter: entries and people inside) and is
    told of every decision by `record_decision`. Writes pending counts on unload and on stop.
    """
    branches = entry.runtime_data.branches
    usage = UsageStatistics(
        hass,
        {bid: branch.subentry.title for bid, branch in branches.items()},
        mode_of=lambda bid: str(branches[bid].hours.mode.value),
        has_counter=lambda bid: "counter.in" in branches[bid].coordinator.point_map,
    )
    hass.data.setdefault(DATA_USAGE, {})[entry.entry_id] = usage
    undo: list[CALLBACK_TYPE] = []
    for bid, branch in branches.items():
        if "counter.in" not in branch.coordinator.point_map:
            continue
        undo.append(_follow_counter(usage, bid, branch.coordinator))

    async def hourly(now: datetime) -> None:
        await usage.async_flush()

    undo.append(async_track_time_change(hass, hourly, minute=0, second=5))
    stop_listener: list[CALLBACK_TYPE] = []

    async def on_stop(event: Event) -> None:
        stop_listener.clear()  # it has run: nothing to remove any more
        await usage.async_flush()

    stop_listener.append(hass.bus.async_listen_once(EVENT_HOMEASSISTANT_STOP, on_stop))

    @callback
    def unload() -> Coroutine[Any, Any, None] | None:
        """Stop counting; return the write of what is still pending (the entry awaits it)."""
        for remove in (*undo, *stop_listener):
            remove()
        usage.async_cancel()
        if hass.data.get(DATA_USAGE, {}).get(entry.entry_id) is usage:
            del hass.data[DATA_USAGE][entry.entry_id]
        # When Home Assistant stops, on_stop wrote them already.
        return usage.async_flush() if hass.is_running else None

    return unload


def _follow_counter(
    usage: UsageStatistics, branch_id: str, coordinator: BranchCoordinator
) -> CALLBACK_TYPE:
    """Count a branch's entries and people inside from its coordinator's updates."""
    occupancy = coordinator.occupancy
    last = {"entries": occupancy.entries_today}
    usage.occupancy(branch_id, occupancy.inside)

    @callback
    def update() -> None:
        entries = occupancy.entries_today
        # A new day (or a restart of the count) starts from zero: all of it is new.
        came_in = entries - last["entries"] if entries >= last["entries"] else entries
        last["entries"] = entries
        if came_in:
            usage.entries(branch_id, came_in)
        usage.occupancy(branch_id, occupancy.inside)

    return coordinator.async_add_listener(update)


@callback
def record_decision(
    hass: HomeAssistant,
    entry_id: str,
    branch_id: str,
    *,
    granted: bool,
    reason: str,
    party: int = 0,
    age_bands: Mapping[str, int] | None = None,
) -> None:
    """Count one decision at a door of a branch (call it once per decision, from the event loop).

    `age_bands` counts the people the decision admitted by band, e.g. {"16_59": 1, "under_16": 2}
    for an adult with two children; it is never a birth date. Does nothing when statistics are
    not set up for the service.
    """
    if (usage := hass.data.get(DATA_USAGE, {}).get(entry_id)) is not None:
        usage.decision(
            branch_id, granted=granted, reason=reason, party=party, age_bands=age_bands
        )


# -- the monthly CSV for planning ------------------------------------------------------------------


def parse_month(text: str | None, today: date) -> date:
    """Return the first day of a month given as YYYY-MM (None: this month), or raise ValueError."""
    if not text:
        return today.replace(day=1)
    year, _, month = text.strip().partition("-")
    if len(year) != 4 or not year.isdigit() or not month.isdigit():
        raise ValueError(text)
    return date(int(year), int(month), 1)


def safe_cell(value: object) -> str:
    """Return a CSV cell a spreadsheet shows as text, never runs as a formula."""
    text = str(value)
    return f"'{text}" if text.startswith(FORMULA_START) else text


def usage_csv(
    month: date, rows: Mapping[str, Sequence[Mapping[str, Any]]], branch_id: str
) -> tuple[str, int]:
    """Return the month's CSV (one line per local hour with anything recorded) and its lines.

    `rows` are the statistics' hourly rows by statistic id (`change` for counts, `max` for the
    people inside), as the recorder returns them.
    """
    reasons = sorted(
        {
            ident.removeprefix(f"{statistic_prefix(branch_id)}refusals_")
            for ident, hours in rows.items()
            if ident.startswith(f"{statistic_prefix(branch_id)}refusals_") and hours
        }
    )
    columns = [
        *(f"entries_{m}" for m in MODES),
        *(f"age_{b}" for b in AGE_BANDS),
        "peak_inside",
        "refusals",
        *(f"refusals_{r}" for r in reasons),
    ]
    table: dict[datetime, dict[str, float]] = {}
    for ident, hours in rows.items():
        metric = ident.removeprefix(statistic_prefix(branch_id))
        for row in hours:
            start = dt_util.as_local(dt_util.utc_from_timestamp(row["start"]))
            line = table.setdefault(start, {})
            if metric == METRIC_OCCUPANCY:
                if row.get("max") is not None:
                    line["peak_inside"] = float(row["max"])
            elif (change := row.get("change")) is not None and change:
                line[metric] = line.get(metric, 0) + float(change)
                if metric.startswith("refusals_"):
                    line["refusals"] = line.get("refusals", 0) + float(change)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([safe_cell(c) for c in ("date", "weekday", "hour", *columns)])
    lines = 0
    for start in sorted(table):
        line = table[start]
        if start.date().replace(day=1) != month or not line:
            continue
        writer.writerow(
            [
                start.date().isoformat(),
                start.strftime("%a"),
                start.strftime("%H:00"),
                *(_number(line.get(c, 0)) for c in columns),
            ]
        )
        lines += 1
    return out.getvalue(), lines


def _number(value: float) -> str:
    """Return a count as a spreadsheet reads it (no `.0` for whole numbers)."""
    return safe_cell(int(value) if float(value).is_integer() else round(value, 2))


async def async_usage_month(
    hass: HomeAssistant, branch_id: str, month: date
) -> tuple[str, int]:
    """Return a branch's usage for one month as CSV per local hour, and its lines.

    Writes the pending counts first, so the CSV includes the last minutes. Needs the recorder.
    """
    for usage in hass.data.get(DATA_USAGE, {}).values():
        if branch_id in usage.titles:
            await usage.async_flush()
    zone = dt_util.get_default_time_zone()
    start = datetime(month.year, month.month, 1, tzinfo=zone)
    end = (start + timedelta(days=32)).replace(day=1)
    instance = get_instance(hass)
    await instance.async_block_till_done()
    wanted = {
        ident
        for ident in await async_stored_statistics(hass)
        if ident.startswith(statistic_prefix(branch_id))
    }
    rows = await instance.async_add_executor_job(
        statistics_during_period,
        hass,
        dt_util.as_utc(start),
        dt_util.as_utc(end),
        wanted,
        "hour",
        None,
        {"change", "max"},
    )
    return usage_csv(month, rows, branch_id)


async def async_stored_statistics(hass: HomeAssistant) -> set[str]:
    """Return the ids of every Smart Library statistic the recorder has (none without it)."""
    if "recorder" not in hass.config.components:
        return set()
    listed = await async_list_statistic_ids(hass)
    return {
        str(s["statistic_id"])
        for s in listed
        if str(s["statistic_id"]).startswith(f"{DOMAIN}:")
    }
