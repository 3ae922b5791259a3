"""Base entity for Smart Library: one device per branch building."""

from __future__ import annotations

from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.update_coordinator import CoordinatorEntity

from .const import CONF_POINT_MAP, DEFAULT_POINT_MAP, DOMAIN, MANUFACTURER
from .coordinator import BranchCoordinator


class BranchEntity(CoordinatorEntity[BranchCoordinator]):
    """An entity of one branch building, fed by its controller's coordinator."""

    _attr_has_entity_name = True

    def __init__(self, coordinator: BranchCoordinator, key: str) -> None:
        """Initialise the entity for point or function `key` of the branch."""
        super().__init__(coordinator)
        subentry = coordinator.subentry
        self._attr_unique_id = f"{subentry.subentry_id}_{key}"
        self._attr_device_info = DeviceInfo(
            identifiers={(DOMAIN, subentry.subentry_id)},
            name=subentry.title,
            manufacturer=MANUFACTURER,
            model=f"Branch controller ({subentry.data.get(CONF_POINT_MAP, DEFAULT_POINT_MAP)} map)",
        )

    def value(self, key: str) -> int | bool | None:
        """Return the last value read for a point, or None."""
        data = self.coordinator.data
        return None if data is None else data.get(key)
