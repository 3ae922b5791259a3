"""Safety benchmark: how fast a fire alarm holds the doors and plays the message; what branches cost.

Three parts, one run, simulated buildings on 127.0.0.1:

- Fire alarm, through the engine path the integration uses (a `BranchController` and the
  building's rules, `BuildingRules`, polled at 1 Hz as the coordinator polls; their commands
  written as the coordinator writes them, then read back). Each alarm is raised at a random
  moment of the poll cycle; measured from the simulator's fire input to the read-back showing
  every door's hold coil on, and to the read-back showing the evacuation message playing on every
  PA zone. Then the panel is reset, the branch reset by "a person" and the doors locked again.
- Cost by number of branches (1, 14, 50 and 100 by default): for each, a fresh real `hass`
  process (scripts/hass_process.py) with the library service and that many branches, each its
  own simulated building (all served by this process), polled at 1 Hz. Measured: the process's
  user + system time from /proc/<pid>/stat over the window, as % of one core (Home Assistant
  idle, without the integration, first, for comparison); its resident memory (VmRSS) after it;
  and each poll's time as Home Assistant's coordinator times it (its "Finished fetching" debug
  line: every module read, the rules applied), over a second window with that one logger at
  debug, with the polls per second per branch it shows.
- A dead branch, in the process with `--dead-branch-with` branches: the service reloaded with one
  more branch whose controller takes requests and never answers, and request_access at that
  branch over REST.

Whatever the hour: each Home Assistant gets a time zone in which it is mid-afternoon (a branch may
be put in smart mode). Branches beyond the first are added through the real sub-entry flow while
the service is disabled, then the service is enabled once (each add would otherwise reload every
branch added before it).

Targets are printed beside the figures, not asserted. `--short` runs every part for a few
seconds (tests/test_bench_short.py runs it, so a change that breaks the benchmark fails
scripts/test). Usage:
bench/safety [--alarms 50] [--fire-branches 5] [--branches 1,14,50,100] [--seconds 60]
             [--poll-seconds 20] [--idle-seconds 20] [--dead-branch-with 14] [--short]
"""

from __future__ import annotations

import argparse
import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
import logging
from pathlib import Path
import random
import re
import statistics
import sys
import tempfile
import time
from typing import Any

import aiohttp

from bench.common import afternoon_time_zone, local_time, local_today, pct, walk_flow
from custom_components.smart_library.engine.building.controller import (
    BranchController,
    ControllerError,
    ModuleAddress,
)
from custom_components.smart_library.engine.building.pointmap import PA_COMMAND_STOP
from custom_components.smart_library.engine.building.rules import (
    EVACUATION_MESSAGE,
    BuildingRules,
    Command,
    HoldDoor,
    PlayMessage,
    SetPoint,
)
from custom_components.smart_library.engine.building.schedule import Mode
from custom_components.smart_library.engine.building.snapshot import Snapshot
from scripts import develop_setup
from scripts.hass_process import HomeAssistantProcess
from simulator.building import BuildingTiming, SimulatedBuilding

POLL_SECONDS = 1.0  # the coordinator's SCAN_INTERVAL
DOORS_HELD_TARGET = 1.5  # s, p99
CPU_TARGET = 2.0  # % of one core, 14 branches
DEAD_ANSWER_TARGET = 1.0  # s
CARD, PIN = "21234000000001", "80417263"
# The logger the branches' coordinators time their polls with (Home Assistant's
# DataUpdateCoordinator logs "Finished fetching <branch> data in <s> seconds" at debug).
POLL_LOGGER = "custom_components.smart_library.poll"
_FETCHED = re.compile(r"Finished fetching (.+?) data in ([0-9.]+) seconds")
# Served by this process, many at once: the building's own clock needs no 20 Hz tick here
# (every request brings it up to date).
SCALE_TIMING = BuildingTiming(tick=0.5)
SHORT = {
    "alarms": 1,
    "fire_branches": 1,
    "branches": [2],
    "seconds": 2.0,
    "poll_seconds": 2.5,
    "idle_seconds": 1.0,
    "dead_branch_with": 2,
    "dead_requests": 3,
}


def _row(label: str, values: list[float], unit: str = "s", target: str = "") -> str:
    if not values:
        return f"  {label:44} n/a"
    return (
        f"  {label:44} p50 {statistics.median(values):6.3f} {unit}   "
        f"p99 {pct(values, 99):6.3f} {unit}   (n={len(values)})"
        + (f"   target: {target}" if target else "")
    )


# -- fire alarm through the engine path --------------------------------------------------------


