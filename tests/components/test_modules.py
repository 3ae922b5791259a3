"""One I/O module away never blinds another: a Moxa E1214 (doors, fire) + E1212 (lights, PCs)."""

from __future__ import annotations

from datetime import timedelta
import logging
from typing import Any

from homeassistant.components.lock import (
    DOMAIN as LOCK_DOMAIN,
    SERVICE_LOCK,
    SERVICE_UNLOCK,
    LockState,
)
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import (
    ATTR_ENTITY_ID,
    CONF_HOST,
    CONF_NAME,
    CONF_PORT,
    STATE_OFF,
    STATE_ON,
    STATE_UNAVAILABLE,
)
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)

from custom_components.smart_library.const import (
    CONF_BACKEND,
    CONF_MODULES,
    CONF_POINT_MAP,
    CONF_RELEASE_SECONDS,
    CONF_SCHEDULE,
    CONF_UNIT,
    DOMAIN,
    SUBENTRY_BRANCH,
)
from custom_components.smart_library.engine.building.schedule import Schedule
from simulator.building import SimulatedBuilding
from tests.components.conftest import closed_port
from tests.garbled_modbus import garbled_server

OURS = ("custom_components.smart_library", "pymodbus")
B = "wigston_library"
FIRE = f"binary_sensor.{B}_fire_alarm"
ENTRANCE = f"lock.{B}_entrance_door"
ZONE_1 = f"light.{B}_lighting_zone_1"  # on the E1214
ZONE_3 = f"light.{B}_lighting_zone_3"  # on the E1212
PCS = f"switch.{B}_public_pcs_1"  # on the E1212
CONNECTED = f"binary_sensor.{B}_controller_connected"


def _service(branch_id: str, title: str, data: dict[str, Any]) -> MockConfigEntry:
    """Return a library service with one branch."""
    return MockConfigEntry(
        domain=DOMAIN,
        title="Shire",
        data={CONF_NAME: "Shire", CONF_BACKEND: "local"},
        subentries_data=[
            {
                "data": {
                    CONF_HOST: "127.0.0.1",
                    CONF_UNIT: 1,
                    CONF_RELEASE_SECONDS: 5,
                    CONF_SCHEDULE: Schedule().to_dict(),
                }
                | data,
                "subentry_id": branch_id,
                "subentry_type": SUBENTRY_BRANCH,
                "title": title,
                "unique_id": None,
            }
        ],
    )


async def _set_up(hass: HomeAssistant, e1214_port: int, e1212_port: int) -> None:
    entry = _service(
        "branch_wigston",
        "Wigston Library",
        {
            CONF_PORT: e1214_port,
            CONF_POINT_MAP: "moxa_e1214_e1212",
            CONF_MODULES: {
                "e1212": {CONF_HOST: "127.0.0.1", CONF_PORT: e1212_port, CONF_UNIT: 1}
            },
        },
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)


async def _poll(hass: HomeAssistant) -> None:
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=2))
    await hass.async_block_till_done(wait_background_tasks=True)


def _state(hass: HomeAssistant, entity_id: str) -> str:
    state = hass.states.get(entity_id)
    assert state is not None, entity_id
    return state.state


async def test_lighting_module_away_fire_alarm_still_releases_doors(
    hass: HomeAssistant, moxa: SimulatedBuilding, caplog: pytest.LogCaptureFixture
) -> None:
    """The E1212 away: the E1214's fire alarm is on, its doors held released, its locks usable."""
    await _set_up(hass, moxa.ports["e1214"], closed_port())
    assert _state(hass, ZONE_3) == STATE_UNAVAILABLE
    assert _state(hass, PCS) == STATE_UNAVAILABLE
    assert _state(hass, ZONE_1) == STATE_OFF  # the E1214's own zone is read
    assert _state(hass, CONNECTED) == STATE_OFF  # not every module answers
    assert hass.states.get(CONNECTED).attributes["modules"] == {
        "e1214": "ok",
        "e1212": "connection_lost",
    }
    assert _state(hass, ENTRANCE) == LockState.LOCKED

    # The locks are usable: hold released, then lock again.
    await hass.services.async_call(
        LOCK_DOMAIN, SERVICE_UNLOCK, {ATTR_ENTITY_ID: ENTRANCE}, blocking=True
    )
    assert moxa.get("door.entrance.hold") is True
    await hass.services.async_call(
        LOCK_DOMAIN, SERVICE_LOCK, {ATTR_ENTITY_ID: ENTRANCE}, blocking=True
    )
    assert moxa.get("door.entrance.hold") is False

    moxa.raise_fire_alarm()
    await _poll(hass)
    assert _state(hass, FIRE) == STATE_ON
    assert moxa.get("door.entrance.hold") is True
    assert moxa.get("door.meeting_room.hold") is True
    assert _state(hass, ENTRANCE) == LockState.OPEN or (
        _state(hass, ENTRANCE) == LockState.UNLOCKED
    )
    with pytest.raises(HomeAssistantError) as err:
        await hass.services.async_call(
            LOCK_DOMAIN, SERVICE_LOCK, {ATTR_ENTITY_ID: ENTRANCE}, blocking=True
        )
    assert err.value.translation_key == "fire_alarm_no_lock"
    assert moxa.get("door.entrance.hold") is True
    assert not [r for r in caplog.records if r.exc_info and r.name.startswith(OURS)]


