"""Door contacts and alarms, fire panel, panic buttons, controller connection."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from homeassistant.components.binary_sensor import (
    BinarySensorDeviceClass,
    BinarySensorEntity,
    BinarySensorEntityDescription,
)
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .coordinator import BranchCoordinator, SmartLibraryConfigEntry
from .entity import BranchEntity, HoursEntity
from .hours import BranchHours

PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class PointBinarySensorDescription(BinarySensorEntityDescription):
    """A binary sensor read straight from one point (`key` is the point's key)."""


DOOR_SENSORS: dict[str, tuple[str, BinarySensorDeviceClass]] = {
    "open": ("door_open", BinarySensorDeviceClass.DOOR),
    "forced": ("door_forced", BinarySensorDeviceClass.PROBLEM),
    "held_open": ("door_held_open", BinarySensorDeviceClass.PROBLEM),
}


def _descriptions(
    coordinator: BranchCoordinator,
) -> Iterator[PointBinarySensorDescription]:
    point_map = coordinator.point_map
    for door in point_map.doors:
        for what, (translation, device_class) in DOOR_SENSORS.items():
            key = f"door.{door.id}.{what}"
            if key in point_map:
                yield PointBinarySensorDescription(
                    key=key,
                    translation_key=f"{translation}_{door.kind}",
                    device_class=device_class,
                )
    if "fire.alarm" in point_map:
        yield PointBinarySensorDescription(
            key="fire.alarm",
            translation_key="fire_alarm",
            device_class=BinarySensorDeviceClass.SAFETY,
        )
    if "fire.fault" in point_map:
        yield PointBinarySensorDescription(
            key="fire.fault",
            translation_key="fire_fault",
            device_class=BinarySensorDeviceClass.PROBLEM,
            entity_category=EntityCategory.DIAGNOSTIC,
        )
    for button in point_map.ids("panic"):
        yield PointBinarySensorDescription(
            key=f"panic.{button}",
            translation_key=f"panic_{button}",
            device_class=BinarySensorDeviceClass.SAFETY,
        )


async def async_setup_entry(
    hass: HomeAssistant,
    entry: SmartLibraryConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the binary sensors of every branch."""
    for subentry_id, coordinator in entry.runtime_data.branches.items():
        entities: list[BinarySensorEntity] = [
            PointBinarySensor(coordinator, description)
            for description in _descriptions(coordinator)
        ]
        entities.append(ControllerConnected(coordinator))
        if "counter.in" in coordinator.point_map:
            entities.append(Tailgating(coordinator))
        entities.append(OpenToMembers(entry.runtime_data.hours[subentry_id]))
        async_add_entities(entities, config_subentry_id=subentry_id)


class PointBinarySensor(BranchEntity, BinarySensorEntity):
    """A binary sensor that shows one input of the controller."""

    entity_description: PointBinarySensorDescription

    def __init__(
        self, coordinator: BranchCoordinator, description: PointBinarySensorDescription
    ) -> None:
        """Initialise from its description."""
        super().__init__(coordinator, description.key)
        self.entity_description = description

    @property
    def is_on(self) -> bool | None:
        """Return the input's state."""
        value = self.value(self.entity_description.key)
        return None if value is None else bool(value)


class ControllerConnected(BranchEntity, BinarySensorEntity):
    """Whether the branch's controller answers; available even when it does not."""

    _attr_device_class = BinarySensorDeviceClass.CONNECTIVITY
    _attr_entity_category = EntityCategory.DIAGNOSTIC
    _attr_translation_key = "controller_connected"

    def __init__(self, coordinator: BranchCoordinator) -> None:
        """Initialise the connection sensor."""
        super().__init__(coordinator, "controller_connected")

    @property
    def available(self) -> bool:
        """Return True: this sensor reports the outage rather than disappearing in it."""
        return True

    @property
    def is_on(self) -> bool:
        """Return True while the last poll succeeded."""
        return self.coordinator.last_update_success


class OpenToMembers(HoursEntity, BinarySensorEntity):
    """Whether members may come in now (staffed, smart or event time)."""

    _attr_translation_key = "open_to_members"

    def __init__(self, hours: BranchHours) -> None:
        """Initialise the sensor."""
        super().__init__(hours, "open_to_members")

    @property
    def is_on(self) -> bool:
        """Return True while the branch is open to members."""
        return self.hours.open_to_members


class Tailgating(BranchEntity, BinarySensorEntity):
    """On for a while after more people came in on a card release than it admitted."""

    _attr_device_class = BinarySensorDeviceClass.PROBLEM
    _attr_translation_key = "tailgating"

    def __init__(self, coordinator: BranchCoordinator) -> None:
        """Initialise the tailgating sensor."""
        super().__init__(coordinator, "tailgating")

    @property
    def is_on(self) -> bool:
        """Return True while a tailgating report is recent."""
        return self.coordinator.tailgating
