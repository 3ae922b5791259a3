"""Occupancy of a branch (people inside, entries today) and its opening hours (mode, times)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from homeassistant.components.sensor import (
    RestoreSensor,
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorExtraStoredData,
    SensorStateClass,
)
from homeassistant.core import HomeAssistant, State
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.util import dt as dt_util

from .coordinator import BranchCoordinator
from .engine.occupancy import Occupancy
from .engine.schedule import Mode
from .entity import BranchEntity, HoursEntity
from .hours import BranchHours
from .models import SmartLibraryConfigEntry

PARALLEL_UPDATES = 0


def _restore_inside(occupancy: Occupancy, value: int, state: State) -> None:
    """Carry the people inside over a restart of Home Assistant."""
    occupancy.inside = max(0, value)


def _restore_today(occupancy: Occupancy, value: int, state: State) -> None:
    """Carry today's entries over a restart (not yesterday's)."""
    if dt_util.as_local(state.last_updated).date() == dt_util.now().date():
        occupancy.entries_today = value


@dataclass(frozen=True, kw_only=True)
class OccupancySensorDescription(SensorEntityDescription):
    """A count kept from the people counter, carried over a restart."""

    value_fn: Callable[[Occupancy], int]
    restore_fn: Callable[[Occupancy, int, State], None]


@dataclass(frozen=True, kw_only=True)
class HoursSensorDescription(SensorEntityDescription):
    """A sensor of the branch's opening hours."""

    value_fn: Callable[[BranchHours], str | datetime | None]
    attributes_fn: Callable[[BranchHours], dict[str, Any]] | None = None


OCCUPANCY: tuple[OccupancySensorDescription, ...] = (
    OccupancySensorDescription(
        key="people_inside",
        translation_key="people_inside",
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=lambda o: o.inside,
        restore_fn=_restore_inside,
    ),
    OccupancySensorDescription(
        key="entries_today",
        translation_key="entries_today",
        state_class=SensorStateClass.TOTAL_INCREASING,
        value_fn=lambda o: o.entries_today,
        restore_fn=_restore_today,
    ),
)

HOURS: tuple[HoursSensorDescription, ...] = (
    HoursSensorDescription(
        key="mode",
        translation_key="mode",
        device_class=SensorDeviceClass.ENUM,
        options=[m.value for m in Mode],
        value_fn=lambda h: h.mode.value,
        attributes_fn=lambda h: {"override": h.override},
    ),
    HoursSensorDescription(
        key="next_change",
        translation_key="next_change",
        device_class=SensorDeviceClass.TIMESTAMP,
        value_fn=lambda h: h.next_change[0] if h.next_change else None,
        attributes_fn=lambda h: {
            "next_mode": h.next_change[1].value if h.next_change else None
        },
    ),
    HoursSensorDescription(
        key="closes_at",
        translation_key="closes_at",
        device_class=SensorDeviceClass.TIMESTAMP,
        value_fn=lambda h: h.closes_at,
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: SmartLibraryConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the opening-hours sensors of every branch, and occupancy where it has a counter."""
    for subentry_id, branch in entry.runtime_data.branches.items():
        entities: list[SensorEntity] = [
            HoursSensor(branch.hours, description) for description in HOURS
        ]
        if "counter.in" in branch.coordinator.point_map:
            entities.extend(
                OccupancySensor(branch.coordinator, description)
                for description in OCCUPANCY
            )
        async_add_entities(entities, config_subentry_id=subentry_id)


class OccupancySensor(BranchEntity, RestoreSensor):
    """A count from the branch's people counter."""

    entity_description: OccupancySensorDescription

    def __init__(
        self, coordinator: BranchCoordinator, description: OccupancySensorDescription
    ) -> None:
        """Initialise the sensor (available while the counter's module answers)."""
        super().__init__(coordinator, description, "counter.in")

    async def async_added_to_hass(self) -> None:
        """Carry the count over a restart of Home Assistant."""
        await super().async_added_to_hass()
        state = await self.async_get_last_state()
        last: SensorExtraStoredData | None = await self.async_get_last_sensor_data()
        if (
            state is not None
            and last is not None
            and isinstance(last.native_value, (int, float))
        ):
            self.entity_description.restore_fn(
                self.coordinator.occupancy, int(last.native_value), state
            )

    @property
    def native_value(self) -> int:
        """Return the count."""
        return self.entity_description.value_fn(self.coordinator.occupancy)


class HoursSensor(HoursEntity, SensorEntity):
    """A sensor of the branch's opening hours."""

    entity_description: HoursSensorDescription

    @property
    def native_value(self) -> str | datetime | None:
        """Return the value."""
        return self.entity_description.value_fn(self.hours)

    @property
    def extra_state_attributes(self) -> dict[str, Any] | None:
        """Return the description's attributes, if any."""
        if self.entity_description.attributes_fn is None:
            return None
        return self.entity_description.attributes_fn(self.hours)
