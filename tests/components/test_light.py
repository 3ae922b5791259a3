"""Lighting zones end to end: simulator -> coordinator -> entity -> action -> register -> simulator."""

from __future__ import annotations

from datetime import timedelta
import logging

from homeassistant.components.light import DOMAIN as LIGHT_DOMAIN
from homeassistant.const import (
    ATTR_ENTITY_ID,
    SERVICE_TURN_OFF,
    SERVICE_TURN_ON,
    STATE_OFF,
    STATE_ON,
    STATE_UNAVAILABLE,
)
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import device_registry as dr, entity_registry as er
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)

from custom_components.smart_library.const import DOMAIN
from simulator.building import SimulatedBuilding

OURS = ("custom_components.smart_library", "pymodbus")
ZONE_2 = "light.oadby_library_lighting_zone_2"


async def _poll(hass: HomeAssistant) -> None:
    """Let one poll of every branch happen (the scheduled one, then one for sure)."""
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=2))
    await hass.async_block_till_done(wait_background_tasks=True)
    for entry in hass.config_entries.async_entries(DOMAIN):
        for branch in entry.runtime_data.branches.values():
            await branch.coordinator.async_refresh()
    await hass.async_block_till_done(wait_background_tasks=True)


@pytest.mark.usefixtures("init_integration")
async def test_zones_are_entities_of_the_branch_device(
    hass: HomeAssistant,
    device_registry: dr.DeviceRegistry,
    entity_registry: er.EntityRegistry,
    mock_config_entry: MockConfigEntry,
) -> None:
    """Each lighting zone is a light of the branch's device, named after its zone."""
    for zone in (1, 2, 3):
        state = hass.states.get(f"light.oadby_library_lighting_zone_{zone}")
        assert state is not None
        assert state.state == STATE_OFF
        assert (
            state.attributes["friendly_name"] == f"Oadby Library Lighting zone {zone}"
        )
    entry = entity_registry.async_get(ZONE_2)
    assert entry is not None
    assert entry.unique_id == "branch_oadby_light.zone_2"
    assert entry.config_subentry_id == "branch_oadby"
    device = device_registry.async_get(entry.device_id or "")
    assert device is not None
    assert device.name == "Oadby Library"
    assert device.config_entry_id == mock_config_entry.entry_id
    assert device.config_subentry_id == "branch_oadby"


@pytest.mark.usefixtures("init_integration")
async def test_turn_on_and_off_writes_the_contactor(
    hass: HomeAssistant, building: SimulatedBuilding
) -> None:
    """Turning a zone on drives the controller's coil; the entity shows what the controller reads."""
    await hass.services.async_call(
        LIGHT_DOMAIN, SERVICE_TURN_ON, {ATTR_ENTITY_ID: ZONE_2}, blocking=True
    )
    assert building.get("light.zone_2") is True
    assert building.get("light.zone_1") is False
    assert hass.states.get(ZONE_2).state == STATE_ON

    await hass.services.async_call(
        LIGHT_DOMAIN, SERVICE_TURN_OFF, {ATTR_ENTITY_ID: ZONE_2}, blocking=True
    )
    assert building.get("light.zone_2") is False
    assert hass.states.get(ZONE_2).state == STATE_OFF


@pytest.mark.usefixtures("init_integration")
async def test_switched_at_the_panel_shows_after_a_poll(
    hass: HomeAssistant, building: SimulatedBuilding
) -> None:
    """A zone switched at the building's own panel shows in Home Assistant within one poll."""
    building.set("light.zone_3", True)
    await _poll(hass)
    assert hass.states.get("light.oadby_library_lighting_zone_3").state == STATE_ON


@pytest.mark.usefixtures("init_integration")
async def test_controller_lost_and_back(
    hass: HomeAssistant, building: SimulatedBuilding, caplog: pytest.LogCaptureFixture
) -> None:
    """While the controller is away the zones are unavailable; they come back within a poll.

    The loss is logged once, however many polls fail (nothing else warns: not pymodbus either),
    and the return once.
    """
    # As a user runs it: the integration's own logger not at debug (debug lets pymodbus speak).
    caplog.set_level(logging.INFO, logger="custom_components.smart_library")
    port = building.port
    await building.stop()
    caplog.clear()
    for _ in range(5):
        await _poll(hass)
        assert hass.states.get(ZONE_2).state == STATE_UNAVAILABLE
    warnings = [
        r.getMessage()
        for r in caplog.records
        # about the controller (an alarm's own alert lines and asyncio's notes aside)
        if r.levelno >= logging.WARNING and "controller of" in r.getMessage()
    ]
    assert len(warnings) == 1
    assert "cannot be reached" in warnings[0]

    building.set("light.zone_2", True)
    await building.start("127.0.0.1", port)
    # The client waits out its back-off before reconnecting: at most a few polls.
    for _ in range(5):
        await _poll(hass)
        if hass.states.get(ZONE_2).state != STATE_UNAVAILABLE:
            break
    assert hass.states.get(ZONE_2).state == STATE_ON
    back = [r for r in caplog.records if "answering again" in r.getMessage()]
    assert [r.levelno for r in back] == [logging.INFO]
    assert not [
        r
        for r in caplog.records
        if r.levelno >= logging.ERROR and r.name.startswith(OURS)
    ]


async def test_command_to_a_lost_controller_is_a_clear_error(
    hass: HomeAssistant, building: SimulatedBuilding, init_integration: MockConfigEntry
) -> None:
    """Switching a zone while the controller is away fails with a translated error."""
    await building.stop()
    with pytest.raises(HomeAssistantError) as err:
        await hass.services.async_call(
            LIGHT_DOMAIN, SERVICE_TURN_ON, {ATTR_ENTITY_ID: ZONE_2}, blocking=True
        )
    assert err.value.translation_key == "write_connection_lost"
    assert str(err.value).startswith(
        "The command did not reach the controller of Oadby Library: it cannot be reached"
    )


async def test_unique_ids_survive_a_restart(
    hass: HomeAssistant,
    entity_registry: er.EntityRegistry,
    init_integration: MockConfigEntry,
) -> None:
    """Reloading the service keeps every entity's id (and so its history and automations)."""
    before = {
        e.unique_id: e.entity_id
        for e in er.async_entries_for_config_entry(
            entity_registry, init_integration.entry_id
        )
    }
    assert await hass.config_entries.async_reload(init_integration.entry_id)
    await hass.async_block_till_done()
    after = {
        e.unique_id: e.entity_id
        for e in er.async_entries_for_config_entry(
            entity_registry, init_integration.entry_id
        )
    }
    assert after == before
    assert len(before) > 20
    assert hass.states.get(ZONE_2).state == STATE_OFF
