"""Lockdown of a branch against the simulated building.

Staff lock a branch down; entry is for staff cards only, no door stays held released for free
entry, the lockdown message plays in the service's languages, staff are alerted, it is recorded;
a fire alarm still releases every door; a restart does not end it; only an administrator does,
and then the doors follow the opening hours again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import time
from typing import Any

from homeassistant.core import Context, HomeAssistant
from homeassistant.exceptions import ServiceValidationError, Unauthorized
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    MockUser,
    async_capture_events,
)

from custom_components.smart_library.const import DOMAIN
from custom_components.smart_library.engine.building.schedule import (
    Mode,
    Period,
    Schedule,
)
from custom_components.smart_library.engine.safety.incidents import Category
from custom_components.smart_library.runtime import lockdown_active
from custom_components.smart_library.safety.common import CONF_LANGUAGES
from custom_components.smart_library.safety.lockdown_entities import (
    lockdown_binary_sensor,
    lockdown_button,
)
from simulator.building import SimulatedBuilding

from .safety_common import (
    add_phone,
    clock_at,
    incidents,
    notify_calls,
    runtime,
    settle,
    setup_branch,
)

DAYS = Schedule(
    week=(
        (
            Period(time(9), time(17), Mode.STAFFED),
            Period(time(18), time(21), Mode.SMART),
        ),
    )
    * 7
)
MEMBER = "21234000000001"
STAFF = "STAFF0001"
PIN = "80417263"


@pytest.fixture
def clock() -> Iterator[Any]:
    """Tuesday 24 November 2026, 10:00 in London: staffed hours, the entrance free to enter."""
    yield from clock_at("2026-11-24 10:00:00+00:00")


async def _staff(hass: HomeAssistant) -> Context:
    user = await hass.auth.async_create_user("Sam", group_ids=["system-users"])
    return Context(user_id=user.id)


async def _pa_plays(
    hass: HomeAssistant, building: SimulatedBuilding, numbers: list[int]
) -> list[int]:
    """Poll (the player reports when a message ends) until those messages were played."""
    coordinator = (
        hass.config_entries.async_entries(DOMAIN)[0]
        .runtime_data.branches["branch_oadby"]
        .coordinator
    )
    played: list[int] = []
    for _ in range(60):
        played = [int(v) for k, v in building.writes if k == "pa.message"]
        if played[-len(numbers) :] == numbers:
            break
        await coordinator.async_refresh()
        await asyncio.sleep(0.05)
    return played


async def test_staff_lock_down_free_entry_ends_and_staff_are_alerted(
    hass: HomeAssistant,
    clock: Any,
    building: SimulatedBuilding,
    mock_config_entry: MockConfigEntry,
) -> None:
    """A held-released entrance goes back to cards; the message plays in English then Welsh."""
    building.timing.message_seconds = 0.1
    phone = await add_phone(hass, "duty")
    to_duty = notify_calls(hass, "duty")
    branch = await setup_branch(
        hass,
        mock_config_entry,
        on_call=[phone],
        schedule=DAYS,
        **{CONF_LANGUAGES: ["en", "cy"]},
    )
    assert building.get("door.entrance.hold") is True  # staffed: free entry
    events = async_capture_events(hass, "smart_library_lockdown")

    answer = await hass.services.async_call(
        DOMAIN,
        "lockdown",
        {"branch": branch, "reason": "Group threatening staff outside"},
        blocking=True,
        return_response=True,
        context=await _staff(hass),
    )
    assert answer["started"] is True
    assert lockdown_active(hass, "branch_oadby")
    assert building.get("door.entrance.hold") is False
    assert await _pa_plays(hass, building, [20, 120]) == [20, 120]
    assert [(e.data["active"], e.data["by"]) for e in events] == [(True, "Sam")]
    (alert,) = to_duty
    assert alert.data["title"] == "Lockdown — Oadby Library"
    assert "Locked down by Sam" in alert.data["message"]
    assert "channel" not in alert.data["data"]  # a normal alert, not a critical one
    (incident,) = await incidents(hass)
    assert incident.category is Category.LOCKDOWN
    assert incident.description == "Group threatening staff outside"
    assert incident.id == answer["incident"]

    # Asked again: the same lockdown, nothing new.
    again = await hass.services.async_call(
        DOMAIN,
        "lockdown",
        {"branch": branch},
        blocking=True,
        return_response=True,
        context=await _staff(hass),
    )
    assert again == {"incident": incident.id, "started": False}
    assert len(await incidents(hass)) == 1

    # A later poll that finds the entrance held again (staff pressed unlock) lets it go.
    building.set("door.entrance.hold", True)
    await settle(hass)
    await settle(hass)
    assert building.get("door.entrance.hold") is False


async def test_a_read_only_user_cannot_lock_down(
    hass: HomeAssistant,
    clock: Any,
    building: SimulatedBuilding,
    mock_config_entry: MockConfigEntry,
    hass_read_only_user: MockUser,
) -> None:
    """Refused, and nothing changes."""
    branch = await setup_branch(hass, mock_config_entry, schedule=DAYS)
    with pytest.raises(Unauthorized):
        await hass.services.async_call(
            DOMAIN,
            "lockdown",
            {"branch": branch},
            blocking=True,
            context=Context(user_id=hass_read_only_user.id),
        )
    assert not lockdown_active(hass, "branch_oadby")
    assert building.get("door.entrance.hold") is True
    assert await incidents(hass) == []


async def test_a_fire_alarm_still_releases_every_door_during_a_lockdown(
    hass: HomeAssistant,
    clock: Any,
    building: SimulatedBuilding,
    mock_config_entry: MockConfigEntry,
) -> None:
    """Nobody is trapped: the fire rule holds every door released; the lockdown lets it."""
    branch = await setup_branch(hass, mock_config_entry, schedule=DAYS)
    await hass.services.async_call(
        DOMAIN,
        "lockdown",
        {"branch": branch},
        blocking=True,
        context=await _staff(hass),
    )
    assert building.get("door.entrance.hold") is False
    building.raise_fire_alarm()
    for _ in range(4):
        await asyncio.sleep(0.05)
        await settle(hass)
    doors = [d.id for d in building.point_map.doors]
    assert all(building.get(f"door.{d}.hold") for d in doors)
    assert lockdown_active(hass, "branch_oadby")


async def test_a_restart_does_not_end_a_lockdown_an_administrator_does(
    hass: HomeAssistant,
    clock: Any,
    building: SimulatedBuilding,
    mock_config_entry: MockConfigEntry,
    hass_admin_user: MockUser,
) -> None:
    """Reloaded, still locked down and still enforced; ended by an admin, free entry is back."""
    building.timing.message_seconds = 0.1
    branch = await setup_branch(hass, mock_config_entry, schedule=DAYS)
    await hass.services.async_call(
        DOMAIN,
        "lockdown",
        {"branch": branch},
        blocking=True,
        context=await _staff(hass),
    )
    assert await hass.config_entries.async_reload(mock_config_entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert lockdown_active(hass, "branch_oadby")
    building.set("door.entrance.hold", True)  # say the mode's hold came back meanwhile
    await settle(hass)
    await settle(hass)
    assert building.get("door.entrance.hold") is False

    with pytest.raises(Unauthorized):
        await hass.services.async_call(
            DOMAIN,
            "end_lockdown",
            {"branch": branch},
            blocking=True,
            context=await _staff(hass),
        )
    assert lockdown_active(hass, "branch_oadby")
    await hass.services.async_call(
        DOMAIN,
        "end_lockdown",
        {"branch": branch},
        blocking=True,
        context=Context(user_id=hass_admin_user.id),
    )
    assert not lockdown_active(hass, "branch_oadby")
    assert building.get("door.entrance.hold") is True  # staffed hours: free entry again
    assert (await _pa_plays(hass, building, [21]))[-1] == 21  # "the lockdown is over"
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(
            DOMAIN,
            "end_lockdown",
            {"branch": branch},
            blocking=True,
            context=Context(user_id=hass_admin_user.id),
        )
    assert err.value.translation_key == "lockdown_not_active"


async def test_a_lockdown_refuses_members_and_admits_staff_cards(
    hass: HomeAssistant,
    clock: Any,
    building: SimulatedBuilding,
    mock_config_entry: MockConfigEntry,
    hass_admin_user: MockUser,
) -> None:
    """In smart hours a member's right card and PIN get `lockdown`; a staff card opens."""
    admin = Context(user_id=hass_admin_user.id)
    branch = await setup_branch(hass, mock_config_entry, schedule=DAYS)
    clock.move_to("2026-11-24 19:00:00+00:00")
    await hass.services.async_call(
        DOMAIN,
        "enroll_member",
        {
            "card": MEMBER,
            "birth_date": "1980-01-01",
            "card_expiry": "2030-01-01",
            "induction_date": "2026-01-01",
            "pin": PIN,
        },
        blocking=True,
        context=admin,
    )
    await hass.services.async_call(
        DOMAIN,
        "add_staff_card",
        {
            "card": STAFF,
            "name": "Sam",
            "role": "staff",
            "windows": "00:00-23:59",
            "pin": PIN,
        },
        blocking=True,
        context=admin,
    )
    await hass.services.async_call(
        DOMAIN, "lockdown", {"branch": branch}, blocking=True, context=admin
    )

    async def ask(card: str) -> str:
        result = await hass.services.async_call(
            DOMAIN,
            "request_access",
            {"branch": branch, "card": card, "pin": PIN},
            blocking=True,
            return_response=True,
        )
        return str(result["reason"])

    assert await ask(MEMBER) == "lockdown"
    assert await ask(STAFF) == "staff"


