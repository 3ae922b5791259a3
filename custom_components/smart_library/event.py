"""Access events: one event entity per door (granted, denied with a reason, tailgating)."""

from __future__ import annotations

from typing import Any

from homeassistant.components.event import EventEntity
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .coordinator import BranchCoordinator, SmartLibraryConfigEntry, signal_access
from .entity import BranchEntity

PARALLEL_UPDATES = 0

EVENT_TYPES = ["granted", "denied", "tailgating"]


async def async_setup_entry(
    hass: HomeAssistant,
    entry: SmartLibraryConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add an access event entity per door of every branch."""
    for subentry_id, coordinator in entry.runtime_data.branches.items():
        async_add_entities(
            (
                DoorAccessEvent(coordinator, door.id)
                for door in coordinator.point_map.doors
            ),
            config_subentry_id=subentry_id,
        )


class DoorAccessEvent(BranchEntity, EventEntity):
    """Every card at a door: who (masked card), granted or why not, and tailgating.

    Its attributes hold the reason code, the masked card and the party admitted; never a PIN or
    a full card number.
    """

    _attr_event_types = EVENT_TYPES

    def __init__(self, coordinator: BranchCoordinator, door_id: str) -> None:
        """Initialise the door's access events."""
        super().__init__(coordinator, f"access.{door_id}")
        self._door = door_id
        self._attr_translation_key = (
            f"access_{coordinator.point_map.door(door_id).kind}"
        )

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
        attributes = {k: v for k, v in data.items() if k not in ("branch", "door")}
        self._trigger_event(event_type, attributes)
        self.async_write_ha_state()
