"""The runtime model of a library service, built once when its entry is set up."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from homeassistant.config_entries import ConfigEntry, ConfigEntryState, ConfigSubentry
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import device_registry as dr

from .access.decisions import LibraryAccess
from .building.coordinator import BranchCoordinator
from .building.hours import BranchHours
from .const import DOMAIN
from .safety.runtime import SafetyRuntime

type SmartLibraryConfigEntry = ConfigEntry[RuntimeData]


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


@dataclass(frozen=True, kw_only=True, slots=True)
class RuntimeData:
    """A library service at run time: its branches, membership access and safety tools."""

    branches: Mapping[str, Branch]
    access: LibraryAccess
    safety: SafetyRuntime


def branch_for_device(hass: HomeAssistant, device_id: str) -> Branch:
    """Return the branch whose device was chosen, or a translated error."""
    device = dr.async_get(hass).async_get(device_id)
    if device is not None:
        entry: SmartLibraryConfigEntry
        for entry in hass.config_entries.async_loaded_entries(DOMAIN):
            if entry.state is not ConfigEntryState.LOADED:
                continue
            for domain, identifier in device.identifiers:
                if domain == DOMAIN and identifier in entry.runtime_data.branches:
                    return entry.runtime_data.branches[identifier]
    raise ServiceValidationError(
        translation_domain=DOMAIN,
        translation_key="unknown_branch",
        translation_placeholders={"branch": device_id},
    )
