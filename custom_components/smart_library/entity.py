"""Base entity for Smart Library: one device per branch building."""

from __future__ import annotations

from homeassistant.config_entries import ConfigSubentry
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.entity import Entity
from homeassistant.helpers.update_coordinator import CoordinatorEntity

from .const import CONF_POINT_MAP, DEFAULT_POINT_MAP, DOMAIN, MANUFACTURER
from .coordinator import BranchCoordinator
from .hours import BranchHours


def branch_device_info(subentry: ConfigSubentry) -> DeviceInfo:
    """Return the device of a branch building (one per branch sub-entry)."""
    return DeviceInfo(
        identifiers={(DOMAIN, subentry.subentry_id)},
        name=subentry.title,
        manufacturer=MANUFACTURER,
        model=f"Branch controller ({subentry.data.get(CONF_POINT_MAP, DEFAULT_POINT_MAP)} map)",
    )


class BranchEntity(CoordinatorEntity[BranchCoordinator]):
    """An entity of one branch building, fed by its controller's coordinator."""

    _attr_has_entity_name = True

    def __init__(self, coordinator: BranchCoordinator, key: str) -> None:
        """Initialise the entity for point or function `key` of the branch."""
        super().__init__(coordinator)
        subentry = coordinator.subentry
        self._attr_unique_id = f"{subentry.subentry_id}_{key}"
        self._attr_device_info = branch_device_info(subentry)

    def value(self, key: str) -> int | bool | None:
        """Return the last value read for a point, or None."""
        data = self.coordinator.data
        return None if data is None else data.get(key)


class HoursEntity(Entity):
    """An entity of a branch's opening hours: available whatever the controller does."""

    _attr_has_entity_name = True
    _attr_should_poll = False

    def __init__(self, hours: BranchHours, key: str) -> None:
        """Initialise the entity for `key` of the branch's hours."""
        subentry = hours.coordinator.subentry
        self.hours = hours
        self._attr_unique_id = f"{subentry.subentry_id}_{key}"
        self._attr_device_info = branch_device_info(subentry)

    async def async_added_to_hass(self) -> None:
        """Follow the branch's hours."""
        await super().async_added_to_hass()
        self.async_on_remove(self.hours.async_add_listener(self.async_write_ha_state))
