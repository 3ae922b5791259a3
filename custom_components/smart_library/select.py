"""The branch's mode override: automatic (the opening hours) or forced until the next change."""

from __future__ import annotations

from homeassistant.components.select import SelectEntity, SelectEntityDescription
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .building.hours import OVERRIDES
from .const import LOGGER
from .entity import HoursEntity
from .helpers.permissions import async_actor
from .runtime import SmartLibraryConfigEntry

PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: SmartLibraryConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the mode override of every branch."""
    for subentry_id, branch in entry.runtime_data.branches.items():
        async_add_entities(
            [ModeOverride(branch.hours, MODE_OVERRIDE)], config_subentry_id=subentry_id
        )


MODE_OVERRIDE = SelectEntityDescription(
    key="mode_override", translation_key="mode_override", options=list(OVERRIDES)
)


class ModeOverride(HoursEntity, SelectEntity):
    """Force the branch's mode until its next scheduled change (a staff member off sick, say)."""

    @property
    def current_option(self) -> str:
        """Return the override in force."""
        return self.hours.override

    async def async_select_option(self, option: str) -> None:
        """Set the override: narrowing for staff, widening for administrators only.

        Staff may close a branch at any time; a mode that lets more people in than the plan
        does now (staffed or an event, smart outside the plan's hours) is an administrator's
        decision, like an event. Every override is logged with who set it.
        """
        by = await async_actor(
            self.hass, self._context, admin=self.hours.widens(option)
        )
        await self.hours.async_set_override(option)
        LOGGER.info(
            "%s: mode override set to %s by %s", self.hours.subentry.title, option, by
        )
