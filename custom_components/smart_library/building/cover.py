"""Staffed cover nearby at run time: the smart hours with no neighbouring library staffed.

Seed 000: "we will also plan the staffed hours so that when one library is in smart mode, a
library nearby is being staffed". Each branch names its neighbours in its *Opening hours* step
(`CONF_NEIGHBOURS`: sub-entry ids of branches of any library service). One tracker per Home
Assistant (neighbours cross services) holds every running branch's opening hours and works out,
with `engine.building.cover`, every stretch of smart hours in the next four weeks during which no
neighbour is staffed. It works again

- whenever a branch's hours change (its weekly plan, neighbours, holidays, events, extend today,
  close early, and each change of mode as the day goes by): every branch's hours tell it;
- when a library service is set up or unloaded (a branch added or removed); while any service
  is being set up or reloaded (Home Assistant starting, a reload), it waits until that is done,
  so a neighbour on its way back never reads as not staffed for a moment;
- once a day just after midnight, so stretches that have passed drop out.

What it finds it keeps in one repair issue (listing up to ten stretches, then "and N more"),
present while any stretch is uncovered and deleted once the plan covers them all; and it tells
whoever subscribed (the overview dashboard's card) over `smart_library/cover/subscribe`.

Who may read: any logged-in user. Opening hours are not secret (every branch's calendar shows
them to every user) and the answer names branches and times only. Nobody changes anything here:
neighbours are set in the branch's hours step (a config flow: administrators only).

A named neighbour whose branch was removed drops out without an error; one whose service is not
running counts as not staffed (unknown is never shown as covered).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from homeassistant.components import websocket_api
from homeassistant.config_entries import ConfigEntry, ConfigEntryState
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.event import async_track_time_change
from homeassistant.util import dt as dt_util
from homeassistant.util.hass_dict import HassKey
import probatio

from ..const import CONF_NEIGHBOURS, DOMAIN, SUBENTRY_BRANCH
from ..engine.building.cover import DEFAULT_WEEKS, Uncovered, uncovered_periods
from ..engine.building.schedule import Schedule
from ..helpers.staff_texts import short_date, staff_texts, weekday
from .hours import BranchHours

ISSUE_ID: Final = "uncovered_smart_hours"
ISSUE_MORE: Final = "uncovered_smart_hours_more"
MAX_LISTED: Final = 10
WS_SUBSCRIBE: Final = f"{DOMAIN}/cover/subscribe"
DATA_COVER: HassKey[CoverTracker] = HassKey(f"{DOMAIN}_cover")


@dataclass(frozen=True, slots=True)
class _Service:
    """A running library service: its entry (sub-entries read live) and its branches' hours."""

    entry: ConfigEntry[Any]
    hours: Mapping[str, BranchHours]


@dataclass(frozen=True, slots=True)
class BranchRef:
    """A branch any service has configured: what the neighbour pickers offer."""

    id: str
    title: str
    service: str


def all_branches(hass: HomeAssistant) -> list[BranchRef]:
    """Return every branch of every library service configured, running or not, by name."""
    found = [
        BranchRef(sub.subentry_id, sub.title, entry.title)
        for entry in hass.config_entries.async_entries(DOMAIN)
        for sub in entry.subentries.values()
        if sub.subentry_type == SUBENTRY_BRANCH
    ]
    return sorted(found, key=lambda b: (b.title, b.service, b.id))


def neighbour_choices(hass: HomeAssistant, branch_id: str) -> list[BranchRef]:
    """Return the branches a branch may name as neighbours: every other branch."""
    return [b for b in all_branches(hass) if b.id != branch_id]


def named_neighbours(data: Mapping[str, Any], known: set[str]) -> list[str]:
    """Return the neighbours a branch's data names that still exist (a removed one drops out)."""
    named = data.get(CONF_NEIGHBOURS) or []
    return [n for n in named if isinstance(n, str) and n in known]


