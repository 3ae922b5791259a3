"""Access benchmark: 100,000 members; request_access p50/p99 end to end, import, memory, start-up.

The request path is the one the `request_access` action runs: the decision (store lookup, lock-out,
one scrypt key derivation) in a worker thread, then on a grant the controller-timed release
written over Modbus TCP to a simulated building on 127.0.0.1. Home Assistant's own service-call
overhead is not included. Usage: bench/access [--members 100000] [--requests 400]
"""

from __future__ import annotations

import argparse
import asyncio
from datetime import date, datetime
import logging
from pathlib import Path
import random
import resource
import statistics
import tempfile
import time
import tracemalloc

from custom_components.smart_library.engine.access import AccessDecider, AccessRequest
from custom_components.smart_library.engine.controller import (
    BranchController,
    ModuleAddress,
)
from custom_components.smart_library.engine.pins import hash_pin, new_pepper
from custom_components.smart_library.engine.pointmap import DoorKind
from custom_components.smart_library.engine.store import MembershipStore
from simulator.building import SimulatedBuilding

WITH_PIN = 200  # members given a PIN (each costs one key derivation to set)


def _lms_export(members: int, rng: random.Random) -> str:
    lines = ["Barcode,Patron Name,Date of Birth,Expiry Date,Induction"]
    for n in range(members):
        born = date(
            1940 + rng.randrange(70), 1 + rng.randrange(12), 1 + rng.randrange(28)
        )
        lines.append(
            f"2{n:013d},Member {n},{born:%d/%m/%Y},{2027 + rng.randrange(3)}-06-30,"
            f"2026-0{1 + rng.randrange(9)}-15"
        )
    return "\n".join(lines) + "\n"


def _pct(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(len(ordered) * pct / 100) - 1)]


def _row(label: str, values: list[float]) -> str:
    return (
        f"  {label:42} p50 {statistics.median(values):7.2f} ms   "
        f"p99 {_pct(values, 99):7.2f} ms   (n={len(values)})"
    )


async def main() -> None:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=400)
    args = parser.parse_args()
    logging.getLogger("pymodbus").setLevel(logging.CRITICAL)
    rng = random.Random(42)
    today = date(2026, 11, 24)
    pepper = new_pepper()
    print(f"Access benchmark: {args.members:,} members, {args.requests} requests")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "members.db"
        text = _lms_export(args.members, rng)

        tracemalloc.start()
        store = MembershipStore(path)
        start = time.perf_counter()
        report = store.import_csv(text, today)
        imported = time.perf_counter() - start
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        print(
            f"  bulk import (LMS CSV, one transaction)     {imported:7.2f} s   "
            f"{report.taken:,} taken, {len(report.refused)} refused, "
            f"Python peak {peak / 2**20:.0f} MiB"
        )
        cards = [f"2{n:013d}" for n in range(args.members)]
        holders = rng.sample(cards, WITH_PIN)
        start = time.perf_counter()
        for card in holders:
            hashed = hash_pin("2468", pepper)
            store.change(
                card, lambda m, h=hashed: m.__class__(**{**m.__dict__, "pin_hash": h})
            )
        per_pin = (time.perf_counter() - start) / WITH_PIN * 1000
        print(f"  set a PIN (key derivation + durable write) {per_pin:7.2f} ms each")
        store.close()
        size = sum(p.stat().st_size for p in Path(tmp).iterdir())

        start = time.perf_counter()
        store = MembershipStore(path)
        decider = AccessDecider(store, pepper, now=datetime.now().astimezone())
        store.member(cards[0])
        startup = (time.perf_counter() - start) * 1000
        print(
            f"  start-up (open store, first lookup)        {startup:7.2f} ms   "
            f"store on disk {size / 2**20:.1f} MiB"
        )

        lookups = []
        for card in rng.sample(cards, 5000):
            t = time.perf_counter()
            store.member(card)
            lookups.append((time.perf_counter() - t) * 1000)
        print(_row("member lookup by card", lookups))

        building = SimulatedBuilding()
        await building.start()
        controller = BranchController(
            building.point_map,
            {m: ModuleAddress("127.0.0.1", p) for m, p in building.ports.items()},
        )
        await controller.read_all()
        granted: list[float] = []
        refused: list[float] = []
        now = datetime.now().astimezone()
        for n in range(args.requests):
            roll = rng.random()
            if roll < 0.8:
                card, pin = rng.choice(holders), "2468"
            elif roll < 0.9:
                card, pin = rng.choice(holders), "1357"  # a slip of the finger
            else:
                card, pin = f"3{n:013d}", "2468"  # not a member
            request = AccessRequest(
                "bench", "entrance", DoorKind.ENTRANCE, card, pin, now, True
            )
            t = time.perf_counter()
            decision = await asyncio.to_thread(decider.decide, request)
            if decision.granted:
                await controller.release_door("entrance", 5)
            elapsed = (time.perf_counter() - t) * 1000
            (granted if decision.granted else refused).append(elapsed)
        writes = sum(
            1 for key, v in building.writes if key == "door.entrance.pulse" and v
        )
        print(_row("request_access, granted (incl. release)", granted))
        print(_row("request_access, refused", refused))
        print(_row("request_access, all", granted + refused))
        print(f"  releases written to the simulator: {writes} (grants: {len(granted)})")
        await controller.close()
        await building.stop()
        store.close()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"  process peak RSS: {rss:.0f} MiB")


if __name__ == "__main__":
    asyncio.run(main())
