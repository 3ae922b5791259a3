"""Occupancy of a branch: people inside now and entries today, from the door counter."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from homeassistant.components.sensor import (
    RestoreSensor,
    SensorDeviceClass,
    SensorEntity,
    SensorStateClass,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.util import dt as dt_util

from .coordinator import BranchCoordinator, SmartLibraryConfigEntry
from .engine.schedule import Mode
from .entity import BranchEntity, HoursEntity
from .hours import BranchHours

PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: SmartLibraryConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the opening-hours sensors of every branch, and occupancy where it has a counter."""
    for subentry_id, hours in entry.runtime_data.hours.items():
        async_add_entities(
            [ModeSensor(hours), NextChangeSensor(hours), ClosesAtSensor(hours)],
            config_subentry_id=subentry_id,
        )
    for subentry_id, coordinator in entry.runtime_data.branches.items():
        if "counter.in" in coordinator.point_map:
            async_add_entities(
                [PeopleInside(coordinator), EntriesToday(coordinator)],
                config_subentry_id=subentry_id,
            )


class PeopleInside(BranchEntity, RestoreSensor):
    """How many people are inside now: never below zero, reset at closing."""

    _attr_state_class = SensorStateClass.MEASUREMENT
    _attr_translation_key = "people_inside"

    def __init__(self, coordinator: BranchCoordinator) -> None:
        """Initialise the sensor."""
        super().__init__(coordinator, "people_inside")

    async def async_added_to_hass(self) -> None:
        """Carry the count over a restart of Home Assistant."""
        await super().async_added_to_hass()
        last = await self.async_get_last_sensor_data()
        if last is not None and isinstance(last.native_value, (int, float)):
            self.coordinator.occupancy.inside = max(0, int(last.native_value))

    @property
    def native_value(self) -> int:
        """Return the people inside."""
        return self.coordinator.occupancy.inside


class EntriesToday(BranchEntity, RestoreSensor):
    """How many people came in today (local midnight to midnight)."""

    _attr_state_class = SensorStateClass.TOTAL_INCREASING
    _attr_translation_key = "entries_today"

    def __init__(self, coordinator: BranchCoordinator) -> None:
        """Initialise the sensor."""
        super().__init__(coordinator, "entries_today")

    async def async_added_to_hass(self) -> None:
        """Carry today's count over a restart of Home Assistant (not yesterday's)."""
        await super().async_added_to_hass()
        state = await self.async_get_last_state()
        last = await self.async_get_last_sensor_data()
        if (
            state is not None
            and last is not None
            and isinstance(last.native_value, (int, float))
            and dt_util.as_local(state.last_updated).date() == dt_util.now().date()
        ):
            self.coordinator.occupancy.entries_today = int(last.native_value)

    @property
    def native_value(self) -> int:
        """Return today's entries."""
        return self.coordinator.occupancy.entries_today


class ModeSensor(HoursEntity, SensorEntity):
    """What the branch is doing now: staffed, smart, event or closed."""

    _attr_device_class = SensorDeviceClass.ENUM
    _attr_options = [m.value for m in Mode]
    _attr_translation_key = "mode"

    def __init__(self, hours: BranchHours) -> None:
        """Initialise the sensor."""
        super().__init__(hours, "mode")

    @property
    def native_value(self) -> str:
        """Return the mode."""
        return self.hours.mode.value

    @property
    def extra_state_attributes(self) -> dict[str, Any]:
        """Return whether the mode is set by hand."""
        return {"override": self.hours.override}


class NextChangeSensor(HoursEntity, SensorEntity):
    """When the mode next changes, per the opening hours."""

    _attr_device_class = SensorDeviceClass.TIMESTAMP
    _attr_translation_key = "next_change"

    def __init__(self, hours: BranchHours) -> None:
        """Initialise the sensor."""
        super().__init__(hours, "next_change")

    @property
    def native_value(self) -> datetime | None:
        """Return the instant of the next change."""
        return self.hours.next_change[0] if self.hours.next_change else None

    @property
    def extra_state_attributes(self) -> dict[str, Any]:
        """Return the mode the branch changes to."""
        return {
            "next_mode": self.hours.next_change[1].value
            if self.hours.next_change
            else None
        }


class ClosesAtSensor(HoursEntity, SensorEntity):
    """When the branch closes (unknown while it is closed)."""

    _attr_device_class = SensorDeviceClass.TIMESTAMP
    _attr_translation_key = "closes_at"

    def __init__(self, hours: BranchHours) -> None:
        """Initialise the sensor."""
        super().__init__(hours, "closes_at")

    @property
    def native_value(self) -> datetime | None:
        """Return the closing instant of the current open stretch."""
        return self.hours.closes_at
