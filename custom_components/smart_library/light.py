"""Lighting zones of a branch."""

from __future__ import annotations

from typing import Any

from homeassistant.components.light import ColorMode, LightEntity
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
    """Add a light per lighting zone of every branch."""
    for subentry_id, coordinator in entry.runtime_data.branches.items():
        async_add_entities(
            (
                LightingZone(coordinator, zone)
                for zone in coordinator.controller.point_map.ids("light")
            ),
            config_subentry_id=subentry_id,
        )


class LightingZone(BranchEntity, LightEntity):
    """A lighting zone: a contactor the controller switches."""

    _attr_color_mode = ColorMode.ONOFF
    _attr_supported_color_modes = {ColorMode.ONOFF}
    _attr_translation_key = "lighting_zone"

    def __init__(self, coordinator: BranchCoordinator, zone: str) -> None:
        """Initialise the zone."""
        super().__init__(coordinator, f"light.{zone}")
        self._key = f"light.{zone}"
        self._attr_translation_placeholders = {"zone": zone.rsplit("_", 1)[-1]}

    @property
    def is_on(self) -> bool | None:
        """Return True if the zone's lights are on."""
        value = self.value(self._key)
        return None if value is None else bool(value)

    async def async_turn_on(self, **kwargs: Any) -> None:
        """Switch the zone on."""
        await self.coordinator.async_write(self._key, True)

    async def async_turn_off(self, **kwargs: Any) -> None:
        """Switch the zone off."""
        await self.coordinator.async_write(self._key, False)
