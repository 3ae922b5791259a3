"""A real Home Assistant for the browser test, as scripts/develop starts it, with a county in it.

Run by scripts/browser_test inside the project's environment:
    python -m tests.browser.stack --dir .cache/browser-run
Starts three simulated buildings (each its own process, driven through its control port as
scripts/sim drives scripts/develop's) and Home Assistant (`python -m homeassistant`, the HTTP port
in its storage, no `http:` YAML) with the frontend, the recorder and the Smart Library dashboard
(dashboards/facilities.yaml, the strategy) as a YAML dashboard; onboards it, adds two library
services through the real config flows — Shire Libraries with two branches, Dale Libraries with
one — waits for their entities, gives Oadby smart hours all day and Oadby's entrance a reader
key, adds a member of staff who is not an administrator (the dashboard's walk), prepares the
door tablet's branch (`prepare_tablet`: two reader keys made through the admin action, an adult
and an under-16 member enrolled with PINs, an event so the branch is open), gives Shire's
branches a public page and a floor plan (uploaded as the actions' file selector uploads) and PINs
to the members the induction walk uses, writes DIR/stack.json (the URL, both logins, each
branch's simulator control port, Oadby's reader key, the tablet's keys and member, the public
pages and a long-lived token for the walk's administrator actions) and keeps everything running
until the file DIR/stop appears (or SIGTERM); then stops Home Assistant through its API, and the
simulators.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from datetime import UTC, date, datetime, timedelta
import json
from pathlib import Path
import shutil
import signal
import socket
import subprocess
import sys
import time
from typing import Any

import aiohttp

from scripts import develop_setup
from scripts.hass_process import REPO, HomeAssistantProcess

CONFIGURATION = """\
# Written by tests/browser/stack.py: what scripts/develop's Home Assistant has, plus a recorder.
homeassistant:
  name: Smart Library (browser test)
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

# Two library services, three branches: the overview must show all three with no hand edit.
COUNTY: dict[str, list[str]] = {
    "Shire Libraries": ["Oadby Library", "Wigston Library"],
    "Dale Libraries": ["Matlock Library"],
}


def _free_port() -> int:
    """Return a TCP port of 127.0.0.1 nothing listens on (nor on the port 1000 above it)."""
    while True:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        if port + 1000 < 65536:
            with socket.socket() as sock:
                try:
                    sock.bind(("127.0.0.1", port + 1000))
                except OSError:
                    continue
            return port


