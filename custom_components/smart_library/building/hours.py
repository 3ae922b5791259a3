"""A branch's opening hours at run time: the mode now, the next change, closing; doors follow.

The weekly plan lives in the branch's sub-entry (edited in its Reconfigure > Opening hours form).
Exceptions, one-off events and a manual mode override change often, through actions and the
mode select, so they live in the service's storage and change without a reload.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from datetime import datetime
from typing import Any

from homeassistant.config_entries import ConfigEntry, ConfigSubentry
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers.event import async_track_point_in_utc_time
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util

from ..const import CONF_SCHEDULE, DOMAIN
from ..engine.building.schedule import Mode, Schedule, ScheduleError
from ..helpers.errors import translated

type ModeFollower = Callable[[Mode], Coroutine[Any, Any, None]]

OVERRIDE_AUTOMATIC = "automatic"
OVERRIDES = (OVERRIDE_AUTOMATIC, *(m.value for m in Mode))
# How many people a mode lets in: nobody, members by card, anyone (a door held released).
ENTRY_RANK = {Mode.CLOSED: 0, Mode.SMART: 1, Mode.EVENT: 2, Mode.STAFFED: 2}
STORAGE_VERSION = 1


class HoursStore:
    """The service's stored exceptions, events and overrides, by branch sub-entry id."""

    def __init__(self, hass: HomeAssistant, entry_id: str) -> None:
        """Prepare the store file for one library service."""
        self._store: Store[dict[str, Any]] = Store(
            hass, STORAGE_VERSION, f"{DOMAIN}.{entry_id}.hours"
        )
        self.data: dict[str, Any] = {}

    async def async_load(self) -> None:
        """Load what was stored."""
        self.data = await self._store.async_load() or {}

    def branch(self, subentry_id: str) -> dict[str, Any]:
        """Return one branch's stored part."""
        return dict(self.data.get(subentry_id, {}))

    async def async_save(self, subentry_id: str, part: dict[str, Any]) -> None:
        """Store one branch's part (written before the change is acknowledged)."""
        self.data = self.data | {subentry_id: part}
        await self._store.async_save(self.data)


