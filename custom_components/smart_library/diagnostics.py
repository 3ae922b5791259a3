"""Diagnostics: what a support engineer needs, nothing personal."""

from __future__ import annotations

from typing import Any

from homeassistant.core import HomeAssistant

from .coordinator import SmartLibraryConfigEntry


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: SmartLibraryConfigEntry
) -> dict[str, Any]:
    """Return the service's settings and, per branch, its controller's state."""
    branches: dict[str, Any] = {}
    for subentry_id, coordinator in entry.runtime_data.branches.items():
        subentry = entry.subentries[subentry_id]
        branches[subentry.title] = {
            "settings": dict(subentry.data),
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
            "modbus_requests": coordinator.controller.requests,
            "points": dict(coordinator.data or {}),
            "people_inside": coordinator.occupancy.inside,
            "entries_today": coordinator.occupancy.entries_today,
        }
    return {"service": dict(entry.data), "branches": branches}