@dataclass
class _Alarm:
    """One alarm's times (perf_counter seconds)."""

    raised: float
    doors_held: float | None = None
    message_playing: float | None = None


class _Branch:
    """One simulated building, polled at 1 Hz by a controller and the building's rules."""

    def __init__(self, building: SimulatedBuilding) -> None:
        self.building = building
        self.controller = BranchController(
            building.point_map,
            {m: ModuleAddress("127.0.0.1", p) for m, p in building.ports.items()},
        )
        # No door held by the mode: every hold a read-back shows is the fire rule's.
        self.rules = BuildingRules(building.point_map, free_entry_doors=())
        self.rules.set_mode(Mode.SMART)
        self.alarm: _Alarm | None = None
        self.polled = asyncio.Event()
        self.holds = [f"door.{d.id}.hold" for d in building.point_map.doors]
        self.lights = [f"light.{z}" for z in building.point_map.ids("light")]
        zones = len(building.point_map.pa_zones)
        self.pa_mask = (1 << zones) - 1

    async def _apply(self, command: Command) -> bool:
        """Write one of the rules' commands as the coordinator does."""
        try:
            match command:
                case HoldDoor():
                    await self.controller.write(command.key, command.released)
                case SetPoint():
                    await self.controller.write(command.key, command.value)
                case PlayMessage():
                    await self.controller.play_announcement(
                        command.number, command.zone_mask
                    )
        except ControllerError:
            self.rules.command_failed(command)
            return False
        return True

    def _observe(self, snapshot: Snapshot) -> None:
        """Note when a read-back first shows the doors held and the message playing."""
        alarm, now = self.alarm, time.perf_counter()
        if alarm is None:
            return
        if alarm.doors_held is None and all(snapshot.flag(k) for k in self.holds):
            alarm.doors_held = now
        pa = snapshot.pa
        if (
            alarm.message_playing is None
            and pa is not None
            and pa.busy
            and pa.message == EVACUATION_MESSAGE
            and (pa.zones or 0) & self.pa_mask == self.pa_mask
        ):
            alarm.message_playing = now

    async def poll_forever(self) -> None:
        """Poll at 1 Hz, apply the rules, read back what the commands did (the coordinator's loop)."""
        loop = asyncio.get_running_loop()
        next_poll = loop.time()
        while True:
            snapshot = await self.controller.read()
            outcome = self.rules.evaluate(snapshot, time.monotonic(), datetime.now(UTC))
            written = [await self._apply(c) for c in outcome.commands]
            if any(written):
                snapshot = await self.controller.read()
            self._observe(snapshot)
            self.polled.set()
            next_poll += POLL_SECONDS
            await asyncio.sleep(max(0.0, next_poll - loop.time()))

    async def _next_poll(self) -> None:
        self.polled.clear()
        await self.polled.wait()

    async def alarms(self, count: int, rng: random.Random) -> list[_Alarm]:
        """Raise `count` alarms, each at a random moment of the poll cycle; reset after each."""
        done: list[_Alarm] = []
        for _ in range(count):
            await self._next_poll()
            await asyncio.sleep(rng.uniform(0, POLL_SECONDS))
            self.alarm = alarm = _Alarm(time.perf_counter())
            self.building.raise_fire_alarm()
            deadline = alarm.raised + 10
            while (
                alarm.doors_held is None or alarm.message_playing is None
            ) and time.perf_counter() < deadline:
                await self._next_poll()
            done.append(alarm)
            self.alarm = None
            # The panel is reset; once the rules have read it, a person resets the branch and
            # the doors are locked, the lights switched off, the message stopped.
            self.building.clear_fire_alarm()
            while self.rules.fire_alarm:
                await self._next_poll()
            self.rules.reset_evacuation()
            await self.controller.write_many(
                dict.fromkeys(self.holds + self.lights, False)
                | {"pa.command": PA_COMMAND_STOP}
            )
        return done