async def test_the_lockdown_entities_for_the_sensor_and_button_platforms(
    hass: HomeAssistant,
    clock: Any,
    building: SimulatedBuilding,
    mock_config_entry: MockConfigEntry,
) -> None:
    """The button locks down in the presser's name; the sensor shows it and who."""
    await setup_branch(hass, mock_config_entry, schedule=DAYS)
    found = runtime(hass)
    branch = mock_config_entry.runtime_data.branches["branch_oadby"]
    sensor = lockdown_binary_sensor(found, branch)
    button = lockdown_button(found, branch)
    sensor.hass = button.hass = hass
    assert sensor.unique_id != button.unique_id
    assert sensor.is_on is False
    assert sensor.extra_state_attributes == {}
    button.async_set_context(await _staff(hass))
    await button.async_press()
    assert sensor.is_on is True
    assert sensor.extra_state_attributes["by"] == "Sam"


@pytest.mark.parametrize(
    ("action", "data"),
    [
        ("lockdown", {}),
        ("silent_alert", {"description": "codeword"}),
        ("announce", {"message": "help_on_the_way"}),
        ("say", {"message": "The library closes now"}),
    ],
)
async def test_read_only_users_operate_no_safety_tool(  # noqa: PLR0917
    hass: HomeAssistant,
    clock: Any,
    building: SimulatedBuilding,
    mock_config_entry: MockConfigEntry,
    hass_read_only_user: MockUser,
    action: str,
    data: dict[str, str],
) -> None:
    """The staff's building tools refuse a read-only user: no lockdown, no PA, no alert."""
    branch = await setup_branch(hass, mock_config_entry, schedule=DAYS)
    with pytest.raises(Unauthorized):
        await hass.services.async_call(
            DOMAIN,
            action,
            {"branch": branch} | data,
            blocking=True,
            context=Context(user_id=hass_read_only_user.id),
        )
    await settle(hass)
    assert not lockdown_active(hass, "branch_oadby")
    assert building.get("pa.message") == 0
    assert await incidents(hass) == []


