"""A real Home Assistant process, killed with SIGKILL: no door is left released, no change is lost.

Home Assistant runs here as users run it (`python -m homeassistant -c <config>`), set up through its
REST API exactly as `scripts/develop` does it (onboarding, then the config flows), and talks over TCP to
the simulated building on 127.0.0.1. Then it is killed outright, the way a power cut or the kernel's
OOM killer ends it: no shutdown code runs.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
import csv
import io
from pathlib import Path
import time
from typing import Any

import pytest

from scripts import develop_setup
from scripts.hass_process import HomeAssistantProcess
from simulator.building import SimulatedBuilding

CARD = "20000000000001"  # the first of develop_setup's demo members
ENTRANCE = "lock.demo_branch_entrance_door"
OVERRIDE = "select.demo_branch_mode_override"


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
        # Home Assistant writes its own registry of config entries a moment after a change; a
        # library that has been running for more than that moment has it on disk.
        entries = instance.config / ".storage" / "core.config_entries"
        assert await _wait_for(
            lambda: entries.exists() and "Demo Branch" in entries.read_text(), 30
        )
        yield instance
    finally:
        if instance.process is not None:
            await instance.kill()


async def _wait_for(condition: Any, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.05)
    return True


async def test_a_killed_home_assistant_leaves_no_door_released(
    home_assistant: HomeAssistantProcess, building: SimulatedBuilding
) -> None:
    """Killed one second into a 5-second release, the entrance still relocks on the controller's time."""
    # Whatever the hour, the branch closed: no door is held released by staffed hours.
    await home_assistant.action(
        "select", "select_option", {"entity_id": OVERRIDE, "option": "closed"}
    )
    assert await _wait_for(lambda: not building.get("door.entrance.hold"), 5)
    await home_assistant.action("lock", "open", {"entity_id": ENTRANCE})
    released_at = time.monotonic()
    assert building.get("door.entrance.released") is True
    await asyncio.sleep(1)
    await home_assistant.kill()
    requests = building.requests
    assert building.get("door.entrance.released") is True  # killed mid-pulse

    assert await _wait_for(lambda: not building.get("door.entrance.released"), 8)
    assert (
        4.5 < time.monotonic() - released_at < 7
    )  # the 5 s the branch was set up with
    assert building.requests == requests  # relocked with nobody left to tell it to


async def test_an_acknowledged_change_survives_kill_9_of_home_assistant(
    home_assistant: HomeAssistantProcess,
) -> None:
    """A member barred, acknowledged, then Home Assistant killed: barred after it starts again."""
    await home_assistant.action(
        "smart_library",
        "bar_member",
        {"card": CARD, "reason": "Damage to stock", "review_date": "2027-06-01"},
    )
    await home_assistant.kill()  # straight after the acknowledgement

    session = await home_assistant.start()
    await develop_setup.branch_states(session, home_assistant.auth)  # loaded again
    # Open to members whatever the hour (closed hours refuse every card before its PIN).
    await home_assistant.action(
        "select", "select_option", {"entity_id": OVERRIDE, "option": "smart"}
    )
    # The member's PIN (hash and pepper) and the bar are both there: the door says "barred".
    decision = await develop_setup.try_the_door(session, home_assistant.auth)
    assert decision["reason"] == "barred"
    assert decision["granted"] is False
    exported = await home_assistant.action("smart_library", "export_members", {})
    rows = {row["card"]: row for row in csv.DictReader(io.StringIO(exported["csv"]))}
    assert rows[CARD]["restriction"] == "barred"
    assert rows[CARD]["review_date"] == "2027-06-01"
    assert rows["20000000000002"]["restriction"] == "none"  # the others as they were


@pytest.mark.usefixtures("socket_enabled")
async def test_stopped_as_soon_as_it_answers_home_assistant_stops(
    tmp_path: Path,
) -> None:
    """Asked to stop the moment its API answers, Home Assistant does stop, by that request.

    Its HTTP API answers while it is still setting up, and a stop then (by the action or by
    SIGTERM) is ignored: `scripts/develop --check` hung that way. The scripts' stop waits until
    it is running; then the action alone ends the process, with no signal needed.
    """
    instance = HomeAssistantProcess(tmp_path / "config")
    await instance.start()
    process = instance.process
    assert process is not None
    assert await instance.stop(seconds=30) == "action", instance.log()
    assert process.returncode == 0
