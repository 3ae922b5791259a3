"""Every entity family of a branch, against the simulated building over real TCP."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from unittest.mock import patch

from homeassistant.components.lock import (
    DOMAIN as LOCK_DOMAIN,
    SERVICE_LOCK,
    SERVICE_OPEN,
    SERVICE_UNLOCK,
    LockState,
)
from homeassistant.components.media_player import (
    ATTR_MEDIA_CONTENT_ID,
    ATTR_MEDIA_CONTENT_TYPE,
    ATTR_MEDIA_TITLE,
    ATTR_MEDIA_VOLUME_LEVEL,
    DOMAIN as MP_DOMAIN,
    SERVICE_PLAY_MEDIA,
    SERVICE_VOLUME_SET,
    MediaPlayerState,
)
from homeassistant.components.switch import DOMAIN as SWITCH_DOMAIN
from homeassistant.const import (
    ATTR_ENTITY_ID,
    SERVICE_MEDIA_STOP,
    SERVICE_TURN_OFF,
    SERVICE_TURN_ON,
    STATE_OFF,
    STATE_ON,
    STATE_UNAVAILABLE,
    Platform,
)
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import entity_registry as er
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
    snapshot_platform,
)
from pytest_homeassistant_custom_component.typing import WebSocketGenerator
from syrupy.assertion import SnapshotAssertion

from custom_components.smart_library.const import DOMAIN
from simulator.building import SimulatedBuilding

ENTRANCE = "lock.oadby_library_entrance_door"
MEETING = "lock.oadby_library_meeting_room_door"
FIRE = "binary_sensor.oadby_library_fire_alarm"
PA_1 = "media_player.oadby_library_pa_zone_1"
PA_2 = "media_player.oadby_library_pa_zone_2"
INSIDE = "sensor.oadby_library_people_inside"
ENTRIES = "sensor.oadby_library_entries_today"


async def _poll(hass: HomeAssistant) -> None:
    """Let one poll of every branch happen (the scheduled one, then one for sure).

    The scheduled one alone may not read what the test just changed: a poll already under way
    when the simulator changed schedules its successor after the time the test moved to.
    """
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=2))
    await hass.async_block_till_done(wait_background_tasks=True)
    for entry in hass.config_entries.async_entries(DOMAIN):
        for branch in entry.runtime_data.branches.values():
            await branch.coordinator.async_refresh()
    await hass.async_block_till_done(wait_background_tasks=True)


async def _call(
    hass: HomeAssistant, domain: str, service: str, entity_id: str, **data: object
) -> None:
    await hass.services.async_call(
        domain, service, {ATTR_ENTITY_ID: entity_id, **data}, blocking=True
    )


@pytest.mark.parametrize(
    "platform",
    [
        Platform.BINARY_SENSOR,
        Platform.BUTTON,
        Platform.CALENDAR,
        Platform.EVENT,
        Platform.LIGHT,
        Platform.LOCK,
        Platform.MEDIA_PLAYER,
        Platform.SENSOR,
        Platform.SWITCH,
    ],
)
@pytest.mark.usefixtures("entity_registry_enabled_by_default")
async def test_entities_snapshot(
    hass: HomeAssistant,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
    mock_config_entry: MockConfigEntry,
    platform: Platform,
) -> None:
    """Every entity of a reference branch, with its name, device class, icon and state."""
    with patch("custom_components.smart_library.PLATFORMS", [platform]):
        mock_config_entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
        await hass.async_block_till_done()
    await snapshot_platform(hass, entity_registry, snapshot, mock_config_entry.entry_id)


@pytest.mark.usefixtures("init_integration")
async def test_open_is_a_release_the_controller_times(
    hass: HomeAssistant, building: SimulatedBuilding
) -> None:
    """Open releases the strike for the branch's release time; a member walks in; it relocks."""
    assert hass.states.get(ENTRANCE).state == LockState.LOCKED
    building.arrive(1)
    await _call(hass, LOCK_DOMAIN, SERVICE_OPEN, ENTRANCE)
    assert ("door.entrance.pulse", 5) in building.writes
    assert building.get("door.entrance.released") is True
    assert hass.states.get(ENTRANCE).state == LockState.OPENING
    await asyncio.sleep(0.2)
    await _poll(hass)
    assert hass.states.get(ENTRANCE).state == LockState.OPEN
    assert (
        hass.states.get("binary_sensor.oadby_library_entrance_door_open").state
        == STATE_ON
    )
    assert building.get("counter.in") == 1
    # Nothing more from Home Assistant: the controller relocks when its pulse runs out.
    building.writes.clear()
    building._doors["entrance"].pulse_until = building.clock()  # fast-forward the pulse
    await asyncio.sleep(1.6)  # the member lets the door close behind them
    await _poll(hass)
    assert building.writes == []
    assert hass.states.get(ENTRANCE).state == LockState.LOCKED


