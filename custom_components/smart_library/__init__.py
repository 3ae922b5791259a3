"""Smart Library: run a public library branch in self-access mode."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ConfigEntryNotReady
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers.storage import Store
from homeassistant.helpers.typing import ConfigType

from .access.decisions import LibraryAccess, store_path
from .access.http import AccessView
from .access.reader_keys import async_remove_reader_keys
from .access.tablet import async_setup_tablet
from .branch import Branch
from .building.coordinator import BranchCoordinator, controller_for
from .building.cover import async_setup_cover
from .building.events import BuildingEvents
from .building.hours import BranchHours, HoursStore
from .building.module_checks import async_check_modules, async_delete_module_issues
from .const import (
    CONF_NEIGHBOURS,
    CONF_SCHEDULE,
    CONF_STAFFED_FREE_ENTRY,
    DOMAIN,
    SUBENTRY_BRANCH,
)
from .dashboard.strategy import async_setup_dashboard
from .engine.building.schedule import Schedule
from .engine.database import remove_database
from .flow.moved import async_prune_moved_issues
from .pages.public import PublicPages
from .pages.store import PagesStore
from .pages.views import async_register_views
from .panel.registration import async_setup_panel
from .runtime import RuntimeData, SmartLibraryConfigEntry, loaded_entries
from .safety import websocket as incidents_websocket
from .safety.common import SAFETY_OPTIONS, SafetySettings
from .safety.runtime import SafetyRuntime, async_remove_safety_data
from .services.registry import async_setup_services
from .usage.statistics import async_setup_usage_statistics

CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)

# What a branch's opening-hours form changes: taken without a reload (see _async_entry_updated).
HOURS_KEYS = frozenset({CONF_SCHEDULE, CONF_STAFFED_FREE_ENTRY, CONF_NEIGHBOURS})
# How long set-up waits for the branches' first polls; a slower one goes on in the background.
FIRST_POLL_WAIT = 1.0

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
    async_setup_cover(hass)
    await async_setup_dashboard(hass)
    await async_setup_panel(hass)
    hass.http.register_view(AccessView)
    incidents_websocket.async_register(
        hass, lambda h: [e.runtime_data.safety for e in loaded_entries(h)]
    )
    await async_setup_tablet(hass)
    async_register_views(hass)
    return True


async def async_setup_entry(
    hass: HomeAssistant, entry: SmartLibraryConfigEntry
) -> bool:
    """Set up a library service and its branches.

    Life safety first and apart from storage: the branches' building control and the safety
    tools are built and listening before any branch polls, and neither waits for the member
    store, the incident store or the library system — a store that cannot be opened refuses
    card entry with a clear reason and a repair issue, never the set-up.

    Each branch's first poll starts in the background, side by side. Set-up waits for them at most
    FIRST_POLL_WAIT: a branch whose controller is silent comes up with its entities unavailable and
    keeps trying; it never holds up the others. Only when every branch has answered that it cannot
    be reached is the entry not ready.
    """
    # Registered first: a branch added while the service is still setting up reloads it too.
    entry.async_on_unload(entry.add_update_listener(_async_entry_updated))
    store = HoursStore(hass, entry.entry_id)
    await store.async_load()
    events = BuildingEvents()
    branches: dict[str, Branch] = {}
    for subentry in entry.subentries.values():
        if subentry.subentry_type != SUBENTRY_BRANCH:
            continue
        coordinator = BranchCoordinator(
            hass, entry, subentry, controller_for(dict(subentry.data)), events
        )
        hours = BranchHours(hass, entry, subentry, store, coordinator.async_set_mode)
        branches[subentry.subentry_id] = Branch(
            subentry=subentry, coordinator=coordinator, hours=hours
        )
    access = await LibraryAccess.async_open(hass, entry.entry_id, dict(entry.options))
    entry.async_on_unload(access.async_close)
    safety = SafetyRuntime(hass, entry, branches, events)
    safety.applied = _applied(entry)
    entry.async_on_unload(safety.async_stop)
    pages_store = PagesStore(hass, entry.entry_id)
    await pages_store.async_load()
    pages = PublicPages(hass, entry, branches, access, pages_store)
    entry.runtime_data = RuntimeData(
        branches=branches, events=events, access=access, safety=safety, pages=pages
    )
    # Listening before the first polls: an alarm on at start-up opens its incident and alerts
    # staff; a running lockdown is enforced from the first poll.
    await safety.async_start()
    first_polls = {
        b.id: entry.async_create_background_task(
            hass, b.coordinator.async_refresh(), f"{DOMAIN} first poll {b.id}"
        )
        for b in branches.values()
    }
    still_polling: set[asyncio.Task[None]] = set()
    if first_polls:
        _, still_polling = await asyncio.wait(
            first_polls.values(), timeout=FIRST_POLL_WAIT
        )
    # (Each coordinator closes its connection when the entry unloads or fails to set up.)
    if (
        branches
        and not still_polling
        and not any(b.coordinator.last_update_success for b in branches.values())
    ):
        raise ConfigEntryNotReady(
            translation_domain=DOMAIN, translation_key="no_branch_reachable"
        )
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    entry.async_on_unload(await async_setup_usage_statistics(hass, entry))
    # Staffed cover nearby: worked out again whenever a branch's hours change.
    entry.async_on_unload(
        async_setup_cover(hass).async_add_service(
            entry, {bid: b.hours for bid, b in branches.items()}
        )
    )
    for branch in branches.values():
        entry.async_on_unload(branch.hours.async_start())
        entry.async_create_background_task(
            hass,
            _async_check_after(first_polls[branch.id], hass, entry, branch),
            f"{DOMAIN} module checks {branch.id}",
        )
    # Questions about branches that no longer exist go.
    async_prune_moved_issues(hass, entry.entry_id, entry.subentries)
    async_delete_module_issues(hass, entry.entry_id, keep=set(entry.subentries))
    return True


async def _async_check_after(
    first_poll: asyncio.Task[None],
    hass: HomeAssistant,
    entry: SmartLibraryConfigEntry,
    branch: Branch,
) -> None:
    """Check a branch's module settings once its first poll is over (no request beside it)."""
    await first_poll
    await async_check_modules(hass, entry, branch)


