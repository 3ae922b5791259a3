"""Occupancy of a branch: people inside now and entries today, from the door counter."""

from __future__ import annotations

from homeassistant.components.sensor import RestoreSensor, SensorStateClass
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.util import dt as dt_util

from .coordinator import BranchCoordinator, SmartLibraryConfigEntry
from .entity import BranchEntity

PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: SmartLibraryConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the occupancy sensors of every branch that has a people counter."""
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
