"""A fire alarm on a smart (self-access) evening with people inside, from alarm to reset.

Against the simulated building over TCP: every entity at each step, every write the controller
received, and no door locked from the alarm until a person resets the branch.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import datetime, time
from typing import Any

import freezegun
from homeassistant.components.lock import LockState
from homeassistant.components.media_player import ATTR_MEDIA_TITLE, MediaPlayerState
from homeassistant.const import ATTR_ENTITY_ID, STATE_OFF, STATE_ON
from homeassistant.core import Context, HomeAssistant, State
from homeassistant.exceptions import HomeAssistantError, Unauthorized
from homeassistant.helpers import device_registry as dr
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    MockUser,
    async_capture_events,
)

from custom_components.smart_library.const import CONF_SCHEDULE, DOMAIN
from custom_components.smart_library.engine.building.schedule import (
    Mode,
    Period,
    Schedule,
)
from simulator.building import SimulatedBuilding

B = "oadby_library"
MODE = f"sensor.{B}_mode"
OPEN = f"binary_sensor.{B}_open_to_members"
EVACUATION = f"binary_sensor.{B}_evacuation"
FIRE = f"binary_sensor.{B}_fire_alarm"
INSIDE = f"sensor.{B}_people_inside"
LOCKS = [f"lock.{B}_entrance_door", f"lock.{B}_meeting_room_door"]
LIGHTS = [f"light.{B}_lighting_zone_{n}" for n in (1, 2, 3)]
ZONES = [f"media_player.{B}_pa_zone_{n}" for n in (1, 2, 3)]
RESET = f"button.{B}_reset_after_evacuation"
EVACUATE_TITLE = "Fire alarm: leave the building by the nearest exit"
EVENINGS = Schedule(week=((Period(time(18), time(21), Mode.SMART),),) * 7)


@pytest.fixture
def clock() -> Iterator[Any]:
    """Home Assistant's clock: Tuesday 24 November 2026, 19:30 in London (smart hours)."""
    with freezegun.freeze_time("2026-11-24 19:30:00+00:00", tick=True) as frozen:
        yield frozen


@pytest.fixture
async def branch(
    hass: HomeAssistant,
    clock: Any,
    building: SimulatedBuilding,
    mock_config_entry: MockConfigEntry,
) -> str:
    """Set up a branch in smart hours 18:00-21:00; return its device id."""
    await hass.config.async_update(time_zone="Europe/London")
    building.timing.message_seconds = (
        0.3  # a short evacuation message, to see it repeat
    )
    subentry = mock_config_entry.subentries["branch_oadby"]
    mock_config_entry.add_to_hass(hass)
    hass.config_entries.async_update_subentry(
        mock_config_entry,
        subentry,
        data=dict(subentry.data) | {CONF_SCHEDULE: EVENINGS.to_dict()},
    )
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    device = dr.async_get(hass).async_get_device_by_identifier(
        (DOMAIN, "branch_oadby"), mock_config_entry.entry_id
    )
    assert device is not None
    return device.id


async def _poll(hass: HomeAssistant) -> None:
    for entry in hass.config_entries.async_entries(DOMAIN):
        for branch in entry.runtime_data.branches.values():
            await branch.coordinator.async_refresh()
    await hass.async_block_till_done(wait_background_tasks=True)


def _state(hass: HomeAssistant, entity_id: str) -> State:
    state = hass.states.get(entity_id)
    assert state is not None, entity_id
    return state


async def _ask(hass: HomeAssistant, branch: str) -> dict[str, Any]:
    """Ask for entry at the entrance with a card nobody holds (a fire refuses before checks)."""
    return await hass.services.async_call(
        DOMAIN,
        "request_access",
        {"branch": branch, "door": "entrance", "card": "90000001", "pin": "2468"},
        blocking=True,
        return_response=True,
    )


def _locked_writes(building: SimulatedBuilding) -> list[tuple[str, int | bool]]:
    """Return every write that would lock a door: a hold let go."""
    return [
        (key, value)
        for key, value in building.writes
        if key.startswith("door.") and key.endswith(".hold") and not value
    ]


