"""Branch doors as locks: open = a release the controller times; lock/unlock = held state."""

from __future__ import annotations

from typing import Any

from homeassistant.components.lock import LockEntity, LockEntityFeature
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
    """Add a lock per door of every branch."""
    for subentry_id, coordinator in entry.runtime_data.branches.items():
        async_add_entities(
            (DoorLock(coordinator, door.id) for door in coordinator.point_map.doors),
            config_subentry_id=subentry_id,
        )


class DoorLock(BranchEntity, LockEntity):
    """A door strike.

    `open` releases it for the branch's release time; the controller counts that down and relocks,
    so a Home Assistant that stops mid-release never leaves the door unlocked. `unlock` holds it
    released (staffed hours) until `lock`. Leaving is always possible: the strike only controls
    entry, egress is mechanical.
    """

    _attr_supported_features = LockEntityFeature.OPEN

    def __init__(self, coordinator: BranchCoordinator, door_id: str) -> None:
        """Initialise the door."""
        super().__init__(coordinator, f"lock.{door_id}")
        self._door = door_id
        self._attr_translation_key = f"door_{coordinator.point_map.door(door_id).kind}"

    def _point(self, what: str) -> bool:
        return bool(self.value(f"door.{self._door}.{what}"))

    @property
    def is_locked(self) -> bool | None:
        """Return True when the strike is locked."""
        if f"door.{self._door}.released" in self.coordinator.point_map:
            released = self.value(f"door.{self._door}.released")
            return None if released is None else not released
        return not (self._point("hold") or self._point("pulse"))

    @property
    def is_open(self) -> bool | None:
        """Return True while the strike is released and the door stands open.

        A locked door pushed open from inside (leaving is always possible) stays "locked": the
        door contact has its own sensor.
        """
        return self._point("open") and self.is_locked is False

    @property
    def is_opening(self) -> bool | None:
        """Return True while a timed release runs and the door is still shut."""
        return bool(self.value(f"door.{self._door}.pulse")) and not self._point("open")

    @property
    def extra_state_attributes(self) -> dict[str, Any]:
        """Return whether the door is held released (staffed hours) and the release left."""
        pulse = self.value(f"door.{self._door}.pulse")
        return {
            "held_released": self._point("hold"),
            "release_seconds_left": int(pulse)
            if isinstance(pulse, int) and not isinstance(pulse, bool)
            else 0,
        }

    async def async_open(self, **kwargs: Any) -> None:
        """Release the door for the branch's release time, timed by the controller."""
        await self.coordinator.async_release_door(self._door)

    async def async_unlock(self, **kwargs: Any) -> None:
        """Hold the door released (staffed hours)."""
        await self.coordinator.async_hold_door(self._door, True)

    async def async_lock(self, **kwargs: Any) -> None:
        """Lock the door (refused while the fire alarm is active)."""
        await self.coordinator.async_hold_door(self._door, False)