async def _async_entry_updated(
    hass: HomeAssistant, entry: SmartLibraryConfigEntry
) -> None:
    """Take changed safety options and opening hours at once; reload for anything else.

    A changed on-call list or escalation setting needs no reload (nothing pending is touched).
    Nor does a branch's weekly plan or its free-entry doors (the opening-hours form): a reload
    would build the branch in its new mode, so the mode would never *change* — an automation's
    opening trigger would not fire and the lights and PCs would stay off. Taken in place, the
    mode moves as at a scheduled change and the doors follow. A branch added, renamed or
    removed, a controller changed, or another option reloads the service — its pending
    escalations are stored and taken back.
    """
    if entry.state is ConfigEntryState.LOADED:
        safety = entry.runtime_data.safety
        current = _applied(entry)
        changed = _changed_in_place(safety.applied, current)
        if changed is not None:
            options, plans = changed
            safety.applied = current
            if options:
                safety.apply_settings(SafetySettings.from_options(entry.options))
            for subentry_id in plans:
                branch = entry.runtime_data.branches[subentry_id]
                data = branch.subentry.data
                await branch.coordinator.async_set_free_entry(
                    list(data.get(CONF_STAFFED_FREE_ENTRY, ["entrance"]))
                )
                branch.hours.async_set_plan(
                    Schedule.from_dict(data.get(CONF_SCHEDULE) or {})
                )
            return
    hass.config_entries.async_schedule_reload(entry.entry_id)


def _applied(entry: SmartLibraryConfigEntry) -> tuple[dict[str, Any], dict[str, Any]]:
    """Return what a running service was set up from: its options and its branches."""
    return dict(entry.options), {
        sid: (sub.title, dict(sub.data)) for sid, sub in entry.subentries.items()
    }


def _changed_keys(before: Mapping[str, Any], after: Mapping[str, Any]) -> set[str]:
    return {k for k in set(before) | set(after) if before.get(k) != after.get(k)}


def _changed_in_place(
    before: tuple[dict[str, Any], dict[str, Any]],
    after: tuple[dict[str, Any], dict[str, Any]],
) -> tuple[bool, list[str]] | None:
    """Return what can change without a reload, or None when the service must reload.

    (whether the safety options changed, the branches whose weekly plan or free-entry doors
    changed); None if anything else changed, or nothing did.
    """
    options = _changed_keys(before[0], after[0])
    if not options <= SAFETY_OPTIONS or set(before[1]) != set(after[1]):
        return None
    plans = []
    for subentry_id, (title, data) in after[1].items():
        old_title, old_data = before[1][subentry_id]
        keys = _changed_keys(old_data, data)
        if title != old_title or not keys <= HOURS_KEYS:
            return None
        if keys:
            plans.append(subentry_id)
    if not options and not plans:
        return None
    return bool(options), plans


async def async_unload_entry(
    hass: HomeAssistant, entry: SmartLibraryConfigEntry
) -> bool:
    """Unload a library service."""
    return await hass.config_entries.async_unload_platforms(entry, PLATFORMS)


async def async_remove_entry(
    hass: HomeAssistant, entry: SmartLibraryConfigEntry
) -> None:
    """Delete a removed library service's stores: members, pepper, hours, alarms, incidents.

    All of it is personal data or follows from it.
    """
    await hass.async_add_executor_job(remove_database, store_path(hass, entry.entry_id))
    await async_remove_reader_keys(hass, entry.entry_id)
    async_prune_moved_issues(hass, entry.entry_id)
    async_delete_module_issues(hass, entry.entry_id)
    await async_remove_safety_data(hass, entry.entry_id)
    await PagesStore(hass, entry.entry_id).async_remove()  # public text, plans, video
    # The pepper, the opening-hours changes and each branch's stored alarms and evacuation.
    keys = [
        f"{DOMAIN}.{entry.entry_id}.pepper",
        f"{DOMAIN}.{entry.entry_id}.hours",
        f"{DOMAIN}.{entry.entry_id}.alerts",
    ]
    keys += [
        f"{DOMAIN}.{entry.entry_id}.{subentry_id}.safety"
        for subentry_id in entry.subentries
    ]
    for key in keys:
        await Store[dict[str, Any]](hass, 1, key).async_remove()
