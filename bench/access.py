"""Access benchmark: 100,000 members; request_access p50/p99 end to end, import, memory, start-up.

Two parts, one run, one simulated building on 127.0.0.1:
- In a real Home Assistant process (set up over REST as scripts/develop does it): the members
  imported with the import_members action, then request_access end to end: over the readers'
  HTTP endpoint and as the action over REST (auth, schema, store lookup, lock-out, one scrypt key
  derivation, the release written to the simulator over Modbus TCP, the event and the poll that
  confirms it). Start-up is the integration's reload with 100,000 members; memory is the
  process's peak RSS.
- The engine alone, for comparison: the same decision and release without Home Assistant.

- The library's system as the backend (SIP2, issue 13): the whole decision of
  `engine.access.LmsAccess` (the lock-out's attempt in the member store, 63/64 to the simulated
  LMS over one persistent TCP connection on 127.0.0.1, the local record, the house rules, the
  offline cache kept up to date in the background), online; then with the LMS down (connection
  refused) and slow (answering after the timeout): the first decision and the ones after,
  decided from the offline cache with the circuit breaker open; then in the real Home Assistant
  process too (a second service, on the simulated LMS, beside the first: over the readers'
  endpoint and as the action, online and with the LMS down).

Whatever the hour: each Home Assistant gets a time zone in which it is mid-afternoon (the event
opened by hand lasts). `--short` runs every part with a few members and requests
(tests/test_bench_short.py runs it, so a change that breaks the benchmark fails scripts/test).

Usage: bench/access [--members 100000] [--requests 400] [--sip2-only] [--timeout 2.0]
                    [--with-pin 200] [--with-pin-in-ha 40] [--short]
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import AsyncIterator
import contextlib
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
import logging
from pathlib import Path
import random
import resource
import statistics
import sys
import tempfile
import time
import tracemalloc
from typing import Any

from bench.common import afternoon_time_zone, drain_gateway, wait_for_reload, walk_flow
from custom_components.smart_library.engine.building.controller import (
    BranchController,
    ModuleAddress,
)
from custom_components.smart_library.engine.building.pointmap import DoorKind
from custom_components.smart_library.engine.lms.gateway import (
    LmsGateway,
    LmsPolicy,
    LmsReason,
    OfflineCache,
)
from custom_components.smart_library.engine.lms.sip2 import Sip2Client, Sip2Config
from custom_components.smart_library.engine.members.access import (
    AccessDecider,
    AccessRequest,
    LmsAccess,
)
from custom_components.smart_library.engine.members.membership import Reason
from custom_components.smart_library.engine.members.pins import hash_pin, new_pepper
from custom_components.smart_library.engine.members.store import MembershipStore
from scripts import develop_setup
from scripts.hass_process import HomeAssistantProcess
from simulator.building import SimulatedBuilding
from simulator.lms import SimulatedLms

WITH_PIN = 200  # members given a PIN (each costs one key derivation to set)
WITH_PIN_IN_HA = 40  # the same, set with the set_pin action
# --short: a few seconds of every part (tests/test_bench_short.py runs it).
SHORT = {
    "members": 500,
    "requests": 12,
    "with_pin": 4,
    "with_pin_in_ha": 2,
    "timeout": 0.5,
}


def _lms_export(members: int, rng: random.Random, today: date) -> str:
    """Return an LMS export: cards valid for 1-3 years more, inducted in the last 9 months."""
    lines = ["Barcode,Patron Name,Date of Birth,Expiry Date,Induction"]
    for n in range(members):
        born = date(
            1940 + rng.randrange(70), 1 + rng.randrange(12), 1 + rng.randrange(28)
        )
        inducted = today - timedelta(days=1 + rng.randrange(270))
        lines.append(
            f"2{n:013d},Member {n},{born:%d/%m/%Y},{today.year + 1 + rng.randrange(3)}-06-30,"
            f"{inducted.isoformat()}"
        )
    return "\n".join(lines) + "\n"


def _pct(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(len(ordered) * pct / 100) - 1)]


def _row(label: str, values: list[float]) -> str:
    if not values:
        return f"  {label:42} n/a (none in this run)"
    return (
        f"  {label:42} p50 {statistics.median(values):7.2f} ms   "
        f"p99 {_pct(values, 99):7.2f} ms   (n={len(values)})"
    )


async def _bench_reader(
    instance: HomeAssistantProcess,
    session: Any,
    auth: dict[str, str],
    branch: str,
) -> dict[str, str]:
    """Raise the readers' refusal allowance (options flow), make a reader key; return its header."""
    async with session.get(
        "/api/config/config_entries/entry",
        params={"domain": "smart_library"},
        headers=auth,
    ) as resp:
        entry_id = (await resp.json())[0]["entry_id"]
    # The service's options (Configure, a menu): card + PIN access, with the readers'
    # allowance raised.
    saved = datetime.now(UTC)
    await walk_flow(
        session,
        auth,
        "options/flow",
        entry_id,
        {
            "init": {"next_step_id": "access"},  # Configure is a menu
            "access": {
                "lockout_attempts": 5,
                "lockout_window": 15,
                "lockout_minutes": 15,
                "room_grace": 10,
                "reader_refusals": 200,
                "reader_throttle_minutes": 1,
            },
        },
        what="The service's options",
    )
    # Saved, the service reloads in the background: the branch answers again once it is over.
    await wait_for_reload(
        session,
        auth,
        entry_id=entry_id,
        entity_id="lock.demo_branch_entrance_door",
        since=saved,
    )
    made = await instance.action(
        "smart_library",
        "create_reader_key",
        {"branch": branch, "doors": ["entrance"], "name": "Bench reader"},
    )
    return {"X-Reader-Key": made["key"]}


