"""Alarms that latch until a person acknowledges them, who may acknowledge, failed writes in a fire.

Against the simulated building over TCP.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
import logging
from typing import Any

from homeassistant.components.lock import LockState
from homeassistant.const import ATTR_ENTITY_ID, STATE_OFF, STATE_ON
from homeassistant.core import Context, Event, HomeAssistant, State
from homeassistant.exceptions import HomeAssistantError, Unauthorized
from homeassistant.helpers import device_registry as dr
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    MockUser,
    async_capture_events,
)

from custom_components.smart_library import logbook
from custom_components.smart_library.const import DOMAIN
from simulator.building import SimulatedBuilding

from .faults import refuse_writes

B = "oadby_library"
FORCED = f"binary_sensor.{B}_entrance_door_forced"
HELD_OPEN = f"binary_sensor.{B}_entrance_door_held_open"
PANIC = f"binary_sensor.{B}_panic_button_at_the_counter"
FAULT = f"binary_sensor.{B}_fire_panel_fault"
LOST = f"binary_sensor.{B}_controller_lost"
UNACKNOWLEDGED = f"sensor.{B}_unacknowledged_alarms"
ACKNOWLEDGE = f"button.{B}_acknowledge_alarms"
EMPTY = f"button.{B}_building_empty"
INSIDE = f"sensor.{B}_people_inside"
MODE = f"sensor.{B}_mode"
ENTRANCE = f"lock.{B}_entrance_door"


async def _poll(hass: HomeAssistant) -> None:
    for entry in hass.config_entries.async_entries(DOMAIN):
        for branch in entry.runtime_data.branches.values():
            await branch.coordinator.async_refresh()
    await hass.async_block_till_done(wait_background_tasks=True)


def _state(hass: HomeAssistant, entity_id: str) -> State:
    state = hass.states.get(entity_id)
    assert state is not None, entity_id
    return state


def _device(hass: HomeAssistant, entry: MockConfigEntry) -> str:
    device = dr.async_get(hass).async_get_device_by_identifier(
        (DOMAIN, "branch_oadby"), entry.entry_id
    )
    assert device is not None
    return device.id


@pytest.fixture
async def staff(hass: HomeAssistant) -> MockUser:
    """Return a member of staff: a Home Assistant user who is not an administrator."""
    return await hass.auth.async_create_user("Sam", group_ids=["system-users"])


def _describe(event: Event) -> str:
    """Return the logbook line the integration writes for an event."""
    described: dict[str, Callable[[Event], dict[str, str]]] = {}
    logbook.async_describe_events(
        None,  # type: ignore[arg-type]
        lambda domain, name, describe: described.__setitem__(name, describe),
    )
    return described[event.event_type](event)["message"]


async def test_a_door_forced_for_a_moment_stays_an_alarm_until_acknowledged(
    hass: HomeAssistant,
    building: SimulatedBuilding,
    init_integration: MockConfigEntry,
    staff: MockUser,
) -> None:
    """Forced for a moment: the sensor stays on, an event and a logbook line, then acknowledged."""
    alarms = async_capture_events(hass, "smart_library_alarm")
    acknowledged = async_capture_events(hass, "smart_library_alarms_acknowledged")
    building.timing.door_open_time = 0.1
    building.force_door("entrance")
    await _poll(hass)
    assert _state(hass, FORCED).state == STATE_ON
    await asyncio.sleep(0.3)  # the door swings shut: the input is off again
    await _poll(hass)
    assert building.get("door.entrance.forced") is False
    forced = _state(hass, FORCED)
    assert forced.state == STATE_ON
    assert forced.attributes["live"] is False
    assert forced.attributes["unacknowledged"] is True
    assert [e.data for e in alarms] == [
        {
            "branch": "Oadby Library",
            "branch_id": "branch_oadby",
            "kind": "door_forced",
            "door": "entrance",
        }
    ]
    assert _describe(alarms[0]) == (
        "alarm: entrance door forced (on until acknowledged)"
    )
    unacknowledged = _state(hass, UNACKNOWLEDGED)
    assert unacknowledged.state == "1"
    assert [(a["kind"], a["subject"]) for a in unacknowledged.attributes["alarms"]] == [
        ("door_forced", "entrance")
    ]

    # Many polls later it is still there.
    for _ in range(3):
        await _poll(hass)
    assert _state(hass, FORCED).state == STATE_ON

    await hass.services.async_call(
        "button",
        "press",
        {ATTR_ENTITY_ID: ACKNOWLEDGE},
        blocking=True,
        context=Context(user_id=staff.id),
    )
    assert _state(hass, FORCED).state == STATE_OFF
    assert _state(hass, UNACKNOWLEDGED).state == "0"
    assert [e.data for e in acknowledged] == [
        {
            "branch": "Oadby Library",
            "branch_id": "branch_oadby",
            "by": "Sam",
            "count": 1,
            "kinds": ["door_forced"],
        }
    ]
    assert acknowledged[0].context.user_id == staff.id
    assert _describe(acknowledged[0]) == "1 alarm acknowledged by Sam"


async def test_every_alarm_kind_latches_and_one_still_on_stays_on(
    hass: HomeAssistant,
    building: SimulatedBuilding,
    init_integration: MockConfigEntry,
) -> None:
    """Held open, panic and fire-panel fault latch; acknowledged while on, each goes with its input."""
    alarms = async_capture_events(hass, "smart_library_alarm")
    building.timing.held_open_after = 0.05
    building.timing.door_open_time = 0.3
    building.force_door("entrance")
    building.press_panic("counter")
    building.set_fire_fault(True)
    await asyncio.sleep(0.15)
    await _poll(hass)
    assert sorted(e.data["kind"] for e in alarms) == [
        "door_forced",
        "door_held_open",
        "fire_fault",
        "panic",
    ]
    assert {
        "branch": "Oadby Library",
        "branch_id": "branch_oadby",
        "kind": "panic",
        "button": "counter",
    } in [e.data for e in alarms]
    assert _describe(next(e for e in alarms if e.data["kind"] == "panic")) == (
        "alarm: panic button (counter) pressed (on until acknowledged)"
    )
    building.press_panic("counter", on=False)
    building.set_fire_fault(False)
    await asyncio.sleep(0.4)
    await _poll(hass)
    for entity_id in (FORCED, HELD_OPEN, PANIC, FAULT):
        assert _state(hass, entity_id).state == STATE_ON, entity_id
        assert _state(hass, entity_id).attributes["live"] is False, entity_id
    assert _state(hass, UNACKNOWLEDGED).state == "4"

    # The panic button is pressed again (the same alarm: nobody has seen it yet) and held
    # while staff acknowledge everything.
    building.press_panic("counter")
    await _poll(hass)
    assert _state(hass, UNACKNOWLEDGED).state == "4"
    answer = await hass.services.async_call(
        DOMAIN,
        "acknowledge_alarm",
        {"branch": _device(hass, init_integration)},
        blocking=True,
        return_response=True,
    )
    assert answer == {"acknowledged": 4}
    for entity_id in (FORCED, HELD_OPEN, FAULT):
        assert _state(hass, entity_id).state == STATE_OFF, entity_id
    assert _state(hass, PANIC).state == STATE_ON  # still pressed
    assert _state(hass, PANIC).attributes["unacknowledged"] is False
    assert _state(hass, UNACKNOWLEDGED).state == "0"
    building.press_panic("counter", on=False)
    await _poll(hass)
    assert _state(hass, PANIC).state == STATE_OFF
    building.press_panic("counter")  # a new press: a new alarm
    await _poll(hass)
    assert _state(hass, UNACKNOWLEDGED).state == "1"


async def test_a_latched_alarm_survives_a_reload(
    hass: HomeAssistant,
    building: SimulatedBuilding,
    init_integration: MockConfigEntry,
) -> None:
    """An alarm nobody acknowledged is still on after a reload, with the time it latched."""
    building.press_panic("counter")
    await _poll(hass)
    building.press_panic("counter", on=False)
    await _poll(hass)
    since = _state(hass, PANIC).attributes["since"]
    assert await hass.config_entries.async_reload(init_integration.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    panic = _state(hass, PANIC)
    assert panic.state == STATE_ON
    assert panic.attributes["since"] == since
    assert _state(hass, UNACKNOWLEDGED).state == "1"


async def test_read_only_users_cannot_acknowledge_or_reset_the_count(
    hass: HomeAssistant,
    building: SimulatedBuilding,
    init_integration: MockConfigEntry,
    hass_read_only_user: MockUser,
    staff: MockUser,
) -> None:
    """Read-only users are refused by the action and the button, with nothing changed; staff may."""
    building.press_panic("counter")
    building.arrive(3)
    await hass.services.async_call(
        "lock", "open", {ATTR_ENTITY_ID: ENTRANCE}, blocking=True
    )
    await asyncio.sleep(0.2)
    await _poll(hass)
    assert _state(hass, INSIDE).state == "3"
    assert _state(hass, UNACKNOWLEDGED).state == "1"
    device = _device(hass, init_integration)
    read_only = Context(user_id=hass_read_only_user.id)
    for domain, action, data in (
        (DOMAIN, "acknowledge_alarm", {"branch": device}),
        (DOMAIN, "building_empty", {"branch": device}),
        ("button", "press", {ATTR_ENTITY_ID: ACKNOWLEDGE}),
        ("button", "press", {ATTR_ENTITY_ID: EMPTY}),
    ):
        with pytest.raises(Unauthorized):
            await hass.services.async_call(
                domain, action, data, blocking=True, context=read_only
            )
    assert _state(hass, UNACKNOWLEDGED).state == "1"
    assert _state(hass, INSIDE).state == "3"

    resets = async_capture_events(hass, "smart_library_occupancy_reset")
    answer = await hass.services.async_call(
        DOMAIN,
        "building_empty",
        {"branch": device},
        blocking=True,
        return_response=True,
        context=Context(user_id=staff.id),
    )
    assert answer == {"was_inside": 3}
    assert _state(hass, INSIDE).state == "0"
    assert _describe(resets[0]) == (
        "people inside set from 3 to 0: building empty, checked by Sam"
    )
    await hass.services.async_call(
        DOMAIN,
        "acknowledge_alarm",
        {"branch": device},
        blocking=True,
        context=Context(user_id=staff.id),
    )
    assert _state(hass, UNACKNOWLEDGED).state == "0"


async def test_controller_lost_one_warning_one_info_and_a_latched_alarm(
    hass: HomeAssistant,
    building: SimulatedBuilding,
    init_integration: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The controller goes: one warning however long; back: one info; the alarm stays latched."""
    alarms = async_capture_events(hass, "smart_library_alarm")
    port = building.port
    caplog.clear()
    await building.stop()
    for _ in range(3):
        await _poll(hass)
    lost = _state(hass, LOST)
    assert lost.state == STATE_ON
    assert lost.attributes["lost_now"] == ["main"]
    assert [e.data for e in alarms] == [
        {
            "branch": "Oadby Library",
            "branch_id": "branch_oadby",
            "kind": "controller_lost",
            "module": "main",
        }
    ]
    assert _describe(alarms[0]) == (
        "alarm: controller (main) not answering (on until acknowledged)"
    )

    await building.start("127.0.0.1", port)
    for _ in range(2):
        await _poll(hass)
    ours = [r for r in caplog.records if r.name.startswith("custom_components")]
    assert [
        (r.levelno, r.getMessage().split(" (")[0])
        for r in ours
        if "controller of" in r.getMessage()
    ] == [
        (logging.WARNING, "The controller of Oadby Library cannot be reached"),
        (logging.INFO, "The controller of Oadby Library is answering again"),
    ]
    assert not [r for r in ours if r.levelno >= logging.ERROR]
    lost = _state(hass, LOST)
    assert lost.state == STATE_ON  # back, but nobody has seen it yet
    assert lost.attributes["lost_now"] == []
    await hass.services.async_call(
        "button", "press", {ATTR_ENTITY_ID: ACKNOWLEDGE}, blocking=True
    )
    assert _state(hass, LOST).state == STATE_OFF