class Simulator:
    """One simulated building in its own process (`python -m simulator`)."""

    def __init__(self, name: str, run_dir: Path) -> None:
        """Start it on free ports; its control port is its Modbus port + 1000."""
        self.name = name
        self.port = _free_port()
        self.control_port = self.port + 1000
        self.log = run_dir / f"simulator-{self.port}.log"
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "simulator",
                    "--port",
                    str(self.port),
                    "--name",
                    name,
                    "--no-zeroconf",
                    "--visitors-per-minute",
                    "2",
                    "--seed",
                    "1",
                ],
                cwd=REPO,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    async def wait_ready(self, seconds: float = 30) -> None:
        """Wait for the simulator's banner (it serves from then on)."""
        deadline = time.monotonic() + seconds
        while "Simulated branch" not in self.log.read_text(errors="replace"):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(
                    f"The simulator for {self.name} did not start: {self.log}"
                )
            await asyncio.sleep(0.1)

    def stop(self) -> None:
        """Stop it (SIGTERM, then SIGKILL)."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


async def _call(
    session: aiohttp.ClientSession,
    auth: dict[str, str],
    path: str,
    body: dict[str, Any],
) -> dict[str, Any]:
    async with session.post(path, json=body, headers=auth) as resp:
        result: dict[str, Any] = await resp.json()
        if resp.status != 200:
            raise SystemExit(f"{path}: {resp.status} {result}")
        return result


async def add_county(
    session: aiohttp.ClientSession,
    auth: dict[str, str],
    simulators: dict[str, Simulator],
) -> dict[str, str]:
    """Add each library service and its branches through the real config flows.

    Return each service's config entry id by its name.
    """
    entries: dict[str, str] = {}
    for service, branches in COUNTY.items():
        flow = await _call(
            session,
            auth,
            "/api/config/config_entries/flow",
            {"handler": "smart_library", "show_advanced_options": False},
        )
        result = await _call(
            session,
            auth,
            f"/api/config/config_entries/flow/{flow['flow_id']}",
            {"name": service, "backend": "local"},
        )
        if result.get("type") != "create_entry":
            raise SystemExit(f"Could not add {service}: {result}")
        entry_id = entries[service] = result["result"]["entry_id"]
        for name in branches:
            flow = await _call(
                session,
                auth,
                "/api/config/config_entries/subentries/flow",
                {"handler": [entry_id, "branch"], "show_advanced_options": False},
            )
            form = develop_setup.branch(simulators[name].port) | {"name": name}
            result = await _call(
                session,
                auth,
                f"/api/config/config_entries/subentries/flow/{flow['flow_id']}",
                form,
            )
            if result.get("type") != "create_entry":
                raise SystemExit(f"Could not add {name}: {result}")
            # The service reloads with its new branch; a branch added while it reloads would
            # be missed until the next reload (its update listener is not yet back).
            await wait_for_branches(session, auth, [name])
    return entries


async def wait_loaded(
    session: aiohttp.ClientSession, auth: dict[str, str], seconds: float = 60
) -> None:
    """Wait until every library service is loaded (none still setting up or reloading)."""
    deadline = time.monotonic() + seconds
    while True:
        async with session.get(
            "/api/config/config_entries/entry?domain=smart_library", headers=auth
        ) as resp:
            states = {e["title"]: e["state"] for e in await resp.json()}
        if states and all(state == "loaded" for state in states.values()):
            return
        if time.monotonic() > deadline:
            raise SystemExit(f"Library services not loaded: {states}")
        await asyncio.sleep(0.5)


async def smart_all_day(
    session: aiohttp.ClientSession,
    auth: dict[str, str],
    entry_id: str,
    branch: str,
) -> None:
    """Give a branch smart (self-access) hours all day, through its opening-hours form.

    The walk then finds it open to members at any hour it runs (a member arriving is granted,
    a lockdown shows over "Smart (self-access)"). Taken without a reload, as a manager's change.
    """
    # The branch's sub-entry id is its device's identifier.
    lock = f"lock.{branch.lower().replace(' ', '_')}_entrance_door"
    async with session.post(
        "/api/template",
        json={
            "template": f"{{{{ (device_attr(device_id('{lock}'), 'identifiers')"
            " | list)[0][1] }}"
        },
        headers=auth,
    ) as resp:
        subentry = await resp.text()
    flow = await _call(
        session,
        auth,
        "/api/config/config_entries/subentries/flow",
        {"handler": [entry_id, "branch"], "subentry_id": subentry},
    )
    url = f"/api/config/config_entries/subentries/flow/{flow['flow_id']}"
    await _call(session, auth, url, {"next_step_id": "hours"})
    days = (
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
    )
    result = await _call(
        session,
        auth,
        url,
        {f"{day}_smart": "00:00-23:59" for day in days}
        | {
            "latest_smart_end": "23:59:00",
            "clearance_minutes": 0,
            "staffed_free_entry": ["entrance"],
        },
    )
    if result.get("reason") != "reconfigure_successful":
        raise SystemExit(f"Could not set the hours of {branch}: {result}")


async def attempts_at_the_door(
    session: aiohttp.ClientSession, auth: dict[str, str], entry_id: str, branch: str
) -> list[str]:
    """Give the demo members to a service, then try a branch's entrance: a wrong PIN, the right.

    (Smart hours: the right PIN is granted.)

    The branch's view then has attempts to show, with their reasons and masked cards.
    """
    members = await _call(
        session,
        auth,
        "/api/services/smart_library/import_members?return_response",
        {"config_entry_id": entry_id, "csv": develop_setup.DEMO_MEMBERS},
    )
    if members["service_response"]["taken"] != 3:
        raise SystemExit(f"Demo members not imported: {members}")
    card = develop_setup.DEMO_MEMBERS.splitlines()[1].split(",")[0]
    await _call(
        session,
        auth,
        "/api/services/smart_library/set_pin?return_response",
        {"config_entry_id": entry_id, "card": card, "pin": develop_setup.DEMO_PIN},
    )
    device = await device_of(session, auth, branch)
    reasons = []
    for pin in ("0000", develop_setup.DEMO_PIN):
        answer = await _call(
            session,
            auth,
            "/api/services/smart_library/request_access?return_response",
            {"branch": device, "door": "entrance", "card": card, "pin": pin},
        )
        reasons.append(str(answer["service_response"]["reason"]))
    return reasons


STAFF = {"name": "Sam Staff", "username": "sam", "password": "staff-library-2026"}


async def add_staff_user(session: aiohttp.ClientSession, auth: dict[str, str]) -> None:
    """Make a non-admin user who logs in with a password: a member of staff on duty.

    Home Assistant's websocket (as Settings › People does): the user in the "system-users"
    group, then its login.
    """
    async with session.ws_connect("/api/websocket") as ws:
        await ws.receive_json()  # auth_required
        await ws.send_json(
            {"type": "auth", "access_token": auth["Authorization"].split(" ", 1)[1]}
        )
        if (await ws.receive_json())["type"] != "auth_ok":
            raise SystemExit("The websocket refused the administrator's token")

        async def ask(number: int, message: dict[str, Any]) -> dict[str, Any]:
            await ws.send_json({"id": number} | message)
            while True:
                reply = await ws.receive_json()
                if reply.get("id") == number:
                    if not reply.get("success"):
                        raise SystemExit(f"{message['type']}: {reply}")
                    result: dict[str, Any] = reply["result"]
                    return result

        user = await ask(
            1,
            {
                "type": "config/auth/create",
                "name": STAFF["name"],
                "group_ids": ["system-users"],
                "local_only": False,
            },
        )
        await ask(
            2,
            {
                "type": "config/auth_provider/homeassistant/create",
                "user_id": user["user"]["id"],
                "username": STAFF["username"],
                "password": STAFF["password"],
            },
        )


async def reader_key(
    session: aiohttp.ClientSession, auth: dict[str, str], device: str
) -> str:
    """Make a reader key for a branch's entrance (as an administrator does): a door reader's."""
    made = await _call(
        session,
        auth,
        "/api/services/smart_library/create_reader_key?return_response",
        {"branch": device, "doors": ["entrance"], "name": "Oadby entrance reader"},
    )
    return str(made["service_response"]["key"])


# The door tablet's branch (tests/browser/tablet.mjs): its member, and a card nobody holds.
TABLET_BRANCH = "Wigston Library"
TABLET_CARD = "21234000007777"
TABLET_PIN = "482913"
TABLET_STRANGER = "21239999123456"
TABLET_CHILD = "21234000008888"  # an under-16 member: comes in with an adult's card
TABLET_CHILD_PIN = "736251"


async def prepare_tablet(
    session: aiohttp.ClientSession, auth: dict[str, str], entry_id: str, branch: str
) -> dict[str, Any]:
    """Make the door tablet's reader keys and member, as an administrator would.

    Two keys for the branch's entrance through `create_reader_key` (the second is revoked by the
    test), an adult and a 12-year-old member enrolled with PINs through `enroll_member`, and an
    event from now for three hours (`add_event`) so the branch is open whatever the time of day.
    """
    slug = branch.lower().replace(" ", "_")
    async with session.post(
        "/api/template",
        json={"template": f"{{{{ device_id('lock.{slug}_entrance_door') }}}}"},
        headers=auth,
    ) as resp:
        device = await resp.text()
    keys = []
    for name in ("Wigston door tablet", "Wigston spare tablet"):
        answer = await _call(
            session,
            auth,
            "/api/services/smart_library/create_reader_key?return_response",
            {"branch": device, "doors": ["entrance"], "name": name},
        )
        keys.append(str(answer["service_response"]["key"]))
    today = date.today()
    for card, born, pin in (
        (TABLET_CARD, "1985-03-01", TABLET_PIN),
        (TABLET_CHILD, f"{today.year - 12}-01-15", TABLET_CHILD_PIN),
    ):
        await _call(
            session,
            auth,
            "/api/services/smart_library/enroll_member?return_response",
            {
                "config_entry_id": entry_id,
                "card": card,
                "birth_date": born,
                "card_expiry": (today + timedelta(days=365)).isoformat(),
                "induction_date": today.isoformat(),
                "pin": pin,
            },
        )
    now = datetime.now(UTC).replace(microsecond=0)
    await _call(
        session,
        auth,
        "/api/services/smart_library/add_event?return_response",
        {
            "branch": device,
            "title": "Door tablet test",
            "start": (now - timedelta(minutes=5)).isoformat(),
            "end": (now + timedelta(hours=3)).isoformat(),
        },
    )
    return {
        "branch": branch,
        "key": keys[0],
        "spare_key": keys[1],
        "card": TABLET_CARD,
        "pin": TABLET_PIN,
        "stranger": TABLET_STRANGER,
        "child": TABLET_CHILD,
        "child_pin": TABLET_CHILD_PIN,
        "override": f"select.{slug}_mode_override",
        "entry_id": entry_id,  # its library service (the actions' config_entry_id)
    }


# The online induction's walk (tests/browser/induction.mjs): a member not yet inducted, a member
# whose PIN will be guessed wrong, and the branch whose door they then try.
INDUCTION_CARD = develop_setup.DEMO_MEMBERS.splitlines()[3].split(",")[0]  # Cy Newcomer
LOCKOUT_CARD = develop_setup.DEMO_MEMBERS.splitlines()[2].split(",")[0]  # Bo Student
FLOOR_PLAN = Path(__file__).with_name("floor-plan.svg")
MARKERS: list[dict[str, Any]] = [
    {"kind": "door", "door": "entrance", "x": 50, "y": 97, "label": "Main entrance"},
    {
        "kind": "door",
        "door": "meeting_room",
        "x": 78.1,
        "y": 34,
        "label": "Meeting room",
    },
    {"kind": "fire_exit", "x": 1.5, "y": 53, "label": "Fire exit A"},
    {"kind": "fire_exit", "x": 98.5, "y": 71, "label": "Fire exit B"},
    {"kind": "help_point", "x": 60.6, "y": 78, "label": "Counter: phone and first aid"},
    {"kind": "pa_zone", "zone": "zone_1", "x": 40, "y": 30},
]
ADDRESSES = {
    "Oadby Library": "Church Street\nOadby LE2 5AB",
    "Wigston Library": "Bull Head Street\nWigston LE18 1PA",
}


async def device_of(
    session: aiohttp.ClientSession, auth: dict[str, str], slug: str
) -> str:
    """Return a branch's device id (the actions' `branch`), from its entrance door."""
    async with session.post(
        "/api/template",
        json={"template": f"{{{{ device_id('lock.{slug}_entrance_door') }}}}"},
        headers=auth,
    ) as resp:
        return await resp.text()


async def long_lived_token(session: aiohttp.ClientSession, auth: dict[str, str]) -> str:
    """Return a long-lived access token of the demo administrator (for the walk's actions)."""
    async with session.ws_connect("/api/websocket") as ws:
        await ws.receive_json()  # auth_required
        await ws.send_json(
            {"type": "auth", "access_token": auth["Authorization"].split()[1]}
        )
        await ws.receive_json()  # auth_ok
        await ws.send_json(
            {
                "id": 1,
                "type": "auth/long_lived_access_token",
                "client_name": "Smart Library browser test",
                "lifespan": 1,
            }
        )
        answer = await ws.receive_json()
    if not answer.get("success"):
        raise SystemExit(f"No long-lived token: {answer}")
    return str(answer["result"])


async def upload(
    session: aiohttp.ClientSession, auth: dict[str, str], path: Path
) -> str:
    """Upload a file as the actions' file selector does (/api/file_upload); return its id."""
    form = aiohttp.FormData()
    form.add_field(
        "file", path.read_bytes(), filename=path.name, content_type="image/svg+xml"
    )
    async with session.post("/api/file_upload", data=form, headers=auth) as resp:
        if resp.status != 200:
            raise SystemExit(f"Upload of {path.name} refused: {resp.status}")
        return str((await resp.json())["file_id"])


async def prepare_pages(
    session: aiohttp.ClientSession, auth: dict[str, str], entry_id: str
) -> dict[str, Any]:
    """Give Shire Libraries' branches their page and floor plan; PINs for the walk's members.

    Return what tests/browser/induction.mjs needs: the public addresses, the members, each
    branch's device and mode override, and a token for the administrator's actions.
    """
    for card in (INDUCTION_CARD, LOCKOUT_CARD):
        await _call(
            session,
            auth,
            "/api/services/smart_library/set_pin?return_response",
            {"config_entry_id": entry_id, "card": card, "pin": develop_setup.DEMO_PIN},
        )
    branches: dict[str, Any] = {}
    for name in COUNTY["Shire Libraries"]:
        slug = name.lower().replace(" ", "_")
        device = await device_of(session, auth, slug)
        answer = await _call(
            session,
            auth,
            "/api/services/smart_library/upload_floor_plan?return_response",
            {"branch": device, "file": await upload(session, auth, FLOOR_PLAN)},
        )
        await _call(
            session,
            auth,
            "/api/services/smart_library/set_floor_plan_markers?return_response",
            {"branch": device, "markers": MARKERS},
        )
        await _call(
            session,
            auth,
            "/api/services/smart_library/set_branch_page?return_response",
            {"branch": device, "address": ADDRESSES[name]},
        )
        branches[name] = {
            "device": device,
            "page": answer["service_response"]["page"],
            "mode_override": f"select.{slug}_mode_override",
        }
    links = await _call(
        session,
        auth,
        "/api/services/smart_library/get_induction?return_response",
        {"config_entry_id": entry_id},
    )
    return {
        "service": links["service_response"]["links"]["service"],
        "induction": links["service_response"]["links"]["induction"],
        "config_entry_id": entry_id,
        "branches": branches,
        "members": {
            "new": {"card": INDUCTION_CARD, "pin": develop_setup.DEMO_PIN},
            "lockout": {"card": LOCKOUT_CARD, "pin": develop_setup.DEMO_PIN},
        },
        "token": await long_lived_token(session, auth),
    }


async def wait_for_branches(
    session: aiohttp.ClientSession,
    auth: dict[str, str],
    names: list[str],
    seconds: float = 60,
) -> None:
    """Wait until each named branch's entrance door answers."""
    wanted = {f"lock.{name.lower().replace(' ', '_')}_entrance_door" for name in names}
    deadline = time.monotonic() + seconds
    while True:
        async with session.get("/api/states", headers=auth) as resp:
            states = {s["entity_id"]: s["state"] for s in await resp.json()}
        missing = {e for e in wanted if states.get(e, "unavailable") == "unavailable"}
        if not missing:
            return
        if time.monotonic() > deadline:
            raise SystemExit(f"Branches not answering: {sorted(missing)}")
        await asyncio.sleep(0.5)


async def run(run_dir: Path) -> int:
    """Bring the stack up, describe it in stack.json, keep it up until told to stop."""
    started = time.monotonic()
    config = run_dir / "config"
    if config.exists():
        shutil.rmtree(config)
    simulators = {
        name: Simulator(name, run_dir) for names in COUNTY.values() for name in names
    }
    hass: HomeAssistantProcess | None = None
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    try:
        await asyncio.gather(*(s.wait_ready() for s in simulators.values()))
        hass = HomeAssistantProcess(config)
        (config / "configuration.yaml").write_text(CONFIGURATION)
        (config / "dashboards").symlink_to(REPO / "dashboards")
        session = await hass.start()
        entries = await add_county(session, hass.auth, simulators)
        await wait_loaded(session, hass.auth)
        await smart_all_day(
            session, hass.auth, entries["Shire Libraries"], "Oadby Library"
        )
        await wait_loaded(session, hass.auth)
        reasons = await attempts_at_the_door(
            session, hass.auth, entries["Shire Libraries"], "oadby_library"
        )
        pages = await prepare_pages(session, hass.auth, entries["Shire Libraries"])
        await wait_for_branches(
            session, hass.auth, [n for names in COUNTY.values() for n in names]
        )
        await add_staff_user(session, hass.auth)
        oadby = await device_of(session, hass.auth, "oadby_library")
        tablet = await prepare_tablet(
            session, hass.auth, entries["Shire Libraries"], TABLET_BRANCH
        )
        description = {
            "url": f"http://127.0.0.1:{hass.port}",
            "dashboard": "smart-library",
            "username": develop_setup.USER["username"],
            "password": develop_setup.USER["password"],
            # A member of staff (not an administrator) on duty.
            "staff": {k: STAFF[k] for k in ("name", "username", "password")},
            # Oadby's entrance reader: a member arriving asks through it, as a reader does.
            "reader": {
                "key": await reader_key(session, hass.auth, oadby),
                "card": develop_setup.DEMO_MEMBERS.splitlines()[1].split(",")[0],
                "pin": develop_setup.DEMO_PIN,
            },
            "services": COUNTY,
            "branches": {
                name: {
                    "path": name.lower().replace(" ", "-"),
                    "control_port": sim.control_port,
                }
                for name, sim in simulators.items()
            },
            "attempts": {"Oadby Library": reasons},  # at its entrance, in this order
            "tablet": tablet,  # tests/browser/tablet.mjs
            "pages": pages,  # the online induction's walk (induction.mjs)
            "config_dir": str(config),
            "hass_log": str(config / "hass.log"),
            "seconds_to_start": round(time.monotonic() - started, 1),
        }
        ready = run_dir / "stack.json"
        ready.with_suffix(".tmp").write_text(json.dumps(description, indent=2))
        ready.with_suffix(".tmp").replace(ready)
        sys.stdout.write(f"Stack up in {description['seconds_to_start']} s\n")
        sys.stdout.flush()
        await _wait_for_end(stop, run_dir / "stop")
        return 0
    finally:
        if hass is not None and hass.process is not None:
            how = await hass.stop(seconds=30)
            sys.stdout.write(f"Home Assistant stopped ({how})\n")
        for sim in simulators.values():
            sim.stop()


async def _wait_for_end(stop: asyncio.Event, stop_file: Path) -> None:
    """Wait until the caller creates the stop file, or a stop signal comes."""
    while not stop.is_set() and not stop_file.exists():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 0.2)


def main() -> int:
    """Parse the arguments and run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, required=True, help="where to run and log")
    args = parser.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    (args.dir / "stack.json").unlink(missing_ok=True)
    (args.dir / "stop").unlink(missing_ok=True)
    return asyncio.run(run(args.dir.resolve()))


if __name__ == "__main__":
    sys.exit(main())