async def test_fire_alarm_on_a_smart_evening(
    hass: HomeAssistant,
    branch: str,
    building: SimulatedBuilding,
    hass_admin_user: MockUser,
) -> None:
    """Evacuation, panel reset, reset needed (across a reload), reset by a person, the plan."""
    evacuations = async_capture_events(hass, "smart_library_evacuation")
    assert _state(hass, MODE).state == Mode.SMART
    # Eighteen readers are in for the evening (20 counted in, 2 out).
    building.set("counter.in", int(building.get("counter.in")) + 20)
    building.set("counter.out", int(building.get("counter.out")) + 2)
    await _poll(hass)
    assert _state(hass, INSIDE).state == "18"
    assert [_state(hass, lock).state for lock in LOCKS] == [LockState.LOCKED] * 2
    building.writes.clear()

    # -- the fire panel goes into alarm -----------------------------------------------------
    before = dt_util.utcnow()
    building.raise_fire_alarm()
    await _poll(hass)
    mode = _state(hass, MODE)
    assert mode.state == "evacuation"
    assert mode.attributes["plan_mode"] == Mode.SMART
    assert mode.attributes["inside_at_alarm"] == 18
    alarm_at = datetime.fromisoformat(mode.attributes["alarm_at"])
    assert before <= alarm_at <= dt_util.utcnow()
    assert _state(hass, OPEN).state == STATE_OFF
    evacuation = _state(hass, EVACUATION)
    assert evacuation.state == STATE_ON
    assert evacuation.attributes["reset_needed"] is False
    assert evacuation.attributes["inside_at_alarm"] == 18
    assert _state(hass, FIRE).state == STATE_ON
    assert [_state(hass, lock).state for lock in LOCKS] == [LockState.UNLOCKED] * 2
    assert all(building.get(f"door.{d}.hold") for d in ("entrance", "meeting_room"))
    assert [_state(hass, light).state for light in LIGHTS] == [STATE_ON] * 3
    for zone in ZONES:
        assert _state(hass, zone).state == MediaPlayerState.PLAYING
        assert _state(hass, zone).attributes[ATTR_MEDIA_TITLE] == EVACUATE_TITLE
    assert (building.get("pa.message"), building.get("pa.zones")) == (7, 0b111)
    assert _state(hass, INSIDE).state == "18"
    assert [e.data["state"] for e in evacuations] == ["evacuation"]
    assert evacuations[0].data["inside_at_alarm"] == 18
    answer = await _ask(hass, branch)
    assert (answer["granted"], answer["reason"]) == (False, "fire_alarm")
    with pytest.raises(HomeAssistantError) as err:
        await hass.services.async_call(
            "lock", "lock", {ATTR_ENTITY_ID: LOCKS[0]}, blocking=True
        )
    assert err.value.translation_key == "fire_alarm_no_lock"
    with pytest.raises(HomeAssistantError) as err:
        await hass.services.async_call(
            "button", "press", {ATTR_ENTITY_ID: RESET}, blocking=True
        )
    assert err.value.translation_key == "evacuation_alarm_active"
    assert _state(hass, MODE).state == "evacuation"

    # The message ends: it is played again. Someone switches a light off: it goes on again.
    plays = building.writes.count(("pa.command", 1))
    await asyncio.sleep(0.4)
    building.set("light.zone_2", False)
    await _poll(hass)
    assert building.writes.count(("pa.command", 1)) == plays + 1
    assert building.get("pa.busy") is True
    assert building.get("light.zone_2") is True
    assert _state(hass, ZONES[1]).state == MediaPlayerState.PLAYING

    # -- the panel is reset: the branch needs a person ----------------------------------------
    building.clear_fire_alarm()
    await _poll(hass)
    assert _state(hass, FIRE).state == STATE_OFF
    assert _state(hass, MODE).state == "evacuation_reset_needed"
    assert _state(hass, OPEN).state == STATE_OFF
    evacuation = _state(hass, EVACUATION)
    assert evacuation.state == STATE_ON
    assert evacuation.attributes["reset_needed"] is True
    assert evacuation.attributes["alarm_cleared_at"] is not None
    assert [_state(hass, lock).state for lock in LOCKS] == [LockState.UNLOCKED] * 2
    assert _state(hass, INSIDE).state == "18"
    answer = await _ask(hass, branch)
    assert (answer["granted"], answer["reason"]) == (False, "evacuation")
    assert [e.data["state"] for e in evacuations][-1] == "evacuation_reset_needed"
    await asyncio.sleep(0.4)  # the message ends and is not played again
    await _poll(hass)
    assert building.get("pa.busy") is False
    assert {_state(hass, zone).state for zone in ZONES} == {MediaPlayerState.IDLE}

    # Editing the branch reloads it: still reset needed, same alarm, nothing locked.
    entry = hass.config_entries.async_entries(DOMAIN)[0]
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    await _poll(hass)
    assert _state(hass, MODE).state == "evacuation_reset_needed"
    assert _state(hass, MODE).attributes["alarm_at"] == alarm_at.isoformat()
    assert _state(hass, OPEN).state == STATE_OFF
    assert [_state(hass, lock).state for lock in LOCKS] == [LockState.UNLOCKED] * 2
    assert _state(hass, INSIDE).state == "18"

    # A member of staff who is not an administrator may not reset it.
    staff = await hass.auth.async_create_user("Sam", group_ids=["system-users"])
    with pytest.raises(Unauthorized):
        await hass.services.async_call(
            "button",
            "press",
            {ATTR_ENTITY_ID: RESET},
            blocking=True,
            context=Context(user_id=staff.id),
        )
    with pytest.raises(Unauthorized):
        await hass.services.async_call(
            DOMAIN,
            "reset_evacuation",
            {"branch": branch},
            blocking=True,
            context=Context(user_id=staff.id),
        )
    assert _state(hass, MODE).state == "evacuation_reset_needed"

    # No door was locked from the alarm to here (nobody wrote a hold off).
    assert _locked_writes(building) == []

    # -- an administrator resets the branch: the plan's mode (smart) applies -------------------
    await hass.services.async_call(
        "button",
        "press",
        {ATTR_ENTITY_ID: RESET},
        blocking=True,
        context=Context(user_id=hass_admin_user.id),
    )
    await hass.async_block_till_done(wait_background_tasks=True)
    assert _state(hass, MODE).state == Mode.SMART
    assert _state(hass, MODE).attributes["alarm_at"] is None
    assert _state(hass, OPEN).state == STATE_ON
    assert _state(hass, EVACUATION).state == STATE_OFF
    assert [_state(hass, lock).state for lock in LOCKS] == [LockState.LOCKED] * 2
    assert sorted(_locked_writes(building)) == [
        ("door.entrance.hold", False),
        ("door.meeting_room.hold", False),
    ]
    assert _state(hass, INSIDE).state == "18"
    reset = evacuations[-1].data
    assert (reset["state"], reset["by"]) == ("reset", hass_admin_user.name)
    assert reset["inside_at_alarm"] == 18
    assert evacuations[-1].context.user_id == hass_admin_user.id
    answer = await _ask(hass, branch)
    assert answer["reason"] not in ("fire_alarm", "evacuation")  # card checks are back
