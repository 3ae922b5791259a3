"""Buttons of a branch for the people on duty: acknowledge alarms, building empty, reset.

"Acknowledge alarms" and "Building empty" are for staff (any user Home Assistant lets control
the entity; read-only users cannot press a button). "Reset after evacuation" is for
administrators: it re-opens the branch to card entry (see safety.py for why). Each press is
recorded with who pressed it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from homeassistant.components.button import ButtonEntity, ButtonEntityDescription
from homeassistant.core import Context, HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .building.coordinator import BranchCoordinator
from .entity import BranchEntity
from .helpers.permissions import async_actor
from .runtime import SmartLibraryConfigEntry
from .safety.lockdown_entities import lockdown_button
from .services.alarms import ACKNOWLEDGE_KEY, BUILDING_EMPTY_KEY, RESET_KEY

PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class SafetyButtonDescription(ButtonEntityDescription):
    """A button that records who pressed it: `press_fn(coordinator, who, context)`."""

    press_fn: Callable[[BranchCoordinator, str, Context], Awaitable[object]]
    admin: bool = False
    needs: str | None = None  # a point the branch must have for the button to exist


BUTTONS: tuple[SafetyButtonDescription, ...] = (
    SafetyButtonDescription(
        key=ACKNOWLEDGE_KEY,
        translation_key=ACKNOWLEDGE_KEY,
        press_fn=lambda c, who, context: c.async_acknowledge_alarms(who, context),
    ),
    SafetyButtonDescription(
        key=BUILDING_EMPTY_KEY,
        translation_key=BUILDING_EMPTY_KEY,
        press_fn=lambda c, who, context: c.async_building_empty(who, context),
        needs="counter.in",
    ),
    SafetyButtonDescription(
        key=RESET_KEY,
        translation_key=RESET_KEY,
        press_fn=lambda c, who, context: c.async_reset_evacuation(who, context),
        admin=True,
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: SmartLibraryConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the safety buttons of every branch, and its "Lock down" button."""
    for subentry_id, branch in entry.runtime_data.branches.items():
        point_map = branch.coordinator.point_map
        buttons: list[ButtonEntity] = [
            SafetyButton(branch.coordinator, description)
            for description in BUTTONS
            if description.needs is None or description.needs in point_map
        ]
        buttons.append(lockdown_button(entry.runtime_data.safety, branch))
        async_add_entities(buttons, config_subentry_id=subentry_id)


class SafetyButton(BranchEntity, ButtonEntity):
    """A safety button of a branch: available even while its controller is away."""

    entity_description: SafetyButtonDescription

    @property
    def available(self) -> bool:
        """Return True: alarms can be acknowledged while the controller is away."""
        return True

    async def async_press(self) -> None:
        """Do the button's act in the name of whoever pressed it."""
        context = self._context or Context()
        who = await async_actor(
            self.hass,
            context,
            admin=self.entity_description.admin,
            entity_id=self.entity_id,
        )
        await self.entity_description.press_fn(self.coordinator, who, context)
