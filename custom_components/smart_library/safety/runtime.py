"""The safety tools of a library service at run time: incidents, alerts, lockdowns, bar reviews.

One `SafetyRuntime` per library service (config entry), started with the entry and stopped with
it. It listens to the building's events on the bus and turns them into incidents, staff alerts
and announcements:

| event                                   | incident (category)        | staff alert | PA               |
|-----------------------------------------|----------------------------|-------------|------------------|
| `smart_library_evacuation` (evacuation) | fire                       | critical    | (the fire rule's) |
| `smart_library_alarm` panic             | panic                      | critical    |                  |
| `smart_library_alarm` door forced/held  | forced door / held open    | normal      |                  |
| `smart_library_alarm` fire fault, lost  | other                      | normal      |                  |
| `smart_library_help` (a help button)    | help point                 | normal      | help on the way  |
| `smart_library_tailgating`              | tailgating                 | none        |                  |
| `smart_library_reader_throttled`        | other                      | normal      |                  |
| a lockdown (lockdown.py)                | lockdown                   | normal      | lockdown message |

An alarm repeated at the same place within ten minutes adds to the open incident instead. Every
day at 03:10 incidents past the service's retention go (with their snapshots) and bars whose
review date has come raise a repair issue (ban_reviews.py).

Settings (the options flow's safety step and the branch's reconfigure menu, or the admin actions
of safety_services.py): the service's on-call and escalation phones, escalation minutes, retention
days and announcement languages in the entry's options; each branch's cameras, speakers and
text-to-speech engine in its sub-entry's data.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
import shutil
from typing import TYPE_CHECKING, Any

from homeassistant.auth.permissions.const import POLICY_CONTROL
from homeassistant.config_entries import ConfigEntry, ConfigSubentry
from homeassistant.const import EVENT_HOMEASSISTANT_STOP
from homeassistant.core import CALLBACK_TYPE, Context, Event, HomeAssistant, callback
from homeassistant.exceptions import (
    HomeAssistantError,
    ServiceValidationError,
    Unauthorized,
    UnknownUser,
)
from homeassistant.helpers import device_registry as dr, issue_registry as ir
from homeassistant.helpers.dispatcher import async_dispatcher_send
from homeassistant.helpers.event import async_track_time_change
from homeassistant.util import dt as dt_util
from homeassistant.util.hass_dict import HassKey

from ..const import DOMAIN, LOGGER
from ..engine.database import remove_database
from ..engine.safety import incidents as rules
from ..engine.safety.alerts import DEFAULT_ESCALATION_MINUTES
from ..engine.safety.incident_store import IncidentStore
from ..engine.safety.incidents import (
    DEFAULT_RETENTION_DAYS,
    Category,
    IncidentError,
    Priority,
    Source,
)

if TYPE_CHECKING:
    from ..engine.building.snapshot import Snapshot
    from ..runtime import Branch
    from .alerts import StaffAlerts
    from .bans import BanReviews
    from .incidents import IncidentLog
    from .lockdown import Lockdowns
    from .pa import PublicAddress

# -- settings -------------------------------------------------------------------------------------

# The library service's options.
CONF_ON_CALL = "on_call_phones"  # mobile-app device ids, alerted at once
CONF_ESCALATION_PHONES = "escalation_phones"  # alerted when nobody acknowledges in time
CONF_ESCALATION_MINUTES = "escalation_minutes"
CONF_RETENTION_DAYS = "incident_retention_days"
CONF_LANGUAGES = "announcement_languages"  # stored messages play in each, in order
# A branch's sub-entry data.
CONF_CAMERAS = "cameras"  # camera entity ids: a snapshot of each is kept with an alarm
CONF_SPEAKERS = "speakers"  # media players that take text-to-speech
CONF_TTS_ENGINE = "tts_engine"  # the tts entity that speaks for the branch

# Events of the building this listens to (fired by the coordinator and the reader keys).
EVENT_ALARM = f"{DOMAIN}_alarm"
EVENT_ALARMS_ACKNOWLEDGED = f"{DOMAIN}_alarms_acknowledged"
EVENT_EVACUATION = f"{DOMAIN}_evacuation"
EVENT_TAILGATING = f"{DOMAIN}_tailgating"
EVENT_READER_THROTTLED = f"{DOMAIN}_reader_throttled"
# Events this fires.
EVENT_HELP = f"{DOMAIN}_help"  # a member's help button: branch, branch_id, point
EVENT_LOCKDOWN = f"{DOMAIN}_lockdown"  # branch, branch_id, active, by
EVENT_INCIDENT = f"{DOMAIN}_incident"  # branch, branch_id, incident, category, status

NO_USER = (
    "an automation"  # who acted when no user did (an automation, a voice satellite)
)
SYSTEM = "Smart Library"  # who recorded what the building reported by itself
DAILY_AT = {"hour": 3, "minute": 10, "second": 0}

DATA_SAFETY: HassKey[dict[str, SafetyRuntime]] = HassKey(f"{DOMAIN}_safety")


def signal_incidents(entry_id: str) -> str:
    """Return the dispatcher signal telling a service's incident views that incidents changed."""
    return f"{DOMAIN}_{entry_id}_incidents"


