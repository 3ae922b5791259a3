"""Diagnostics: what a support engineer needs, nothing personal."""

from __future__ import annotations

from typing import Any

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util

from .access.library_system import REDACTED_DATA
from .runtime import SmartLibraryConfigEntry


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: SmartLibraryConfigEntry
) -> dict[str, Any]:
    """Return the service's settings and, per branch, its controller's state."""
    branches: dict[str, Any] = {}
    for subentry_id, branch in entry.runtime_data.branches.items():
        coordinator = branch.coordinator
        snapshot = coordinator.data
        branches[subentry_id] = {
            "title": branch.subentry.title,
            "settings": dict(branch.subentry.data),
            "point_map": coordinator.point_map.name,
            "read_plan": [
                {
                    "module": block.module,
                    "table": block.table.value,
                    "start": block.start,
                    "count": block.count,
                }
                for block in coordinator.controller.read_plan
            ],
            "connected": coordinator.last_update_success,
            "modules": {
                name: {"status": health.status.value, "detail": health.detail}
                for name, health in (snapshot.modules if snapshot else {}).items()
            },
            "modbus_requests": coordinator.controller.requests,
            "points": dict(snapshot.values) if snapshot else {},
            "mode": branch.hours.mode.value,
            "fire_alarm": coordinator.fire_alarm,
            "people_inside": coordinator.occupancy.inside,
            "entries_today": coordinator.occupancy.entries_today,
        }
    access = entry.runtime_data.access
    # Counts only: no card number, name or date of a member leaves the store here.
    membership: dict[str, Any] = await hass.async_add_executor_job(
        access.store.counts, dt_util.now().date()
    )
    membership["lockout_policy"] = {
        "attempts": access.decider.lockout.policy.attempts,
        "window_minutes": access.decider.lockout.policy.window.total_seconds() / 60,
        "minutes": access.decider.lockout.policy.duration.total_seconds() / 60,
    }
    membership["cards_locked_out"] = len(
        await hass.async_add_executor_job(access.decider.lockout.snapshot)
    )
    answer: dict[str, Any] = {
        # The library system's SIP login and password never leave the entry.
        "service": async_redact_data(dict(entry.data), REDACTED_DATA),
        "options": dict(entry.options),
        "membership": membership,
        "branches": branches,
    }
    if access.system is not None:
        answer["library_system"] = access.system.diagnostics()
    return answer
