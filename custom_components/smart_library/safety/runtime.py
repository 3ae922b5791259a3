"""The safety tools of a library service at run time: the composition root.

One `SafetyRuntime` per library service (config entry), built and listening before any of its
branches polls, and stopped with the entry. It takes the building's typed events from the
service's hub (building/events.py) — never from the bus, where anyone logged in can fire an
event — and turns them into incidents, staff alerts and announcements:

| building event           | incident (category)        | staff alert | PA               |
|--------------------------|----------------------------|-------------|------------------|
| EvacuationBegun          | fire                       | critical    | (the fire rule's) |
| AlarmRaised panic        | panic                      | critical    |                  |
| AlarmRaised door forced  | forced door / held open    | normal      |                  |
| AlarmRaised fault, lost  | other                      | normal      |                  |
| HelpPressed              | help point                 | normal      | help on the way  |
| TailgatingDetected       | tailgating                 | none        |                  |
| ReaderThrottled          | other                      | normal      |                  |
| a lockdown (lockdown.py) | lockdown                   | normal      | lockdown message |
| AlarmsAcknowledged       | (the alerts about them settle)                  |

Life safety never waits for storage: the alert goes out before the incident is written, and an
incident store that cannot be written (full, read-only, corrupt) keeps its records in memory
until it can (incidents.py), with a repair issue meanwhile. What an incident says (where, what)
is written in Home Assistant's language of the moment and kept as written
(helpers/staff_texts.py). An alarm repeated at the same place
within ten minutes adds to the open incident instead. Every day at 03:10 incidents past the
service's retention go (with their snapshots) and bars whose review date has come raise a repair
issue (bans.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
import shutil

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import EVENT_HOMEASSISTANT_STOP
from homeassistant.core import CALLBACK_TYPE, Context, Event, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import device_registry as dr, issue_registry as ir
from homeassistant.helpers.event import async_track_time_change
from homeassistant.util import dt as dt_util

from ..branch import Branch
from ..building.events import (
    AlarmRaised,
    AlarmsAcknowledged,
    BranchEvent,
    BuildingEvents,
    EvacuationBegun,
    EvacuationEnded,
    HelpPressed,
    ReaderThrottled,
    TailgatingDetected,
)
from ..const import DOMAIN, LOGGER
from ..engine.database import remove_database
from ..engine.safety import incidents as rules
from ..engine.safety.incidents import Category, Priority, Source
from ..helpers.staff_texts import place, staff_texts
from ..helpers.texts import Catalogue
from .alerts import StaffAlerts
from .bans import BanReviews
from .common import (
    DAILY_AT,
    SYSTEM,
    SafetyBase,
    SafetySettings,
    incidents_path,
    snapshots_folder,
)
from .incidents import IncidentLog
from .lockdown import Lockdowns
from .pa import PublicAddress


class SafetyRuntime(SafetyBase):
    """The safety tools of one library service."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry,
        branches: Mapping[str, Branch],
        events: BuildingEvents,
    ) -> None:
        """Build the parts (the incident store is opened in `async_start`)."""
        super().__init__(hass, entry, branches)
        self.events = events
        self.log = IncidentLog(self, incidents_path(hass, entry.entry_id))
        self.pa = PublicAddress(self)
        self.alerts = StaffAlerts(self, self.log)
        self.lockdowns = Lockdowns(self, self.log, self.alerts, self.pa)
        self.alerts.start_lockdown = self.lockdowns.async_start
        self.bans = BanReviews(self, self.log)
        self._unsubs: list[CALLBACK_TYPE] = []
        # Kept apart: once Home Assistant's stop has run it, removing it again is an error
        # Home Assistant logs ("Unable to remove unknown job listener").
        self._unsub_stop: CALLBACK_TYPE | None = None

    # -- start and stop ------------------------------------------------------------------------

    async def async_start(self) -> None:
        """Listen to the building; open the incident store; load lockdowns and alerts.

        Called before any branch's first poll, so an alarm already on at start-up opens its
        incident and alerts staff (once: a stored evacuation or latched alarm is not new).
        """
        self._unsubs += [
            self.events.subscribe(self._on_building_event),
            self.hass.bus.async_listen(
                "mobile_app_notification_action", self.alerts.async_on_action
            ),
            self.hass.bus.async_listen(
                dr.EVENT_DEVICE_REGISTRY_UPDATED, self.alerts.async_on_device_changed
            ),
            async_track_time_change(self.hass, self._async_daily, **DAILY_AT),
        ]
        self._unsub_stop = self.hass.bus.async_listen_once(
            EVENT_HOMEASSISTANT_STOP, self._on_stop
        )
        await self.log.async_open()
        await self.alerts.async_load()
        # From set-up on, not only at the first alarm: would an alert reach anybody?
        self.alerts.async_check_phones()
        await self.lockdowns.async_load()
        self.entry.async_create_background_task(
            self.hass, self._async_daily(None), f"{DOMAIN} safety daily jobs"
        )

    def apply_settings(self, settings: SafetySettings) -> None:
        """Take changed safety options at once (nothing pending is forgotten)."""
        self.settings = settings
        self.alerts.settings_changed()

    @callback
    def _on_stop(self, _event: Event) -> None:
        self._unsub_stop = None  # run: nothing to remove any more
        self.alerts.async_stop()

    async def async_stop(self) -> None:
        """Stop listening and close the store (pending alerts are stored, not forgotten)."""
        while self._unsubs:
            self._unsubs.pop()()
        if self._unsub_stop is not None:
            self._unsub_stop()
            self._unsub_stop = None
        self.alerts.async_stop()
        await self.alerts.async_save()
        await self.log.async_close()

    async def _async_daily(self, _now: datetime | None) -> None:
        """Delete incidents past retention; remind of bars due for review."""
        try:
            keep = await self.bans.async_check(dt_util.now().date())
            await self.log.async_purge(keep)
        except HomeAssistantError as err:
            LOGGER.warning(
                "Daily incident jobs of %s failed: %s", self.entry.title, err
            )

    # -- the building's events -----------------------------------------------------------------

    async def async_report(
        self,
        branch: Branch,
        category: Category,
        *,
        source: Source,
        location: str = "",
        description: str = "",
        alarm_kind: str | None = None,
        by: str = SYSTEM,
        play: str | None = None,
        snapshots: bool = True,
        context: Context | None = None,
    ) -> str:
        """Open (or add to) an incident for something that happened now; alert; announce.

        The incident is made in memory first and written after the alert went out: a store
        that cannot be written delays the record, never the alert. Returns the incident's id.
        """
        incident, new = await self.log.async_open_or_repeat(
            branch,
            category,
            source=source,
            location=location,
            description=description,
            by=by,
        )
        if not new:
            return incident.id
        if play is not None:
            self.pa.async_play_in_background(branch, play)
        if rules.PRIORITY[category] is not Priority.NONE:
            await self.alerts.async_raise(
                branch,
                incident,
                critical=rules.PRIORITY[category] is Priority.CRITICAL,
                alarm_kind=alarm_kind,
                detail=description,
            )
        if snapshots:
            self.entry.async_create_background_task(
                self.hass,
                self.log.async_snapshots(branch, incident.id),
                f"{DOMAIN} incident snapshots",
            )
        return incident.id

    def _report_in_background(
        self, branch: Branch, category: Category, **kw: object
    ) -> None:
        self.entry.async_create_background_task(
            self.hass,
            self.async_report(branch, category, **kw),  # type: ignore[arg-type]
            f"{DOMAIN} {category.value} incident",
        )

    @callback
    def _on_building_event(self, event: BranchEvent, context: Context | None) -> None:
        """Act on one of the building's own events (handed in process, never from the bus)."""
        if (branch := self.branch(event.branch_id)) is None:
            return
        cat = staff_texts(self.hass)
        match event:
            case AlarmRaised():
                where, what = _alarm_words(cat, event.kind, event.subject)
                self._report_in_background(
                    branch,
                    rules.alarm_category(event.kind),
                    source=Source.ALARM,
                    location=where,
                    description=what,
                    alarm_kind=event.kind,
                )
            case EvacuationBegun():
                inside = event.inside_at_alarm
                self._report_in_background(
                    branch,
                    Category.FIRE,
                    source=Source.ALARM,
                    location=cat("incident.fire_panel"),
                    description=cat("incident.evacuation")
                    if inside is None
                    else cat("incident.evacuation_counted", count=inside),
                    alarm_kind="fire",
                )
            case EvacuationEnded():
                self.entry.async_create_background_task(
                    self.hass,
                    self.log.async_note_open(
                        branch,
                        Category.FIRE,
                        cat("incident.evacuation_reset"),
                        event.by,
                    ),
                    f"{DOMAIN} fire incident reset",
                )
            case TailgatingDetected():
                self._report_in_background(
                    branch,
                    Category.TAILGATING,
                    source=Source.ALARM,
                    location=_named(cat, "door", "door", event.door),
                    description=cat(
                        "incident.tailgating",
                        came_in=event.came_in,
                        admitted=event.admitted,
                    ),
                )
            case ReaderThrottled():
                self._report_in_background(
                    branch,
                    Category.OTHER,
                    source=Source.READER,
                    location=", ".join(event.doors),
                    description=cat(
                        "incident.reader_throttled",
                        reader=event.reader,
                        minutes=event.minutes,
                        refusals=event.refusals,
                    ),
                )
            case HelpPressed():
                self._report_in_background(
                    branch,
                    Category.HELP_POINT,
                    source=Source.HELP_POINT,
                    location=_named(cat, "help_point", "point", event.point),
                    description=cat("incident.help"),
                    alarm_kind="help",
                    play="help_on_the_way",
                )
            case AlarmsAcknowledged():
                self.entry.async_create_background_task(
                    self.hass,
                    self.alerts.async_alarms_acknowledged(
                        branch, event.by, list(event.kinds)
                    ),
                    f"{DOMAIN} alarms acknowledged",
                )


