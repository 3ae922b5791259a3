"""Home Assistant's next release as users run it, with Smart Library: does it all still work.

Run by scripts/ha_next_check in the next release's own environment (requirements_ha_next.txt; the
test harness keeps its pinned release):
    python -m tests.ha_next.check --dir .cache/ha-next-run
Starts the simulated building and Home Assistant (`python -m homeassistant`, with the frontend, the
recorder and the Smart Library dashboard as a YAML dashboard, Python's deprecation warnings shown)
and, over its REST and websocket APIs as a person or a door reader would: onboards it, adds a
library service and its branch through the real config flows, saves the service's options,
reconfigures the branch's release time (the update listener reloads the service), imports members
and gives one a PIN, opens the branch to members, makes a reader key and asks the readers'
endpoint for the entrance with card + PIN (granted, and the controller told to release), asks the
dashboard strategy's websocket for its layout, downloads the diagnostics (no card number in them)
and reloads the service (usage statistics written to the recorder, through the statistics metadata
2026.11 checks). Then writes DIR/ready.json (the URL and login, for the browser check) and waits
for DIR/stop (or SIGTERM; --no-wait: no waiting); stops Home Assistant through its API
(statistics written again) and reads its log: a warning that names Smart Library (a deprecation,
a frame-helper report, a blocking call, a warning of our own loggers) is printed and fails the
check; every warning goes to DIR/warnings.txt. Exit status 0 when all passed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
from pathlib import Path
import shutil
import signal
import sys
import time
from typing import Any

import aiohttp

from scripts import develop_setup
from scripts.hass_process import REPO, HomeAssistantProcess
from simulator.building import SimulatedBuilding

from .log_scan import LogWarning, warnings

CONFIGURATION = """\
# Written by tests/ha_next/check.py: scripts/develop's Home Assistant, plus a recorder.
homeassistant:
  name: Smart Library (next Home Assistant)
  time_zone: Europe/London
  country: GB
  unit_system: metric
frontend:
config:
api:
history:
logbook:
recorder:
  commit_interval: 1
onboarding:
lovelace:
  dashboards:
    smart-library:
      mode: yaml
      filename: dashboards/facilities.yaml
      title: Smart Library
      icon: mdi:bookshelf
      show_in_sidebar: true
logger:
  default: warning
"""
CARD = develop_setup.DEMO_MEMBERS.splitlines()[1].split(",")[0]
BRANCH = "Demo Branch"


class CheckFailed(Exception):
    """A step did not do what a user would expect."""


def _step(text: str) -> None:
    sys.stdout.write(f"  ok: {text}\n")
    sys.stdout.flush()


def _expect(condition: object, message: str) -> None:
    if not condition:
        raise CheckFailed(message)


async def _json(
    session: aiohttp.ClientSession,
    method: str,
    path: str,
    auth: dict[str, str],
    body: dict[str, Any] | None = None,
) -> Any:
    async with session.request(method, path, json=body, headers=auth) as resp:
        if resp.status != 200:
            raise CheckFailed(f"{method} {path}: {resp.status} {await resp.text()}")
        return await resp.json()


async def websocket(
    session: aiohttp.ClientSession, token: str, message: dict[str, Any]
) -> Any:
    """Send one command over Home Assistant's websocket as a logged-in user; return its result."""
    async with session.ws_connect("/api/websocket") as ws:
        _expect(
            (await ws.receive_json())["type"] == "auth_required", "websocket: no auth"
        )
        await ws.send_json({"type": "auth", "access_token": token})
        _expect(
            (await ws.receive_json())["type"] == "auth_ok", "websocket: not logged in"
        )
        await ws.send_json({"id": 1, **message})
        while True:
            answer = await ws.receive_json(timeout=60)
            if answer.get("id") == 1 and answer.get("type") == "result":
                break
    if not answer["success"]:
        raise CheckFailed(f"websocket {message['type']}: {answer['error']}")
    return answer["result"]


async def save_options(
    session: aiohttp.ClientSession, auth: dict[str, str], entry_id: str
) -> None:
    """Go through the service's options flow keeping every setting (what a person sees first)."""
    flow = await _json(
        session,
        "POST",
        "/api/config/config_entries/options/flow",
        auth,
        {"handler": entry_id},
    )
    _expect(flow.get("type") == "menu", f"options flow, its menu: {flow}")
    url = f"/api/config/config_entries/options/flow/{flow['flow_id']}"
    # Configure is a menu; card + PIN access saved as it is.
    result = await _json(session, "POST", url, auth, {"next_step_id": "access"})
    _expect(result.get("step_id") == "access", f"options flow, access: {result}")
    result = await _json(session, "POST", url, auth, {})
    _expect(result.get("type") == "create_entry", f"options flow: {result}")


