"""Public PC groups: power to the PCs of a branch."""

from __future__ import annotations

from typing import Any

from homeassistant.components.switch import SwitchDeviceClass, SwitchEntity
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .coordinator import BranchCoordinator, SmartLibraryConfigEntry
from .entity import BranchEntity

PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: SmartLibraryConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add a switch per PC group of every branch."""
    for subentry_id, coordinator in entry.runtime_data.branches.items():
        async_add_entities(
            (PcGroup(coordinator, group) for group in coordinator.point_map.ids("pc")),
            config_subentry_id=subentry_id,
        )


class PcGroup(BranchEntity, SwitchEntity):
    """Power to a group of public PCs."""

    _attr_device_class = SwitchDeviceClass.OUTLET
    _attr_translation_key = "pc_group"

    def __init__(self, coordinator: BranchCoordinator, group: str) -> None:
        """Initialise the PC group."""
        super().__init__(coordinator, f"pc.{group}")
        self._key = f"pc.{group}"
        self._attr_translation_placeholders = {"group": group.rsplit("_", 1)[-1]}

    @property
    def is_on(self) -> bool | None:
        """Return True if the PCs have power."""
        value = self.value(self._key)
        return None if value is None else bool(value)

    async def async_turn_on(self, **kwargs: Any) -> None:
        """Power the PCs."""
        await self.coordinator.async_write(self._key, True)

    async def async_turn_off(self, **kwargs: Any) -> None:
        """Cut the PCs' power."""
        await self.coordinator.async_write(self._key, False)