@pytest.mark.usefixtures("init_integration")
async def test_unlock_holds_the_door_until_locked(
    hass: HomeAssistant, building: SimulatedBuilding
) -> None:
    """Unlock holds the meeting room door released (staffed hours) until it is locked again."""
    await _call(hass, LOCK_DOMAIN, SERVICE_UNLOCK, MEETING)
    assert building.get("door.meeting_room.hold") is True
    state = hass.states.get(MEETING)
    assert state.state == LockState.UNLOCKED
    assert state.attributes["held_released"] is True
    await _call(hass, LOCK_DOMAIN, SERVICE_LOCK, MEETING)
    assert building.get("door.meeting_room.hold") is False
    assert hass.states.get(MEETING).state == LockState.LOCKED


async def test_stopping_home_assistant_mid_release_leaves_no_door_unlocked(
    hass: HomeAssistant, building: SimulatedBuilding, init_integration: MockConfigEntry
) -> None:
    """Home Assistant stops one second into a release: the door still relocks on time."""
    hass.config_entries.async_update_subentry(
        init_integration,
        init_integration.subentries["branch_oadby"],
        data=dict(init_integration.subentries["branch_oadby"].data)
        | {"release_seconds": 1},
    )
    await hass.async_block_till_done()
    await _call(hass, LOCK_DOMAIN, SERVICE_OPEN, ENTRANCE)
    assert building.get("door.entrance.released") is True
    requests = building.requests
    await hass.async_stop(force=True)  # Home Assistant goes away mid-pulse
    await asyncio.sleep(1.3)
    assert building.get("door.entrance.released") is False
    assert building.get("door.entrance.pulse") == 0
    assert building.requests == requests  # nobody told it to relock


@pytest.mark.usefixtures("init_integration")
async def test_fire_alarm_releases_every_door_and_refuses_lock(
    hass: HomeAssistant, building: SimulatedBuilding
) -> None:
    """During a fire alarm every door is held released and lock is refused with a clear error."""
    building.raise_fire_alarm()
    await _poll(hass)
    assert hass.states.get(FIRE).state == STATE_ON
    assert building.get("door.entrance.hold") is True
    assert building.get("door.meeting_room.hold") is True
    assert hass.states.get(ENTRANCE).state == LockState.UNLOCKED
    with pytest.raises(HomeAssistantError) as err:
        await _call(hass, LOCK_DOMAIN, SERVICE_LOCK, ENTRANCE)
    assert err.value.translation_key == "fire_alarm_no_lock"
    assert err.value.translation_domain == DOMAIN
    assert "fire alarm at Oadby Library is active" in str(err.value)
    assert building.get("door.entrance.hold") is True

    # Once the alarm is cleared the doors stay released until a person locks them.
    building.clear_fire_alarm()
    await _poll(hass)
    assert hass.states.get(FIRE).state == STATE_OFF
    assert hass.states.get(ENTRANCE).state == LockState.UNLOCKED
    await _call(hass, LOCK_DOMAIN, SERVICE_LOCK, ENTRANCE)
    assert hass.states.get(ENTRANCE).state == LockState.LOCKED


@pytest.mark.usefixtures("init_integration")
async def test_pc_groups(hass: HomeAssistant, building: SimulatedBuilding) -> None:
    """The public PCs are powered on and off by group."""
    entity_id = "switch.oadby_library_public_pcs_1"
    await _call(hass, SWITCH_DOMAIN, SERVICE_TURN_ON, entity_id)
    assert building.get("pc.group_1") is True
    assert building.get("pc.group_2") is False
    assert hass.states.get(entity_id).state == STATE_ON
    await _call(hass, SWITCH_DOMAIN, SERVICE_TURN_OFF, entity_id)
    assert building.get("pc.group_1") is False
    assert hass.states.get(entity_id).state == STATE_OFF


@pytest.mark.usefixtures("init_integration")
async def test_alarm_inputs(hass: HomeAssistant, building: SimulatedBuilding) -> None:
    """Forced and held-open doors, panic button and fire-panel fault each show as a sensor."""
    building.timing.held_open_after = 0.1
    building.force_door("entrance")
    building.press_panic("counter")
    building.set_fire_fault(True)
    await asyncio.sleep(0.2)
    await _poll(hass)
    for entity_id in (
        "binary_sensor.oadby_library_entrance_door_forced",
        "binary_sensor.oadby_library_entrance_door_held_open",
        "binary_sensor.oadby_library_panic_button_at_the_counter",
        "binary_sensor.oadby_library_fire_panel_fault",
    ):
        assert hass.states.get(entity_id).state == STATE_ON, entity_id
    assert (
        hass.states.get("binary_sensor.oadby_library_meeting_room_door_forced").state
        == STATE_OFF
    )


@pytest.mark.usefixtures("init_integration")
async def test_connection_sensor_stays_available(
    hass: HomeAssistant, building: SimulatedBuilding
) -> None:
    """When the controller goes away its connection sensor says so; the rest is unavailable."""
    connected = "binary_sensor.oadby_library_controller_connected"
    assert hass.states.get(connected).state == STATE_ON
    await building.stop()
    await _poll(hass)
    assert hass.states.get(connected).state == STATE_OFF
    assert hass.states.get(FIRE).state == STATE_UNAVAILABLE
    assert hass.states.get(ENTRANCE).state == STATE_UNAVAILABLE


