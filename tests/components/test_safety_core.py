"""The safety core trusts nothing it should not: the bus, its own databases, a restart.

Each test is an attack or a fault a real installation meets: a logged-in user forging the
integration's bus events (through a mobile-app webhook, as any user's phone can, and through
the REST API), a full or damaged database, an alarm on before Home Assistant starts, a restart
in the middle of an evacuation or of an escalation.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
import os
from pathlib import Path
import random
import sqlite3
from typing import Any
from unittest.mock import patch

from aiohttp.test_utils import TestClient
from homeassistant.auth.const import GROUP_ID_READ_ONLY
from homeassistant.const import EVENT_HOMEASSISTANT_STOP
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, MockUser

from custom_components.smart_library.access.decisions import store_path
from custom_components.smart_library.access.reader_keys import ReaderKeys
from custom_components.smart_library.const import DOMAIN
from custom_components.smart_library.engine.members.readers import ThrottlePolicy
from custom_components.smart_library.engine.safety.incident_store import IncidentStore
from custom_components.smart_library.engine.safety.incidents import Category
from simulator.building import SimulatedBuilding

from .safety_common import (
    B,
    actions_of,
    add_phone,
    answer,
    at,
    clock_at,
    incidents,
    notify_calls,
    panic_pressed,
    runtime,
    settle,
    setup_branch,
)

CLIENT_ID = "https://example.com/app"
FORGED = {
    "smart_library_alarm": {"kind": "panic", "button": "counter"},
    "smart_library_alarms_acknowledged": {
        "by": "Duty Manager",
        "count": 1,
        "kinds": ["panic"],
    },
    "smart_library_evacuation": {"state": "evacuation", "inside_at_alarm": 3},
    "smart_library_help": {"point": "entrance"},
    "smart_library_tailgating": {
        "door": "entrance",
        "admitted": 1,
        "came_in": 4,
        "tailgaters": 3,
    },
    "smart_library_reader_throttled": {
        "reader": "Porch",
        "doors": ["entrance"],
        "refusals": 11,
        "throttle_minutes": 5,
    },
}


@pytest.fixture
def clock() -> Iterator[Any]:
    """Tuesday 24 November 2026, 19:59 in London (smart hours)."""
    yield from clock_at()


def _disk_full(*_args: Any, **_kwargs: Any) -> Any:
    """Raise what SQLite raises when the disk is full."""
    raise sqlite3.OperationalError("database or disk is full")


async def _token(hass: HomeAssistant, user: MockUser) -> str:
    refresh = await hass.auth.async_create_refresh_token(user, CLIENT_ID)
    return hass.auth.async_create_access_token(refresh)


async def test_forged_bus_events_and_answers_change_nothing(
    hass: HomeAssistant,
    clock: Any,
    building: SimulatedBuilding,
    mock_config_entry: MockConfigEntry,
    hass_client: Callable[..., Awaitable[TestClient]],
) -> None:
    """A read-only user's phone webhook and an admin's REST call fire every event: no effect.

    A real panic is pending escalation meanwhile: no forged event or answer stops it, no
    incident is opened, no phone is told, nothing plays on the PA, the alarm stays latched.
    """
    reader = MockUser(groups=[await hass.auth.async_get_group(GROUP_ID_READ_ONLY)])
    reader.add_to_hass(hass)
    first, second = await add_phone(hass, "first"), await add_phone(hass, "second")
    to_first, to_second = notify_calls(hass, "first"), notify_calls(hass, "second")
    await setup_branch(
        hass, mock_config_entry, on_call=[first], escalation=[second], minutes=5
    )
    assert await async_setup_component(hass, "api", {})
    assert await async_setup_component(hass, "mobile_app", {})
    await at(hass, clock, "2026-11-24 20:00:00")
    await panic_pressed(hass, building)
    (alert,) = to_first
    pa_before = building.get("pa.message")

    # The read-only user registers a phone (every user may) and fires each event through it.
    client = await hass_client(await _token(hass, reader))
    registered = await client.post(
        "/api/mobile_app/registrations",
        json={
            "app_id": "io.robbie.HomeAssistant",
            "app_name": "Home Assistant",
            "app_version": "2026.11",
            "device_name": "attacker",
            "manufacturer": "Apple",
            "model": "iPhone",
            "os_name": "iOS",
            "os_version": "26",
            "supports_encryption": False,
        },
    )
    assert registered.status == 201
    webhook = (await registered.json())["webhook_id"]
    admin = await hass_client()
    for event_type, data in FORGED.items():
        data = {"branch": "Oadby Library", "branch_id": "branch_oadby"} | data
        sent = await client.post(
            f"/api/webhook/{webhook}",
            json={
                "type": "fire_event",
                "data": {"event_type": event_type, "event_data": data},
            },
        )
        assert sent.status == 200
        posted = await admin.post(f"/api/events/{event_type}", json=data)
        assert posted.status == 200
    # The read-only user's phone answers the real alert with its own action ids.
    for action in actions_of(alert).values():
        answer(hass, action, reader)
    await hass.async_block_till_done(wait_background_tasks=True)

    (panic,) = await incidents(hass)
    assert panic.category is Category.PANIC
    assert len(to_first) == 1
    assert building.get("pa.message") == pa_before
    coordinator = mock_config_entry.runtime_data.branches["branch_oadby"].coordinator
    assert [a.kind.value for a in coordinator.unacknowledged_alarms] == ["panic"]
    assert hass.states.get(f"binary_sensor.{B}_evacuation").state == "off"
    # The escalation was not stopped by any of it.
    await at(hass, clock, "2026-11-24 20:05:05")
    (escalated,) = to_second
    assert "Nobody acknowledged within 5 minutes" in escalated.data["message"]


async def test_a_phone_answer_counts_only_from_a_user_it_was_sent_to(
    hass: HomeAssistant,
    clock: Any,
    building: SimulatedBuilding,
    mock_config_entry: MockConfigEntry,
    hass_admin_user: MockUser,
) -> None:
    """The duty manager's own phone acknowledges: the alarm in the building is acknowledged."""
    other = MockUser(name="Someone else")
    other.add_to_hass(hass)
    phone = await add_phone(hass, "duty", user=hass_admin_user)
    calls = notify_calls(hass, "duty")
    await setup_branch(hass, mock_config_entry, on_call=[phone])
    await at(hass, clock, "2026-11-24 20:00:00")
    await panic_pressed(hass, building)
    acknowledge = actions_of(calls[0])["Acknowledge"]
    coordinator = mock_config_entry.runtime_data.branches["branch_oadby"].coordinator
    answer(hass, acknowledge, other)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert len(coordinator.unacknowledged_alarms) == 1
    answer(hass, acknowledge, hass_admin_user)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert coordinator.unacknowledged_alarms == []
    assert hass.states.get(f"sensor.{B}_unacknowledged_alarms").state == "0"


