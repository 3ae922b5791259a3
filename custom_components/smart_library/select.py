"""The branch's mode override: automatic (the opening hours) or forced until the next change."""

from __future__ import annotations

from homeassistant.components.select import SelectEntity
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .coordinator import SmartLibraryConfigEntry
from .entity import HoursEntity
from .hours import OVERRIDES, BranchHours

PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: SmartLibraryConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the mode override of every branch."""
    for subentry_id, hours in entry.runtime_data.hours.items():
        async_add_entities([ModeOverride(hours)], config_subentry_id=subentry_id)


class ModeOverride(HoursEntity, SelectEntity):
    """Force the branch's mode until its next scheduled change (a staff member off sick, say)."""

    _attr_options = list(OVERRIDES)
    _attr_translation_key = "mode_override"

    def __init__(self, hours: BranchHours) -> None:
        """Initialise the select."""
        super().__init__(hours, "mode_override")

    @property
    def current_option(self) -> str:
        """Return the override in force."""
        return self.hours.override

    async def async_select_option(self, option: str) -> None:
        """Set the override."""
        await self.hours.async_set_override(option)
