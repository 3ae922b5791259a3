"""A simulated day at a branch, minute by minute where it matters, against the simulator.

Tuesday: staffed morning (free entry), smart (card + PIN) afternoon and evening to 21:30, the
closing countdown from 21:15 with someone still inside at closing; Wednesday: a holiday.
Home Assistant's clock is moved forward; the simulated building runs in real time beside it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import time
from pathlib import Path
from typing import Any

import freezegun
from freezegun.api import FrozenDateTimeFactory, StepTickTimeFactory
from homeassistant.components.automation import DOMAIN as AUTOMATION_DOMAIN
from homeassistant.const import STATE_OFF, STATE_ON
from homeassistant.core import HomeAssistant, ServiceCall
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import device_registry as dr
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
    async_mock_service,
)

from custom_components.smart_library.const import CONF_SCHEDULE, DOMAIN
from custom_components.smart_library.engine.building.schedule import (
    Mode,
    Period,
    Schedule,
)
from simulator.building import SimulatedBuilding

from .conftest import branch_device

BLUEPRINTS = (
    Path(__file__).resolve().parents[2] / "blueprints" / "automation" / "smart_library"
)
B = "oadby_library"
TUESDAY = (
    Period(time(9), time(13), Mode.STAFFED),
    Period(time(13), time(21, 30), Mode.SMART),
)


@pytest.fixture
def clock() -> Iterator[FrozenDateTimeFactory | StepTickTimeFactory]:
    """Home Assistant's clock, from 08:55 on Tuesday 24 November 2026 (London = UTC in winter)."""
    with freezegun.freeze_time("2026-11-24 08:55:00+00:00", tick=True) as frozen:
        yield frozen


async def _at(
    hass: HomeAssistant, clock: Any, when: str, *, settle: bool = True
) -> None:
    """Move Home Assistant to a London wall-clock time; let timers, automations and polls run.

    With settle=False it does not wait for running automations to finish (one may be waiting,
    as the closing routine does for the last person to leave).
    """
    clock.move_to(f"{when}+00:00")
    async_fire_time_changed(hass, dt_util.utcnow())
    if settle:
        await hass.async_block_till_done(wait_background_tasks=True)
    else:
        await asyncio.sleep(0.5)
    await _poll(hass, settle=settle)


async def _poll(hass: HomeAssistant, *, settle: bool = True) -> None:
    for entry in hass.config_entries.async_entries(DOMAIN):
        for branch in entry.runtime_data.branches.values():
            await branch.coordinator.async_refresh()
    if settle:
        await hass.async_block_till_done(wait_background_tasks=True)
    else:
        await asyncio.sleep(0.3)


def _state(hass: HomeAssistant, entity_id: str) -> str:
    state = hass.states.get(entity_id)
    assert state is not None, entity_id
    return state.state


async def _automations(hass: HomeAssistant) -> None:
    target = Path(hass.config.path("blueprints/automation/smart_library"))
    target.mkdir(parents=True, exist_ok=True)
    for name in ("opening", "closing_countdown"):
        (target / f"{name}.yaml").write_text((BLUEPRINTS / f"{name}.yaml").read_text())
    branch = branch_device(hass)
    assert await async_setup_component(
        hass,
        AUTOMATION_DOMAIN,
        {
            AUTOMATION_DOMAIN: [
                {
                    "alias": "Oadby opening",
                    "use_blueprint": {
                        "path": "smart_library/opening.yaml",
                        "input": {"branch": branch},
                    },
                },
                {
                    "alias": "Oadby closing",
                    "use_blueprint": {
                        "path": "smart_library/closing_countdown.yaml",
                        "input": {
                            "branch": branch,
                            "egress_lights": [f"light.{B}_lighting_zone_1"],
                            "notify_action": "notify.duty_phone",
                        },
                    },
                },
            ]
        },
    )