async def test_a_full_incident_store_delays_the_record_never_the_alert(
    hass: HomeAssistant,
    clock: Any,
    building: SimulatedBuilding,
    mock_config_entry: MockConfigEntry,
) -> None:
    """Panic with the incident database full: the phone rings; the incident is written later."""
    phone = await add_phone(hass, "duty")
    calls = notify_calls(hass, "duty")
    await setup_branch(hass, mock_config_entry, on_call=[phone])
    log = runtime(hass).log
    full = [
        patch.object(IncidentStore, method, _disk_full)
        for method in ("add", "change", "start_lockdown")
    ]
    for writer in full:
        writer.start()
    await at(hass, clock, "2026-11-24 20:00:00")
    building.press_panic("counter")
    for _ in range(50):  # up to 5 s of polls
        await settle(hass)
        if calls:
            break
        await asyncio.sleep(0.1)
    (alert,) = calls
    assert alert.data["data"]["push"]["sound"]["critical"] == 1
    issue_id = f"incident_store_{mock_config_entry.entry_id}"
    issue = ir.async_get(hass).async_get_issue(DOMAIN, issue_id)
    assert issue is not None and issue.translation_key == "incident_store_full"
    assert log.waiting >= 1
    assert await hass.async_add_executor_job(log.store.incidents) == []
    # Space returns: the waiting record is written on the next try, once.
    for writer in full:
        writer.stop()
    await at(hass, clock, "2026-11-24 20:01:30")
    stored = await hass.async_add_executor_job(log.store.incidents)
    assert [i.category for i in stored] == [Category.PANIC]
    assert any(e.text.startswith("Staff alerted (critical)") for e in stored[0].log)
    assert log.waiting == 0
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is None


