"""A branch at run time: its sub-entry, its controller's coordinator, its opening hours.

Low in the house: every feature package may import it; it imports only the building package.
The service-wide runtime model (`runtime.py`) sits above it.
"""

from __future__ import annotations

from dataclasses import dataclass

from homeassistant.config_entries import ConfigSubentry

from .building.coordinator import BranchCoordinator
from .building.hours import BranchHours


@dataclass(frozen=True, kw_only=True, slots=True)
class Branch:
    """One branch building: its sub-entry, its controller's coordinator, its opening hours."""

    subentry: ConfigSubentry
    coordinator: BranchCoordinator
    hours: BranchHours

    @property
    def id(self) -> str:
        """Return the branch's sub-entry id (also its device's identifier)."""
        return self.subentry.subentry_id

    @property
    def title(self) -> str:
        """Return the branch's name."""
        return self.subentry.title