class CoverTracker:
    """Every running branch's hours, and the smart stretches with no neighbour staffed."""

    def __init__(self, hass: HomeAssistant) -> None:
        """Start with no service (each adds itself as it is set up)."""
        self.hass = hass
        self.weeks = DEFAULT_WEEKS
        self.found: list[Uncovered] = []
        self._services: dict[str, _Service] = {}
        self._subscribers: list[Callable[[], None]] = []
        self._pending = False
        self._waiting = False
        self._generation = 0
        self._unsub_tick: CALLBACK_TYPE | None = None

    # -- services come and go ---------------------------------------------------------------------

    @callback
    def async_add_service(
        self, entry: ConfigEntry[Any], hours: Mapping[str, BranchHours]
    ) -> CALLBACK_TYPE:
        """Follow a service's branches; return what stops it (when the service unloads)."""
        self._services[entry.entry_id] = _Service(entry, dict(hours))
        unsubs = [
            h.async_add_listener(self.async_schedule_update) for h in hours.values()
        ]
        if self._unsub_tick is None:
            self._unsub_tick = async_track_time_change(
                self.hass, self._async_tick, hour=0, minute=0, second=5
            )
        self.async_schedule_update()

        @callback
        def remove() -> None:
            for unsub in unsubs:
                unsub()
            self._services.pop(entry.entry_id, None)
            if not self._services and self._unsub_tick is not None:
                self._unsub_tick()
                self._unsub_tick = None
            self.async_schedule_update()

        return remove

    @callback
    def _async_tick(self, _now: datetime) -> None:
        self.async_schedule_update()

    # -- working it out ---------------------------------------------------------------------------

    @callback
    def async_schedule_update(self) -> None:
        """Work the cover out again soon (many changes at once make one update)."""
        if self._pending:
            return
        self._pending = True
        self.hass.loop.call_soon(self._async_run)

    @callback
    def _async_run(self) -> None:
        self._pending = False
        busy = [
            entry
            for entry in self.hass.config_entries.async_entries(DOMAIN)
            if entry.setup_lock.locked()
        ]
        if busy:
            # A service being set up or reloaded is neither running nor gone: worked out now,
            # its branches would read as not staffed and every period they cover would flash
            # up as uncovered (at each start, at each reload). Work it out once it is done.
            if not self._waiting:
                self._waiting = True
                self.hass.async_create_background_task(
                    self._async_after(busy), f"{DOMAIN} cover waits for set-up"
                )
            return
        self.async_update()

    async def _async_after(self, busy: list[ConfigEntry[Any]]) -> None:
        try:
            for entry in busy:
                async with entry.setup_lock:
                    pass
        finally:
            self._waiting = False
        self.async_schedule_update()

    @callback
    def async_update(self) -> None:
        """Work the cover out; then update the repair issue and tell the subscribers.

        In the executor: four weeks of a county take tens of milliseconds (bench/cover: 24 ms
        for 14 branches, 200 ms for 100), which the event loop (and every reader waiting on
        it) should not wait for. What it works from is read here, in the loop; a result that a
        newer update has overtaken is dropped.
        """
        self._generation += 1
        self.hass.async_create_task(
            self._async_compute(self._generation, self._inputs()),
            f"{DOMAIN} cover",
        )

    async def _async_compute(self, generation: int, inputs: tuple[Any, ...]) -> None:
        found = await self.hass.async_add_executor_job(uncovered_periods, *inputs)
        if generation == self._generation:
            self._apply(found)

    @callback
    def _apply(self, found: list[Uncovered]) -> None:
        changed = found != self.found
        self.found = found
        self._update_issue()
        if changed:
            for subscriber in list(self._subscribers):
                subscriber()

    def _running(self) -> dict[str, tuple[_Service, BranchHours]]:
        return {
            branch_id: (service, hours)
            for service in self._services.values()
            if service.entry.state is ConfigEntryState.LOADED
            for branch_id, hours in service.hours.items()
            if branch_id in service.entry.subentries
        }

    def _inputs(self) -> tuple[Any, ...]:
        """Return what `uncovered_periods` works from now (schedules are immutable)."""
        running = self._running()
        known = {b.id for b in all_branches(self.hass)}
        # A configured branch not running (its service failed to set up) is never staffed here.
        schedules: dict[str, Schedule] = dict.fromkeys(known, Schedule())
        schedules |= {bid: hours.schedule for bid, (_, hours) in running.items()}
        neighbours = {
            bid: named_neighbours(service.entry.subentries[bid].data, known)
            for bid, (service, _) in running.items()
        }
        return (
            schedules,
            neighbours,
            dt_util.utcnow(),
            dt_util.get_default_time_zone(),
            self.weeks,
        )

    # -- what is shown ----------------------------------------------------------------------------

    def titles(self) -> dict[str, BranchRef]:
        """Return every configured branch by id."""
        return {b.id: b for b in all_branches(self.hass)}

    def as_list(self, branch_id: str | None = None) -> list[dict[str, str]]:
        """Return the uncovered stretches (of one branch, or all) as plain JSON types."""
        titles = self.titles()
        zone = dt_util.get_default_time_zone()
        return [
            {
                "branch_id": u.branch,
                "branch": titles[u.branch].title if u.branch in titles else u.branch,
                "service": titles[u.branch].service if u.branch in titles else "",
                "start": u.start.astimezone(zone).isoformat(),
                "end": u.end.astimezone(zone).isoformat(),
            }
            for u in self.found
            if branch_id in (None, u.branch)
        ]

    def branch_status(self, branch_id: str) -> dict[str, Any]:
        """Return a branch's neighbours, the choices, and its uncovered stretches (the panel)."""
        titles = self.titles()
        entry_data: Mapping[str, Any] = {}
        for entry in self.hass.config_entries.async_entries(DOMAIN):
            if branch_id in entry.subentries:
                entry_data = entry.subentries[branch_id].data
        named = named_neighbours(entry_data, set(titles) - {branch_id})
        return {
            "neighbours": named,
            "neighbour_choices": [
                {"id": b.id, "title": b.title, "service": b.service}
                for b in neighbour_choices(self.hass, branch_id)
            ],
            "checked": bool(named),
            "weeks": self.weeks,
            "uncovered": self.as_list(branch_id),
        }

    def _update_issue(self) -> None:
        if not self.found:
            ir.async_delete_issue(self.hass, DOMAIN, ISSUE_ID)
            return
        titles = self.titles()
        zone = dt_util.get_default_time_zone()
        # Days and months in Home Assistant's language (a repair's placeholders are one text
        # for every reader): "Mon 7 Dec 08:00–21:30", "man 7 dec 08:00–21:30".
        cat = staff_texts(self.hass)
        lines = []
        for u in self.found[:MAX_LISTED]:
            start, end = u.start.astimezone(zone), u.end.astimezone(zone)
            name = titles[u.branch].title if u.branch in titles else u.branch
            to = (
                f"{end:%H:%M}"
                if end.date() == start.date()
                else f"{weekday(cat, end)} {short_date(cat, end)}"
            )
            lines.append(
                f"- {name}: {weekday(cat, start)} {short_date(cat, start)}–{to}"
            )
        more = len(self.found) - MAX_LISTED
        ir.async_create_issue(
            self.hass,
            DOMAIN,
            ISSUE_ID,
            is_fixable=False,
            is_persistent=False,
            severity=ir.IssueSeverity.WARNING,
            translation_key=ISSUE_MORE if more > 0 else ISSUE_ID,
            translation_placeholders={
                "periods": "\n".join(lines),
                "count": str(len(self.found)),
                "more": str(max(more, 0)),
                "weeks": str(self.weeks),
            },
        )

    # -- subscribers ------------------------------------------------------------------------------

    @callback
    def async_subscribe(self, update: Callable[[], None]) -> CALLBACK_TYPE:
        """Call `update` whenever the uncovered stretches change."""
        self._subscribers.append(update)

        @callback
        def remove() -> None:
            if update in self._subscribers:
                self._subscribers.remove(update)

        return remove


@callback
def async_setup_cover(hass: HomeAssistant) -> CoverTracker:
    """Create the one tracker and its websocket command (once, from the integration's set-up)."""
    if (tracker := hass.data.get(DATA_COVER)) is not None:
        return tracker
    tracker = hass.data[DATA_COVER] = CoverTracker(hass)
    websocket_api.async_register_command(hass, ws_subscribe)
    return tracker


def cover_tracker(hass: HomeAssistant) -> CoverTracker:
    """Return the tracker (set up with the integration)."""
    return hass.data[DATA_COVER]


@websocket_api.websocket_command({probatio.Required("type"): WS_SUBSCRIBE})
@callback
def ws_subscribe(
    hass: HomeAssistant, connection: websocket_api.ActiveConnection, msg: dict[str, Any]
) -> None:
    """Send the uncovered stretches now and whenever they change, until unsubscribed."""
    tracker = cover_tracker(hass)

    @callback
    def send() -> None:
        connection.send_message(
            websocket_api.event_message(
                msg["id"], {"weeks": tracker.weeks, "periods": tracker.as_list()}
            )
        )

    connection.subscriptions[msg["id"]] = tracker.async_subscribe(send)
    connection.send_result(msg["id"])
    send()