@pytest.mark.parametrize("damage", ["random_bytes", "truncated_to_half"])
async def test_a_damaged_member_store_never_takes_the_fire_rule_down(
    hass: HomeAssistant,
    clock: Any,
    building: SimulatedBuilding,
    mock_config_entry: MockConfigEntry,
    damage: str,
) -> None:
    """Corrupt or half a member database: doors held on fire, members refused, a repair."""
    mock_config_entry.add_to_hass(hass)
    path = Path(store_path(hass, mock_config_entry.entry_id))
    path.parent.mkdir(parents=True, exist_ok=True)
    if damage == "random_bytes":
        path.write_bytes(random.Random(7).randbytes(64 * 1024))
    else:
        # A real store first (with members), then cut to half its size.
        device = await setup_branch(hass, mock_config_entry)
        await hass.services.async_call(
            DOMAIN,
            "enroll_member",
            {
                "config_entry_id": mock_config_entry.entry_id,
                "card": "21000000000001",
                "name": "A Member",
                "birth_date": "1980-01-01",
                "card_expiry": "2030-01-01",
            },
            blocking=True,
        )
        assert device
        assert await hass.config_entries.async_unload(mock_config_entry.entry_id)
        os.truncate(path, path.stat().st_size // 2)
    damaged = path.read_bytes()
    device = await setup_branch(hass, mock_config_entry)
    building.raise_fire_alarm()
    loop = asyncio.get_running_loop()
    started = loop.time()
    while loop.time() - started < 2:
        await settle(hass)
        if all(building.get(f"door.{d}.hold") for d in ("entrance", "meeting_room")):
            break
    assert all(building.get(f"door.{d}.hold") for d in ("entrance", "meeting_room"))
    building.clear_fire_alarm()
    answer_ = await hass.services.async_call(
        DOMAIN,
        "request_access",
        {"branch": device, "door": "entrance", "card": "21000000000001", "pin": "1234"},
        blocking=True,
        return_response=True,
    )
    assert answer_ is not None and answer_["reason"] == "store_unavailable"
    issue = ir.async_get(hass).async_get_issue(
        DOMAIN, f"member_store_{mock_config_entry.entry_id}"
    )
    assert issue is not None
    assert issue.translation_key == "member_store_corrupt"
    assert path.read_bytes() == damaged  # the damaged file is kept untouched


async def test_a_fire_alarm_on_before_set_up_opens_one_incident_and_one_alert(
    hass: HomeAssistant,
    clock: Any,
    building: SimulatedBuilding,
    mock_config_entry: MockConfigEntry,
) -> None:
    """Home Assistant starts into a fire: staff are told once."""
    phone = await add_phone(hass, "duty")
    calls = notify_calls(hass, "duty")
    building.raise_fire_alarm()
    await setup_branch(hass, mock_config_entry, on_call=[phone])
    for _ in range(3):
        await settle(hass)
    fires = [i for i in await incidents(hass) if i.category is Category.FIRE]
    assert len(fires) == 1
    (alert,) = calls
    assert alert.data["data"]["push"]["sound"]["critical"] == 1
    # A restart during the same alarm is not a new alarm.
    assert await hass.config_entries.async_reload(mock_config_entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    await settle(hass)
    assert len([i for i in await incidents(hass) if i.category is Category.FIRE]) == 1
    assert len(calls) == 1


async def test_a_restart_during_an_evacuation_keeps_the_count_at_the_alarm(
    hass: HomeAssistant,
    clock: Any,
    building: SimulatedBuilding,
    mock_config_entry: MockConfigEntry,
) -> None:
    """Twelve inside when the alarm sounds: still twelve after a restart."""
    await setup_branch(hass, mock_config_entry)
    building.set("counter.in", int(building.get("counter.in")) + 12)
    await settle(hass)
    assert hass.states.get(f"sensor.{B}_people_inside").state == "12"
    building.raise_fire_alarm()
    await settle(hass)
    evacuation = f"binary_sensor.{B}_evacuation"
    assert hass.states.get(evacuation).attributes["inside_at_alarm"] == 12
    assert await hass.config_entries.async_reload(mock_config_entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    await settle(hass)
    assert hass.states.get(evacuation).state == "on"
    assert hass.states.get(evacuation).attributes["inside_at_alarm"] == 12
    assert hass.states.get(f"sensor.{B}_people_inside").state == "12"


@pytest.mark.parametrize("change", ["set_on_call", "reload"])
async def test_a_pending_escalation_survives_a_new_on_call_list_and_a_restart(
    hass: HomeAssistant,
    clock: Any,
    building: SimulatedBuilding,
    mock_config_entry: MockConfigEntry,
    change: str,
) -> None:
    """Panic at 20:00, the on-call list changed (or a restart) at 20:01: escalated at 20:05."""
    first, second = await add_phone(hass, "first"), await add_phone(hass, "second")
    notify_calls(hass, "first")
    to_second = notify_calls(hass, "second")
    await setup_branch(
        hass, mock_config_entry, on_call=[first], escalation=[second], minutes=5
    )
    await at(hass, clock, "2026-11-24 20:00:00")
    await panic_pressed(hass, building)
    await at(hass, clock, "2026-11-24 20:01:00")
    if change == "set_on_call":
        await hass.services.async_call(
            DOMAIN,
            "set_on_call",
            {
                "config_entry_id": mock_config_entry.entry_id,
                "phones": [first],
                "escalation_phones": [second],
            },
            blocking=True,
        )
    else:
        assert await hass.config_entries.async_reload(mock_config_entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    await at(hass, clock, "2026-11-24 20:04:50")
    assert to_second == []
    await at(hass, clock, "2026-11-24 20:05:05")
    (escalated,) = to_second
    assert "Nobody acknowledged within 5 minutes" in escalated.data["message"]


async def test_a_restart_keeps_a_throttled_reader_throttled(
    hass: HomeAssistant,
    clock: Any,
    building: SimulatedBuilding,
    mock_config_entry: MockConfigEntry,
) -> None:
    """A reader paused after a burst of refusals is still paused after a restart."""
    await setup_branch(hass, mock_config_entry)
    keys = await ReaderKeys.async_load(hass)
    key, _ = await keys.async_create(
        name="Porch",
        entry_id=mock_config_entry.entry_id,
        subentry_id="branch_oadby",
        doors=["entrance"],
    )
    policy = ThrottlePolicy()
    for _ in range(policy.refusals + 1):
        if keys.admit(key) is not None:
            break
        keys.settle(key, "Oadby Library", "not_recognised")
    assert keys.admit(key) is not None
    await at(hass, clock, "2026-11-24 20:00:05")  # the throttle's delayed write
    await hass.async_block_till_done()
    again = await ReaderKeys.async_load(hass)  # what a restart loads
    assert again.admit(key) is not None


async def test_home_assistant_stopping_then_the_service_unloading_logs_no_error(
    hass: HomeAssistant,
    clock: Any,
    mock_config_entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The stop handler runs once; the unload after it does not remove it again (an error log)."""
    await setup_branch(hass, mock_config_entry)
    hass.bus.async_fire(EVENT_HOMEASSISTANT_STOP)
    await hass.async_block_till_done()
    assert await hass.config_entries.async_unload(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    assert "Unable to remove unknown job listener" not in caplog.text
    assert not [r for r in caplog.records if r.levelname == "ERROR"]
