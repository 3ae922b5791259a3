"""Door contacts and alarms, fire panel, panic buttons, controller connection, tailgating."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from homeassistant.components.binary_sensor import (
    BinarySensorDeviceClass,
    BinarySensorEntity,
    BinarySensorEntityDescription,
)
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .coordinator import BranchCoordinator
from .entity import BranchEntity, HoursEntity, numbered
from .hours import BranchHours
from .models import SmartLibraryConfigEntry

PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class BranchBinarySensorDescription(BinarySensorEntityDescription):
    """A binary sensor of a branch: what it shows and which point's module it depends on."""

    value_fn: Callable[[BranchCoordinator], bool | None]
    point: str | None = None  # None: available as long as the branch answers at all
    attributes_fn: Callable[[BranchCoordinator], dict[str, Any]] | None = None
    always_available: bool = False


@dataclass(frozen=True, kw_only=True)
class HoursBinarySensorDescription(BinarySensorEntityDescription):
    """A binary sensor of a branch's opening hours."""

    value_fn: Callable[[BranchHours], bool]


def _point(key: str) -> Callable[[BranchCoordinator], bool | None]:
    return lambda c: None if c.data is None else c.data.flag(key)


DOOR_SENSORS: dict[str, tuple[str, BinarySensorDeviceClass]] = {
    "open": ("door_open", BinarySensorDeviceClass.DOOR),
    "forced": ("door_forced", BinarySensorDeviceClass.PROBLEM),
    "held_open": ("door_held_open", BinarySensorDeviceClass.PROBLEM),
}


def _modules(coordinator: BranchCoordinator) -> dict[str, Any]:
    data = coordinator.data
    modules = {} if data is None else data.modules
    return {"modules": {name: health.status.value for name, health in modules.items()}}


FIXED: tuple[BranchBinarySensorDescription, ...] = (
    BranchBinarySensorDescription(
        key="fire.alarm",
        point="fire.alarm",
        translation_key="fire_alarm",
        device_class=BinarySensorDeviceClass.SAFETY,
        value_fn=_point("fire.alarm"),
    ),
    BranchBinarySensorDescription(
        key="fire.fault",
        point="fire.fault",
        translation_key="fire_fault",
        device_class=BinarySensorDeviceClass.PROBLEM,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=_point("fire.fault"),
    ),
    BranchBinarySensorDescription(
        key="tailgating",
        point="counter.in",
        translation_key="tailgating",
        device_class=BinarySensorDeviceClass.PROBLEM,
        value_fn=lambda c: c.tailgating,
    ),
)

CONTROLLER_CONNECTED = BranchBinarySensorDescription(
    key="controller_connected",
    translation_key="controller_connected",
    device_class=BinarySensorDeviceClass.CONNECTIVITY,
    entity_category=EntityCategory.DIAGNOSTIC,
    # Every module answered. It reports an outage rather than disappearing in it.
    value_fn=lambda c: c.last_update_success and c.data is not None and c.data.all_ok,
    attributes_fn=_modules,
    always_available=True,
)

OPEN_TO_MEMBERS = HoursBinarySensorDescription(
    key="open_to_members",
    translation_key="open_to_members",
    value_fn=lambda hours: hours.open_to_members,
)


def _descriptions(
    coordinator: BranchCoordinator,
) -> Iterator[BranchBinarySensorDescription]:
    point_map = coordinator.point_map
    for door in point_map.doors:
        for what, (translation, device_class) in DOOR_SENSORS.items():
            key = f"door.{door.id}.{what}"
            if key in point_map:
                yield BranchBinarySensorDescription(
                    key=key,
                    point=key,
                    translation_key=f"{translation}_{door.kind}",
                    device_class=device_class,
                    value_fn=_point(key),
                )
    for button, placeholders in numbered(point_map, "panic"):
        key = f"panic.{button}"
        yield BranchBinarySensorDescription(
            key=key,
            point=key,
            translation_key="panic",
            translation_placeholders=placeholders,
            device_class=BinarySensorDeviceClass.SAFETY,
            value_fn=_point(key),
        )
    for description in FIXED:
        if description.point is None or description.point in point_map:
            yield description
    yield CONTROLLER_CONNECTED


async def async_setup_entry(
    hass: HomeAssistant,
    entry: SmartLibraryConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the binary sensors of every branch."""
    for subentry_id, branch in entry.runtime_data.branches.items():
        entities: list[BinarySensorEntity] = [
            BranchBinarySensor(branch.coordinator, description)
            for description in _descriptions(branch.coordinator)
        ]
        entities.append(HoursBinarySensor(branch.hours, OPEN_TO_MEMBERS))
        async_add_entities(entities, config_subentry_id=subentry_id)


class BranchBinarySensor(BranchEntity, BinarySensorEntity):
    """A binary sensor read from the branch's controller."""

    entity_description: BranchBinarySensorDescription

    def __init__(
        self,
        coordinator: BranchCoordinator,
        description: BranchBinarySensorDescription,
    ) -> None:
        """Initialise from its description."""
        super().__init__(coordinator, description, description.point)

    @property
    def available(self) -> bool:
        """Return True while its module answers (the connection sensor always is)."""
        return self.entity_description.always_available or super().available

    @property
    def is_on(self) -> bool | None:
        """Return the sensor's state (None: unknown, never "all clear")."""
        return self.entity_description.value_fn(self.coordinator)

    @property
    def extra_state_attributes(self) -> dict[str, Any] | None:
        """Return the description's attributes, if any."""
        if self.entity_description.attributes_fn is None:
            return None
        return self.entity_description.attributes_fn(self.coordinator)


class HoursBinarySensor(HoursEntity, BinarySensorEntity):
    """A binary sensor of the branch's opening hours."""

    entity_description: HoursBinarySensorDescription

    @property
    def is_on(self) -> bool:
        """Return the sensor's state."""
        return self.entity_description.value_fn(self.hours)