def _named(cat: Catalogue, thing: str, placeholder: str, name: str) -> str:
    """Return "entrance door" for a named thing, "door" for one with no name."""
    if not name.strip():
        return cat(f"incident.{thing}")
    return cat(f"incident.{thing}_named", **{placeholder: place(cat, name)})


def _alarm_words(cat: Catalogue, kind: str, subject: str) -> tuple[str, str]:
    """Return where an alarm is and what it says, in words (Home Assistant's language)."""
    match kind:
        case "panic":
            return _named(cat, "panic_button", "button", subject), cat("incident.panic")
        case "door_forced" | "forced" | "forced_door":
            return _named(cat, "door", "door", subject), cat("incident.door_forced")
        case "door_held_open" | "held_open":
            return _named(cat, "door", "door", subject), cat("incident.door_held_open")
        case "fire_fault":
            return cat("incident.fire_panel"), cat("incident.fire_fault")
        case "controller_lost":
            return _named(cat, "controller", "module", subject), cat(
                "incident.controller_lost"
            )
    return subject.replace("_", " "), kind.replace("_", " ").capitalize()


async def async_remove_safety_data(hass: HomeAssistant, entry_id: str) -> None:
    """Delete a removed library service's incidents, snapshots and reminders (personal data)."""
    path = incidents_path(hass, entry_id)
    folder = snapshots_folder(hass, entry_id)

    def delete() -> None:
        remove_database(path)
        shutil.rmtree(folder, ignore_errors=True)

    await hass.async_add_executor_job(delete)
    prefixes = (f"ban_review_{entry_id}_", f"no_on_call_phones_{entry_id}")
    for domain, issue_id in list(ir.async_get(hass).issues):
        if domain == DOMAIN and issue_id.startswith(prefixes):
            ir.async_delete_issue(hass, DOMAIN, issue_id)