async def test_a_day_at_the_branch(
    hass: HomeAssistant,
    clock: Any,
    building: SimulatedBuilding,
    mock_config_entry: MockConfigEntry,
) -> None:
    """Every entity and device does what the seeds say, at the right minute."""
    await hass.config.async_update(time_zone="Europe/London")
    plan = Schedule(week=((), TUESDAY, TUESDAY, TUESDAY, (), (), ()))
    subentry = mock_config_entry.subentries["branch_oadby"]
    mock_config_entry.add_to_hass(hass)
    hass.config_entries.async_update_subentry(
        mock_config_entry,
        subentry,
        data=dict(subentry.data) | {CONF_SCHEDULE: plan.to_dict()},
    )
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    await _automations(hass)
    notes: list[ServiceCall] = async_mock_service(hass, "notify", "duty_phone")

    # 08:55 — closed: nobody enters, lights off.
    assert _state(hass, f"sensor.{B}_mode") == Mode.CLOSED
    assert _state(hass, f"binary_sensor.{B}_open_to_members") == STATE_OFF
    assert _state(hass, f"sensor.{B}_next_change") == "2026-11-24T09:00:00+00:00"

    # 09:00 — staffed: lights and PCs on, the entrance free to walk through, the room card-only.
    await _at(hass, clock, "2026-11-24 09:00:00")
    assert _state(hass, f"sensor.{B}_mode") == Mode.STAFFED
    assert _state(hass, f"binary_sensor.{B}_open_to_members") == STATE_ON
    assert _state(hass, f"sensor.{B}_closes_at") == "2026-11-24T21:30:00+00:00"
    assert all(building.get(f"light.zone_{n}") for n in (1, 2, 3))
    assert building.get("pc.group_1") and building.get("pc.group_2")
    assert building.get("door.entrance.hold") is True
    assert building.get("door.meeting_room.hold") is False

    building.arrive(2)  # two readers walk in through the open door
    await asyncio.sleep(0.3)
    await _poll(hass)
    assert _state(hass, f"sensor.{B}_people_inside") == "2"

    # 13:00 — smart: the entrance goes back to card + PIN; the building stays open.
    await _at(hass, clock, "2026-11-24 13:00:00")
    assert _state(hass, f"sensor.{B}_mode") == Mode.SMART
    assert building.get("door.entrance.hold") is False
    assert building.get("light.zone_2") is True

    # 21:14 — nothing yet.
    await _at(hass, clock, "2026-11-24 21:14:00")
    assert building.get("pa.message") == 0

    # 21:15 — first announcement in every zone.
    await _at(hass, clock, "2026-11-24 21:15:00")
    assert (building.get("pa.message"), building.get("pa.zones")) == (2, 0b111)
    assert building.get("pc.group_1") is True

    # 21:20 — second announcement, and the public PCs switch off.
    await _at(hass, clock, "2026-11-24 21:20:00")
    assert building.get("pa.message") == 3
    assert building.get("pc.group_1") is False
    assert building.get("pc.group_2") is False

    await _at(hass, clock, "2026-11-24 21:25:00")
    assert building.get("pa.message") == 4
    await _at(hass, clock, "2026-11-24 21:28:00")
    assert building.get("pa.message") == 5  # last call
    building.leave(1)  # one of the two leaves; one is still inside
    await asyncio.sleep(0.1)

    # 21:30 — closed: announcement, doors secured, but someone is still inside, so the egress
    # lighting stays on and staff are alerted instead of plunging them into the dark.
    await _at(hass, clock, "2026-11-24 21:30:00", settle=False)
    assert _state(hass, f"sensor.{B}_mode") == Mode.CLOSED
    assert _state(hass, f"binary_sensor.{B}_open_to_members") == STATE_OFF
    assert building.get("pa.message") == 6
    assert _state(hass, f"lock.{B}_entrance_door") == "locked"
    assert building.get("light.zone_1") is True  # egress
    assert building.get("light.zone_2") is False
    assert building.get("light.zone_3") is False
    assert len(notes) == 1
    assert notes[0].data["title"] == "Someone is still inside"
    assert "1 people are still counted inside" in notes[0].data["message"]

    # The last reader leaves (egress is always possible): the egress lighting goes out.
    building.leave(1)
    await asyncio.sleep(0.1)
    await _poll(hass)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert _state(hass, f"sensor.{B}_people_inside") == "0"
    assert building.get("light.zone_1") is False
    assert len(notes) == 1

    # Wednesday is made a holiday: the branch stays closed all day.
    device = dr.async_get(hass).async_get_device_by_identifier(
        (DOMAIN, "branch_oadby"), mock_config_entry.entry_id
    )
    assert device is not None
    await hass.services.async_call(
        DOMAIN,
        "add_exception",
        {"branch": device.id, "date": "2026-11-25", "label": "Staff training"},
        blocking=True,
    )
    assert _state(hass, f"sensor.{B}_next_change") == "2026-11-26T09:00:00+00:00"
    await _at(hass, clock, "2026-11-25 09:00:00")
    assert _state(hass, f"sensor.{B}_mode") == Mode.CLOSED
    assert building.get("light.zone_2") is False
    assert building.get("door.entrance.hold") is False
    # Nobody entered, so the people count stayed at zero.
    assert _state(hass, f"sensor.{B}_people_inside") == "0"

    # A bad request is refused clearly and loses nothing.
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(
            DOMAIN,
            "add_exception",
            {"branch": device.id, "date": "2026-11-26", "smart": "18:00-22:00"},
            blocking=True,
        )
    assert err.value.translation_key == "schedule_smart_ends_too_late"
    assert _state(hass, f"sensor.{B}_next_change") == "2026-11-26T09:00:00+00:00"