async def reconfigure_branch(
    session: aiohttp.ClientSession, auth: dict[str, str], entry_id: str, port: int
) -> None:
    """Change the branch's release time through its sub-entry's reconfigure flow."""
    subentries = await websocket(
        session,
        auth["Authorization"].removeprefix("Bearer "),
        {"type": "config_entries/subentries/list", "entry_id": entry_id},
    )
    flows = "/api/config/config_entries/subentries/flow"
    flow = await _json(
        session,
        "POST",
        flows,
        auth,
        {"handler": [entry_id, "branch"], "subentry_id": subentries[0]["subentry_id"]},
    )
    _expect(flow.get("type") == "menu", f"reconfigure: {flow}")
    url = f"{flows}/{flow['flow_id']}"
    form = await _json(session, "POST", url, auth, {"next_step_id": "connection"})
    _expect(form.get("step_id") == "connection", f"reconfigure, connection: {form}")
    result = await _json(
        session, "POST", url, auth, develop_setup.branch(port) | {"release_seconds": 6}
    )
    _expect(
        result.get("type") == "abort"
        and result.get("reason") == "reconfigure_successful",
        f"reconfigure, saved: {result}",
    )


async def exercise(
    hass: HomeAssistantProcess,
    session: aiohttp.ClientSession,
    building: SimulatedBuilding,
    expected_version: str,
) -> None:
    """Everything a person and a door reader do, through Home Assistant's APIs."""
    auth = hass.auth
    token = auth["Authorization"].removeprefix("Bearer ")
    config = await _json(session, "GET", "/api/config", auth)
    _expect(
        config["version"] == expected_version,
        f"Home Assistant {config['version']} running, {expected_version} expected",
    )
    _step(f"Home Assistant {config['version']} up and onboarded")

    await develop_setup.add_demo_library(session, auth, building.port)
    states = await develop_setup.branch_states(session, auth)
    _expect(
        states and all(s["state"] != "unavailable" for s in states),
        f"the branch's entities do not answer: {states}",
    )
    _step(
        f"library service and {BRANCH} added by the config flows: {len(states)} entities"
    )
    entries = await _json(
        session, "GET", "/api/config/config_entries/entry?domain=smart_library", auth
    )
    entry_id = entries[0]["entry_id"]

    await save_options(session, auth, entry_id)
    await develop_setup.branch_states(session, auth)
    _step("the service's options saved through its options flow")

    await reconfigure_branch(session, auth, entry_id, building.port)
    await develop_setup.branch_states(session, auth)
    _step(
        f"{BRANCH} reconfigured by its sub-entry flow (the update listener reloaded it)"
    )

    await develop_setup.add_demo_members(session, auth)
    await hass.action(
        "select",
        "select_option",
        {"entity_id": "select.demo_branch_mode_override", "option": "event"},
    )
    releases = _releases(building)
    decision = await develop_setup.try_the_door(session, auth)
    _expect(
        decision.get("granted") is True and decision.get("reason") == "granted",
        f"the readers' endpoint did not grant the member: {decision}",
    )
    for _ in range(50):
        if _releases(building) > releases:
            break
        await asyncio.sleep(0.1)
    _expect(
        _releases(building) > releases, "granted, but the entrance was not released"
    )
    _step(
        "reader key made; card + PIN at the readers' endpoint granted, entrance released"
    )

    layout = await websocket(
        session,
        token,
        {"type": "smart_library/dashboard", "dashboard": "smart-library"},
    )
    titles = [view.get("title") for view in layout.get("views", [])]
    _expect("Overview" in titles and BRANCH in titles, f"dashboard views: {titles}")
    _step(f"dashboard strategy's websocket: views {titles}")

    async with session.get(
        f"/api/diagnostics/config_entry/{entry_id}", headers=auth
    ) as resp:
        text = await resp.text()
    _expect(resp.status == 200, f"diagnostics: {resp.status} {text[:500]}")
    _expect(CARD not in text, "a whole card number in the diagnostics")
    _step("diagnostics downloaded, no card number in them")

    async with session.post(
        f"/api/config/config_entries/entry/{entry_id}/reload", headers=auth
    ) as resp:
        _expect(resp.status == 200, f"reload: {resp.status}")
    await develop_setup.branch_states(session, auth)
    ours: list[str] = []
    for _ in range(100):
        listed = await websocket(
            session, token, {"type": "recorder/list_statistic_ids"}
        )
        ours = [s["statistic_id"] for s in listed if s.get("source") == "smart_library"]
        if ours:
            break
        await asyncio.sleep(0.2)
    _expect(ours, "the service reloaded, but no usage statistic was written")
    _step(f"the service reloaded: {len(ours)} usage statistics written to the recorder")


