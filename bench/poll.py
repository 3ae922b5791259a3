"""Poll benchmark: Modbus requests and time per poll cycle, ours beside one request per point.

Runs simulated branch buildings on 127.0.0.1 and polls them the way the integration does (one
BranchController per branch, all branches polled concurrently each cycle, as Home Assistant's
coordinators do), first with the integration's read plan, then with a naive one-request-per-point
plan, in one run. Usage: bench/poll [--cycles 200] [--branches 14]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import time

from custom_components.smart_library.engine.building.controller import (
    BranchController,
    ModuleAddress,
)
from simulator.building import SimulatedBuilding


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
    ordered = sorted(times)
    p95 = ordered[int(len(ordered) * 0.95) - 1]
    return (
        f"  {label:34} {requests:7.1f} requests/cycle   "
        f"median {statistics.median(times):6.2f} ms   p95 {p95:6.2f} ms"
    )


async def main() -> None:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cycles", type=int, default=200)
    parser.add_argument("--branches", type=int, default=14)
    args = parser.parse_args()
    logging.getLogger("pymodbus").setLevel(logging.CRITICAL)
    print(f"Poll benchmark, {args.cycles} cycles per case, simulator on 127.0.0.1")
    for count in (1, args.branches):
        buildings = [SimulatedBuilding() for _ in range(count)]
        for building in buildings:
            await building.start()
        points = len(buildings[0].point_map.points)
        print(f"{count} reference branch(es), {points} points each:")
        ours = await _measure(buildings, args.cycles, per_point=False)
        naive = await _measure(buildings, args.cycles, per_point=True)
        print(_row("read plan (one request per block)", *ours))
        print(_row("baseline (one request per point)", *naive))
        print(
            f"  -> {naive[0] / ours[0]:.1f}x fewer requests, "
            f"{statistics.median(naive[1]) / statistics.median(ours[1]):.1f}x faster cycles"
        )
        for building in buildings:
            await building.stop()


if __name__ == "__main__":
    asyncio.run(main())