@contextlib.asynccontextmanager
async def _home_assistant(tmp: Path) -> AsyncIterator[HomeAssistantProcess]:
    """Start a real Home Assistant process; stop it at the end."""
    # Mid-afternoon there whatever the hour here: an event opened by hand lasts.
    instance = HomeAssistantProcess(tmp / "config", time_zone=afternoon_time_zone())
    try:
        await instance.start()
        yield instance
    except SystemExit:
        # The configuration folder goes with the run: what Home Assistant said, before it does.
        print(f"Home Assistant's log, its end:\n{instance.log()}", file=sys.stderr)
        raise
    finally:
        if instance.process is not None:
            await instance.stop()


async def in_home_assistant(
    instance: HomeAssistantProcess,
    building: SimulatedBuilding,
    text: str,
    cards: list[str],
    *,
    requests: int,
    with_pin: int,
) -> None:
    """Measure request_access in a real Home Assistant process (the local member store)."""
    rng = random.Random(7)
    start = time.perf_counter()
    assert instance.session is not None
    session, auth = instance.session, instance.auth
    await develop_setup.add_demo_library(session, auth, building.port)
    await develop_setup.branch_states(session, auth)
    print(
        f"  service and branch added                  {time.perf_counter() - start:7.2f} s"
    )
    start = time.perf_counter()
    report = await instance.action("smart_library", "import_members", {"csv": text})
    print(
        f"  import_members action ({len(cards):,} rows)      "
        f"{time.perf_counter() - start:7.2f} s   {report['taken']:,} taken"
    )
    holders = rng.sample(cards, with_pin)
    pins: list[float] = []
    for card in holders:
        t = time.perf_counter()
        await instance.action("smart_library", "set_pin", {"card": card, "pin": "2468"})
        pins.append((time.perf_counter() - t) * 1000)
    print(_row("set_pin action", pins))
    # Open to members whatever the plan says now: an event opened by hand (until the plan's
    # next change, in the afternoon Home Assistant's time zone gives it).
    await instance.action(
        "select",
        "select_option",
        {"entity_id": "select.demo_branch_mode_override", "option": "event"},
    )
    async with session.get(
        "/api/config/config_entries/entry",
        params={"domain": "smart_library"},
        headers=auth,
    ) as resp:
        entry_id = (await resp.json())[0]["entry_id"]
    start = time.perf_counter()
    async with session.post(
        f"/api/config/config_entries/entry/{entry_id}/reload", headers=auth
    ) as resp:
        resp.raise_for_status()
        assert not (await resp.json()).get("require_restart")
    print(
        f"  start-up: integration reload, {len(cards):,} members {(time.perf_counter() - start) * 1000:7.1f} ms"
    )
    await develop_setup.branch_states(session, auth)
    async with session.post(
        "/api/template",
        json={"template": "{{ device_id('lock.demo_branch_entrance_door') }}"},
        headers=auth,
    ) as resp:
        branch = await resp.text()
    # A door reader asks with a reader key of its own (a user's token gets 401); the
    # benchmark's refusals (a fifth of its requests) must not pause it (the readers'
    # throttle), so the service lets a reader have more of them.
    reader = await _bench_reader(instance, session, auth, branch)

    async def over_http(card: str, pin: str) -> bool:
        async with session.post(
            "/api/smart_library/access",
            json={"branch": branch, "card": card, "pin": pin},
            headers=reader,
        ) as resp:
            resp.raise_for_status()
            return bool((await resp.json())["granted"])

    async def as_action(card: str, pin: str) -> bool:
        answer = await instance.action(
            "smart_library",
            "request_access",
            {"branch": branch, "card": card, "pin": pin},
        )
        return bool(answer["granted"])

    released = sum(
        1 for key, v in building.writes if key == "door.entrance.pulse" and v
    )
    for label, ask in (
        ("HTTP endpoint", over_http),
        ("action over REST", as_action),
    ):
        granted: list[float] = []
        refused: list[float] = []
        for n in range(requests // 2):
            roll = rng.random()
            if roll < 0.8:
                card, pin = rng.choice(holders), "2468"
            elif roll < 0.9:
                card, pin = rng.choice(holders), "1357"
            else:
                card, pin = f"3{n:013d}", "2468"
            t = time.perf_counter()
            ok = await ask(card, pin)
            (granted if ok else refused).append((time.perf_counter() - t) * 1000)
        print(_row(f"{label}: granted (incl. release)", granted))
        print(_row(f"{label}: refused", refused))
    writes = sum(1 for key, v in building.writes if key == "door.entrance.pulse" and v)
    print(f"  releases written to the simulator: {writes - released}")
    print(f"  Home Assistant process peak RSS: {instance.peak_rss_mib():.0f} MiB")


# Members of the simulated LMS (simulator/lms.py) the SIP2 case lets in: an adult, a 17-year-old,
# one with flag 2 (recall denied, which the default policy lets through).
LMS_MEMBERS = (("21000001", "1234"), ("21000004", "4567"), ("21000010", "1122"))


def _one(label: str, seconds: float) -> str:
    return f"  {label:42} {seconds * 1000:7.2f} ms"


async def sip2_in_home_assistant(
    instance: HomeAssistantProcess, requests: int, timeout: float
) -> None:
    """Measure request_access with the LMS as the backend in a real Home Assistant process.

    A service of its own on the simulated LMS, beside any other the process has.
    """
    building = SimulatedBuilding()
    await building.start()
    lms = SimulatedLms()
    await lms.start()
    assert instance.session is not None
    session, auth = instance.session, instance.auth
    print(
        "The library's system as the backend, in a real Home Assistant process "
        f"(timeout {timeout:g} s):"
    )
    try:
        added = datetime.now(UTC)
        entry_id = await develop_setup.add_lms_library(
            session,
            auth,
            building_port=building.port,
            lms_port=lms.port,
            timeout=timeout,
        )
        # The branch's entities come with the entry's reload, before its set-up is over.
        await wait_for_reload(
            session,
            auth,
            entry_id=entry_id,
            entity_id="select.lms_branch_mode_override",
            since=added,
        )
        async with session.post(
            "/api/template",
            json={"template": "{{ device_id('lock.lms_branch_entrance_door') }}"},
            headers=auth,
        ) as resp:
            branch = await resp.text()
        await instance.action(
            "select",
            "select_option",
            {"entity_id": "select.lms_branch_mode_override", "option": "event"},
        )
        for (
            card,
            pin,
        ) in LMS_MEMBERS:  # a first visit makes the record; then the induction
            await instance.action(
                "smart_library",
                "request_access",
                {"branch": branch, "card": card, "pin": pin},
            )
            await instance.action(
                "smart_library",
                "record_induction",
                {"config_entry_id": entry_id, "card": card},
            )
        made = await instance.action(
            "smart_library",
            "create_reader_key",
            {"branch": branch, "doors": ["entrance"], "name": "Bench reader"},
        )
        reader = {"X-Reader-Key": made["key"]}

        async def over_http(card: str, pin: str) -> str:
            async with session.post(
                "/api/smart_library/access",
                json={"card": card, "pin": pin},
                headers=reader,
            ) as resp:
                resp.raise_for_status()
                return str((await resp.json())["reason"])

        async def as_action(card: str, pin: str) -> str:
            answer = await instance.action(
                "smart_library",
                "request_access",
                {"branch": branch, "card": card, "pin": pin},
            )
            return str(answer["reason"])

        async def timed(ask: Any, card: str, pin: str) -> tuple[float, str]:
            start = time.perf_counter()
            reason = await ask(card, pin)
            return (time.perf_counter() - start) * 1000, reason

        for label, ask in (
            ("HTTP endpoint", over_http),
            ("action over REST", as_action),
        ):
            granted = []
            for n in range(requests // 2):
                elapsed, reason = await timed(ask, *LMS_MEMBERS[n % len(LMS_MEMBERS)])
                assert reason == "granted", reason
                granted.append(elapsed)
            print(_row(f"{label}: online, granted", granted))
        await lms.set_down(True)
        elapsed, reason = await timed(over_http, *LMS_MEMBERS[0])
        assert reason == "granted_offline", reason
        print(_one("HTTP endpoint: LMS down, first decision", elapsed / 1000))
        after = [
            (await timed(over_http, *LMS_MEMBERS[n % 3]))[0]
            for n in range(min(60, requests // 2))
        ]
        print(_row("HTTP endpoint: LMS down, decisions after", after))
        await lms.set_down(False)
    finally:
        await lms.stop()
        await building.stop()


async def sip2_case(tmp: Path, requests: int, timeout: float) -> None:
    """Measure decisions with the LMS as the backend: online, LMS down, LMS slow."""
    lms = SimulatedLms()
    await lms.start()
    pepper = new_pepper()
    store = MembershipStore(tmp / "sip2-members.db")

    def decider_and_gateway() -> LmsAccess:
        client = Sip2Client(
            Sip2Config(
                "127.0.0.1",
                lms.port,
                login_user="sip",
                login_password="sip-password",
                institution="DEMO",
                timeout=timeout,
                keepalive=0,
            )
        )
        gateway = LmsGateway(
            client,
            LmsPolicy(),
            OfflineCache(pepper, store),
            timeout=timeout,
            probe_interval=3600,  # no background probe during the measurements
        )
        return LmsAccess(AccessDecider(store, pepper), gateway)

    def ask(card: str, pin: str) -> AccessRequest:
        return AccessRequest(
            "bench",
            "entrance",
            DoorKind.ENTRANCE,
            card,
            pin,
            datetime.now().astimezone(),
            True,
        )

    async def timed(access: LmsAccess, card: str, pin: str) -> tuple[float, str]:
        start = time.perf_counter()
        decision = await access.decide(ask(card, pin))
        return time.perf_counter() - start, str(decision.reason)

    today = date.today()
    print(
        f"The library's system as the backend (SIP2 to the simulated LMS on "
        f"127.0.0.1:{lms.port}, timeout {timeout:g} s):"
    )
    try:
        access = decider_and_gateway()
        await access.gateway.start()
        for (
            card,
            pin,
        ) in LMS_MEMBERS:  # the local records, inducted; the cache learns them
            await access.decide(ask(card, pin))
            store.change(card, lambda m: replace(m, induction_date=today))
            await access.decide(ask(card, pin))
        await drain_gateway(access.gateway)
        granted: list[float] = []
        for n in range(requests):
            elapsed, reason = await timed(access, *LMS_MEMBERS[n % len(LMS_MEMBERS)])
            assert reason == Reason.GRANTED, reason
            granted.append(elapsed * 1000)
        await drain_gateway(access.gateway)
        print(_row("online, granted (whole decision)", granted))
        refused = []
        for n in range(requests // 4):
            elapsed, _ = await timed(
                access, "21000006" if n % 2 else "21009999", "6789"
            )
            refused.append(elapsed * 1000)
        print(_row("online, refused (card lost / unknown)", refused))

        await lms.set_down(True)
        elapsed, reason = await timed(access, *LMS_MEMBERS[0])
        assert reason == LmsReason.GRANTED_OFFLINE, reason
        print(_one("LMS down: first decision (offline cache)", elapsed))
        after = [
            (await timed(access, *LMS_MEMBERS[n % 3]))[0] * 1000
            for n in range(min(60, requests // 2))
        ]
        print(_row("LMS down: decisions after (breaker open)", after))
        unknown = [
            (await timed(access, f"2100{n:04d}", "1234"))[0] * 1000
            for n in range(min(20, requests // 2))
        ]
        print(_row("LMS down: unknown cards (refused)", unknown))
        await drain_gateway(access.gateway, stop=True)

        await lms.set_down(False)
        access = decider_and_gateway()
        await access.gateway.start()
        lms.faults.delay = timeout + 3
        elapsed, reason = await timed(access, *LMS_MEMBERS[0])
        assert reason == LmsReason.GRANTED_OFFLINE, reason
        print(_one(f"LMS slow: first decision (waits {timeout:g} s)", elapsed))
        after = [
            (await timed(access, *LMS_MEMBERS[n % 3]))[0] * 1000
            for n in range(min(60, requests // 2))
        ]
        print(_row("LMS slow: decisions after (breaker open)", after))
        lms.faults.delay = 0
        await drain_gateway(access.gateway, stop=True)
    finally:
        store.close()
        await lms.stop()


async def main() -> None:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(
        prog="bench/access",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument(
        "--sip2-only", action="store_true", help="only the SIP2 (LMS backend) case"
    )
    parser.add_argument(
        "--timeout", type=float, default=2.0, help="the LMS's answer timeout (s)"
    )
    parser.add_argument(
        "--with-pin",
        type=int,
        default=WITH_PIN,
        help="members given a PIN on the engine path",
    )
    parser.add_argument(
        "--with-pin-in-ha",
        type=int,
        default=WITH_PIN_IN_HA,
        help="members given a PIN with the set_pin action",
    )
    parser.add_argument(
        "--short",
        action="store_true",
        help="a few seconds of every part: "
        + ", ".join(f"{k.replace('_', '-')} {v}" for k, v in SHORT.items()),
    )
    args = parser.parse_args()
    if args.short:
        vars(args).update(SHORT)
    logging.getLogger("pysip2").setLevel(logging.WARNING)
    if args.sip2_only:
        with tempfile.TemporaryDirectory() as tmp:
            await sip2_case(Path(tmp), args.requests, args.timeout)
            async with _home_assistant(Path(tmp)) as instance:
                await sip2_in_home_assistant(instance, args.requests, args.timeout)
        return
    logging.getLogger("pymodbus").setLevel(logging.CRITICAL)
    rng = random.Random(42)
    today = date.today()
    pepper = new_pepper()
    print(f"Access benchmark: {args.members:,} members, {args.requests} requests")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "members.db"
        text = _lms_export(args.members, rng, today)
        print("In a real Home Assistant process:")
        building = SimulatedBuilding()
        await building.start()
        started = time.perf_counter()
        try:
            async with _home_assistant(Path(tmp)) as instance:
                print(
                    f"  Home Assistant up                         "
                    f"{time.perf_counter() - started:7.2f} s"
                )
                await in_home_assistant(
                    instance,
                    building,
                    text,
                    [f"2{n:013d}" for n in range(args.members)],
                    requests=args.requests,
                    with_pin=args.with_pin_in_ha,
                )
                # The same process, a second service on the library's system beside the first.
                await sip2_in_home_assistant(instance, args.requests, args.timeout)
        finally:
            await building.stop()
        print("The engine alone (no Home Assistant):")

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
        holders = rng.sample(cards, args.with_pin)
        start = time.perf_counter()
        for card in holders:
            hashed = hash_pin("2468", pepper)
            store.change(
                card, lambda m, h=hashed: m.__class__(**{**m.__dict__, "pin_hash": h})
            )
        per_pin = (time.perf_counter() - start) / args.with_pin * 1000
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
        for card in rng.sample(cards, min(5000, len(cards))):
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
        await sip2_case(Path(tmp), args.requests, args.timeout)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"  process peak RSS: {rss:.0f} MiB")


if __name__ == "__main__":
    asyncio.run(main())
