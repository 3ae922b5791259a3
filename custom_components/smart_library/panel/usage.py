"""Usage over a period for the panel: each branch's totals, the county's, and a CSV per day.

Read from the long-term statistics the integration records (usage/statistics.py), by local day.
Counts only, never linked to a person. The CSV's columns are codes (for spreadsheets and
scripts, the same in every language); its county line is named in the panel user's language.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
import csv
from datetime import date, datetime, time, timedelta
import io
from typing import Any, Final

from homeassistant.components.recorder import get_instance
from homeassistant.components.recorder.statistics import statistics_during_period
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util

from ..usage.statistics import (
    AGE_BANDS,
    DATA_USAGE,
    METRIC_OCCUPANCY,
    MODES,
    async_stored_statistics,
    safe_cell,
    statistic_prefix,
)

MAX_PERIOD_DAYS: Final = 366
COUNTY: Final = "All branches"
COUNTS: Final = (
    *(f"entries_{m}" for m in MODES),
    *(f"age_{b}" for b in AGE_BANDS),
)


def _empty() -> dict[str, Any]:
    return {
        "entries": 0,
        **dict.fromkeys(COUNTS, 0),
        "refusals": 0,
        "refusals_by_reason": {},
        "peak_inside": None,
    }


def _add(total: dict[str, Any], metric: str, row: Mapping[str, Any]) -> None:
    """Add one day's statistics row of one metric to a total."""
    if metric == METRIC_OCCUPANCY:
        if (peak := row.get("max")) is not None:
            seen = total["peak_inside"]
            total["peak_inside"] = (
                max(float(peak), seen) if seen is not None else float(peak)
            )
        return
    change = float(row.get("change") or 0)
    if not change:
        return
    if metric.startswith("entries_"):
        total["entries"] += change
    if metric in COUNTS:
        total[metric] += change
    elif metric.startswith("refusals_"):
        reason = metric.removeprefix("refusals_")
        total["refusals"] += change
        total["refusals_by_reason"][reason] = (
            total["refusals_by_reason"].get(reason, 0) + change
        )


def _merge(into: dict[str, Any], part: Mapping[str, Any]) -> None:
    """Add a branch's totals to the county's (the peak is the highest branch's)."""
    for key in ("entries", *COUNTS, "refusals"):
        into[key] += part[key]
    for reason, count in part["refusals_by_reason"].items():
        into["refusals_by_reason"][reason] = (
            into["refusals_by_reason"].get(reason, 0) + count
        )
    if part["peak_inside"] is not None:
        seen = into["peak_inside"]
        into["peak_inside"] = (
            max(part["peak_inside"], seen) if seen is not None else part["peak_inside"]
        )


def _whole(value: Any) -> Any:
    """Return a count as a whole number when it is one."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _whole(v) for k, v in value.items()}
    return value


async def async_usage_period(
    hass: HomeAssistant,
    branches: Mapping[str, tuple[str, str]],
    start: date,
    end: date,
    *,
    county: str = COUNTY,
) -> dict[str, Any]:
    """Return the branches' use from `start` to `end` (local days, both included).

    `branches`: (service, branch name) by branch id. The answer: each branch's totals, the
    county's (every branch of every service), and a CSV with a line per branch per day that
    saw anything and a county line per day (named `county`).
    """
    for usage in hass.data.get(DATA_USAGE, {}).values():
        await usage.async_flush()  # the last minutes' counts too
    zone = dt_util.get_default_time_zone()
    first = datetime.combine(start, time(), zone)
    after = datetime.combine(end + timedelta(days=1), time(), zone)
    instance = get_instance(hass)
    await instance.async_block_till_done()
    stored = await async_stored_statistics(hass)
    prefixes = {statistic_prefix(bid): bid for bid in branches}
    wanted = {ident for ident in stored if any(ident.startswith(p) for p in prefixes)}
    rows: Mapping[str, Sequence[Mapping[str, Any]]] = {}
    if wanted:
        rows = await instance.async_add_executor_job(
            statistics_during_period,
            hass,
            dt_util.as_utc(first),
            dt_util.as_utc(after),
            wanted,
            "day",
            None,
            {"change", "max"},
        )
    totals = {bid: _empty() for bid in branches}
    days: dict[tuple[date, str], dict[str, Any]] = {}
    for ident, day_rows in rows.items():
        prefix = max((p for p in prefixes if ident.startswith(p)), key=len)
        bid, metric = prefixes[prefix], ident.removeprefix(prefix)
        for row in day_rows:
            day = dt_util.as_local(dt_util.utc_from_timestamp(row["start"])).date()
            if not start <= day <= end:
                continue
            _add(totals[bid], metric, row)
            _add(days.setdefault((day, bid), _empty()), metric, row)
    everything = _empty()
    for part in totals.values():
        _merge(everything, part)
    reasons = sorted(everything["refusals_by_reason"])
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    columns = [
        "entries",
        *COUNTS,
        "peak_inside",
        "refusals",
        *(f"refusals_{r}" for r in reasons),
    ]
    writer.writerow([safe_cell(c) for c in ("date", "service", "branch", *columns)])
    for day in sorted({d for d, _ in days}):
        county_day = _empty()
        for bid in sorted(branches, key=lambda b: branches[b]):
            if (line := days.get((day, bid))) is None:
                continue
            _merge(county_day, line)
            writer.writerow(_csv_line(day, *branches[bid], line, reasons))
        writer.writerow(_csv_line(day, "", county, county_day, reasons))
    return {
        "start": start.isoformat(),
        "end": end.isoformat(),
        "branches": [
            {"id": bid, "service": branches[bid][0], "branch": branches[bid][1]}
            | _whole(totals[bid])
            for bid in sorted(branches, key=lambda b: branches[b])
        ],
        "county": _whole(everything),
        "csv": out.getvalue(),
    }


def _csv_line(
    day: date, service: str, branch: str, line: Mapping[str, Any], reasons: list[str]
) -> list[str]:
    values = [
        line["entries"],
        *(line[c] for c in COUNTS),
        line["peak_inside"] if line["peak_inside"] is not None else "",
        line["refusals"],
        *(line["refusals_by_reason"].get(r, 0) for r in reasons),
    ]
    return [
        safe_cell(v)
        for v in (day.isoformat(), service, branch, *(_whole(v) for v in values))
    ]
