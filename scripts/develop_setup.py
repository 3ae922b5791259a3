"""Onboard a fresh Home Assistant and add the demo library service and branch, over its REST API.

Run by scripts/develop inside the project's environment, once Home Assistant is up. Idempotent:
an onboarded instance is logged into, an existing service is kept. With --check it also verifies
that the branch's entities answer, prints them, and asks Home Assistant to stop (scripts/develop
then waits a bounded time before it signals the process). With --write-http-config it only writes
Home Assistant's HTTP settings into its storage (no `http:` YAML), before the first start.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path
import secrets
import sys
from typing import Any

import aiohttp

HTTP_HOST = "127.0.0.1"
HTTP_PORT = 8123
BASE = f"http://{HTTP_HOST}:{HTTP_PORT}"
CLIENT_ID = f"{BASE}/"
USER = {
    "name": "Demo",
    "username": "demo",
    "password": "demo-library",
    "language": "en",
}
SERVICE = {"name": "Demo Library Service", "backend": "local"}


def write_http_config(config: Path, port: int, host: str | None = HTTP_HOST) -> Path:
    """Write Home Assistant's HTTP server settings into its storage, before it starts.

    Since 2026.10 the http integration keeps its settings in `.storage/http` (a stable and a
    pending slot; `homeassistant/components/http/config.py`): an `http:` block in YAML is migrated
    once as a *pending* trial that reverts after 5 minutes unless promoted, raises a repair
    issue, and stops working in 2027.2. So the port (and the address, None = every interface) is
    written here as the confirmed (stable) settings, with the YAML migration marked done, through
    the integration's own schema and storage constants. Returns the file written.
    """
    from homeassistant.components.http import config as http_config  # noqa: PLC0415
    from homeassistant.helpers.storage import STORAGE_DIR  # noqa: PLC0415
    from homeassistant.util import dt as dt_util  # noqa: PLC0415

    wanted: dict[str, Any] = {"server_port": port}
    if host is not None:
        wanted["server_host"] = [host]
    stable = dict(http_config.HTTP_STORAGE_SCHEMA(wanted)) | {
        http_config.HTTP_CONFIG_CREATED_AT: dt_util.utcnow().isoformat(),
        http_config.HTTP_CONFIG_ERROR: None,
        http_config.HTTP_CONFIG_ERROR_MESSAGE: None,
    }
    path = config / STORAGE_DIR / http_config.STORAGE_KEY
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "version": http_config.STORAGE_VERSION,
        "minor_version": http_config.STORAGE_MINOR_VERSION,
        "key": http_config.STORAGE_KEY,
        "data": {
            http_config.KEY_STABLE: stable,
            http_config.KEY_PENDING: None,
            http_config.KEY_YAML_MIGRATION_DONE: True,
        },
    }
    path.write_text(json.dumps(document, indent=2))
    path.chmod(0o600)  # as Home Assistant keeps it (a private store)
    return path


def branch(port: int) -> dict[str, Any]:
    """Return the demo branch's form: the simulator on this machine."""
    return {
        "name": "Demo Branch",
        "host": "127.0.0.1",
        "port": port,
        "unit": 1,
        "point_map": "reference",
        "release_seconds": 5,
    }


async def wait_up(session: aiohttp.ClientSession, seconds: float = 120) -> None:
    """Wait until Home Assistant answers its onboarding endpoint."""
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        try:
            async with session.get("/api/onboarding") as resp:
                if resp.status in (200, 401, 404):
                    return
        except aiohttp.ClientError:
            pass
        if asyncio.get_running_loop().time() > deadline:
            raise SystemExit("Home Assistant did not come up")
        await asyncio.sleep(0.5)


async def token_for(session: aiohttp.ClientSession, code: str) -> str:
    """Exchange an authorisation code for an access token."""
    async with session.post(
        "/auth/token",
        data={"grant_type": "authorization_code", "code": code, "client_id": CLIENT_ID},
    ) as resp:
        resp.raise_for_status()
        return str((await resp.json())["access_token"])