@pytest.mark.usefixtures("init_integration")
async def test_pa_zone_plays_a_stored_message(
    hass: HomeAssistant, building: SimulatedBuilding, hass_ws_client: WebSocketGenerator
) -> None:
    """A zone plays a message chosen from the list; it is playing while the player is busy."""
    client = await hass_ws_client(hass)
    await client.send_json_auto_id(
        {"type": "media_player/browse_media", "entity_id": PA_2}
    )
    browse = await client.receive_json()
    titles = [child["title"] for child in browse["result"]["children"]]
    assert "The library closes in 15 minutes" in titles
    assert browse["result"]["children"][1]["media_content_id"] == "closing_15"

    await _call(
        hass,
        MP_DOMAIN,
        SERVICE_PLAY_MEDIA,
        PA_2,
        **{
            ATTR_MEDIA_CONTENT_ID: "closing_15",
            ATTR_MEDIA_CONTENT_TYPE: "announcement",
        },
    )
    assert building.get("pa.message") == 2
    assert building.get("pa.zones") == 0b010
    assert building.get("pa.busy") is True
    state = hass.states.get(PA_2)
    assert state.state == MediaPlayerState.PLAYING
    assert state.attributes[ATTR_MEDIA_TITLE] == "The library closes in 15 minutes"
    assert hass.states.get(PA_1).state == MediaPlayerState.IDLE

    await _call(
        hass, MP_DOMAIN, SERVICE_VOLUME_SET, PA_2, **{ATTR_MEDIA_VOLUME_LEVEL: 0.4}
    )
    assert building.get("pa.volume") == 40
    assert hass.states.get(PA_1).attributes[ATTR_MEDIA_VOLUME_LEVEL] == 0.4

    await _call(hass, MP_DOMAIN, SERVICE_MEDIA_STOP, PA_2)
    assert building.get("pa.busy") is False
    assert hass.states.get(PA_2).state == MediaPlayerState.IDLE

    with pytest.raises(ServiceValidationError) as err:
        await _call(
            hass,
            MP_DOMAIN,
            SERVICE_PLAY_MEDIA,
            PA_2,
            **{
                ATTR_MEDIA_CONTENT_ID: "karaoke",
                ATTR_MEDIA_CONTENT_TYPE: "announcement",
            },
        )
    assert err.value.translation_key == "unknown_announcement"
    assert building.get("pa.busy") is False


@pytest.mark.usefixtures("init_integration")
async def test_people_counting(
    hass: HomeAssistant, building: SimulatedBuilding
) -> None:
    """People inside follow the counter, never go below zero; entries today reset at midnight."""
    building.arrive(3)
    await _call(hass, LOCK_DOMAIN, SERVICE_OPEN, ENTRANCE)
    await asyncio.sleep(0.2)
    await _poll(hass)
    assert hass.states.get(INSIDE).state == "3"
    assert hass.states.get(ENTRIES).state == "3"
    # No unit: Home Assistant would show "1 people" ("1", named "People inside", reads right).
    assert "unit_of_measurement" not in hass.states.get(INSIDE).attributes

    building.leave(5)  # the counter missed two arrivals: never below zero
    await asyncio.sleep(0.1)
    await _poll(hass)
    assert hass.states.get(INSIDE).state == "0"
    assert hass.states.get(ENTRIES).state == "3"

    midnight = dt_util.start_of_local_day() + timedelta(days=1)
    async_fire_time_changed(hass, midnight)
    await hass.async_block_till_done()
    assert hass.states.get(ENTRIES).state == "0"


async def test_counter_wrap_and_restart(
    hass: HomeAssistant, building: SimulatedBuilding, mock_config_entry: MockConfigEntry
) -> None:
    """A 16-bit counter that wraps keeps counting; a controller restart does not add people."""
    building.set("counter.in", 0xFFFE)
    mock_config_entry.add_to_hass(hass)
    await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    building.set("counter.in", 3)  # wrapped: 5 people came in
    await _poll(hass)
    assert hass.states.get(INSIDE).state == "5"
    building.set("counter.in", 0)  # the controller restarted its counter
    building.set("counter.out", 0)
    await _poll(hass)
    assert hass.states.get(INSIDE).state == "5"


@pytest.mark.usefixtures("init_integration")
async def test_announcement_in_every_zone_at_once(
    hass: HomeAssistant, building: SimulatedBuilding
) -> None:
    """One call for all zones plays the message once, in every zone (one player, many zones)."""
    zones = [PA_1, PA_2, "media_player.oadby_library_pa_zone_3"]
    await hass.services.async_call(
        MP_DOMAIN,
        SERVICE_PLAY_MEDIA,
        {
            ATTR_ENTITY_ID: zones,
            ATTR_MEDIA_CONTENT_ID: "last_call",
            ATTR_MEDIA_CONTENT_TYPE: "announcement",
        },
        blocking=True,
    )
    assert building.get("pa.zones") == 0b111
    assert building.get("pa.message") == 5
    assert [w for w in building.writes if w[0] == "pa.command"] == [("pa.command", 1)]
    await _poll(hass)
    assert {hass.states.get(z).state for z in zones} == {MediaPlayerState.PLAYING}
