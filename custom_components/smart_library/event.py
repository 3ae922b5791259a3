"""Access events: one event entity per door (granted, denied with a reason, tailgating)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from homeassistant.components.event import EventEntity, EventEntityDescription
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .building.coordinator import BranchCoordinator, signal_access
from .entity import BranchEntity
from .runtime import SmartLibraryConfigEntry

PARALLEL_UPDATES = 0

EVENT_TYPES = ["granted", "denied", "tailgating"]


async def async_setup_entry(
    hass: HomeAssistant,
    entry: SmartLibraryConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add an access event entity per door of every branch."""
    for subentry_id, branch in entry.runtime_data.branches.items():
        async_add_entities(
            (
                DoorAccessEvent(
                    branch.coordinator,
                    DoorAccessDescription(
                        key=f"access.{door.id}",
                        translation_key=f"access_{door.kind}",
                        event_types=EVENT_TYPES,
                        door=door.id,
                    ),
                )
                for door in branch.coordinator.point_map.doors
            ),
            config_subentry_id=subentry_id,
        )


@dataclass(frozen=True, kw_only=True)
class DoorAccessDescription(EventEntityDescription):
    """The access events of one door."""

    door: str


class DoorAccessEvent(BranchEntity, EventEntity):
    """Every card at a door: who (masked card), granted or why not, and tailgating.

    Its attributes hold the reason code, the masked card and the party admitted; never a PIN or
    a full card number.
    """

    entity_description: DoorAccessDescription

    def __init__(
        self, coordinator: BranchCoordinator, description: DoorAccessDescription
    ) -> None:
        """Initialise the door's access events."""
        super().__init__(coordinator, description)
        self._door = description.door

    @property
    def available(self) -> bool:
        """Return True: attempts are worth seeing even while the controller is away."""
        return True

    async def async_added_to_hass(self) -> None:
        """Listen for the branch's access events."""
        await super().async_added_to_hass()
        self.async_on_remove(
            async_dispatcher_connect(
                self.hass,
                signal_access(self.coordinator.subentry.subentry_id),
                self._async_attempt,
            )
        )

    @callback
    def _async_attempt(self, door: str, event_type: str, data: dict[str, Any]) -> None:
        if door != self._door:
            return
        attributes = {
            k: v for k, v in data.items() if k not in ("branch", "branch_id", "door")
        }
        self._trigger_event(event_type, attributes)
        self.async_write_ha_state()