async def onboard_or_login(session: aiohttp.ClientSession) -> str:
    """Onboard with the demo user the first time; log in afterwards. Return a token."""
    async with session.get("/api/onboarding") as resp:
        steps = await resp.json() if resp.status == 200 else []
    done = {step["step"] for step in steps if step.get("done")}
    if steps and "user" not in done:
        async with session.post(
            "/api/onboarding/users", json=USER | {"client_id": CLIENT_ID}
        ) as resp:
            resp.raise_for_status()
            token = await token_for(session, (await resp.json())["auth_code"])
        auth = {"Authorization": f"Bearer {token}"}
        for step, body in (
            ("core_config", {}),
            ("analytics", {}),
            (
                "integration",
                {"client_id": CLIENT_ID, "redirect_uri": f"{BASE}/?auth_callback=1"},
            ),
        ):
            if step not in done:
                async with session.post(
                    f"/api/onboarding/{step}", json=body, headers=auth
                ) as resp:
                    resp.raise_for_status()
        print("Onboarding done: user demo created", flush=True)
        return token
    async with session.post(
        "/auth/login_flow",
        json={
            "client_id": CLIENT_ID,
            "handler": ["homeassistant", None],
            "redirect_uri": CLIENT_ID,
        },
    ) as resp:
        flow = await resp.json()
    async with session.post(
        f"/auth/login_flow/{flow['flow_id']}",
        json={
            "username": USER["username"],
            "password": USER["password"],
            "client_id": CLIENT_ID,
        },
    ) as resp:
        result = await resp.json()
    if result.get("type") != "create_entry":
        raise SystemExit(f"Cannot log in as demo: {result}")
    return await token_for(session, result["result"])


async def add_demo_library(
    session: aiohttp.ClientSession, auth: dict[str, str], port: int
) -> None:
    """Add the library service and its demo branch through the real config flows."""
    async with session.get(
        "/api/config/config_entries/entry",
        params={"domain": "smart_library"},
        headers=auth,
    ) as resp:
        entries = await resp.json()
    if entries:
        entry_id = entries[0]["entry_id"]
    else:
        flows = "/api/config/config_entries/flow"
        flow = await flow_step(
            session,
            auth,
            flows,
            {"handler": "smart_library", "show_advanced_options": False},
        )
        result = await flow_step(session, auth, f"{flows}/{flow['flow_id']}", SERVICE)
        if result.get("type") != "create_entry":
            raise SystemExit(f"Could not add the library service: {result}")
        entry_id = result["result"]["entry_id"]
        print("Added library service 'Demo Library Service'", flush=True)
    async with session.get("/api/config/config_entries/entry", headers=auth) as resp:
        has_branch = any(
            e["entry_id"] == entry_id and e.get("num_subentries")
            for e in await resp.json()
        )
    if has_branch:
        return
    flows = "/api/config/config_entries/subentries/flow"
    flow = await flow_step(
        session,
        auth,
        flows,
        {"handler": [entry_id, "branch"], "show_advanced_options": False},
    )
    result = await flow_step(session, auth, f"{flows}/{flow['flow_id']}", branch(port))
    if result.get("type") != "create_entry":
        raise SystemExit(f"Could not add the demo branch: {result}")
    print("Added branch 'Demo Branch' (the simulator)", flush=True)


# The simulated library management system (python -m simulator.lms; scripts/develop runs it).
LMS_CONNECTION = {
    "host": "127.0.0.1",
    "tls": False,
    "verify_ssl": True,
    "username": "sip",
    "password": "sip-password",
    "institution": "DEMO",
    "encoding": "cp850",
}
LMS_POLICY = {
    "dialect": "evergreen",
    "refusing_flags": ["0", "4", "10", "11"],
    "require_birth_date": True,
    "offline_days": 7,
    "lms_timeout": 2.0,
}


async def flow_step(
    session: aiohttp.ClientSession, auth: dict[str, str], url: str, data: dict[str, Any]
) -> dict[str, Any]:
    """Start a flow or answer its step over REST; return Home Assistant's answer.

    An answer that is not a flow's (an error status, a message instead of a step) ends the run
    with what Home Assistant said and where to look, rather than a KeyError further on.
    """
    async with session.post(url, json=data, headers=auth) as resp:
        try:
            result = await resp.json(content_type=None)
        except ValueError:
            result = await resp.text()
    if resp.status == 200 and isinstance(result, dict) and "type" in result:
        return result
    raise SystemExit(
        f"Home Assistant answered POST {url} with {resp.status}: {result!r}.\n"
        "Its log says why (the integration may not have loaded). A real Home Assistant "
        "process needs the frontend and the always-loaded integrations' requirements: "
        "scripts/_env.sh's ensure_develop_deps installs them (scripts/develop and scripts/test "
        "run it)."
    )


