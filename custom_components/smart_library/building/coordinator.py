"""One coordinator per branch: polls its controller, applies the building's rules, dispatches.

The rules themselves live in the engine (`engine.building`); this module only turns their
commands into controller writes and their events into Home Assistant events, logbook lines and
entity updates, and maps engine errors to translated Home Assistant errors in one place.

What must survive a restart — the branch's evacuation state and its latched alarms — is stored
per branch (`<domain>.<entry>.<branch>.safety`) and read back before the first poll, so an
evacuation nobody reset is still one after a restart, and no alarm is forgotten.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
import logging
import time
from typing import Any

from homeassistant.config_entries import ConfigEntry, ConfigSubentry
from homeassistant.const import CONF_HOST, CONF_PORT
from homeassistant.core import Context, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers.dispatcher import async_dispatcher_send
from homeassistant.helpers.event import async_call_later, async_track_time_change
from homeassistant.helpers.storage import Store
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed
from homeassistant.util import dt as dt_util

from ..const import (
    CONF_EMPTY_AFTER_HOURS,
    CONF_MODULES,
    CONF_POINT_MAP,
    CONF_RELEASE_SECONDS,
    CONF_STAFFED_FREE_ENTRY,
    CONF_UNIT,
    DEFAULT_POINT_MAP,
    DEFAULT_RELEASE_SECONDS,
    DOMAIN,
    EVENT_TAILGATING,
    LOGGER,
    SCAN_INTERVAL,
    TAILGATING_SHOWN,
)
from ..engine.building.alarms import Alarm, AlarmKind, Evacuation, SafetyError
from ..engine.building.announcements import Announcement
from ..engine.building.availability import WARN_EVERY, AvailabilityLog, Say
from ..engine.building.controller import (
    BranchController,
    ControllerError,
    ModuleAddress,
)
from ..engine.building.occupancy import Occupancy
from ..engine.building.pointmap import PA_COMMAND_STOP, POINT_MAPS
from ..engine.building.rules import (
    AlarmLatched,
    BuildingRules,
    Command,
    EvacuationReset,
    FireAlarmCleared,
    FireAlarmStarted,
    HoldDoor,
    OccupancyReset,
    Outcome,
    PlayMessage,
    SetPoint,
    TailgatingSeen,
)
from ..engine.building.schedule import Mode
from ..engine.building.snapshot import ModuleHealth, ModuleStatus, Snapshot
from .events import (
    AlarmRaised,
    AlarmsAcknowledged,
    BuildingEvents,
    EvacuationBegun,
    EvacuationEnded,
    EvacuationResetNeeded,
    HelpPressed,
    TailgatingDetected,
)


class _OwnAvailabilityLogging(logging.Filter):
    """Drop the base coordinator's "recovered" line: the coordinator logs loss and return itself."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Return False for the base class's failure and recovery lines."""
        return record.msg not in _BASE_CLASS_LINES


# The base coordinator's own lines: a lost module is logged once by the coordinator itself.
_BASE_CLASS_LINES = frozenset(
    {
        "Fetching %s data recovered",
        "Error fetching %s data: %s",
        "Error fetching %s data",
    }
)
_POLL_LOGGER = LOGGER.getChild("poll")
_LOST = {
    ModuleStatus.UNREACHABLE: "cannot be reached",
    ModuleStatus.ERROR_RESPONSE: "answers with an error",
    ModuleStatus.MALFORMED: "gives answers that cannot be used",
    ModuleStatus.OK: "answers",
}
_POLL_LOGGER.addFilter(_OwnAvailabilityLogging())

# An alarm latched: branch, branch_id, kind, door / button / module.
EVENT_ALARM = f"{DOMAIN}_alarm"
EVENT_ALARMS_ACKNOWLEDGED = f"{DOMAIN}_alarms_acknowledged"
# branch, branch_id, state: evacuation / evacuation_reset_needed / reset.
EVENT_EVACUATION = f"{DOMAIN}_evacuation"
EVENT_OCCUPANCY_RESET = f"{DOMAIN}_occupancy_reset"
# A member's help button: branch, branch_id, point.
EVENT_HELP = f"{DOMAIN}_help"
SAFETY_STORAGE_VERSION = 1
# The event data's name for an alarm's subject, by kind (the fire panel's fault has none).
ALARM_SUBJECT = {
    AlarmKind.DOOR_FORCED: "door",
    AlarmKind.DOOR_HELD_OPEN: "door",
    AlarmKind.PANIC: "button",
    AlarmKind.CONTROLLER_LOST: "module",
}


def signal_access(subentry_id: str) -> str:
    """Return the dispatcher signal for a branch's access events."""
    return f"{DOMAIN}_{subentry_id}_access"


