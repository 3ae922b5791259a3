"""Incidents against the simulated building: alarms record themselves, staff review them.

The issue's walk first: a panic press at 20:00 in smart hours reaches the on-call phone as a
critical, actionable alert; acknowledged from the phone; a lockdown asked by voice; ended by an
administrator; both incidents recorded with their times and exported; a bar's review date
arriving raises its reminder.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
import csv
import io
from typing import Any

from homeassistant.core import Context, HomeAssistant
from homeassistant.exceptions import Unauthorized
from homeassistant.helpers import intent, issue_registry as ir
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    MockUser,
    async_capture_events,
)

from custom_components.smart_library.const import DOMAIN
from custom_components.smart_library.engine.incidents import Category, Source
from custom_components.smart_library.safety_runtime import lockdown_active
from simulator.building import SimulatedBuilding

from .safety_common import (
    actions_of,
    add_phone,
    answer,
    at,
    clock_at,
    incidents,
    notify_calls,
    settle,
    setup_branch,
)

ADULT = "21234000000001"


@pytest.fixture
def clock() -> Iterator[Any]:
    """Tuesday 24 November 2026, 19:59 in London: smart hours 18:00-21:00."""
    yield from clock_at()


async def test_the_walk_panic_acknowledge_lockdown_end_export_and_a_bar_review(
    hass: HomeAssistant,
    clock: Any,
    building: SimulatedBuilding,
    mock_config_entry: MockConfigEntry,
    hass_admin_user: MockUser,
) -> None:
    """The issue's "Done when", end to end against the simulator."""
    building.timing.message_seconds = 0.2
    ann = await hass.auth.async_create_user("Ann", group_ids=["system-users"])
    phone = await add_phone(hass, "ann_phone", ann)
    backup = await add_phone(hass, "backup_phone")
    to_ann = notify_calls(hass, "ann_phone")
    to_backup = notify_calls(hass, "backup_phone")
    branch = await setup_branch(
        hass, mock_config_entry, on_call=[phone], escalation=[backup], minutes=5
    )
    assert await async_setup_component(hass, "intent", {})

    # 20:00, smart hours, nobody on staff: the panic button.
    await at(hass, clock, "2026-11-24 20:00:00")
    building.press_panic("counter")
    await asyncio.sleep(0.1)
    await settle(hass)
    building.press_panic("counter", on=False)

    (panic,) = await incidents(hass)
    assert (panic.category, panic.source, panic.is_open) == (
        Category.PANIC,
        Source.ALARM,
        True,
    )
    assert panic.occurred_at.strftime("%H:%M") == "20:00"
    (alert,) = to_ann
    data = alert.data["data"]
    assert data["push"]["sound"] == {"name": "default", "critical": 1, "volume": 1.0}
    assert (data["channel"], data["priority"], data["ttl"]) == (
        "alarm_stream",
        "high",
        0,
    )
    assert "Panic alarm" in alert.data["title"]
    assert "smart hours" in alert.data["message"]
    buttons = actions_of(alert)
    assert set(buttons) == {"Acknowledge", "Lock down", "I'm on my way"}

    # 20:01: acknowledged from Ann's phone: the latched alarm is acknowledged in her name.
    acknowledged = async_capture_events(hass, "smart_library_alarms_acknowledged")
    await at(hass, clock, "2026-11-24 20:01:00")
    answer(hass, buttons["Acknowledge"], ann)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert [e.data["by"] for e in acknowledged] == ["Ann"]
    coordinator = mock_config_entry.runtime_data.branches["branch_oadby"].coordinator
    assert coordinator.unacknowledged_alarms == []

    # Nobody is escalated to: the alert was answered within five minutes.
    await at(hass, clock, "2026-11-24 20:06:00")
    assert to_backup == []

    # 20:02 (on Ann's clock): a lockdown asked by voice, in Ann's name.
    response = await intent.async_handle(
        hass,
        "test",
        "SmartLibraryLockdown",
        {"branch": {"value": "Oadby"}},
        context=Context(user_id=ann.id),
    )
    assert "locked down" in response.speech["plain"]["speech"]
    await hass.async_block_till_done(wait_background_tasks=True)
    assert lockdown_active(hass, "branch_oadby")
    assert building.get("pa.message") == 20  # the lockdown message

    # Only an administrator ends it.
    with pytest.raises(Unauthorized):
        await hass.services.async_call(
            DOMAIN,
            "end_lockdown",
            {"branch": branch},
            blocking=True,
            context=Context(user_id=ann.id),
        )
    assert lockdown_active(hass, "branch_oadby")
    await at(hass, clock, "2026-11-24 20:30:00")
    await hass.services.async_call(
        DOMAIN,
        "end_lockdown",
        {"branch": branch},
        blocking=True,
        context=Context(user_id=hass_admin_user.id),
    )
    await hass.async_block_till_done(wait_background_tasks=True)
    assert not lockdown_active(hass, "branch_oadby")

    panic, lockdown = await incidents(hass)
    assert [(e.at.strftime("%H:%M"), e.text, e.by) for e in panic.log][:3] == [
        ("20:00", "Recorded", "Smart Library"),
        ("20:00", "Staff alerted (critical): ann_phone", "Smart Library"),
        ("20:01", "Acknowledged from a phone", "Ann"),
    ]
    assert lockdown.category is Category.LOCKDOWN
    assert lockdown.recorded_by == "Ann"
    assert lockdown.source is Source.VOICE
    texts = [(e.text, e.by) for e in lockdown.log]
    assert ("Lockdown started by voice", "Ann") in texts
    assert ("Lockdown ended", hass_admin_user.name) in texts
    assert [
        e.at.strftime("%H:%M") for e in lockdown.log if e.text == "Lockdown ended"
    ] == ["20:30"]

    # Exported: both, with their times, nothing a spreadsheet would run.
    export = await hass.services.async_call(
        DOMAIN,
        "export_incidents",
        {},
        blocking=True,
        return_response=True,
        context=Context(user_id=hass_admin_user.id),
    )
    rows = list(csv.DictReader(io.StringIO(export["csv"])))
    assert export["incidents"] == 2
    assert [(r["category"], r["occurred_at"]) for r in rows] == [
        ("panic", "2026-11-24T20:00:00+00:00"),
        ("lockdown", rows[1]["occurred_at"]),
    ]
    assert "Acknowledged from a phone (Ann)" in rows[0]["timeline"]
    assert "Lockdown ended" in rows[1]["timeline"]

    # A bar's review date arriving raises its reminder.
    admin = Context(user_id=hass_admin_user.id)
    await hass.services.async_call(
        DOMAIN,
        "enroll_member",
        {
            "card": ADULT,
            "birth_date": "1980-01-01",
            "card_expiry": "2030-01-01",
            "induction_date": "2026-01-01",
        },
        blocking=True,
        context=admin,
    )
    await hass.services.async_call(
        DOMAIN,
        "bar_member",
        {"card": ADULT, "reason": "Threatened staff", "review_date": "2026-11-26"},
        blocking=True,
        context=admin,
    )
    registry = ir.async_get(hass)
    await at(hass, clock, "2026-11-25 03:10:00")
    assert not [i for (d, i) in registry.issues if d == DOMAIN and "ban_review" in i]
    await at(hass, clock, "2026-11-26 03:10:00")
    (issue,) = [
        v for (d, i), v in registry.issues.items() if d == DOMAIN and "ban_review" in i
    ]
    assert issue.translation_placeholders["card"] == "••••0001"
    assert issue.translation_placeholders["review_date"] == "26 November 2026"