def signal_lockdown(entry_id: str) -> str:
    """Return the dispatcher signal telling a service's entities a lockdown started or ended."""
    return f"{DOMAIN}_{entry_id}_lockdown"


def incidents_path(hass: HomeAssistant, entry_id: str) -> Path:
    """Return where a library service's incident store lives (beside its member store)."""
    return Path(hass.config.path(DOMAIN, f"{entry_id}.incidents.db"))


def snapshots_folder(hass: HomeAssistant, entry_id: str) -> Path:
    """Return the folder of a library service's incident snapshots."""
    return Path(hass.config.path(DOMAIN, "incidents", entry_id))


@dataclass(frozen=True, slots=True)
class SafetySettings:
    """A library service's safety settings (its entry's options)."""

    on_call: tuple[str, ...] = ()
    escalation: tuple[str, ...] = ()
    escalation_minutes: int = DEFAULT_ESCALATION_MINUTES
    retention_days: int = DEFAULT_RETENTION_DAYS
    languages: tuple[str, ...] = ("en",)

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> SafetySettings:
        """Read the settings from the entry's options (defaults where none are set)."""
        return cls(
            on_call=tuple(options.get(CONF_ON_CALL) or ()),
            escalation=tuple(options.get(CONF_ESCALATION_PHONES) or ()),
            escalation_minutes=int(
                options.get(CONF_ESCALATION_MINUTES, DEFAULT_ESCALATION_MINUTES)
            ),
            retention_days=int(
                options.get(CONF_RETENTION_DAYS, DEFAULT_RETENTION_DAYS)
            ),
            languages=tuple(options.get(CONF_LANGUAGES) or ("en",)),
        )


@dataclass(frozen=True, slots=True)
class BranchSafety:
    """A branch's safety settings (its sub-entry's data)."""

    cameras: tuple[str, ...] = ()
    speakers: tuple[str, ...] = ()
    tts_engine: str | None = None

    @classmethod
    def from_subentry(cls, subentry: ConfigSubentry) -> BranchSafety:
        """Read a branch's settings from its sub-entry."""
        data = subentry.data
        return cls(
            cameras=tuple(data.get(CONF_CAMERAS) or ()),
            speakers=tuple(data.get(CONF_SPEAKERS) or ()),
            tts_engine=data.get(CONF_TTS_ENGINE) or None,
        )


# -- who acts ---------------------------------------------------------------------------------------


async def async_actor(
    hass: HomeAssistant,
    context: Context | None,
    *,
    admin: bool = False,
    require_user: bool = False,
) -> str:
    """Return the name of who acts, or refuse them (as safety.async_actor does for alarms).

    No user (an automation, a script, a voice satellite): allowed unless `require_user`.
    `admin`: administrators only. Otherwise any user who may control entities: a read-only user
    is refused.
    """
    if context is None or context.user_id is None:
        if require_user:
            raise Unauthorized(context=context, permission=POLICY_CONTROL)
        return NO_USER
    user = await hass.auth.async_get_user(context.user_id)
    if user is None:
        raise UnknownUser(context=context, permission=POLICY_CONTROL)
    allowed = (
        user.is_admin if admin else user.permissions.access_all_entities(POLICY_CONTROL)
    )
    if not allowed:
        raise Unauthorized(context=context, permission=POLICY_CONTROL)
    return user.name or "a user"


