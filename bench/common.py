"""What the benchmarks share: percentiles, a time zone whatever the hour, walking a flow's steps."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime
import time
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp

from scripts import develop_setup

# Local time in the Home Assistant a benchmark starts: mid-afternoon, so that the branch may be
# put in smart mode (smart hours end at 21:30 at the latest) or opened for an event, and no
# override runs out at midnight, whatever the hour the benchmark runs.
BENCH_LOCAL_HOUR = 14


def pct(values: list[float], pct: float) -> float:
    """Return the `pct` percentile of `values` (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(len(ordered) * pct / 100) - 1))]


def afternoon_time_zone(now: datetime | None = None) -> str:
    """Return a fixed-offset zone (`Etc/GMT±N`) whose local time is now BENCH_LOCAL_HOUR:xx.

    The offsets needed (UTC-9 to UTC+14) all exist as IANA zones; note their inverted sign:
    `Etc/GMT-2` is two hours *ahead* of UTC.
    """
    hour = (now or datetime.now(UTC)).astimezone(UTC).hour
    offset = BENCH_LOCAL_HOUR - hour  # -9 .. +14
    return "Etc/GMT" if offset == 0 else f"Etc/GMT{-offset:+d}"


def local_today(time_zone: str) -> date:
    """Return today's date in a time zone (Home Assistant's, not this host's)."""
    return datetime.now(ZoneInfo(time_zone)).date()


def local_time(time_zone: str) -> str:
    """Return the local time in a time zone, HH:MM."""
    return f"{datetime.now(ZoneInfo(time_zone)):%H:%M}"


async def walk_flow(
    session: aiohttp.ClientSession,
    auth: dict[str, str],
    kind: str,
    handler: Any,
    answers: dict[str, dict[str, Any]],
    *,
    what: str,
) -> dict[str, Any]:
    """Run a config, options or sub-entry flow over REST to its end; return the created entry.

    `kind` is the REST path's flow kind ("flow", "options/flow", "subentries/flow"). Each form
    step is answered with `answers[step_id]`, or, for a step the benchmark does not know (a
    step added to the flow since), with nothing: the step's defaults. A menu is answered with
    `answers[step_id]` (`{"next_step_id": ...}`), or its first choice. A step shown again with
    errors, an abort, or anything but a created entry ends the run saying so.
    """
    url = f"/api/config/config_entries/{kind}"
    result = await develop_setup.flow_step(
        session, auth, url, {"handler": handler, "show_advanced_options": False}
    )
    for _ in range(12):
        match result.get("type"):
            case "create_entry":
                return result
            case "form" if not result.get("errors"):
                step = str(result["step_id"])
                result = await develop_setup.flow_step(
                    session, auth, f"{url}/{result['flow_id']}", answers.get(step, {})
                )
            case "menu":
                # A menu (the service's options): the answer names the choice, or the first.
                step = str(result["step_id"])
                choice = answers.get(step) or {
                    "next_step_id": result["menu_options"][0]
                }
                result = await develop_setup.flow_step(
                    session, auth, f"{url}/{result['flow_id']}", choice
                )
            case _:
                break
    raise SystemExit(f"{what}: the flow did not create an entry: {result}")


async def wait_for_reload(
    session: aiohttp.ClientSession,
    auth: dict[str, str],
    *,
    entry_id: str,
    entity_id: str,
    since: datetime,
    seconds: float = 60,
) -> None:
    """Wait until a config entry reloaded after `since` is loaded again.

    An options flow's end reloads the service in the background: the old entities answer until
    it unloads them, and the new ones answer before its set-up is over. So: the entity has an
    available state written after `since`, and the entry is loaded.
    """
    deadline = time.monotonic() + seconds
    while True:
        async with session.get(f"/api/states/{entity_id}", headers=auth) as resp:
            state = await resp.json() if resp.status == 200 else None
        async with session.get(
            "/api/config/config_entries/entry", headers=auth
        ) as resp:
            entry = next(
                (e for e in await resp.json() if e["entry_id"] == entry_id), None
            )
        if (
            state is not None
            and state["state"] != "unavailable"
            and datetime.fromisoformat(state["last_changed"]) > since
            and entry is not None
            and entry["state"] == "loaded"
        ):
            return
        if time.monotonic() > deadline:
            raise SystemExit(
                f"The service was not loaded again after a reload: {entry}; {state}"
            )
        await asyncio.sleep(0.1)


async def drain_gateway(gateway: Any, *, stop: bool = False) -> None:
    """Wait for an LmsGateway's background cache updates (and stop it, with `stop`).

    Works around a fault in engine/lms.py, `LmsGateway.drain` (which `stop` also calls): entered
    while a finished cache update is still listed (its done callback, which unlists it, not run
    yet), it loops on `asyncio.gather` of finished tasks, which completes without yielding, so
    the callback never runs and the event loop spins for ever (seen here under load). Yielding
    once first lets such callbacks run. Remove when the engine's drain yields by itself.
    """
    await asyncio.sleep(0)
    await (gateway.stop() if stop else gateway.drain())