def _releases(building: SimulatedBuilding) -> int:
    return sum(
        1 for key, value in building.writes if key == "door.entrance.pulse" and value
    )


async def _wait_for_end(stop: asyncio.Event, stop_file: Path) -> None:
    while not stop.is_set() and not stop_file.exists():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 0.2)


def report(found: list[LogWarning], written: Path) -> int:
    """Print the warnings about Smart Library in full, count the others; return how many are ours."""
    ours = [w for w in found if w.ours]
    sys.stdout.write(
        f"Home Assistant's log: {len(ours)} warning(s) about Smart Library, "
        f"{len(found) - len(ours)} about other things (all of them in {written})\n"
    )
    for warning in ours:
        sys.stdout.write(f"  {warning.text}\n")
    return len(ours)


async def run(run_dir: Path, *, wait: bool) -> int:
    """Bring it up, exercise it, (wait for the browser,) stop it, read its log."""
    from homeassistant.const import __version__  # noqa: PLC0415 - the release this env has

    started = time.monotonic()
    config = run_dir / "config"
    if config.exists():
        shutil.rmtree(config)
    # Python's own DeprecationWarnings (hidden outside __main__ by default), printed to the log.
    os.environ["PYTHONWARNINGS"] = (
        "default::DeprecationWarning,default::PendingDeprecationWarning"
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    building = SimulatedBuilding()
    await building.start()
    hass = HomeAssistantProcess(config)
    (config / "configuration.yaml").write_text(CONFIGURATION)
    (config / "dashboards").symlink_to(REPO / "dashboards")
    failed: str | None = None
    try:
        session = await hass.start()
        await exercise(hass, session, building, __version__)
        description = {
            "url": f"http://127.0.0.1:{hass.port}",
            "dashboard": "smart-library",
            "username": develop_setup.USER["username"],
            "password": develop_setup.USER["password"],
            "branch": BRANCH,
            "branch_path": BRANCH.lower().replace(" ", "-"),
            "version": __version__,
            "seconds_to_ready": round(time.monotonic() - started, 1),
        }
        ready = run_dir / "ready.json"
        ready.with_suffix(".tmp").write_text(json.dumps(description, indent=2))
        ready.with_suffix(".tmp").replace(ready)
        sys.stdout.write(f"Ready in {description['seconds_to_ready']} s\n")
        sys.stdout.flush()
        if wait:
            await _wait_for_end(stop, run_dir / "stop")
    except (CheckFailed, SystemExit) as err:  # develop_setup says why with SystemExit
        failed = str(err)
    finally:
        if hass.process is not None:
            stopping = time.monotonic()
            how = await hass.stop(seconds=30)
            sys.stdout.write(
                f"Home Assistant stopped ({how}) in {time.monotonic() - stopping:.1f} s\n"
            )
        await building.stop()
    with (config / "hass.log").open(errors="replace") as log:
        found = list(warnings(log))
    written = run_dir / "warnings.txt"
    written.write_text(
        "".join(f"{'OURS' if w.ours else 'other'} {w.text}\n" for w in found)
    )
    ours = report(
        found, written.relative_to(REPO) if written.is_relative_to(REPO) else written
    )
    if failed is not None:
        sys.stdout.write(f"FAILED: {failed}\n")
        return 1
    if ours:
        sys.stdout.write(f"FAILED: {ours} warning(s) about Smart Library in the log\n")
        return 1
    sys.stdout.write(f"Home Assistant {__version__}: all passed\n")
    return 0


def main() -> int:
    """Parse the arguments and run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, required=True, help="where to run and log")
    parser.add_argument(
        "--no-wait",
        action="store_true",
        help="stop as soon as the checks are done (no browser check in between)",
    )
    args = parser.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    for name in ("ready.json", "stop", "warnings.txt"):
        (args.dir / name).unlink(missing_ok=True)
    return asyncio.run(run(args.dir.resolve(), wait=not args.no_wait))


if __name__ == "__main__":
    sys.exit(main())