def incident_error(err: IncidentError) -> ServiceValidationError:
    """Translate an incident rule's error (its placeholders hold no personal data)."""
    return ServiceValidationError(
        translation_domain=DOMAIN,
        translation_key=err.code,
        translation_placeholders=dict(err.placeholders) or None,
    )


# -- the runtime --------------------------------------------------------------------------------------


class SafetyRuntime:
    """The safety tools of one library service."""

    def __init__(
        self, hass: HomeAssistant, entry: ConfigEntry, store: IncidentStore
    ) -> None:
        """Build the parts around an opened incident store (see `async_open_safety`)."""
        from .alerts import StaffAlerts  # noqa: PLC0415 - the parts import this module
        from .bans import BanReviews  # noqa: PLC0415
        from .incidents import IncidentLog  # noqa: PLC0415
        from .lockdown import Lockdowns  # noqa: PLC0415
        from .pa import PublicAddress  # noqa: PLC0415

        self.hass = hass
        self.entry = entry
        self.settings = SafetySettings.from_options(entry.options)
        self.log: IncidentLog = IncidentLog(self, store)
        self.alerts: StaffAlerts = StaffAlerts(self)
        self.pa: PublicAddress = PublicAddress(self)
        self.lockdowns: Lockdowns = Lockdowns(self)
        self.bans: BanReviews = BanReviews(self)
        self._unsubs: list[CALLBACK_TYPE] = []
        self._help: dict[str, dict[str, bool | None]] = {}

    # -- branches ---------------------------------------------------------------------------

    @property
    def branches(self) -> Mapping[str, Branch]:
        """Return the service's branches by id."""
        branches: Mapping[str, Branch] = self.entry.runtime_data.branches
        return branches

    def branch(self, branch_id: str) -> Branch | None:
        """Return a branch by id."""
        return self.branches.get(branch_id)

    def branch_of(self, data: Mapping[str, Any]) -> Branch | None:
        """Return the branch an event's data names by its id, or None if not ours.

        By id, never by title: two services may each have a branch of the same name.
        """
        branch_id = data.get("branch_id")
        return self.branches.get(branch_id) if isinstance(branch_id, str) else None

    def branch_settings(self, branch: Branch) -> BranchSafety:
        """Return a branch's cameras, speakers and text-to-speech engine."""
        return BranchSafety.from_subentry(branch.subentry)

    def device_id(self, branch: Branch) -> str | None:
        """Return the device id of a branch (what the actions' `branch` field takes)."""
        device = dr.async_get(self.hass).async_get_device_by_identifier(
            (DOMAIN, branch.id), self.entry.entry_id
        )
        return device.id if device else None

    # -- start and stop ------------------------------------------------------------------------

    async def async_start(self) -> None:
        """Listen to the building, load running lockdowns, run the daily jobs once."""
        bus = self.hass.bus
        self._unsubs += [
            bus.async_listen(EVENT_ALARM, self._on_alarm),
            bus.async_listen(EVENT_EVACUATION, self._on_evacuation),
            bus.async_listen(EVENT_TAILGATING, self._on_tailgating),
            bus.async_listen(EVENT_READER_THROTTLED, self._on_reader_throttled),
            bus.async_listen(EVENT_HELP, self._on_help),
            bus.async_listen(EVENT_ALARMS_ACKNOWLEDGED, self._on_acknowledged),
            bus.async_listen(
                "mobile_app_notification_action", self.alerts.async_on_action
            ),
            bus.async_listen_once(EVENT_HOMEASSISTANT_STOP, self._on_stop),
            async_track_time_change(self.hass, self._async_daily, **DAILY_AT),
        ]
        for branch in self.branches.values():
            self._unsubs.append(
                branch.coordinator.async_add_listener(self._help_watcher(branch), None)
            )
        await self.lockdowns.async_load()
        self.entry.async_create_background_task(
            self.hass, self._async_daily(None), f"{DOMAIN} safety daily jobs"
        )

    @callback
    def _on_stop(self, _event: Event) -> None:
        self.alerts.async_stop()

    async def async_stop(self) -> None:
        """Stop listening and close the store."""
        while self._unsubs:
            with suppress(ValueError):  # a once-listener that already ran
                self._unsubs.pop()()
        self.alerts.async_stop()
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

    def changed(self) -> None:
        """Tell the incident views (to-do lists, counts) that incidents changed."""
        async_dispatcher_send(self.hass, signal_incidents(self.entry.entry_id))

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

        Returns the incident's id.
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
        if snapshots:
            self.entry.async_create_background_task(
                self.hass,
                self.log.async_snapshots(branch, incident.id),
                f"{DOMAIN} incident snapshots",
            )
        if rules.PRIORITY[category] is not Priority.NONE:
            await self.alerts.async_raise(
                branch,
                incident,
                critical=rules.PRIORITY[category] is Priority.CRITICAL,
                alarm_kind=alarm_kind,
                detail=description,
            )
        if play is not None:
            self.pa.async_play_in_background(branch, play)
        return incident.id

    @callback
    def _on_alarm(self, event: Event) -> None:
        data = event.data
        if (branch := self.branch_of(data)) is None:
            return
        kind = str(data.get("kind", ""))
        category = rules.alarm_category(kind)
        where, what = _alarm_words(kind, data)
        self.entry.async_create_background_task(
            self.hass,
            self.async_report(
                branch,
                category,
                source=Source.ALARM,
                location=where,
                description=what,
                alarm_kind=kind,
            ),
            f"{DOMAIN} alarm incident",
        )

    @callback
    def _on_evacuation(self, event: Event) -> None:
        data = event.data
        if (branch := self.branch_of(data)) is None:
            return
        state = data.get("state")
        if state == "evacuation":
            inside = data.get("inside_at_alarm")
            counted = f"; {inside} counted inside" if inside is not None else ""
            self.entry.async_create_background_task(
                self.hass,
                self.async_report(
                    branch,
                    Category.FIRE,
                    source=Source.ALARM,
                    location="fire panel",
                    description=f"Fire alarm: evacuation{counted}",
                    alarm_kind="fire",
                ),
                f"{DOMAIN} fire incident",
            )
        elif state == "reset":
            self.entry.async_create_background_task(
                self.hass,
                self.log.async_note_open(
                    branch,
                    Category.FIRE,
                    "Branch reset after the evacuation",
                    str(data.get("by", "")),
                ),
                f"{DOMAIN} fire incident reset",
            )

    @callback
    def _on_tailgating(self, event: Event) -> None:
        data = event.data
        if (branch := self.branch_of(data)) is None:
            return
        door = str(data.get("door", "entrance"))
        self.entry.async_create_background_task(
            self.hass,
            self.async_report(
                branch,
                Category.TAILGATING,
                source=Source.ALARM,
                location=f"{door.replace('_', ' ')} door",
                description=(
                    f"{data.get('came_in')} came in on a release for "
                    f"{data.get('admitted')}"
                ),
                snapshots=True,
            ),
            f"{DOMAIN} tailgating incident",
        )

    @callback
    def _on_reader_throttled(self, event: Event) -> None:
        data = event.data
        if (branch := self.branch_of(data)) is None:
            return
        self.entry.async_create_background_task(
            self.hass,
            self.async_report(
                branch,
                Category.OTHER,
                source=Source.READER,
                location=", ".join(str(d) for d in data.get("doors", ())),
                description=(
                    f"Door reader {data.get('reader')} stopped for "
                    f"{data.get('throttle_minutes')} minutes after "
                    f"{data.get('refusals')} refusals"
                ),
                snapshots=True,
            ),
            f"{DOMAIN} reader incident",
        )

    @callback
    def _on_help(self, event: Event) -> None:
        data = event.data
        if (branch := self.branch_of(data)) is None:
            return
        point = str(data.get("point", ""))
        self.entry.async_create_background_task(
            self.hass,
            self.async_report(
                branch,
                Category.HELP_POINT,
                source=Source.HELP_POINT,
                location=f"help point {point.replace('_', ' ')}".strip(),
                description="A member pressed the help button",
                alarm_kind="help",
                play="help_on_the_way",
            ),
            f"{DOMAIN} help point incident",
        )

    @callback
    def _on_acknowledged(self, event: Event) -> None:
        data = event.data
        if (branch := self.branch_of(data)) is None:
            return
        self.entry.async_create_background_task(
            self.hass,
            self.alerts.async_alarms_acknowledged(
                branch, str(data.get("by") or NO_USER), list(data.get("kinds") or ())
            ),
            f"{DOMAIN} alarms acknowledged",
        )

    # -- the help points ------------------------------------------------------------------------

    def _help_watcher(self, branch: Branch) -> Callable[[], None]:
        """Return the listener that fires EVENT_HELP when a help input turns on."""
        coordinator = branch.coordinator
        seen = self._help.setdefault(branch.id, {})

        @callback
        def check() -> None:
            data: Snapshot | None = coordinator.data
            if data is None:
                return
            for point in coordinator.point_map.ids("help"):
                now = data.flag(f"help.{point}")
                if now is None:
                    continue  # unknown: its module did not answer; not an edge
                if now and not seen.get(point):
                    self.hass.bus.async_fire(
                        EVENT_HELP,
                        {
                            "branch": branch.subentry.title,
                            "branch_id": branch.id,
                            "point": point,
                        },
                    )
                seen[point] = now

        return check