async def add_lms_library(
    session: aiohttp.ClientSession,
    auth: dict[str, str],
    *,
    building_port: int,
    lms_port: int,
    name: str = "Demo LMS Service",
    branch_name: str = "LMS Branch",
    unit: int = 1,
    timeout: float = 2.0,
) -> str:
    """Add a library service on the simulated LMS (SIP2) and one branch, through the real flows.

    Return the service's entry id. The LMS is tried by the flow before anything is saved.
    """
    flows = "/api/config/config_entries/flow"
    flow = await flow_step(
        session,
        auth,
        flows,
        {"handler": "smart_library", "show_advanced_options": False},
    )
    url = f"{flows}/{flow['flow_id']}"
    await flow_step(session, auth, url, {"name": name, "backend": "sip2"})
    result = await flow_step(session, auth, url, LMS_CONNECTION | {"port": lms_port})
    if result.get("step_id") != "sip2_policy":
        raise SystemExit(f"Could not reach the simulated LMS: {result.get('errors')}")
    result = await flow_step(session, auth, url, LMS_POLICY | {"lms_timeout": timeout})
    if result.get("type") != "create_entry":
        raise SystemExit(f"Could not add the library service on its LMS: {result}")
    entry_id = str(result["result"]["entry_id"])
    flow = await flow_step(
        session,
        auth,
        "/api/config/config_entries/subentries/flow",
        {"handler": [entry_id, "branch"], "show_advanced_options": False},
    )
    result = await flow_step(
        session,
        auth,
        f"/api/config/config_entries/subentries/flow/{flow['flow_id']}",
        branch(building_port) | {"name": branch_name, "unit": unit},
    )
    if result.get("type") != "create_entry":
        raise SystemExit(f"Could not add the branch {branch_name!r}: {result}")
    print(
        f"Added library service {name!r} on the LMS at 127.0.0.1:{lms_port}", flush=True
    )
    return entry_id


DEMO_MEMBERS = """card,name,birth_date,card_expiry,induction_date
20000000000001,Ann Reader,1972-04-01,2028-12-31,2026-01-15
20000000000002,Bo Student,2009-02-01,2028-12-31,2026-03-01
20000000000003,Cy Newcomer,1990-07-07,2028-12-31,
"""
DEMO_PIN = "1234"


async def service(
    session: aiohttp.ClientSession,
    auth: dict[str, str],
    name: str,
    data: dict[str, Any],
) -> Any:
    """Call a smart_library action over REST and return its response."""
    async with session.post(
        f"/api/services/smart_library/{name}?return_response",
        json=data,
        headers=auth,
    ) as resp:
        resp.raise_for_status()
        return (await resp.json()).get("service_response")


async def add_demo_members(
    session: aiohttp.ClientSession, auth: dict[str, str]
) -> None:
    """Import three demo members (the first time) and give each the demo PIN."""
    if (await service(session, auth, "export_members", {}))["members"]:
        return
    report = await service(session, auth, "import_members", {"csv": DEMO_MEMBERS})
    for line in DEMO_MEMBERS.splitlines()[1:]:
        await service(
            session, auth, "set_pin", {"card": line.split(",")[0], "pin": DEMO_PIN}
        )
    print(f"Imported {report['taken']} demo members (PIN {DEMO_PIN})", flush=True)


async def entrance_device(session: aiohttp.ClientSession, auth: dict[str, str]) -> str:
    """Return the device id of the demo branch (the entrance door's device)."""
    async with session.post(
        "/api/template",
        json={"template": "{{ device_id('lock.demo_branch_entrance_door') }}"},
        headers=auth,
    ) as resp:
        resp.raise_for_status()
        return await resp.text()


async def demo_reader_key(
    session: aiohttp.ClientSession,
    auth: dict[str, str],
    device: str,
    key_file: Path | None = None,
) -> str:
    """Return a reader key for the demo branch's entrance (`X-Reader-Key`), made by the admin action.

    With `key_file`, the key saved there is reused while Home Assistant lists it as active, and
    a new one is saved there (mode 600) otherwise, so repeated runs do not pile keys up.
    """
    if key_file is not None and key_file.exists():
        saved = key_file.read_text().strip()
        listed = await service(session, auth, "list_reader_keys", {})
        if any(
            k["id"] == saved.split(".", 1)[0] and not k["revoked"]
            for k in listed["reader_keys"]
        ):
            return saved
    made = await service(
        session,
        auth,
        "create_reader_key",
        {
            "branch": device,
            "doors": ["entrance"],
            # names are unique among active keys: a lost key file must not block a new key
            "name": f"Demo entrance reader {secrets.token_hex(3)}",
        },
    )
    key = str(made["key"])
    if key_file is not None:
        key_file.touch(mode=0o600)
        key_file.write_text(f"{key}\n")
    return key


async def try_the_door(
    session: aiohttp.ClientSession,
    auth: dict[str, str],
    key_file: Path | None = None,
) -> dict[str, Any]:
    """Ask for the entrance with the first demo card over the readers' HTTP endpoint.

    As a door reader does: with a reader key (see demo_reader_key), not a user's token.
    """
    device = await entrance_device(session, auth)
    key = await demo_reader_key(session, auth, device, key_file)
    async with session.post(
        "/api/smart_library/access",
        json={"branch": device, "card": "20000000000001", "pin": DEMO_PIN},
        headers={"X-Reader-Key": key},
    ) as resp:
        resp.raise_for_status()
        result: dict[str, Any] = await resp.json()
        return result


