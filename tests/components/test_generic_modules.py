"""A branch wired to generic I/O modules: two Moxa ioLogik modules, each its own Modbus server."""

from __future__ import annotations

import asyncio

from homeassistant.components.lock import DOMAIN as LOCK_DOMAIN, SERVICE_OPEN, LockState
from homeassistant.config_entries import SOURCE_USER
from homeassistant.const import ATTR_ENTITY_ID, CONF_HOST, CONF_NAME, CONF_PORT
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.smart_library.const import (
    CONF_BACKEND,
    CONF_MODULES,
    CONF_POINT_MAP,
    CONF_RELEASE_SECONDS,
    CONF_UNIT,
    DOMAIN,
    SUBENTRY_BRANCH,
)
from simulator.building import SimulatedBuilding
from tests.components.conftest import closed_port


async def test_add_branch_asks_for_each_module(
    hass: HomeAssistant, moxa: SimulatedBuilding
) -> None:
    """After the first module, the flow asks where the second is, and tries it before saving."""
    entry = MockConfigEntry(
        domain=DOMAIN, title="Shire", data={CONF_NAME: "Shire", CONF_BACKEND: "local"}
    )
    entry.add_to_hass(hass)
    await hass.config_entries.async_setup(entry.entry_id)
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, SUBENTRY_BRANCH), context={"source": SOURCE_USER}
    )
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        {
            CONF_NAME: "Wigston Library",
            CONF_HOST: "127.0.0.1",
            CONF_PORT: moxa.ports["e1214"],
            CONF_UNIT: 1,
            CONF_POINT_MAP: "moxa_e1214_e1212",
            CONF_RELEASE_SECONDS: 5,
        },
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "module"
    assert result["description_placeholders"]["module"] == "e1212"

    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        {CONF_HOST: "127.0.0.1", CONF_PORT: closed_port(), CONF_UNIT: 1},
    )
    assert result["errors"] == {"base": "cannot_connect"}

    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        {CONF_HOST: "127.0.0.1", CONF_PORT: moxa.ports["e1212"], CONF_UNIT: 1},
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    (subentry,) = entry.subentries.values()
    assert subentry.data[CONF_MODULES] == {
        "e1212": {CONF_HOST: "127.0.0.1", CONF_PORT: moxa.ports["e1212"], CONF_UNIT: 1}
    }

    # Entities of what the modules carry, and nothing they lack (no PA player, no counter).
    states = {s.entity_id for s in hass.states.async_all() if "wigston" in s.entity_id}
    assert "lock.wigston_library_entrance_door" in states
    assert "light.wigston_library_lighting_zone_3" in states  # on the second module
    assert "switch.wigston_library_public_pcs_2" in states
    assert not any(e.startswith("media_player.") for e in states)
    assert "sensor.wigston_library_people_inside" not in states
    assert "sensor.wigston_library_mode" in states
    assert "binary_sensor.wigston_library_entrance_door_forced" not in states

    # A door on a pulse-mode relay: one write, the module reverts the relay itself.
    await hass.services.async_call(
        LOCK_DOMAIN,
        SERVICE_OPEN,
        {ATTR_ENTITY_ID: "lock.wigston_library_entrance_door"},
        blocking=True,
    )
    assert moxa.writes == [("door.entrance.pulse", True)]
    assert (
        hass.states.get("lock.wigston_library_entrance_door").state == LockState.OPENING
    )
    await asyncio.sleep(0.7)
    assert moxa.get("door.entrance.pulse") is False
