"""Branch doors as locks: open = a release the controller times; lock/unlock = held state."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from homeassistant.components.lock import (
    LockEntity,
    LockEntityDescription,
    LockEntityFeature,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .building.coordinator import BranchCoordinator
from .engine.building.snapshot import DoorState
from .entity import BranchEntity
from .runtime import SmartLibraryConfigEntry

PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class DoorLockDescription(LockEntityDescription):
    """A door strike: `door` is the door's id in the point map."""

    door: str


async def async_setup_entry(
    hass: HomeAssistant,
    entry: SmartLibraryConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add a lock per door of every branch."""
    for subentry_id, branch in entry.runtime_data.branches.items():
        async_add_entities(
            (
                DoorLock(
                    branch.coordinator,
                    DoorLockDescription(
                        key=f"lock.{door.id}",
                        translation_key=f"door_{door.kind}",
                        door=door.id,
                    ),
                )
                for door in branch.coordinator.point_map.doors
            ),
            config_subentry_id=subentry_id,
        )


class DoorLock(BranchEntity, LockEntity):
    """A door strike.

    `open` releases it for the branch's release time; the controller counts that down and relocks,
    so a Home Assistant that stops mid-release never leaves the door unlocked. `unlock` holds it
    released (staffed hours) until `lock`. Leaving is always possible: the strike only controls
    entry, egress is mechanical.
    """

    entity_description: DoorLockDescription
    _attr_supported_features = LockEntityFeature.OPEN

    def __init__(
        self, coordinator: BranchCoordinator, description: DoorLockDescription
    ) -> None:
        """Initialise the door (available while the module with its strike answers)."""
        super().__init__(coordinator, description, f"door.{description.door}.pulse")
        self._door = description.door

    @property
    def _state(self) -> DoorState | None:
        data = self.coordinator.data
        return None if data is None else data.door(self._door)

    @property
    def is_locked(self) -> bool | None:
        """Return True when the strike is locked (None: unknown)."""
        state = self._state
        if state is None or state.released is None:
            return None
        return not state.released

    @property
    def is_open(self) -> bool | None:
        """Return True while the strike is released and the door stands open.

        A locked door pushed open from inside (leaving is always possible) stays "locked": the
        door contact has its own sensor.
        """
        state = self._state
        return bool(state and state.open) and self.is_locked is False

    @property
    def is_opening(self) -> bool | None:
        """Return True while a timed release runs and the door is still shut."""
        state = self._state
        return bool(state and state.pulsing) and not (state and state.open)

    @property
    def extra_state_attributes(self) -> dict[str, Any]:
        """Return whether the door is held released (staffed hours) and the release left."""
        state = self._state
        pulse = state.pulse_left if state else None
        return {
            "held_released": bool(state and state.hold),
            "release_seconds_left": pulse or 0,
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