class BranchHours:
    """The opening hours of one branch, kept current as time passes.

    The mode is computed when this is built, so no entity ever shows a mode the branch is not
    in (a reload in smart hours must not pass through "closed" and set off the opening routine).
    Whoever follows the mode (the branch's doors) is told of each change, and of the mode at start.
    """

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry,
        subentry: ConfigSubentry,
        store: HoursStore,
        follow: ModeFollower,
    ) -> None:
        """Build the branch's schedule from its plan and the stored changes; compute the mode."""
        self.hass = hass
        self._entry = entry
        self._store = store
        self._follow = follow
        self.subentry = subentry
        self._subentry_id = subentry.subentry_id
        self.schedule = self._with_stored(
            Schedule.from_dict(subentry.data.get(CONF_SCHEDULE) or {})
        )
        stored = store.branch(subentry.subentry_id)
        self.override: str = stored.get("override", OVERRIDE_AUTOMATIC)
        self._override_until: datetime | None = dt_util.parse_datetime(
            stored.get("override_until") or ""
        )
        self.mode = Mode.CLOSED
        self.next_change: tuple[datetime, Mode] | None = None
        self.closes_at: datetime | None = None
        self._listeners: list[CALLBACK_TYPE] = []
        self._unsub_timer: CALLBACK_TYPE | None = None
        self._recompute()
        self._followed: Mode | None = None

    def _with_stored(self, plan: Schedule) -> Schedule:
        """Return a weekly plan with the branch's stored exceptions and events."""
        stored = self._store.branch(self._subentry_id)
        return Schedule.from_dict(
            plan.to_dict()
            | {
                "exceptions": stored.get("exceptions", []),
                "events": stored.get("events", []),
            }
        )

    # -- state ---------------------------------------------------------------------------------

    @property
    def open_to_members(self) -> bool:
        """Return True while members may come in (staffed, smart or an event)."""
        return self.mode.is_open

    def _recompute(self) -> None:
        now = dt_util.utcnow()
        zone = dt_util.get_default_time_zone()
        if self._override_until is not None and now >= self._override_until:
            self.override, self._override_until = OVERRIDE_AUTOMATIC, None
        scheduled = self.schedule.mode_at(now, zone)
        self.next_change = self.schedule.next_change(now, zone)
        if self.override == OVERRIDE_AUTOMATIC:
            self.mode = scheduled
        else:
            self.mode = Mode(self.override)
        if not self.mode.is_open:
            self.closes_at = None
        elif scheduled.is_open:
            self.closes_at = self.schedule.closes_at(now, zone)
        elif self._override_until is not None:
            # Opened by hand: until the override ends, and on if the plan is open from then.
            self.closes_at = (
                self.schedule.closes_at(self._override_until, zone)
                or self._override_until
            )
        else:
            self.closes_at = None

    def opens_at(self, now: datetime | None = None) -> datetime | None:
        """Return when members may next come in (local time), or None.

        None while the branch is open, or when nothing opens it within the schedule's horizon.
        A mode forced closed by hand holds until its override ends: the next opening is the
        plan's from then on (the override gives way to the plan at its end).
        """
        now = now or dt_util.utcnow()
        zone = dt_util.get_default_time_zone()
        if self.mode.is_open:
            return None
        start = now
        if self.override != OVERRIDE_AUTOMATIC and self._override_until is not None:
            start = max(now, self._override_until)
            if self.schedule.mode_at(start, zone).is_open:
                return dt_util.as_local(start)
        return self.schedule.opens_at(start, zone)

    @callback
    def async_add_listener(self, update: Callable[[], None]) -> CALLBACK_TYPE:
        """Call `update` whenever the mode or the times change."""
        self._listeners.append(update)

        def remove() -> None:
            self._listeners.remove(update)

        return remove

    @callback
    def _async_changed(self, now: datetime | None = None) -> None:
        self._recompute()
        self._schedule_next()
        for update in list(self._listeners):
            update()
        if self._followed is not self.mode:
            self._followed = self.mode
            self._entry.async_create_background_task(
                self.hass, self._follow(self.mode), f"{DOMAIN} doors follow mode"
            )

    @callback
    def async_start(self) -> CALLBACK_TYPE:
        """Tell the follower the mode now, then follow the clock (in the background).

        Returns the function that stops following it.
        """
        self._async_changed()

        def stop() -> None:
            if self._unsub_timer:
                self._unsub_timer()
            self._unsub_timer = None

        return stop

    def _schedule_next(self) -> None:
        if self._unsub_timer:
            self._unsub_timer()
            self._unsub_timer = None
        instants = [
            t
            for t in (self.next_change and self.next_change[0], self._override_until)
            if t
        ]
        if instants:
            self._unsub_timer = async_track_point_in_utc_time(
                self.hass, self._async_changed, dt_util.as_utc(min(instants))
            )

    # -- changes ---------------------------------------------------------------------------------

    @callback
    def async_set_plan(self, plan: Schedule) -> None:
        """Take a new weekly plan (the branch's opening-hours form) without a reload.

        The mode moves now if the plan says so: the mode sensor changes as it would at a
        scheduled change (an automation's opening or closing trigger fires), the doors follow,
        and the timer is set for the new plan's next change.
        """
        self.schedule = self._with_stored(plan)
        self._async_changed()

    async def async_set_schedule(self, schedule: Schedule) -> None:
        """Store a changed schedule's exceptions and events, then follow it."""
        data = schedule.to_dict()
        await self._save(exceptions=data["exceptions"], events=data["events"])
        self.schedule = schedule
        self._async_changed()

    def widens(self, override: str) -> bool:
        """Return True if an override lets more people in than the plan does now.

        Closed lets nobody in, smart lets members in by card, staffed and an event let anyone
        in through a door held released. Going back to the plan (automatic) never widens it.
        """
        if override == OVERRIDE_AUTOMATIC or override not in OVERRIDES:
            return False
        planned = self.schedule.mode_at(
            dt_util.utcnow(), dt_util.get_default_time_zone()
        )
        return ENTRY_RANK[Mode(override)] > ENTRY_RANK[planned]

    async def async_set_override(self, override: str) -> None:
        """Force a mode until the next scheduled change, or go back to automatic."""
        if override not in OVERRIDES:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="invalid_override",
                translation_placeholders={"option": override},
            )
        until = None
        if override != OVERRIDE_AUTOMATIC:
            try:
                until = self.schedule.override_end(
                    dt_util.utcnow(), dt_util.get_default_time_zone(), Mode(override)
                )
            except ScheduleError as err:
                raise translated(err) from err
        await self._save(
            override=override, override_until=until.isoformat() if until else None
        )
        self.override, self._override_until = override, until
        self._async_changed()

    async def _save(self, **changes: Any) -> None:
        part = self._store.branch(self._subentry_id) | changes
        await self._store.async_save(self._subentry_id, part)

    def change(self, edit: Callable[[Schedule], Schedule]) -> Schedule:
        """Return the schedule with an edit applied, or a translated error (nothing is stored)."""
        try:
            return edit(self.schedule)
        except ScheduleError as err:
            raise translated(err) from err