def _alarm_words(kind: str, data: Mapping[str, Any]) -> tuple[str, str]:
    """Return where an alarm is and what it says, in words."""
    door = str(data.get("door", "")).replace("_", " ")
    button = str(data.get("button", "")).replace("_", " ")
    module = str(data.get("module", ""))
    match kind:
        case "panic":
            return f"panic button {button}".strip(), "Panic button pressed"
        case "door_forced" | "forced" | "forced_door":
            return f"{door} door".strip(), "Door opened without a release"
        case "door_held_open" | "held_open":
            return f"{door} door".strip(), "Door left open"
        case "fire_fault":
            return "fire panel", "Fire panel fault: the fire alarm may not work"
        case "controller_lost":
            return (
                f"controller {module}".strip(),
                "Building controller not answering: doors and alarms unknown",
            )
    return door or button or module, kind.replace("_", " ").capitalize()


# -- set-up ---------------------------------------------------------------------------------------


async def async_open_safety(hass: HomeAssistant, entry: ConfigEntry) -> SafetyRuntime:
    """Open a library service's incident store and build its safety tools (not started).

    Built before the entry's runtime data (which holds it); `SafetyRuntime.async_start` once
    that is set, before the platforms are added. Stopped, and its store closed, on unload.
    """
    path = incidents_path(hass, entry.entry_id)
    store = await hass.async_add_executor_job(IncidentStore, path)
    runtime = SafetyRuntime(hass, entry, store)
    found = hass.data.setdefault(DATA_SAFETY, {})
    found[entry.entry_id] = runtime

    async def stop() -> None:
        if found.get(entry.entry_id) is runtime:
            del found[entry.entry_id]
        await runtime.async_stop()

    entry.async_on_unload(stop)
    return runtime


def safety_of(hass: HomeAssistant, entry_id: str) -> SafetyRuntime | None:
    """Return a library service's running safety tools, or None."""
    return hass.data.get(DATA_SAFETY, {}).get(entry_id)


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


def lockdown_active(hass: HomeAssistant, branch_id: str) -> bool:
    """Return True while a branch is locked down (for the access decision: staff cards only)."""
    return any(
        r.lockdowns.active(branch_id) for r in hass.data.get(DATA_SAFETY, {}).values()
    )


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