def module_address(data: Mapping[str, Any]) -> ModuleAddress:
    """Return a module's address from its host/port/unit fields."""
    return ModuleAddress(
        host=str(data[CONF_HOST]), port=int(data[CONF_PORT]), unit=int(data[CONF_UNIT])
    )


def controller_for(data: Mapping[str, Any]) -> BranchController:
    """Build the controller client a branch's configuration describes.

    The branch's own host/port/unit address the map's first module; a map with several I/O
    modules keeps the others under `modules`.
    """
    point_map = POINT_MAPS[str(data.get(CONF_POINT_MAP, DEFAULT_POINT_MAP))]
    first, *others = point_map.modules
    extra: Mapping[str, Any] = data.get(CONF_MODULES, {})
    modules = {first: module_address(data)}
    modules |= {
        m: module_address(extra[m]) if m in extra else modules[first] for m in others
    }
    return BranchController(point_map, modules)


def controller_error(
    err: ControllerError, branch: str, *, writing: bool = False
) -> HomeAssistantError:
    """Translate a controller error (the one error map of the integration).

    Each kind has its own message: the connection lost, an exception code from the controller,
    an answer that cannot be used. Writes say so, so the user knows the command did not take.
    """
    key = f"{'write_' if writing else ''}{err.status.value}"
    return HomeAssistantError(
        translation_domain=DOMAIN,
        translation_key=key,
        translation_placeholders={"branch": branch, "error": str(err)},
    )


def _describe(command: Command) -> str:
    """Return what a command does, for a log line."""
    match command:
        case HoldDoor(door=door, released=released, why=why):
            what = "hold released" if released else "lock"
            return f"{what} the {door.replace('_', ' ')} door ({why})"
        case SetPoint(key=key, value=value):
            return f"set {key} to {value}"
        case PlayMessage(number=number, zone_mask=mask):
            return f"play message {number} on zones {mask:#b}"


def _update_failed(snapshot: Snapshot, branch: str) -> UpdateFailed:
    """Return the translated poll failure for a snapshot in which no module answered."""
    status = next(
        (h.status for h in snapshot.modules.values() if not h.ok),
        ModuleStatus.UNREACHABLE,
    )
    detail = "; ".join(
        f"{name}: {h.detail}" for name, h in snapshot.modules.items() if not h.ok
    )
    return UpdateFailed(
        translation_domain=DOMAIN,
        translation_key=status.value,
        translation_placeholders={"branch": branch, "error": detail},
    )


