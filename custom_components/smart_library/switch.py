"""Public PC groups: power to the PCs of a branch."""

from __future__ import annotations

from dataclasses import dataclass

from homeassistant.components.switch import (
    SwitchDeviceClass,
    SwitchEntity,
    SwitchEntityDescription,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .entity import PointSwitchEntity, numbered
from .runtime import SmartLibraryConfigEntry

PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class PcGroupDescription(SwitchEntityDescription):
    """A group of public PCs: `key` is its power output's point."""


async def async_setup_entry(
    hass: HomeAssistant,
    entry: SmartLibraryConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add a switch per PC group of every branch."""
    for subentry_id, branch in entry.runtime_data.branches.items():
        async_add_entities(
            (
                PcGroup(
                    branch.coordinator,
                    PcGroupDescription(
                        key=f"pc.{group}",
                        translation_key="pc_group",
                        translation_placeholders={"group": place["number"]},
                        device_class=SwitchDeviceClass.OUTLET,
                    ),
                )
                for group, place in numbered(branch.coordinator.point_map, "pc")
            ),
            config_subentry_id=subentry_id,
        )


class PcGroup(PointSwitchEntity, SwitchEntity):
    """Power to a group of public PCs."""