async def fire_alarms(alarms: int, branches: int) -> bool:
    """Measure fire input -> doors held and -> evacuation message; return False if none was seen."""
    rng = random.Random(12)
    per_branch = [alarms // branches + (n < alarms % branches) for n in range(branches)]
    buildings = [SimulatedBuilding() for _ in per_branch]
    for building in buildings:
        await building.start()
    polled = [_Branch(b) for b in buildings]
    pollers = [asyncio.create_task(b.poll_forever()) for b in polled]
    try:
        results = await asyncio.gather(
            *(b.alarms(n, rng) for b, n in zip(polled, per_branch, strict=True))
        )
    finally:
        for task in pollers:
            task.cancel()
        await asyncio.gather(*pollers, return_exceptions=True)
        for branch in polled:
            await branch.controller.close()
        for building in buildings:
            await building.stop()
    every = [a for result in results for a in result]
    held = [a.doors_held - a.raised for a in every if a.doors_held is not None]
    playing = [
        a.message_playing - a.raised for a in every if a.message_playing is not None
    ]
    print(
        f"Fire alarm, engine path (BranchController + BuildingRules, 1 Hz polls), "
        f"{len(every)} alarms on {branches} branches, each at a random moment of the poll cycle:"
    )
    print(
        _row(
            "fire input -> every door held (read back)",
            held,
            target=f"p99 <= {DOORS_HELD_TARGET} s",
        )
    )
    print(_row("fire input -> evacuation message playing", playing))
    if missed := len(every) - min(len(held), len(playing)):
        print(f"  ({missed} alarm(s) not seen within 10 s)")
    return bool(held and playing)


# -- what branches cost in Home Assistant, and a dead branch ----------------------------------


@dataclass
class Cost:
    """What one Home Assistant process with `branches` branches cost."""

    branches: int
    answering: int
    cpu: float  # % of one core
    rss: float  # MiB, after the window
    polls: list[float] = field(default_factory=list)  # each poll's time, ms
    polls_per_branch: float = 0.0  # per second


async def _cpu_percent(instance: HomeAssistantProcess, seconds: float) -> float:
    start, cpu = time.perf_counter(), instance.cpu_seconds()
    await asyncio.sleep(seconds)
    return (instance.cpu_seconds() - cpu) / (time.perf_counter() - start) * 100


async def _entry_id(session: aiohttp.ClientSession, auth: dict[str, str]) -> str:
    async with session.get(
        "/api/config/config_entries/entry",
        params={"domain": "smart_library"},
        headers=auth,
    ) as resp:
        return str((await resp.json())[0]["entry_id"])


async def _add_branch(
    session: aiohttp.ClientSession,
    auth: dict[str, str],
    entry_id: str,
    name: str,
    port: int,
) -> None:
    """Add a branch through the real sub-entry flow (it tries the controller first)."""
    await walk_flow(
        session,
        auth,
        "subentries/flow",
        [entry_id, "branch"],
        {"user": develop_setup.branch(port) | {"name": name}},
        what=f"Adding branch {name}",
    )


async def _locks_available(
    session: aiohttp.ClientSession,
    auth: dict[str, str],
    count: int,
    seconds: float = 60,
) -> int:
    """Wait until `count` entrance locks are available; return how many are."""
    deadline = time.perf_counter() + seconds
    while True:
        async with session.get("/api/states", headers=auth) as resp:
            states = await resp.json()
        up = sum(
            1
            for s in states
            if s["entity_id"].startswith("lock.")
            and s["entity_id"].endswith("_entrance_door")
            and s["state"] != "unavailable"
        )
        if up >= count or time.perf_counter() > deadline:
            return up
        await asyncio.sleep(0.5)


async def _reload(
    session: aiohttp.ClientSession, auth: dict[str, str], entry_id: str
) -> float:
    start = time.perf_counter()
    async with session.post(
        f"/api/config/config_entries/entry/{entry_id}/reload", headers=auth
    ) as resp:
        resp.raise_for_status()
    return time.perf_counter() - start


async def _set_up_branches(
    instance: HomeAssistantProcess,
    session: aiohttp.ClientSession,
    buildings: list[SimulatedBuilding],
) -> tuple[str, int, float]:
    """Add the service with a branch per building; return (entry id, answering, seconds)."""
    auth, count = instance.auth, len(buildings)
    start = time.perf_counter()
    await develop_setup.add_demo_library(session, auth, buildings[0].port)
    entry_id = await _entry_id(session, auth)
    await _locks_available(session, auth, 1)
    if count > 1:
        # Disabled, the service is not loaded: adding a branch reloads nothing.
        await instance.websocket(
            {
                "type": "config_entries/disable",
                "entry_id": entry_id,
                "disabled_by": "user",
            }
        )
        for n, building in enumerate(buildings[1:], start=2):
            await _add_branch(session, auth, entry_id, f"Branch {n:03d}", building.port)
        await instance.websocket(
            {
                "type": "config_entries/disable",
                "entry_id": entry_id,
                "disabled_by": None,
            }
        )
    up = await _locks_available(session, auth, count, seconds=60 + count)
    return entry_id, up, time.perf_counter() - start


async def _poll_times(
    instance: HomeAssistantProcess, seconds: float
) -> tuple[list[float], dict[str, int]]:
    """Return each poll's time (ms) and the polls per branch, from the coordinators' own timing."""
    offset = instance.log_size()
    await instance.action("logger", "set_level", {POLL_LOGGER: "debug"})
    await asyncio.sleep(seconds)
    await instance.action("logger", "set_level", {POLL_LOGGER: "warning"})
    await asyncio.sleep(0.5)  # the last lines reach the log
    times: list[float] = []
    per_branch: dict[str, int] = {}
    for name, took in _FETCHED.findall(instance.log_since(offset)):
        times.append(float(took) * 1000)
        per_branch[name] = per_branch.get(name, 0) + 1
    if not times:
        raise SystemExit(
            f"No poll timings in Home Assistant's log: is {POLL_LOGGER} still the "
            "coordinators' logger?"
        )
    return times, per_branch


async def in_home_assistant(
    tmp: Path,
    branches: int,
    args: argparse.Namespace,
    *,
    idle: bool,
) -> Cost:
    """Measure one Home Assistant process with `branches` branches (and, if asked, a dead one)."""
    dead = branches == args.dead_branch_with
    buildings = [SimulatedBuilding(timing=SCALE_TIMING) for _ in range(branches + dead)]
    for building in buildings:
        await building.start()
    zone = afternoon_time_zone()
    instance = HomeAssistantProcess(tmp / f"config-{branches}", time_zone=zone)
    try:
        session = await instance.start()
        assert instance.process is not None
        print(
            f"Home Assistant with {branches} branch(es) (a real hass process, pid "
            f"{instance.process.pid}, time zone {zone}: {local_time(zone)} there), 1 Hz polls:"
        )
        if idle and args.idle_seconds > 0:
            await asyncio.sleep(min(5, args.idle_seconds))  # its start-up work settles
            cpu_idle = await _cpu_percent(instance, args.idle_seconds)
            print(
                f"  {'idle, without the integration':44} {cpu_idle:6.2f} % of one core "
                f"({args.idle_seconds:.0f} s)   RSS {instance.rss_mib():.0f} MiB"
            )
        entry_id, up, took = await _set_up_branches(
            instance, session, buildings[:branches]
        )
        print(f"  {'set up (flows, then the service enabled)':44} {took:6.1f} s")
        await asyncio.sleep(min(5, args.seconds))  # the set-up's work settles
        cpu = await _cpu_percent(instance, args.seconds)
        cost = Cost(branches, up, cpu, instance.rss_mib())
        print(
            f"  {f'{branches} branches ({up} answering)':44} {cpu:6.2f} % of one core "
            f"({args.seconds:.0f} s)   RSS {cost.rss:.0f} MiB"
            + (f"   target: < {CPU_TARGET} %" if branches == 14 else "")
        )
        cost.polls, per_branch = await _poll_times(instance, args.poll_seconds)
        cost.polls_per_branch = sum(per_branch.values()) / branches / args.poll_seconds
        print(
            _row(
                "each poll, as the coordinator times it",
                cost.polls,
                unit="ms",
            )
            + f"   {cost.polls_per_branch:.2f} polls/s per branch"
        )
        if dead:
            await _dead_branch(
                instance,
                session,
                entry_id,
                buildings[-1],
                branches=branches,
                zone=zone,
                requests=args.dead_requests,
            )
    except SystemExit:
        # The configuration folder goes with the run: what Home Assistant said, before it does.
        print(f"Home Assistant's log, its end:\n{instance.log()}", file=sys.stderr)
        raise
    else:
        return cost
    finally:
        if instance.process is not None:
            await instance.stop()
        for building in buildings:
            await building.stop()


async def _dead_branch(
    instance: HomeAssistantProcess,
    session: aiohttp.ClientSession,
    entry_id: str,
    building: SimulatedBuilding,
    *,
    branches: int,
    zone: str,
    requests: int,
) -> None:
    """Add a branch while it answers (the flow tries it), silence it; reload, request_access."""
    auth = instance.auth
    reload_good = await _reload(session, auth, entry_id)
    await _locks_available(session, auth, branches)
    await _add_branch(session, auth, entry_id, "Dead Branch", building.port)
    if await _locks_available(session, auth, branches + 1, seconds=30) <= branches:
        raise SystemExit("The dead branch was not set up")
    building.silent = True
    reload_dead = await _reload(session, auth, entry_id)
    print(
        f"  {'service reload, every branch answering':44} {reload_good:6.2f} s"
        f"\n  {'service reload, one branch silent':44} {reload_dead:6.2f} s   "
        "(the controller timeout is 3 s: at most one is waited for)"
    )
    await _dead_branch_requests(instance, session, auth, zone, requests)


async def _dead_branch_requests(
    instance: HomeAssistantProcess,
    session: aiohttp.ClientSession,
    auth: dict[str, str],
    zone: str,
    requests: int,
) -> None:
    """request_access at the silent branch over REST: controller_unreachable, how fast."""
    today = local_today(zone)  # Home Assistant's today, not this host's
    await instance.action(
        "smart_library",
        "enroll_member",
        {
            "card": CARD,
            "birth_date": "1970-01-01",
            "card_expiry": (today + timedelta(days=365)).isoformat(),
            "induction_date": today.isoformat(),
            "pin": PIN,
        },
    )
    await instance.action(
        "select",
        "select_option",
        {"entity_id": "select.dead_branch_mode_override", "option": "smart"},
    )
    async with session.post(
        "/api/template",
        json={"template": "{{ device_id('lock.dead_branch_entrance_door') }}"},
        headers=auth,
    ) as resp:
        branch = await resp.text()
    times: list[float] = []
    reasons: set[str] = set()
    for _ in range(requests):
        start = time.perf_counter()
        answer: dict[str, Any] = await instance.action(
            "smart_library",
            "request_access",
            {"branch": branch, "card": CARD, "pin": PIN},
        )
        times.append(time.perf_counter() - start)
        reasons.add(str(answer["reason"]))
    print(
        _row(
            "request_access at the silent branch (REST)",
            times,
            target=f"< {DEAD_ANSWER_TARGET} s",
        )
        + f"   answer: {', '.join(sorted(reasons))}"
    )


def _table(costs: list[Cost]) -> None:
    """Print how the cost grows with the number of branches."""
    print(
        "Cost by number of branches (a real Home Assistant, 1 Hz polls; CPU over the window, "
        "RSS after it; each poll as its coordinator times it):"
    )
    print(
        f"  {'branches':>8}  {'CPU % of one core':>17}  {'RSS MiB':>7}  "
        f"{'poll p50 ms':>11}  {'poll p99 ms':>11}  {'polls/s per branch':>18}"
    )
    for c in costs:
        print(
            f"  {c.branches:>8}  {c.cpu:>17.2f}  {c.rss:>7.0f}  "
            f"{statistics.median(c.polls):>11.1f}  {pct(c.polls, 99):>11.1f}  "
            f"{c.polls_per_branch:>18.2f}"
        )


def _branch_counts(text: str) -> list[int]:
    counts = sorted({int(n) for n in text.split(",") if n.strip()})
    if not counts or counts[0] < 1:
        raise argparse.ArgumentTypeError("branch counts are whole numbers >= 1")
    return counts


async def main() -> int:
    """Run the benchmark and print the figures; return the exit status."""
    parser = argparse.ArgumentParser(
        prog="bench/safety",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--alarms", type=int, default=50)
    parser.add_argument("--fire-branches", type=int, default=5)
    parser.add_argument(
        "--branches",
        type=_branch_counts,
        default=[1, 14, 50, 100],
        help="branch counts, one Home Assistant each (default 1,14,50,100)",
    )
    parser.add_argument(
        "--seconds", type=float, default=60, help="CPU window per branch count"
    )
    parser.add_argument(
        "--poll-seconds", type=float, default=20, help="poll-timing window"
    )
    parser.add_argument("--idle-seconds", type=float, default=20)
    parser.add_argument(
        "--dead-branch-with",
        type=int,
        default=14,
        help="the branch count whose Home Assistant also gets a dead branch (0: none)",
    )
    parser.add_argument("--dead-requests", type=int, default=20)
    parser.add_argument(
        "--short",
        action="store_true",
        help="a few seconds of every part: "
        + ", ".join(f"{k.replace('_', '-')} {v}" for k, v in SHORT.items()),
    )
    args = parser.parse_args()
    if args.short:
        vars(args).update(SHORT)
    logging.getLogger("pymodbus").setLevel(logging.CRITICAL)
    started = time.perf_counter()
    print("Safety benchmark, simulated buildings on 127.0.0.1")
    seen = await fire_alarms(args.alarms, args.fire_branches)
    costs: list[Cost] = []
    with tempfile.TemporaryDirectory() as tmp:
        for n, count in enumerate(args.branches):
            costs.append(await in_home_assistant(Path(tmp), count, args, idle=n == 0))
    _table(costs)
    print(f"(run took {time.perf_counter() - started:.0f} s)")
    if not seen:
        print("No fire alarm was seen by the engine path", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
