"""Helpers of the safety tests: a branch in smart hours, on-call phones, their answers."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import time
from typing import Any

import freezegun
from homeassistant.auth.models import User
from homeassistant.core import Context, HomeAssistant, ServiceCall
from homeassistant.helpers import device_registry as dr
from homeassistant.util import dt as dt_util
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
from custom_components.smart_library.engine.safety.incidents import Incident
from custom_components.smart_library.runtime import safety_of
from custom_components.smart_library.safety.common import (
    CONF_ESCALATION_MINUTES,
    CONF_ESCALATION_PHONES,
    CONF_ON_CALL,
)
from custom_components.smart_library.safety.runtime import SafetyRuntime
from simulator.building import SimulatedBuilding

B = "oadby_library"
TODO = f"todo.{B}_incidents_to_review"
EVENINGS = Schedule(week=((Period(time(18), time(21), Mode.SMART),),) * 7)
# Tuesday 24 November 2026, London (UTC in winter).
EVENING = "2026-11-24 19:59:00+00:00"


def clock_at(moment: str = EVENING) -> Iterator[Any]:
    """Freeze Home Assistant's clock at `moment`, running on from there."""
    with freezegun.freeze_time(moment, tick=True) as frozen:
        yield frozen


async def add_phone(hass: HomeAssistant, name: str, user: User | None = None) -> str:
    """Register a companion-app phone (its mobile_app entry and device); return the device id."""
    entry = MockConfigEntry(
        domain="mobile_app",
        title=name,
        data={
            "device_name": name,
            "device_id": f"{name}-id",
            "user_id": user.id if user else None,
            "app_data": {"push_token": "t", "push_url": "https://push.invalid"},
        },
    )
    entry.add_to_hass(hass)
    device = dr.async_get(hass).async_get_or_create(
        config_entry_id=entry.entry_id,
        identifiers={("mobile_app", f"{name}-id")},
        name=name,
        manufacturer="Apple",
        model="iPhone",
    )
    return device.id


def notify_calls(hass: HomeAssistant, name: str) -> list[ServiceCall]:
    """Capture the notify calls to one phone."""
    return async_mock_service(hass, "notify", f"mobile_app_{name}")


async def setup_branch(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    *,
    on_call: list[str] | None = None,
    escalation: list[str] | None = None,
    minutes: int = 5,
    schedule: Schedule = EVENINGS,
    **options: Any,
) -> str:
    """Set the library service up with smart evenings (and phones); return the branch device."""
    await hass.config.async_update(time_zone="Europe/London")
    subentry = entry.subentries["branch_oadby"]
    entry.add_to_hass(hass)
    hass.config_entries.async_update_subentry(
        entry,
        subentry,
        data=dict(subentry.data) | {CONF_SCHEDULE: schedule.to_dict()},
    )
    hass.config_entries.async_update_entry(
        entry,
        options=dict(entry.options)
        | {
            CONF_ON_CALL: on_call or [],
            CONF_ESCALATION_PHONES: escalation or [],
            CONF_ESCALATION_MINUTES: minutes,
        }
        | options,
    )
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    device = dr.async_get(hass).async_get_device_by_identifier(
        (DOMAIN, "branch_oadby"), entry.entry_id
    )
    assert device is not None
    return device.id


def runtime(hass: HomeAssistant) -> SafetyRuntime:
    """Return the library service's safety tools."""
    entry = hass.config_entries.async_entries(DOMAIN)[0]
    found = safety_of(hass, entry.entry_id)
    assert found is not None
    return found


async def incidents(hass: HomeAssistant) -> list[Incident]:
    """Return every incident of the library service, oldest first."""
    return await runtime(hass).log.async_incidents()


async def settle(hass: HomeAssistant) -> None:
    """Poll every branch once and let what it started finish."""
    for entry in hass.config_entries.async_entries(DOMAIN):
        for branch in entry.runtime_data.branches.values():
            await branch.coordinator.async_refresh()
    await hass.async_block_till_done(wait_background_tasks=True)


async def at(hass: HomeAssistant, clock: Any, moment: str) -> None:
    """Move the clock to a London wall-clock time and let timers fire."""
    clock.move_to(f"{moment}+00:00")
    async_fire_time_changed(hass, dt_util.utcnow())
    await hass.async_block_till_done(wait_background_tasks=True)


async def panic_pressed(hass: HomeAssistant, building: SimulatedBuilding) -> None:
    """Press the counter's panic button and let go, polling in between (one alarm)."""
    building.press_panic("counter")
    await asyncio.sleep(0.05)
    await settle(hass)
    building.press_panic("counter", on=False)
    await settle(hass)


def answer(hass: HomeAssistant, action: str, user: User) -> None:
    """Answer a notification from a phone: the event the companion app fires."""
    hass.bus.async_fire(
        "mobile_app_notification_action",
        {"action": action},
        context=Context(user_id=user.id),
    )


def actions_of(call: ServiceCall) -> dict[str, str]:
    """Return a notification's actions by title."""
    return {a["title"]: a["action"] for a in call.data["data"].get("actions", [])}