async def test_door_module_away_lights_still_work(
    hass: HomeAssistant, moxa: SimulatedBuilding
) -> None:
    """The reverse: the E1214 away leaves the E1212's lights and PCs usable.

    The fire alarm and the doors of the missing module are unavailable, never "off" (all clear).
    """
    await _set_up(hass, closed_port(), moxa.ports["e1212"])
    assert _state(hass, FIRE) == STATE_UNAVAILABLE
    assert _state(hass, ENTRANCE) == STATE_UNAVAILABLE
    assert _state(hass, ZONE_1) == STATE_UNAVAILABLE
    assert _state(hass, ZONE_3) == STATE_OFF
    await hass.services.async_call(
        "light", "turn_on", {ATTR_ENTITY_ID: ZONE_3}, blocking=True
    )
    assert moxa.get("light.zone_3") is True
    assert _state(hass, ZONE_3) == STATE_ON


async def test_module_lost_mid_run_is_logged_once(
    hass: HomeAssistant, moxa: SimulatedBuilding, caplog: pytest.LogCaptureFixture
) -> None:
    """The E1212 goes mid-run: one warning naming it; the E1214 goes on being read."""
    await _set_up(hass, moxa.ports["e1214"], moxa.ports["e1212"])
    caplog.set_level(logging.INFO, logger="custom_components.smart_library")
    assert _state(hass, ZONE_3) == STATE_OFF
    await moxa._servers.pop("e1212").shutdown()  # noqa: SLF001  # one module's cable pulled
    caplog.clear()
    for _ in range(4):
        await _poll(hass)
    assert _state(hass, ZONE_3) == STATE_UNAVAILABLE
    moxa.raise_fire_alarm()
    await _poll(hass)
    assert _state(hass, FIRE) == STATE_ON
    assert moxa.get("door.entrance.hold") is True
    warnings = [
        r.getMessage()
        for r in caplog.records
        if r.levelno >= logging.WARNING and "controller of" in r.getMessage()
    ]
    assert len(warnings) == 1, warnings  # the module lost, once
    assert "Wigston Library (e1212)" in warnings[0]
    assert "cannot be reached" in warnings[0]
    assert any(
        r.levelno == logging.WARNING and r.getMessage().startswith("Fire alarm at")
        for r in caplog.records
    )
    assert not [
        r
        for r in caplog.records
        if r.levelno >= logging.ERROR and r.name.startswith(OURS)
    ]


async def test_garbled_controller_is_a_translated_error_not_a_traceback(
    hass: HomeAssistant, socket_enabled: None, caplog: pytest.LogCaptureFixture
) -> None:
    """A controller answering short reads: entities unavailable, a translated reason, no traceback."""
    server, port = await garbled_server(registers=1)
    try:
        entry = _service(
            "branch_garbled",
            "Garbled Library",
            {CONF_PORT: port, CONF_POINT_MAP: "reference"},
        )
        entry.add_to_hass(hass)
        await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
        # No branch answers: the service is not ready, with the translated reason.
        assert entry.state is ConfigEntryState.SETUP_RETRY
        assert entry.reason is not None
        for _ in range(3):
            async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=30))
            await hass.async_block_till_done(wait_background_tasks=True)
        assert await hass.config_entries.async_unload(entry.entry_id)
        await hass.async_block_till_done(wait_background_tasks=True)
        # Said once, in words; no traceback above debug, no PointMapError escaping the poll.
        loud = [r for r in caplog.records if r.levelno >= logging.INFO]
        assert not [r for r in loud if r.exc_info or "Traceback" in r.getMessage()]
        assert "PointMapError" not in caplog.text
        warnings = [r.getMessage() for r in loud if r.levelno >= logging.WARNING]
        said = [
            w for w in warnings if w.startswith("The controller of Garbled Library")
        ]
        assert said  # once per set-up attempt, in words
        assert all(
            w.startswith(
                "The controller of Garbled Library gives answers that cannot be used "
                "(short read: "
            )
            for w in said
        )
    finally:
        server.close()
        server.close_clients()
        await server.wait_closed()


async def test_garbled_module_beside_a_good_one(
    hass: HomeAssistant, moxa: SimulatedBuilding, caplog: pytest.LogCaptureFixture
) -> None:
    """A garbled E1212 beside a good E1214: its entities unavailable, the reason translated."""
    server, port = await garbled_server(registers=1)
    try:
        await _set_up(hass, moxa.ports["e1214"], port)
        assert _state(hass, ZONE_3) == STATE_UNAVAILABLE
        assert _state(hass, ZONE_1) == STATE_OFF
        assert hass.states.get(CONNECTED).attributes["modules"]["e1212"] == (
            "malformed_answer"
        )
        for _ in range(3):
            await _poll(hass)
        assert not [
            r for r in caplog.records if r.levelno >= logging.INFO and r.exc_info
        ]
    finally:
        server.close()
        server.close_clients()
        await server.wait_closed()
