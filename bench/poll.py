"""Poll benchmark: Modbus requests and time per poll cycle, ours beside one request per point.

Runs simulated branch buildings on 127.0.0.1 (served by this same process, so a cycle's time
includes serving it) and polls them the way the integration does (one BranchController per
branch, all branches polled concurrently each cycle, as Home Assistant's coordinators do), first
with the integration's read plan, then with a naive one-request-per-point plan, for each branch
count (1, 14, 50 and 100 by default). Above 14 branches the baseline runs fewer cycles (it is
slow by design); the count is printed. `--short`: a few cycles of 1 and 3 branches
(tests/test_bench_short.py runs it, so a change that breaks the benchmark fails scripts/test).

Usage: bench/poll [--cycles 200] [--branches 1,14,50,100] [--short]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import time

from bench.common import pct
from custom_components.smart_library.engine.building.controller import (
    BranchController,
    ModuleAddress,
)
from simulator.building import BuildingTiming, SimulatedBuilding

SHORT = {"cycles": 5, "branches": [1, 3]}
# Many buildings served by this process: no 20 Hz tick needed (every request updates a building).
TIMING = BuildingTiming(tick=0.5)


async def _measure(
    buildings: list[SimulatedBuilding], cycles: int, *, per_point: bool
) -> tuple[float, list[float]]:
    controllers = [
        BranchController(
            b.point_map,
            {m: ModuleAddress("127.0.0.1", p) for m, p in b.ports.items()},
            per_point=per_point,
        )
        for b in buildings
    ]
    await asyncio.gather(*(c.read_all() for c in controllers))  # connect, warm up
    before = sum(b.requests for b in buildings)
    times: list[float] = []
    for _ in range(cycles):
        start = time.perf_counter()
        await asyncio.gather(*(c.read_all() for c in controllers))
        times.append((time.perf_counter() - start) * 1000)
    requests = (sum(b.requests for b in buildings) - before) / cycles
    for controller in controllers:
        await controller.close()
    return requests, times


def _row(label: str, requests: float, times: list[float]) -> str:
    return (
        f"  {label:34} {requests:7.1f} requests/cycle   "
        f"p50 {statistics.median(times):7.2f} ms   p99 {pct(times, 99):7.2f} ms   "
        f"({len(times)} cycles)"
    )


def _branch_counts(text: str) -> list[int]:
    counts = sorted({int(n) for n in text.split(",") if n.strip()})
    if not counts or counts[0] < 1:
        raise argparse.ArgumentTypeError("branch counts are whole numbers >= 1")
    return counts


async def main() -> None:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(
        prog="bench/poll",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--cycles", type=int, default=200)
    parser.add_argument(
        "--branches",
        type=_branch_counts,
        default=[1, 14, 50, 100],
        help="branch counts (default 1,14,50,100)",
    )
    parser.add_argument(
        "--short", action="store_true", help="5 cycles of 1 and 3 branches"
    )
    args = parser.parse_args()
    if args.short:
        vars(args).update(SHORT)
    logging.getLogger("pymodbus").setLevel(logging.CRITICAL)
    print(f"Poll benchmark, {args.cycles} cycles per case, simulator on 127.0.0.1")
    summary: list[tuple[int, float, list[float]]] = []
    for count in args.branches:
        buildings = [SimulatedBuilding(timing=TIMING) for _ in range(count)]
        for building in buildings:
            await building.start()
        points = len(buildings[0].point_map.points)
        print(f"{count} reference branch(es), {points} points each:")
        ours = await _measure(buildings, args.cycles, per_point=False)
        baseline_cycles = max(5, args.cycles * 14 // count) if count > 14 else None
        naive = await _measure(
            buildings, baseline_cycles or args.cycles, per_point=True
        )
        print(_row("read plan (one request per block)", *ours))
        print(_row("baseline (one request per point)", *naive))
        print(
            f"  -> {naive[0] / ours[0]:.1f}x fewer requests, "
            f"{statistics.median(naive[1]) / statistics.median(ours[1]):.1f}x faster cycles"
        )
        summary.append((count, *ours))
        for building in buildings:
            await building.stop()
    print("Every branch read once (the read plan), by number of branches:")
    print(
        f"  {'branches':>8}  {'requests':>8}  {'cycle p50 ms':>12}  {'cycle p99 ms':>12}"
    )
    for count, requests, times in summary:
        print(
            f"  {count:>8}  {requests:>8.0f}  {statistics.median(times):>12.2f}  "
            f"{pct(times, 99):>12.2f}"
        )


if __name__ == "__main__":
    asyncio.run(main())
