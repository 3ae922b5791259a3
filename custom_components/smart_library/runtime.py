"""The runtime model of a library service, built once when its entry is set up.

The top of the house: only the entry's set-up, the platforms, the actions and the other
top-level modules import it. Features take a `Branch` (branch.py) instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from homeassistant.config_entries import ConfigEntry, ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import device_registry as dr

from .access.decisions import LibraryAccess
from .branch import Branch
from .building.events import BuildingEvents
from .const import DOMAIN
from .pages.public import PublicPages
from .safety.runtime import SafetyRuntime

__all__ = ["Branch", "SafetyRuntime", "SmartLibraryConfigEntry"]

type SmartLibraryConfigEntry = ConfigEntry[RuntimeData]


@dataclass(frozen=True, kw_only=True, slots=True)
class RuntimeData:
    """A library service at run time: its branches, membership access, safety tools, pages."""

    branches: Mapping[str, Branch]
    events: BuildingEvents
    access: LibraryAccess
    safety: SafetyRuntime
    pages: PublicPages  # the online induction and the branches' public pages


def loaded_entries(hass: HomeAssistant) -> list[SmartLibraryConfigEntry]:
    """Return the library services whose runtime data is set up."""
    return [
        entry
        for entry in hass.config_entries.async_loaded_entries(DOMAIN)
        if entry.state is ConfigEntryState.LOADED
    ]


def safety_of(hass: HomeAssistant, entry_id: str) -> SafetyRuntime | None:
    """Return a library service's running safety tools, or None."""
    entry = hass.config_entries.async_get_entry(entry_id)
    if (
        entry is None
        or entry.domain != DOMAIN
        or entry.state is not ConfigEntryState.LOADED
    ):
        return None
    runtime: SafetyRuntime = entry.runtime_data.safety
    return runtime


def safety_of_branch(hass: HomeAssistant, branch: Branch) -> SafetyRuntime:
    """Return the safety tools of a branch's library service, or a translated error."""
    runtime = safety_of(hass, branch.coordinator.config_entry.entry_id)
    if runtime is None:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="safety_not_running",
            translation_placeholders={"branch": branch.subentry.title},
        )
    return runtime


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


def lockdown_active(hass: HomeAssistant, branch_id: str) -> bool:
    """Return True while a branch of any library service is locked down."""
    return any(
        entry.runtime_data.safety.lockdowns.active(branch_id)
        for entry in loaded_entries(hass)
    )