async def test_staff_start_a_lockdown_only_an_administrator_ends_it(
    hass: HomeAssistant,
    clock: Any,
    building: SimulatedBuilding,
    mock_config_entry: MockConfigEntry,
    hass_admin_user: MockUser,  # the owner: staff made after it are not
) -> None:
    """A lockdown only narrows entry, so staff start it; widening entry again is an admin's."""
    branch = await setup_branch(hass, mock_config_entry, schedule=DAYS)
    staff = await _staff(hass)
    await hass.services.async_call(
        DOMAIN, "lockdown", {"branch": branch}, blocking=True, context=staff
    )
    assert lockdown_active(hass, "branch_oadby")
    user = await hass.auth.async_get_user(staff.user_id)
    assert user is not None and not user.is_admin
    with pytest.raises(Unauthorized):
        await hass.services.async_call(
            DOMAIN, "end_lockdown", {"branch": branch}, blocking=True, context=staff
        )
    assert lockdown_active(hass, "branch_oadby")
    await hass.services.async_call(
        DOMAIN,
        "end_lockdown",
        {"branch": branch},
        blocking=True,
        context=Context(user_id=hass_admin_user.id),
    )
    assert not lockdown_active(hass, "branch_oadby")


MODE = "sensor.oadby_library_mode"
OPEN = "binary_sensor.oadby_library_open_to_members"