async def test_fire_state_kept_when_the_controller_refuses_every_write(
    hass: HomeAssistant,
    building: SimulatedBuilding,
    init_integration: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The hold writes fail during the alarm: the fire is not forgotten, lock stays refused.

    The holds are asked for again on every poll; staff are told once; when the controller takes
    writes again the doors are held.
    """
    refuse = refuse_writes(building)
    caplog.clear()
    building.raise_fire_alarm()
    for _ in range(3):
        await _poll(hass)
    assert _state(hass, MODE).state == "evacuation"
    assert _state(hass, f"binary_sensor.{B}_fire_alarm").state == STATE_ON
    holds = [w for w in building.refused if w == ("door.entrance.hold", True)]
    assert (
        len(holds) >= 3
    )  # asked for on each poll (a poll the set-up started may add one)
    with pytest.raises(HomeAssistantError) as err:
        await hass.services.async_call(
            "lock", "lock", {ATTR_ENTITY_ID: ENTRANCE}, blocking=True
        )
    assert err.value.translation_key == "fire_alarm_no_lock"
    warnings = [
        r.getMessage()
        for r in caplog.records
        if r.levelno == logging.WARNING and "did not take" in r.getMessage()
    ]
    assert len(warnings) == 1
    assert "Oadby Library" in warnings[0]

    refuse()
    await _poll(hass)
    assert building.get("door.entrance.hold") is True
    assert building.get("door.meeting_room.hold") is True
    assert _state(hass, ENTRANCE).state == LockState.UNLOCKED


async def test_logbook_lines_for_the_evacuation() -> None:
    """Each evacuation event reads as a sentence: started, reset needed, reset by whom."""
    data: dict[str, Any] = {"branch": "Oadby Library", "inside_at_alarm": 18}
    lines = [
        _describe(
            Event("smart_library_evacuation", data | {"state": state, "by": "Ann"})
        )
        for state in ("evacuation", "evacuation_reset_needed", "reset")
    ]
    assert lines == [
        (
            "fire alarm: evacuation — every door released, lights on, the evacuation "
            "message on every zone; 18 counted inside"
        ),
        (
            "fire panel reset: evacuation — reset needed; doors stay released and no "
            "card opens them until a person resets the branch"
        ),
        "reset after the evacuation by Ann; the opening hours apply again",
    ]


async def test_logbook_lines_for_lockdowns_incidents_help_and_refusals() -> None:
    """A lockdown, an incident, a help button and the new refusals read as sentences."""
    branch: dict[str, Any] = {"branch": "Oadby Library", "branch_id": "branch_oadby"}

    def line(event_type: str, **data: Any) -> str:
        return _describe(Event(f"smart_library_{event_type}", branch | data))

    assert line("lockdown", active=True, by="Sam") == (
        "locked down by Sam: entry for staff cards only"
    )
    assert line("lockdown", active=False, by="Ann") == (
        "lockdown ended by Ann; the opening hours apply again"
    )
    assert line("incident", incident="I1", category="panic", status="open") == (
        "Panic alarm incident I1 recorded"
    )
    assert line("incident", incident="I1", category="panic", status="complete") == (
        "Panic alarm incident I1 reviewed and completed"
    )
    assert line("help", point="toilets") == "help button pressed at help point toilets"
    refusal = {"door": "entrance", "granted": False, "card": "••••0001", "party": 0}
    assert line("access", reason="lockdown", **refusal) == (
        "refused at the entrance: branch locked down: staff cards only (card ••••0001)"
    )
    assert line("access", reason="evacuation", **refusal) == (
        "refused at the entrance: evacuation: entry suspended until a person resets it "
        "(card ••••0001)"
    )
    assert line("access", reason="excessive_fines", **refusal) == (
        "refused at the entrance: library system: fines over the limit (card ••••0001)"
    )