class BranchCoordinator(DataUpdateCoordinator[Snapshot]):
    """Polls one branch's controller: every module, one request per block, once a second."""

    config_entry: ConfigEntry

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry,
        subentry: ConfigSubentry,
        controller: BranchController,
        events: BuildingEvents | None = None,
    ) -> None:
        """Initialise the coordinator for one branch.

        `events` is the library service's hub: the building's events go to its listeners (the
        safety tools), in process; the bus gets a read-only copy.
        """
        super().__init__(
            hass,
            _POLL_LOGGER,
            config_entry=entry,
            name=f"{DOMAIN} {subentry.title}",
            update_interval=SCAN_INTERVAL,
            always_update=False,
        )
        self.subentry = subentry
        self.events = events or BuildingEvents()
        self._help_seen: dict[str, bool] = {}
        self.controller = controller
        self.point_map = controller.point_map
        self.release_seconds = int(
            subentry.data.get(CONF_RELEASE_SECONDS, DEFAULT_RELEASE_SECONDS)
        )
        empty_hours = subentry.data.get(CONF_EMPTY_AFTER_HOURS)
        self.rules = BuildingRules(
            self.point_map,
            free_entry_doors=subentry.data.get(CONF_STAFFED_FREE_ENTRY, ["entrance"]),
            release_seconds=self.release_seconds,
            empty_after=float(empty_hours) * 3600 if empty_hours else None,
        )
        self._safety_store: Store[dict[str, Any]] = Store(
            hass,
            SAFETY_STORAGE_VERSION,
            f"{DOMAIN}.{entry.entry_id}.{subentry.subentry_id}.safety",
        )
        # What the store holds (None: not read yet).
        self._stored: dict[str, Any] | None = None
        self._fire_write_failed = (
            False  # staff were told this alarm's holds did not take
        )
        self.tailgating = False
        self._unsub_tailgating: Callable[[], None] | None = None
        self._availability_log = AvailabilityLog()
        # Each module's answer to the last poll, also when none answered (then `data` keeps the
        # last good snapshot, which says nothing about now).
        self.module_health: Mapping[str, ModuleHealth] = {}
        entry.async_on_unload(self._cancel_tailgating)
        entry.async_on_unload(
            async_track_time_change(
                hass, self._async_new_day, hour=0, minute=0, second=0
            )
        )

    @property
    def title(self) -> str:
        """Return the branch's name."""
        return self.subentry.title

    @property
    def occupancy(self) -> Occupancy:
        """Return the branch's running people count."""
        return self.rules.occupancy

    @property
    def fire_alarm(self) -> bool:
        """Return True while the fire panel reports an alarm (or has not yet read clear)."""
        return self.rules.fire_alarm

    @property
    def evacuation(self) -> Evacuation | None:
        """Return the branch's evacuation (during the alarm, or until a person resets it)."""
        return self.rules.evacuation

    @property
    def evacuating(self) -> bool:
        """Return True from a fire alarm until a person resets the branch: nobody may enter."""
        return self.rules.evacuation is not None

    @property
    def unacknowledged_alarms(self) -> list[Alarm]:
        """Return the latched alarms nobody has acknowledged, oldest first."""
        return self.rules.latch.unacknowledged

    def alarm(self, kind: AlarmKind, subject: str) -> Alarm | None:
        """Return the latched alarm of one input, if any."""
        return self.rules.latch.get(kind, subject)

    def available(self, key: str) -> bool:
        """Return True if the last poll read this point (its module answered)."""
        return (
            self.last_update_success
            and self.data is not None
            and self.data.available(key)
        )

    @staticmethod
    def _today() -> str:
        return dt_util.now().date().isoformat()

    @callback
    def _async_new_day(self, now: datetime) -> None:
        """Start a new day's entry count at local midnight (Home Assistant's time zone)."""
        self.occupancy.new_day()
        self.async_update_listeners()

    # -- polling ---------------------------------------------------------------------------------

    async def _async_update_data(self) -> Snapshot:
        """Read every module; apply the building's rules on whatever answered."""
        if self._stored is None:
            self._stored = await self._safety_store.async_load() or {}
            self.rules.restore(self._stored)
            self.occupancy.restore(self._stored.get("occupancy") or {}, self._today())
        snapshot = await self.controller.read()
        self._log_availability(snapshot)
        outcome = self.rules.evaluate(snapshot, time.monotonic(), dt_util.utcnow())
        if await self._async_apply(outcome):
            # Show what the commands did, not the state before them.
            snapshot = await self.controller.read()
        self._check_help(snapshot)
        self.module_health = snapshot.modules
        await self._async_save_safety()
        if not snapshot.any_ok:
            raise _update_failed(snapshot, self.title)
        return snapshot

    async def _async_save_safety(self) -> None:
        """Store the evacuation state and the latched alarms when they changed."""
        state = self.rules.to_dict() | {
            "occupancy": self.occupancy.to_dict(self._today())
        }
        if state != self._stored:
            await self._safety_store.async_save(state)
            self._stored = state

    def _log_availability(self, snapshot: Snapshot) -> None:
        """Log a warning when a module stops answering, an info line when it is back.

        A module that comes and goes warns at most once every few minutes, with the flaps
        since the last warning (`AvailabilityLog`); the flaps between are debug lines. The
        entities and the *Controller connected* sensor follow every poll regardless.
        """
        several = len(snapshot.modules) > 1
        for module, health in snapshot.modules.items():
            line = self._availability_log.update(module, health.ok)
            if line is None:
                continue
            what = f"{self.title} ({module})" if several else self.title
            match line.say:
                case Say.LOST:
                    LOGGER.warning(
                        "The controller of %s %s (%s); its entities are unavailable until "
                        "it answers again%s",
                        what,
                        _LOST[health.status],
                        health.detail,
                        f" ({line.flaps} flaps since the last warning)"
                        if line.flaps
                        else "",
                    )
                case Say.BACK:
                    LOGGER.info("The controller of %s is answering again", what)
                case Say.QUIET_LOST:
                    LOGGER.debug(
                        "The controller of %s %s again (%s); warned less than %d minutes ago",
                        what,
                        _LOST[health.status],
                        health.detail,
                        WARN_EVERY // 60,
                    )
                case Say.QUIET_BACK:
                    LOGGER.debug("The controller of %s is answering again", what)

    async def async_set_mode(self, mode: Mode) -> None:
        """Make the doors follow a new mode (now, or when their module answers)."""
        outcome = self.rules.set_mode(mode)
        if self.data is not None:
            outcome.commands.extend(self.rules.door_commands(self.data))
        if await self._async_apply(outcome):
            await self.async_refresh()  # show what the commands did

    async def async_set_free_entry(self, doors: list[str]) -> None:
        """Hold released in staffed hours these doors, from now on (no reload)."""
        self.rules.set_free_entry_doors(doors)
        commands: list[HoldDoor] = []
        if self.data is not None:  # (else the first poll applies them)
            commands = self.rules.door_commands(self.data)
        if [c for c in commands if await self._async_command(c)]:
            await self.async_refresh()  # show what the commands did

    async def async_set_lockdown(self, on: bool) -> list[str]:
        """Start or end a lockdown: no door held released while it lasts, the mode's after.

        Return the doors whose hold was taken off now (a failed write is tried again on the
        next poll; before the first poll, that poll applies it).
        """
        self.rules.set_lockdown(on)
        commands: list[HoldDoor] = []
        if self.data is not None:
            commands = self.rules.door_commands(self.data)
        written = [c for c in commands if await self._async_command(c)]
        if written:
            await self.async_refresh()  # show what the commands did
        return [c.door for c in written if not c.released]

    async def _async_apply(
        self, outcome: Outcome, context: Context | None = None
    ) -> bool:
        """Write the rules' commands (a failure is retried by the rules) and report events.

        Return True if any command was written.
        """
        written = [await self._async_command(command) for command in outcome.commands]
        for event in outcome.events:
            self._report(event, context)
        return any(written)

    async def _async_command(self, command: Command) -> bool:
        try:
            match command:
                case HoldDoor():
                    await self.controller.write(command.key, command.released)
                case SetPoint():
                    await self.controller.write(command.key, command.value)
                case PlayMessage():
                    await self.controller.play_announcement(
                        command.number, command.zone_mask
                    )
        except ControllerError as err:
            self.rules.command_failed(command)
            if command.why == "fire" and not self._fire_write_failed:
                # Staff are told once per alarm; the rules ask again on every poll.
                self._fire_write_failed = True
                LOGGER.warning(
                    "Fire alarm at %s: the controller did not take the command to %s: "
                    "%s; it is sent again on every poll while the alarm lasts, and "
                    "locking stays refused",
                    self.title,
                    _describe(command),
                    err,
                )
            else:
                LOGGER.debug(
                    "%s: the command to %s did not take: %s",
                    self.title,
                    _describe(command),
                    err,
                )
            return False
        return True

    def _report(self, event: object, context: Context | None = None) -> None:
        match event:
            case FireAlarmStarted():
                LOGGER.warning(
                    "Fire alarm at %s: evacuation; releasing every door, lights on, "
                    "the evacuation message on every PA zone",
                    self.title,
                )
                self._fire_evacuation_event("evacuation", context)
            case FireAlarmCleared():
                LOGGER.warning(
                    "Fire alarm at %s has cleared; the branch stays in evacuation (doors "
                    "released, no entry by card) until a person resets it",
                    self.title,
                )
                # A failed command in the next alarm is told again.
                self._fire_write_failed = False
                self._fire_evacuation_event("evacuation_reset_needed", context)
            case EvacuationReset():
                self._fire_evacuation_event("reset", context, event.evacuation)
            case AlarmLatched(alarm=alarm):
                self._report_alarm(alarm)
            case OccupancyReset(was_inside=inside, why=why):
                self._report_occupancy_reset(inside, why, context)
            case TailgatingSeen():
                self._report_tailgating(event)

    # -- evacuation, alarms, people count: events, and the actions of people ----------------------

    def _fire_evacuation_event(
        self,
        state: str,
        context: Context | None,
        evacuation: Evacuation | None = None,
        by: str | None = None,
    ) -> None:
        evacuation = evacuation or self.evacuation
        data: dict[str, Any] = {
            "branch": self.title,
            "branch_id": self.subentry.subentry_id,
            "state": state,
        }
        if evacuation is not None:
            data["alarm_at"] = evacuation.alarm_at.isoformat()
            data["inside_at_alarm"] = evacuation.inside_at_alarm
        if by is not None:
            data["by"] = by
        ids = {"branch_id": self.subentry.subentry_id, "branch": self.title}
        if state == "evacuation" and evacuation is not None:
            self.events.publish(
                EvacuationBegun(
                    **ids,
                    alarm_at=evacuation.alarm_at,
                    inside_at_alarm=evacuation.inside_at_alarm,
                ),
                context,
            )
        elif state == "evacuation_reset_needed":
            self.events.publish(EvacuationResetNeeded(**ids), context)
        elif state == "reset":
            self.events.publish(EvacuationEnded(**ids, by=by or ""), context)
        self.hass.bus.async_fire(EVENT_EVACUATION, data, context=context)

    def _report_alarm(self, alarm: Alarm) -> None:
        data: dict[str, Any] = {
            "branch": self.title,
            "branch_id": self.subentry.subentry_id,
            "kind": alarm.kind.value,
        }
        if subject := ALARM_SUBJECT.get(alarm.kind):
            data[subject] = alarm.subject
        LOGGER.info(
            "Alarm at %s: %s%s (on until acknowledged)",
            self.title,
            alarm.kind.value.replace("_", " "),
            f" ({alarm.subject})" if alarm.subject else "",
        )
        self.events.publish(
            AlarmRaised(
                branch_id=self.subentry.subentry_id,
                branch=self.title,
                kind=alarm.kind.value,
                subject=alarm.subject or "",
            )
        )
        self.hass.bus.async_fire(EVENT_ALARM, data)

    def _report_occupancy_reset(
        self, inside: int, why: str, context: Context | None, by: str | None = None
    ) -> None:
        data: dict[str, Any] = {"branch": self.title, "was_inside": inside, "why": why}
        if by is not None:
            data["by"] = by
        LOGGER.info(
            "%s: people inside set from %d to 0 (%s)", self.title, inside, by or why
        )
        self.hass.bus.async_fire(EVENT_OCCUPANCY_RESET, data, context=context)
        self.async_update_listeners()

    async def async_reset_evacuation(self, by: str, context: Context) -> None:
        """Reset the branch after an evacuation (a person says so); the plan's mode applies."""
        try:
            outcome = self.rules.reset_evacuation()
        except SafetyError as err:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key=err.code,
                translation_placeholders={"branch": self.title},
            ) from err
        await self._async_save_safety()
        (reset,) = outcome.events
        assert isinstance(reset, EvacuationReset)
        LOGGER.warning(
            "%s reset by %s after the evacuation of %s; the opening hours apply again",
            self.title,
            by,
            reset.evacuation.alarm_at.isoformat(),
        )
        self._fire_evacuation_event("reset", context, reset.evacuation, by)
        outcome.events.clear()
        if self.data is not None:
            outcome.commands.extend(self.rules.door_commands(self.data))
        await self._async_apply(outcome, context)
        self.async_update_listeners()
        await self.async_refresh()

    async def async_acknowledge_alarms(self, by: str, context: Context) -> int:
        """Acknowledge the branch's alarms for a person; return how many were unacknowledged."""
        alarms = self.rules.acknowledge_alarms(dt_util.utcnow())
        await self._async_save_safety()
        if alarms:
            self.events.publish(
                AlarmsAcknowledged(
                    branch_id=self.subentry.subentry_id,
                    branch=self.title,
                    by=by,
                    kinds=tuple(sorted({a.kind.value for a in alarms})),
                ),
                context,
            )
            self.hass.bus.async_fire(
                EVENT_ALARMS_ACKNOWLEDGED,
                {
                    "branch": self.title,
                    "branch_id": self.subentry.subentry_id,
                    "by": by,
                    "count": len(alarms),
                    "kinds": sorted({a.kind.value for a in alarms}),
                },
                context=context,
            )
        self.async_update_listeners()
        return len(alarms)

    async def async_building_empty(self, by: str, context: Context) -> int:
        """Count nobody inside (a person checked); return how many were counted inside."""
        if "counter.in" not in self.point_map:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="no_people_counter",
                translation_placeholders={"branch": self.title},
            )
        event = self.rules.building_empty()
        self._report_occupancy_reset(event.was_inside, event.why, context, by)
        return event.was_inside

    # -- help points -------------------------------------------------------------------------------

    def _check_help(self, snapshot: Snapshot) -> None:
        """Hand on a help button's press (an edge; unknown is not an edge)."""
        for point in self.point_map.ids("help"):
            now = snapshot.flag(f"help.{point}")
            if now is None:
                continue  # its module did not answer
            if now and not self._help_seen.get(point):
                data = {
                    "branch": self.title,
                    "branch_id": self.subentry.subentry_id,
                    "point": point,
                }
                self.events.publish(
                    HelpPressed(
                        branch_id=self.subentry.subentry_id,
                        branch=self.title,
                        point=point,
                    )
                )
                self.hass.bus.async_fire(EVENT_HELP, data)
            self._help_seen[point] = now

    # -- tailgating ------------------------------------------------------------------------------

    def watch_entry(self, door_id: str, party: int) -> None:
        """After a card release at the entrance, count who comes in against the admitted party."""
        held = bool(self.data and self.data.flag(f"door.{door_id}.hold"))
        self.rules.watch_entry(door_id, party, time.monotonic(), held=held)

    def _report_tailgating(self, event: TailgatingSeen) -> None:
        data = {
            "branch": self.title,
            "branch_id": self.subentry.subentry_id,
            "door": event.door,
            "admitted": event.admitted,
            "came_in": event.came_in,
            "tailgaters": event.tailgaters,
        }
        LOGGER.info(
            "Tailgating at %s: %s came in on a release for %s",
            self.title,
            event.came_in,
            event.admitted,
        )
        self.tailgating = True
        self._cancel_tailgating()
        self._unsub_tailgating = async_call_later(
            self.hass, TAILGATING_SHOWN, self._tailgating_over
        )
        async_dispatcher_send(
            self.hass,
            signal_access(self.subentry.subentry_id),
            event.door,
            "tailgating",
            data,
        )
        self.events.publish(
            TailgatingDetected(
                branch_id=self.subentry.subentry_id,
                branch=self.title,
                door=event.door,
                admitted=event.admitted,
                came_in=event.came_in,
            )
        )
        self.hass.bus.async_fire(EVENT_TAILGATING, data)

    @callback
    def _tailgating_over(self, _now: datetime) -> None:
        self._unsub_tailgating = None
        self.tailgating = False
        self.async_update_listeners()

    @callback
    def _cancel_tailgating(self) -> None:
        if self._unsub_tailgating is not None:
            self._unsub_tailgating()
            self._unsub_tailgating = None

    # -- commands from entities and actions -------------------------------------------------------

    async def _async_controller(self, job: Awaitable[None]) -> None:
        """Run a controller command, translate its failure, then read back."""
        try:
            await job
        except ControllerError as err:
            raise controller_error(err, self.title, writing=True) from err
        await self.async_refresh()

    async def async_release_door(
        self, door_id: str, seconds: int | None = None
    ) -> None:
        """Release a door for a moment; the controller times it and relocks by itself."""
        await self._async_controller(
            self.controller.release_door(door_id, seconds or self.release_seconds)
        )

    async def async_hold_door(self, door_id: str, released: bool) -> None:
        """Hold a door released (staffed hours) or locked; locking is refused during a fire alarm."""
        if not released and self.fire_alarm:
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="fire_alarm_no_lock",
                translation_placeholders={"branch": self.title},
            )
        await self.async_write(f"door.{door_id}.hold", released)

    async def async_play(self, zone_mask: int, message: Announcement) -> None:
        """Play a stored message on the PA zones in `zone_mask`."""
        await self._async_controller(
            self.controller.play_announcement(message.number, zone_mask)
        )

    async def async_stop_pa(self) -> None:
        """Stop the PA player."""
        await self.async_write("pa.command", PA_COMMAND_STOP)

    async def async_write(self, key: str, value: int | bool) -> None:
        """Write a point, then read back so the entity shows the controller's state."""
        await self._async_controller(self.controller.write(key, value))

    async def async_shutdown(self) -> None:
        """Close the controller connection."""
        await super().async_shutdown()
        await self.controller.close()