async def test_mode_and_open_to_members_say_locked_down(
    hass: HomeAssistant,
    clock: Any,
    building: SimulatedBuilding,
    mock_config_entry: MockConfigEntry,
    hass_admin_user: MockUser,
) -> None:
    """While the doors refuse everyone, no screen says "Staffed" and "Open to members: On".

    Staffed hours: the mode reads lockdown (the plan's mode kept in an attribute) and the branch
    is not open to members, also after a reload; a fire alarm shows over the lockdown; once an
    administrator ends it, the plan's mode and "open" are back.
    """
    branch = await setup_branch(hass, mock_config_entry, schedule=DAYS)
    assert hass.states.get(MODE).state == "staffed"
    assert hass.states.get(OPEN).state == "on"
    assert "lockdown" in hass.states.get(MODE).attributes["options"]
    await hass.services.async_call(
        DOMAIN,
        "lockdown",
        {"branch": branch},
        blocking=True,
        context=await _staff(hass),
    )
    mode = hass.states.get(MODE)
    assert mode.state == "lockdown"
    assert mode.attributes["plan_mode"] == "staffed"
    assert mode.attributes["lockdown_since"].startswith("2026-11-24T10:00")
    assert hass.states.get(OPEN).state == "off"

    assert await hass.config_entries.async_reload(mock_config_entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert hass.states.get(MODE).state == "lockdown"
    assert hass.states.get(OPEN).state == "off"

    building.raise_fire_alarm()
    for _ in range(4):
        await asyncio.sleep(0.05)
        await settle(hass)
    assert hass.states.get(MODE).state == "evacuation"  # the fire wins
    building.clear_fire_alarm()
    for _ in range(4):
        await asyncio.sleep(0.05)
        await settle(hass)
    admin = Context(user_id=hass_admin_user.id)
    await hass.services.async_call(
        DOMAIN, "reset_evacuation", {"branch": branch}, blocking=True, context=admin
    )
    assert (
        hass.states.get(MODE).state == "lockdown"
    )  # still locked down after the reset
    await hass.services.async_call(
        DOMAIN, "end_lockdown", {"branch": branch}, blocking=True, context=admin
    )
    mode = hass.states.get(MODE)
    assert (mode.state, mode.attributes["lockdown_since"]) == ("staffed", None)
    assert hass.states.get(OPEN).state == "on"