async def branch_states(
    session: aiohttp.ClientSession, auth: dict[str, str], seconds: float = 30
) -> list[dict[str, Any]]:
    """Return the demo branch's entity states once they are available and its service loaded.

    A service's entities answer before its set-up is over, and until it is, its actions refuse
    its branches: both are waited for.
    """
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        async with session.get("/api/states", headers=auth) as resp:
            states = [s for s in await resp.json() if "demo_branch" in s["entity_id"]]
        async with session.get(
            "/api/config/config_entries/entry",
            params={"domain": "smart_library"},
            headers=auth,
        ) as resp:
            loaded = all(e["state"] == "loaded" for e in await resp.json())
        if states and all(s["state"] != "unavailable" for s in states) and loaded:
            return states
        if asyncio.get_running_loop().time() > deadline:
            return states
        await asyncio.sleep(0.5)


async def core_state(
    session: aiohttp.ClientSession, auth: dict[str, str]
) -> str | None:
    """Return Home Assistant's core state (NOT_RUNNING, STARTING, RUNNING, STOPPING…), or None."""
    try:
        async with session.get(
            "/api/config", headers=auth, timeout=aiohttp.ClientTimeout(total=10)
        ) as resp:
            if resp.status != 200:
                return None
            return str((await resp.json()).get("state"))
    except aiohttp.ClientError, TimeoutError:
        return None


async def stop_home_assistant(
    session: aiohttp.ClientSession, auth: dict[str, str], seconds: float = 60
) -> bool:
    """Ask Home Assistant to stop (its `homeassistant.stop` action); return True if it will.

    Home Assistant ignores a stop, by its action or by SIGTERM, while it is still setting up
    (state NOT_RUNNING, when its HTTP API already answers): a stop sent then left the process
    running for ever. So this first waits, at most `seconds`, for it to be RUNNING. Bounded
    throughout: the caller still waits for the process a bounded time, then signals it.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while (state := await core_state(session, auth)) != "RUNNING":
        if state in ("STOPPING", "FINAL_WRITE", "STOPPED"):
            return True
        if loop.time() > deadline:
            break
        await asyncio.sleep(0.2)
    try:
        async with session.post(
            "/api/services/homeassistant/stop",
            headers=auth,
            timeout=aiohttp.ClientTimeout(total=10),
        ) as resp:
            return resp.status == 200 and state == "RUNNING"
    except aiohttp.ClientError, TimeoutError:
        return False


async def main() -> int:
    """Set the instance up; with --check verify and stop it."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--check", action="store_true")
    parser.add_argument(
        "--port", type=int, default=5020, help="the simulator's Modbus port"
    )
    parser.add_argument(
        "--write-http-config",
        type=Path,
        metavar="CONFIG_DIR",
        help=f"only write Home Assistant's HTTP settings ({HTTP_HOST}:{HTTP_PORT}) into "
        "CONFIG_DIR/.storage, before it starts",
    )
    parser.add_argument(
        "--config",
        type=Path,
        help="Home Assistant's configuration folder: the demo reader key is kept there",
    )
    args = parser.parse_args()
    if args.write_http_config:
        write_http_config(args.write_http_config, HTTP_PORT)
        return 0
    async with aiohttp.ClientSession(
        base_url=BASE, timeout=aiohttp.ClientTimeout(total=60)
    ) as session:
        await wait_up(session)
        token = await onboard_or_login(session)
        auth = {"Authorization": f"Bearer {token}"}
        key_file = args.config / "demo_reader_key" if args.config else None
        try:
            return await set_up(session, auth, args.port, key_file, check=args.check)
        finally:
            if args.check and await stop_home_assistant(session, auth):
                print("Asked Home Assistant to stop (homeassistant.stop)", flush=True)


async def set_up(
    session: aiohttp.ClientSession,
    auth: dict[str, str],
    port: int,
    key_file: Path | None,
    *,
    check: bool,
) -> int:
    """Add the demo library, its members and a reader key; with `check`, verify; return the status."""
    await add_demo_library(session, auth, port)
    states = await branch_states(session, auth)
    await add_demo_members(session, auth)
    if not check:
        if key_file is not None:
            await demo_reader_key(
                session, auth, await entrance_device(session, auth), key_file
            )
        return 0
    for state in sorted(states, key=lambda s: s["entity_id"]):
        print(f"  {state['entity_id']:55} {state['state']}")
    ok = bool(states) and all(s["state"] != "unavailable" for s in states)
    print(
        f"{len(states)} entities of Demo Branch answer on the REST API"
        if ok
        else "FAILED"
    )
    decision = await try_the_door(session, auth, key_file)
    print(f"Card 20000000000001 at the entrance over HTTP: {decision}")
    return 0 if ok and decision.get("reason") in ("granted", "not_open") else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
