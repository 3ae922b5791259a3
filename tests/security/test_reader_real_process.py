"""The concurrent PIN attack through the reader endpoint of a real Home Assistant process.

Home Assistant runs as users run it (scripts/hass_process.py), set up through its REST API as
`scripts/develop` does it, against the simulated building over TCP. An admin makes a reader key
with `smart_library.create_reader_key`; then 50 requests with wrong PINs for one member's card,
the right PIN the 21st, are sent at once over HTTP with that key. Before reader keys and the
atomic lock-out: 29 wrong PINs evaluated, then granted and the door pulsed.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncGenerator
from http import HTTPStatus
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from scripts import develop_setup
from scripts.hass_process import HomeAssistantProcess
from simulator.building import SimulatedBuilding

ACCESS = "/api/smart_library/access"
HEADER = "X-Reader-Key"
CARD = "20000000000001"  # develop_setup's first demo member, PIN develop_setup.DEMO_PIN
OTHER_CARD = "20000000000002"
OVERRIDE = "select.demo_branch_mode_override"
ENTRANCE = "lock.demo_branch_entrance_door"
GUESSES, RIGHT = 50, 20  # the right PIN is the 21st sent
LOCKOUT_ATTEMPTS = 5  # the library service's default


def releases(building: SimulatedBuilding) -> int:
    """Return how many timed releases of the entrance the controller was given."""
    return sum(
        1 for key, value in building.writes if key == "door.entrance.pulse" and value
    )


@pytest.fixture
async def home_assistant(
    tmp_path: Path, building: SimulatedBuilding
) -> AsyncGenerator[HomeAssistantProcess]:
    """Home Assistant running with the demo library service, its branch and its members."""
    instance = HomeAssistantProcess(tmp_path / "config")
    session = await instance.start()
    try:
        await develop_setup.add_demo_library(session, instance.auth, building.port)
        states = await develop_setup.branch_states(session, instance.auth)
        assert any(s["entity_id"] == ENTRANCE for s in states), instance.log()
        await develop_setup.add_demo_members(session, instance.auth)
        yield instance
    finally:
        if instance.process is not None:
            await instance.stop()


async def open_branch(instance: HomeAssistantProcess) -> None:
    """Open the branch to members whatever the hour (smart, else staffed)."""
    assert instance.session is not None
    for option in ("smart", "staffed"):
        async with instance.session.post(
            "/api/services/select/select_option",
            json={"entity_id": OVERRIDE, "option": option},
            headers=instance.auth,
        ) as resp:
            if resp.status == HTTPStatus.OK:
                return
    pytest.fail(f"Could not open the branch\n{instance.log()}")


async def post(
    session: aiohttp.ClientSession, headers: dict[str, str], body: dict[str, Any]
) -> tuple[int, dict[str, Any]]:
    """POST to the reader endpoint; return the status and the JSON reply."""
    async with session.post(ACCESS, json=body, headers=headers) as resp:
        return resp.status, await resp.json()


async def test_fifty_guesses_at_once_through_a_real_reader_endpoint(
    home_assistant: HomeAssistantProcess, building: SimulatedBuilding
) -> None:
    """Never granted, at most the lock-out's PINs evaluated; a token alone opens nothing; the key file is private."""
    session = home_assistant.session
    assert session is not None
    await open_branch(home_assistant)
    async with session.post(
        "/api/template",
        json={"template": f"{{{{ device_id('{ENTRANCE}') }}}}"},
        headers=home_assistant.auth,
    ) as resp:
        device = await resp.text()
    made = await home_assistant.action(
        "smart_library",
        "create_reader_key",
        {"branch": device, "doors": ["entrance"], "name": "Demo porch"},
    )
    reader = {HEADER: made["key"]}
    # Kept private to Home Assistant's user, as a digest: the key's secret is not in the file.
    stored = home_assistant.config / ".storage" / "smart_library.reader_keys"
    assert stored.stat().st_mode & 0o777 == 0o600
    assert made["key"].split(".", 1)[1] not in stored.read_text()
    assert made["id"] in stored.read_text()

    # An admin's token is not a reader key: 401, nothing happens.
    status, reply = await post(
        session,
        home_assistant.auth,
        {"card": OTHER_CARD, "pin": develop_setup.DEMO_PIN},
    )
    assert (status, reply["code"]) == (HTTPStatus.UNAUTHORIZED, "invalid_reader_key")
    assert releases(building) == 0
    # The key works: another member is let in (so "never granted" below means something).
    status, reply = await post(
        session, reader, {"card": OTHER_CARD, "pin": develop_setup.DEMO_PIN}
    )
    assert (status, reply["granted"]) == (HTTPStatus.OK, True), reply
    before = releases(building)

    async def guess(n: int) -> tuple[int, dict[str, Any]]:
        pin = develop_setup.DEMO_PIN if n == RIGHT else f"{9000 + n}"
        return await post(session, reader, {"card": CARD, "pin": pin})

    replies = await asyncio.gather(*(guess(n) for n in range(GUESSES)))
    reasons = Counter(reply.get("reason") for _, reply in replies)
    statuses = Counter(status for status, _ in replies)
    assert reasons["granted"] == 0, (reasons, home_assistant.log())
    assert releases(building) == before
    # A member's card: an evaluated PIN is wrong ("not_recognised" at the door); beyond the
    # lock-out it reads locked_out; the reader's throttle answers 429 reader_throttled.
    assert reasons["not_recognised"] <= LOCKOUT_ATTEMPTS, reasons
    assert set(statuses) <= {HTTPStatus.OK, HTTPStatus.TOO_MANY_REQUESTS}, statuses
    assert set(reasons) <= {"not_recognised", "locked_out", "reader_throttled"}
