"""Smart Library: run a public library branch in self-access mode."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ConfigEntryNotReady
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers.storage import Store
from homeassistant.helpers.typing import ConfigType

from .access import LibraryAccess, store_path
from .config_flow import async_prune_moved_issues
from .const import DOMAIN, SUBENTRY_BRANCH
from .coordinator import BranchCoordinator, controller_for
from .hours import BranchHours, HoursStore
from .http import AccessView
from .models import Branch, RuntimeData, SmartLibraryConfigEntry
from .reader_keys import async_remove_reader_keys
from .services import async_setup_services

CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)

PLATFORMS: list[Platform] = [
    Platform.BINARY_SENSOR,
    Platform.BUTTON,
    Platform.CALENDAR,
    Platform.EVENT,
    Platform.LIGHT,
    Platform.LOCK,
    Platform.MEDIA_PLAYER,
    Platform.SELECT,
    Platform.SENSOR,
    Platform.SWITCH,
    Platform.TODO,
]


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Set up the integration (actions are registered here, once)."""
    async_setup_services(hass)
    hass.http.register_view(AccessView)
    return True


async def async_setup_entry(
    hass: HomeAssistant, entry: SmartLibraryConfigEntry
) -> bool:
    """Set up a library service and its branches.

    Each branch's first poll runs side by side and is bounded by the controller's timeout: a
    branch whose controller is away starts with its entities unavailable and keeps retrying; it
    never holds up the others. Only when every branch is unreachable is the entry not ready.
    """
    store = HoursStore(hass, entry.entry_id)
    await store.async_load()
    branches: dict[str, Branch] = {}
    for subentry in entry.subentries.values():
        if subentry.subentry_type != SUBENTRY_BRANCH:
            continue
        coordinator = BranchCoordinator(
            hass, entry, subentry, controller_for(dict(subentry.data))
        )
        hours = BranchHours(hass, entry, subentry, store, coordinator.async_set_mode)
        branches[subentry.subentry_id] = Branch(
            subentry=subentry, coordinator=coordinator, hours=hours
        )
    await asyncio.gather(*(b.coordinator.async_refresh() for b in branches.values()))
    # (Each coordinator closes its connection when the entry unloads or fails to set up.)
    if branches and not any(
        b.coordinator.last_update_success for b in branches.values()
    ):
        raise ConfigEntryNotReady(
            translation_domain=DOMAIN, translation_key="no_branch_reachable"
        )
    access = await LibraryAccess.async_open(hass, entry.entry_id, dict(entry.options))
    entry.async_on_unload(access.async_close)
    entry.runtime_data = RuntimeData(branches=branches, access=access)
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    for branch in branches.values():
        entry.async_on_unload(branch.hours.async_start())
    entry.async_on_unload(entry.add_update_listener(_async_reload))
    # Questions about controllers seen at a new address, for branches that no longer exist, go.
    async_prune_moved_issues(hass, entry.entry_id, entry.subentries)
    return True


async def _async_reload(hass: HomeAssistant, entry: SmartLibraryConfigEntry) -> None:
    """Reload when a branch is added, changed or removed."""
    hass.config_entries.async_schedule_reload(entry.entry_id)


async def async_unload_entry(
    hass: HomeAssistant, entry: SmartLibraryConfigEntry
) -> bool:
    """Unload a library service."""
    return await hass.config_entries.async_unload_platforms(entry, PLATFORMS)


async def async_remove_entry(
    hass: HomeAssistant, entry: SmartLibraryConfigEntry
) -> None:
    """Delete a removed library service's stores: members, pepper, hours, alarms (personal data)."""
    path = store_path(hass, entry.entry_id)

    def delete() -> None:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)

    await hass.async_add_executor_job(delete)
    await async_remove_reader_keys(hass, entry.entry_id)
    async_prune_moved_issues(hass, entry.entry_id)
    # The pepper, the opening-hours changes and each branch's stored alarms and evacuation.
    keys = [f"{DOMAIN}.{entry.entry_id}.pepper", f"{DOMAIN}.{entry.entry_id}.hours"]
    keys += [
        f"{DOMAIN}.{entry.entry_id}.{subentry_id}.safety"
        for subentry_id in entry.subentries
    ]
    for key in keys:
        await Store[dict[str, Any]](hass, 1, key).async_remove()
