"""A dead branch costs nothing: one silent controller holds up neither the service nor its own answers.

The silent controller is a simulated building that takes connections and requests and never
answers (a hung controller, a pulled cable): every request to it costs the whole timeout. What
is measured here is behaviour, not time (bench/safety prints the times): how many requests
reach the silent controller, and what a member at its door is told.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import date, timedelta
from typing import Any

from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import ATTR_ENTITY_ID, ATTR_OPTION, CONF_NAME
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.smart_library.const import (
    BACKEND_LOCAL,
    CONF_BACKEND,
    DOMAIN,
    SUBENTRY_BRANCH,
)
from simulator.building import BuildingTiming, SimulatedBuilding
from tests.components.conftest import branch_data

CARD, PIN = "21234000000001", "80417263"


@pytest.fixture
async def silent(socket_enabled: None) -> AsyncGenerator[SimulatedBuilding]:
    """Serve a second building whose controller takes requests and never answers."""
    sim = SimulatedBuilding(timing=BuildingTiming(tick=0.02, door_open_delay=0.05))
    await sim.start("127.0.0.1", 0)
    sim.silent = True
    yield sim
    await sim.stop()


async def _call(hass: HomeAssistant, service: str, data: dict[str, Any]) -> Any:
    return await hass.services.async_call(
        DOMAIN, service, data, blocking=True, return_response=True
    )


def _device(hass: HomeAssistant, entry: MockConfigEntry, branch: str) -> str:
    device = dr.async_get(hass).async_get_device_by_identifier(
        (DOMAIN, branch), entry.entry_id
    )
    assert device is not None
    return device.id


async def test_a_silent_branch_holds_up_nothing(
    hass: HomeAssistant, building: SimulatedBuilding, silent: SimulatedBuilding
) -> None:
    """A service with a good and a silent branch: the good one works, the silent one answers at once.

    The set-up waits for no silent controller: its first poll runs in the background (later
    polls go on trying), no door write is sent. Once that request has timed out, a member granted at the silent
    branch's door is told `controller_unreachable` without one more request being sent; when
    the controller answers a poll again, the same request opens the door.
    """
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Shire Libraries",
        data={CONF_NAME: "Shire Libraries", CONF_BACKEND: BACKEND_LOCAL},
        subentries_data=[
            {
                "data": branch_data(building),
                "subentry_id": "branch_oadby",
                "subentry_type": SUBENTRY_BRANCH,
                "title": "Oadby Library",
                "unique_id": None,
            },
            {
                "data": branch_data(silent),
                "subentry_id": "branch_wigston",
                "subentry_type": SUBENTRY_BRANCH,
                "title": "Wigston Library",
                "unique_id": None,
            },
        ],
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    # Loaded while the silent branch's first poll is still waiting for its answer.
    assert entry.state is ConfigEntryState.LOADED
    assert entry.runtime_data.branches["branch_wigston"].coordinator.data is None
    assert hass.states.get("lock.wigston_library_entrance_door").state == "unavailable"
    await hass.async_block_till_done(wait_background_tasks=True)

    # Set-up went on without it: the first poll started in the background, and the set-up itself
    # sent the silent controller nothing else (polls go on trying, once a second: no door write).
    assert 1 <= silent.heard <= 3
    assert silent.requests == 0  # (never answered)
    assert silent.writes == []
    assert hass.states.get("lock.oadby_library_entrance_door").state != "unavailable"
    assert hass.states.get("lock.wigston_library_entrance_door").state == "unavailable"
    dead = entry.runtime_data.branches["branch_wigston"].coordinator.controller
    assert dead.is_down("main")

    today = dt_util.now().date()
    await _call(
        hass,
        "enroll_member",
        {
            "card": CARD,
            "birth_date": date(1970, 1, 1),
            "card_expiry": today + timedelta(days=365),
            "induction_date": today,
            "pin": PIN,
        },
    )
    for branch in ("oadby_library", "wigston_library"):
        await hass.services.async_call(
            "select",
            "select_option",
            {ATTR_ENTITY_ID: f"select.{branch}_mode_override", ATTR_OPTION: "smart"},
            blocking=True,
        )
    await hass.async_block_till_done(wait_background_tasks=True)
    heard = silent.heard

    wigston = _device(hass, entry, "branch_wigston")
    answer = await _call(
        hass, "request_access", {"branch": wigston, "card": CARD, "pin": PIN}
    )
    assert (answer["granted"], answer["reason"]) == (False, "controller_unreachable")
    assert (
        silent.heard == heard
    )  # refused at once: not one request (nor connection) for it

    # The good branch is not held up by it.
    oadby = _device(hass, entry, "branch_oadby")
    answer = await _call(
        hass, "request_access", {"branch": oadby, "card": CARD, "pin": PIN}
    )
    assert answer["granted"] is True
    assert ("door.entrance.pulse", 5) in building.writes

    # The controller answers again: the next poll reads it, and its door opens.
    silent.silent = False
    coordinator = entry.runtime_data.branches["branch_wigston"].coordinator
    await coordinator.async_refresh()
    assert not dead.is_down("main")
    answer = await _call(
        hass, "request_access", {"branch": wigston, "card": CARD, "pin": PIN}
    )
    assert answer["granted"] is True
    assert ("door.entrance.pulse", 5) in silent.writes
