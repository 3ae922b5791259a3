"""Lighting zones of a branch."""

from __future__ import annotations

from dataclasses import dataclass

from homeassistant.components.light import (
    ColorMode,
    LightEntity,
    LightEntityDescription,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .entity import PointSwitchEntity, numbered
from .runtime import SmartLibraryConfigEntry

PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class LightingZoneDescription(LightEntityDescription):
    """A lighting zone: `key` is its contactor's point."""


async def async_setup_entry(
    hass: HomeAssistant,
    entry: SmartLibraryConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add a light per lighting zone of every branch."""
    for subentry_id, branch in entry.runtime_data.branches.items():
        async_add_entities(
            (
                LightingZone(
                    branch.coordinator,
                    LightingZoneDescription(
                        key=f"light.{zone}",
                        translation_key="lighting_zone",
                        translation_placeholders={"zone": place["number"]},
                    ),
                )
                for zone, place in numbered(branch.coordinator.point_map, "light")
            ),
            config_subentry_id=subentry_id,
        )


class LightingZone(PointSwitchEntity, LightEntity):
    """A lighting zone: a contactor the controller switches."""

    _attr_color_mode = ColorMode.ONOFF
    _attr_supported_color_modes = {ColorMode.ONOFF}
