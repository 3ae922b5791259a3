"""Base entities for Smart Library: one device per branch building.

Every platform describes its entities with `EntityDescription`s over the point map (does the
branch have it?) and the snapshot (what is it now?). An entity read from the controller is
available only while *its own* I/O module answers: a dead lighting module does not hide the
fire alarm wired to another.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from homeassistant.config_entries import ConfigSubentry
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.entity import Entity, EntityDescription
from homeassistant.helpers.update_coordinator import CoordinatorEntity

from .building.coordinator import BranchCoordinator
from .building.hours import BranchHours
from .const import CONF_POINT_MAP, DEFAULT_POINT_MAP, DOMAIN, MANUFACTURER
from .engine.building.pointmap import PointMap


def branch_device_info(subentry: ConfigSubentry) -> DeviceInfo:
    """Return the device of a branch building (one per branch sub-entry)."""
    return DeviceInfo(
        identifiers={(DOMAIN, subentry.subentry_id)},
        name=subentry.title,
        manufacturer=MANUFACTURER,
        model=f"Branch controller ({subentry.data.get(CONF_POINT_MAP, DEFAULT_POINT_MAP)} map)",
    )


def numbered(point_map: PointMap, family: str) -> Iterator[tuple[str, dict[str, str]]]:
    """Yield each id of a family of points with its translation placeholders.

    `zone_2` gives {"number": "2", "name": "zone 2"}: one translated string serves every zone,
    PC group or panic button a map declares.
    """
    for ident in point_map.ids(family):
        yield (
            ident,
            {"number": ident.rsplit("_", 1)[-1], "name": ident.replace("_", " ")},
        )


class BranchEntity(CoordinatorEntity[BranchCoordinator]):
    """An entity of one branch building, fed by its controller's coordinator.

    `point` names the point whose module must answer for the entity to be available (None: the
    entity is available whenever the branch's last poll succeeded).
    """

    _attr_has_entity_name = True

    def __init__(
        self,
        coordinator: BranchCoordinator,
        description: EntityDescription,
        point: str | None = None,
    ) -> None:
        """Initialise the entity from its description."""
        super().__init__(coordinator)
        self.entity_description = description
        self._point = point
        subentry = coordinator.subentry
        self._attr_unique_id = f"{subentry.subentry_id}_{description.key}"
        self._attr_device_info = branch_device_info(subentry)

    @property
    def available(self) -> bool:
        """Return True while the entity's own module answers."""
        if self._point is None:
            return super().available
        return self.coordinator.available(self._point)

    def flag(self, key: str) -> bool | None:
        """Return a bit point from the last poll (None: unknown)."""
        data = self.coordinator.data
        return None if data is None else data.flag(key)


@dataclass(frozen=True, kw_only=True)
class PointSwitchDescription(EntityDescription):
    """An on/off output of the controller (a lighting contactor, PC power): `key` is its point."""


class PointSwitchEntity(BranchEntity):
    """The one pattern of lights and PC switches: an output point read back from the controller."""

    def __init__(
        self, coordinator: BranchCoordinator, description: EntityDescription
    ) -> None:
        """Initialise from a description whose key is the output point."""
        super().__init__(coordinator, description, point=description.key)

    @property
    def is_on(self) -> bool | None:
        """Return the output's state as the controller reports it."""
        return self.flag(self.entity_description.key)

    async def async_turn_on(self, **kwargs: Any) -> None:
        """Switch the output on."""
        await self.coordinator.async_write(self.entity_description.key, True)

    async def async_turn_off(self, **kwargs: Any) -> None:
        """Switch the output off."""
        await self.coordinator.async_write(self.entity_description.key, False)


class HoursEntity(Entity):
    """An entity of a branch's opening hours: available whatever the controller does."""

    _attr_has_entity_name = True
    _attr_should_poll = False

    def __init__(self, hours: BranchHours, description: EntityDescription) -> None:
        """Initialise the entity from its description."""
        self.hours = hours
        self.entity_description = description
        self._attr_unique_id = f"{hours.subentry.subentry_id}_{description.key}"
        self._attr_device_info = branch_device_info(hours.subentry)

    async def async_added_to_hass(self) -> None:
        """Follow the branch's hours."""
        await super().async_added_to_hass()
        self.async_on_remove(self.hours.async_add_listener(self.async_write_ha_state))
