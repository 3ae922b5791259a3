"""Staffed cover nearby: how long working out every uncovered smart period takes, by county size.

The engine alone (`engine.building.cover.uncovered_periods`), as the tracker calls it whenever any
branch's hours or neighbours change and once a day: N branches, each naming 2 neighbours, each
with a weekly plan mixing staffed and smart hours (random, seeded: the same plans every run), a
holiday and two events in the weeks ahead, over 4 weeks in Europe/London. Printed per size: the
time of one whole computation (p50, p99 of the runs) and the periods found. Nothing is compared
with a threshold (figures, not a test); `--short` runs one small size a few times
(tests/test_bench_short.py runs it, so a change that breaks the benchmark fails scripts/test).

Usage: bench/cover [--sizes 14,50,100] [--runs 50] [--short]
"""

from __future__ import annotations

import argparse
from datetime import UTC, date, datetime, time, timedelta
import random
import statistics
import time as clock
from zoneinfo import ZoneInfo

from custom_components.smart_library.engine.building.cover import uncovered_periods
from custom_components.smart_library.engine.building.schedule import (
    DayException,
    Event,
    Mode,
    Period,
    Schedule,
)

LONDON = ZoneInfo("Europe/London")
NOW = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)


def _day(rng: random.Random) -> tuple[Period, ...]:
    """Return one day's plan: closed, smart only, or staffed hours inside smart ones."""
    kind = rng.choice(["closed", "smart", "mixed", "mixed", "staffed"])
    if kind == "closed":
        return ()
    if kind == "smart":
        return (Period(time(8), time(21, 30), Mode.SMART),)
    if kind == "staffed":
        return (Period(time(9), time(17), Mode.STAFFED),)
    start = rng.choice([9, 10, 13])
    end = start + rng.choice([3, 4])
    return (
        Period(time(8), time(start), Mode.SMART),
        Period(time(start), time(end), Mode.STAFFED),
        Period(time(end), time(21, 30), Mode.SMART),
    )


def county(
    size: int, seed: int = 7
) -> tuple[dict[str, Schedule], dict[str, list[str]]]:
    """Return `size` branches' schedules and each one's two neighbours (the next two round)."""
    rng = random.Random(seed)
    schedules: dict[str, Schedule] = {}
    for n in range(size):
        holiday = date(2026, 11, 23) + timedelta(days=rng.randrange(28))
        starts = [
            datetime(2026, 11, 24, 18, tzinfo=LONDON)
            + timedelta(days=rng.randrange(27))
            for _ in range(2)
        ]
        events = tuple(
            Event(f"e{n}-{k}", "Reading group", start, start + timedelta(hours=2))
            for k, start in enumerate(starts)
        )
        schedules[f"b{n}"] = Schedule(
            week=tuple(_day(rng) for _ in range(7)),
            exceptions=(DayException(holiday, (), "Holiday"),),
            events=events,
        )
    ids = list(schedules)
    neighbours = {
        b: [ids[(i + 1) % size], ids[(i + 2) % size]] for i, b in enumerate(ids)
    }
    return schedules, neighbours


def measure(size: int, runs: int) -> tuple[float, float, int]:
    """Return p50 and p99 in ms of one whole computation, and the periods it finds."""
    schedules, neighbours = county(size)
    took: list[float] = []
    found = 0
    for _ in range(runs):
        started = clock.perf_counter()
        found = len(uncovered_periods(schedules, neighbours, NOW, LONDON, weeks=4))
        took.append((clock.perf_counter() - started) * 1000)
    took.sort()
    p99 = took[min(len(took) - 1, round(0.99 * (len(took) - 1)))]
    return statistics.median(took), p99, found


def main() -> None:
    """Print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="14,50,100")
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--short", action="store_true")
    args = parser.parse_args()
    sizes = [3] if args.short else [int(s) for s in args.sizes.split(",")]
    runs = 3 if args.short else args.runs
    print(
        f"Staffed cover nearby, 4 weeks ahead, 2 neighbours each, {runs} runs per size"
    )
    print(f"{'branches':>8}  {'p50 ms':>8}  {'p99 ms':>8}  {'uncovered periods':>18}")
    for size in sizes:
        p50, p99, found = measure(size, runs)
        print(f"{size:>8}  {p50:>8.1f}  {p99:>8.1f}  {found:>18}")


if __name__ == "__main__":
    main()
