"""The building's rules over (snapshot, time): what to write to the controller, what to report.

Plain code, no Home Assistant: the coordinator polls, hands each snapshot to `BuildingRules`,
writes the commands it returns and dispatches the events. The rules:

- **Fire → evacuation**: while the fire panel reports an alarm the branch is in `evacuation`:
  every door is held released, every light on, the evacuation message plays on every PA zone
  (again each time it ends), retried on every poll until the controller confirms it (a failed
  write is never forgotten), on whatever modules answered. Locking is refused while the alarm
  lasts; an alarm whose input can no longer be read (its module away) is still an alarm until the
  input is read clear again. When the panel is reset the branch is in `evacuation_reset_needed`:
  the doors stay as they are, nothing follows the mode, until a person resets it
  (`reset_evacuation`); then the plan's mode applies.
- **Doors follow the mode**: staffed hours and events hold released the doors configured for free
  entry; smart hours and closed time hold nothing. Applied when the mode changes (a hand-set hold
  in between is left alone), and again after a failed write until it takes.
- **Lockdown** (`set_lockdown`): no door is held released for free entry, whatever the mode; a
  hold found on any poll is taken off. Leaving stays possible (the strikes only control entry).
  The fire rule still wins. When it ends the mode's holds apply again.
- **Alarms latch** (forced door, door held open, panic button, fire-panel fault, a module lost)
  until a person acknowledges them (`engine.alarms.AlarmLatch`).
- **Occupancy** from the people counter, never zeroed by a mode change: only a person
  (`building_empty`) or, where configured, a closed building whose doors are locked and whose
  counter has not moved for a set time. And the **tailgating watch**: more people through a card
  release than it admitted.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from .alarms import (
    Alarm,
    AlarmInput,
    AlarmKind,
    AlarmLatch,
    Evacuation,
    EvacuationState,
    SafetyError,
)
from .announcements import announcement
from .occupancy import EntryWatch, Occupancy
from .pointmap import DoorKind, PointMap
from .schedule import Mode
from .snapshot import Snapshot

# After a release, entries are counted against the admitted party for this long beyond the
# release itself (the door closing behind the last of them).
ENTRY_WATCH_EXTRA_SECONDS = 5.0
EVACUATION_MESSAGE = announcement("evacuate").number


@dataclass(frozen=True, slots=True)
class HoldDoor:
    """Command: hold a door's strike released (True) or let it lock (False)."""

    door: str
    released: bool
    why: str  # "fire", "mode" or "lockdown"

    @property
    def key(self) -> str:
        """Return the point this command writes."""
        return f"door.{self.door}.hold"


@dataclass(frozen=True, slots=True)
class SetPoint:
    """Command: write one output point (a lighting zone on during an evacuation)."""

    key: str
    value: int | bool
    why: str = "fire"


@dataclass(frozen=True, slots=True)
class PlayMessage:
    """Command: play a stored PA message on the zones of `zone_mask`."""

    number: int
    zone_mask: int
    why: str = "fire"


type Command = HoldDoor | SetPoint | PlayMessage


@dataclass(frozen=True, slots=True)
class FireAlarmStarted:
    """Event: the fire panel reports an alarm (the branch is in evacuation)."""


@dataclass(frozen=True, slots=True)
class FireAlarmCleared:
    """Event: the fire panel's alarm input reads clear again (a reset is needed)."""


@dataclass(frozen=True, slots=True)
class EvacuationReset:
    """Event: a person reset the branch after an evacuation; the plan's mode applies again."""

    evacuation: Evacuation


@dataclass(frozen=True, slots=True)
class AlarmLatched:
    """Event: an alarm input went on; the alarm stays on until acknowledged."""

    alarm: Alarm


@dataclass(frozen=True, slots=True)
class TailgatingSeen:
    """Event: more people came in on a release than it admitted."""

    door: str
    admitted: int
    came_in: int
    tailgaters: int


@dataclass(frozen=True, slots=True)
class OccupancyReset:
    """Event: the count of people inside was set to zero (`why`: "building_empty" or "rule")."""

    was_inside: int
    why: str


type BuildingEvent = (
    FireAlarmStarted
    | FireAlarmCleared
    | EvacuationReset
    | AlarmLatched
    | TailgatingSeen
    | OccupancyReset
)


@dataclass(slots=True)
class Outcome:
    """What one evaluation asks for."""

    commands: list[Command] = field(default_factory=list)
    events: list[BuildingEvent] = field(default_factory=list)


class BuildingRules:
    """The rules of one branch building, fed one snapshot at a time."""

    def __init__(
        self,
        point_map: PointMap,
        *,
        free_entry_doors: Iterable[str] = ("entrance",),
        release_seconds: int = 5,
        empty_after: float | None = None,
    ) -> None:
        """Start with no mode applied and no alarm known.

        `empty_after` (seconds): when set, a closed branch whose doors all read locked and whose
        counter has not moved for that long counts nobody inside.
        """
        self.point_map = point_map
        self.free_entry_doors = frozenset(free_entry_doors)
        self.release_seconds = release_seconds
        self.empty_after = empty_after
        self.occupancy = Occupancy()
        self.fire_alarm = False
        self.evacuation: Evacuation | None = None
        self.latch = AlarmLatch()
        self.mode: Mode | None = None
        self.lockdown = False
        self._pending: set[str] = set()  # doors whose mode hold is still to be written
        self._watch: EntryWatch | None = None
        self._watch_door = "entrance"
        self._last_counter: tuple[int, int] | None = None
        self._moved_at = 0.0
        self._hold_doors = [
            d.id for d in point_map.doors if f"door.{d.id}.hold" in point_map
        ]
        self._lights = [
            f"light.{zone}"
            for zone in point_map.ids("light")
            if f"light.{zone}" in point_map
        ]
        zones = len(point_map.pa_zones)
        self._pa_mask = (1 << zones) - 1 if zones and "pa.message" in point_map else 0

    # -- what is stored ------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """Return what must survive a restart: the evacuation state and the latched alarms."""
        return {
            "evacuation": self.evacuation.to_dict() if self.evacuation else None,
            "alarms": self.latch.to_list(),
        }

    def restore(self, data: Mapping[str, Any]) -> None:
        """Take the stored state back (before the first poll).

        An evacuation stored during the alarm is still one: the alarm ends only when its input
        reads clear, and then a person must reset the branch.
        """
        if evacuation := data.get("evacuation"):
            self.evacuation = Evacuation.from_dict(evacuation)
            self.fire_alarm = self.evacuation.state is EvacuationState.EVACUATION
        self.latch = AlarmLatch(Alarm.from_dict(a) for a in data.get("alarms", ()))

    # -- inputs ------------------------------------------------------------------------------

    def set_mode(self, mode: Mode) -> Outcome:
        """Take the branch's new mode: its door holds are due (only on a change).

        The people count is left alone: a mode change says nothing about who is inside.
        """
        if mode is not self.mode:
            self.mode = mode
            self._pending = set(self._hold_doors)
        return Outcome()

    def set_free_entry_doors(self, doors: Iterable[str]) -> None:
        """Take new free-entry doors (the opening-hours form): the door holds are due again."""
        self.free_entry_doors = frozenset(doors)
        self._pending = set(self._hold_doors)

    def set_lockdown(self, on: bool) -> None:
        """Start or end a lockdown: the door holds are due again (none while it lasts)."""
        self.lockdown = on
        self._pending = set(self._hold_doors)

    def held_by_mode(self, door_id: str) -> bool:
        """Return whether the mode wants this door held released (never in a lockdown)."""
        free = self.mode in (Mode.STAFFED, Mode.EVENT) and not self.lockdown
        return free and door_id in self.free_entry_doors

    def evaluate(
        self, snapshot: Snapshot, now: float, at: datetime | None = None
    ) -> Outcome:
        """Apply the rules to one poll's snapshot (`now`: monotonic seconds; `at`: wall clock)."""
        at = at or datetime.now(UTC)
        outcome = Outcome()
        fire = snapshot.fire_alarm
        if fire and not self.fire_alarm:
            self.fire_alarm = True
            self._begin_evacuation(at)
            outcome.events.append(FireAlarmStarted())
        elif fire is False and self.fire_alarm:
            self.fire_alarm = False
            if self.evacuation is not None:
                self.evacuation.state = EvacuationState.RESET_NEEDED
                self.evacuation.cleared_at = at
            outcome.events.append(FireAlarmCleared())
        outcome.commands.extend(self.door_commands(snapshot))
        outcome.commands.extend(self.evacuation_commands(snapshot))
        outcome.events.extend(
            AlarmLatched(alarm)
            for alarm in self.latch.update(self.alarm_inputs(snapshot), at)
        )
        if (counter := snapshot.counter) is not None:
            came_in = self.occupancy.update(*counter)
            self._count_entries(came_in, now, outcome)
            self._empty_by_rule(snapshot, counter, now, outcome)
        return outcome

    def _begin_evacuation(self, at: datetime) -> None:
        if self.evacuation is None:
            inside = self.occupancy.inside if "counter.in" in self.point_map else None
            self.evacuation = Evacuation(EvacuationState.EVACUATION, at, inside)
        else:  # the alarm again before anybody reset the branch: the same evacuation
            self.evacuation.state = EvacuationState.EVACUATION
            self.evacuation.cleared_at = None

    def door_commands(self, snapshot: Snapshot) -> list[HoldDoor]:
        """Return the door holds due: every door while the fire alarm lasts, else the mode's.

        During a lockdown no door is held released (a hold found is taken off). After an
        evacuation nothing is due until a person resets the branch.
        """
        if self.fire_alarm:
            return [
                HoldDoor(door, True, "fire")
                for door in self._hold_doors
                if snapshot.available(f"door.{door}.hold")
                and not snapshot.flag(f"door.{door}.hold")
            ]
        if self.evacuation is not None:
            return []  # reset needed: the mode's holds wait for the reset
        commands = []
        for door in sorted(self._pending):
            key = f"door.{door}.hold"
            if not snapshot.available(key):
                continue  # its module is away: tried again when it answers
            self._pending.discard(door)
            wanted = self.held_by_mode(door)
            if snapshot.flag(key) != wanted:
                commands.append(HoldDoor(door, wanted, "mode"))
        if self.lockdown:
            # No free entry while it lasts: a hold found again (set by hand) is taken off.
            due = {command.door for command in commands}
            commands.extend(
                HoldDoor(door, False, "lockdown")
                for door in self._hold_doors
                if door not in due
                and snapshot.available(f"door.{door}.hold")
                and snapshot.flag(f"door.{door}.hold")
            )
        return commands

    def evacuation_commands(self, snapshot: Snapshot) -> list[SetPoint | PlayMessage]:
        """Return, while the fire alarm lasts: every light on, the evacuation message playing.

        Asked for on every poll, so a failed write, a light switched off or a message that ended
        is put right at the next one.
        """
        if not self.fire_alarm:
            return []
        commands: list[SetPoint | PlayMessage] = [
            SetPoint(key, True)
            for key in self._lights
            if snapshot.available(key) and snapshot.flag(key) is False
        ]
        pa = snapshot.pa
        if (
            self._pa_mask
            and pa is not None
            and snapshot.available("pa.command")
            and not (
                pa.busy
                and pa.message == EVACUATION_MESSAGE
                and (pa.zones or 0) & self._pa_mask == self._pa_mask
            )
        ):
            commands.append(PlayMessage(EVACUATION_MESSAGE, self._pa_mask))
        return commands

    def command_failed(self, command: Command) -> None:
        """Note a command that could not be written: a mode hold is tried again next poll.

        (A fire command needs no note: it is asked for on every poll while the alarm lasts.)
        """
        if isinstance(command, HoldDoor) and command.why == "mode":
            self._pending.add(command.door)

    # -- people and their actions ----------------------------------------------------------------

    def reset_evacuation(self) -> Outcome:
        """Reset the branch after an evacuation (a person says so): the plan's mode applies.

        Refused (`SafetyError`) while the fire alarm lasts, or when there is nothing to reset.
        """
        if self.evacuation is None:
            raise SafetyError("no_evacuation")
        if self.fire_alarm:
            raise SafetyError("evacuation_alarm_active")
        evacuation, self.evacuation = self.evacuation, None
        self._pending = set(self._hold_doors)
        return Outcome(events=[EvacuationReset(evacuation)])

    def building_empty(self) -> OccupancyReset:
        """Count nobody inside: a person has checked the building is empty."""
        was = self.occupancy.inside
        self.occupancy.reset_inside()
        return OccupancyReset(was, "building_empty")

    def acknowledge_alarms(self, at: datetime) -> list[Alarm]:
        """Acknowledge every latched alarm; return those that were unacknowledged."""
        return self.latch.acknowledge(at)

    # -- alarm inputs ---------------------------------------------------------------------------

    def alarm_inputs(self, snapshot: Snapshot) -> dict[AlarmInput, bool | None]:
        """Return every latching alarm input of the branch as this poll read it."""
        inputs: dict[AlarmInput, bool | None] = {}
        for door in self.point_map.doors:
            for kind, what in (
                (AlarmKind.DOOR_FORCED, "forced"),
                (AlarmKind.DOOR_HELD_OPEN, "held_open"),
            ):
                if (key := f"door.{door.id}.{what}") in self.point_map:
                    inputs[kind, door.id] = snapshot.flag(key)
        for button in self.point_map.ids("panic"):
            inputs[AlarmKind.PANIC, button] = snapshot.flag(f"panic.{button}")
        if "fire.fault" in self.point_map:
            inputs[AlarmKind.FIRE_FAULT, ""] = snapshot.fire_fault
        for module in self.point_map.modules:
            inputs[AlarmKind.CONTROLLER_LOST, module] = not snapshot.module_ok(module)
        return inputs

    # -- occupancy -------------------------------------------------------------------------------

    def _empty_by_rule(
        self, snapshot: Snapshot, counter: tuple[int, int], now: float, outcome: Outcome
    ) -> None:
        """Count nobody inside once the closed, locked building's counter has been still long."""
        if counter != self._last_counter:
            self._last_counter, self._moved_at = counter, now
            return
        if (
            self.empty_after is None
            or self.mode is not Mode.CLOSED
            or self.evacuation is not None
            or not self.occupancy.inside
            or now - self._moved_at < self.empty_after
            or any(
                snapshot.door(door.id).released is not False
                for door in self.point_map.doors
            )
        ):
            return
        was = self.occupancy.inside
        self.occupancy.reset_inside()
        outcome.events.append(OccupancyReset(was, "rule"))

    # -- tailgating -----------------------------------------------------------------------------

    def watch_entry(
        self, door_id: str, party: int, now: float, *, held: bool = False
    ) -> None:
        """After a card release, count who comes in against the admitted party."""
        if (
            "counter.in" not in self.point_map
            or self.point_map.door(door_id).kind is not DoorKind.ENTRANCE
            or held
        ):
            return  # no counter on this door, or it is held free anyway
        until = now + self.release_seconds + ENTRY_WATCH_EXTRA_SECONDS
        if self._watch is not None and now < self._watch.until:
            self._watch.admit(party, until)
        else:
            self._watch = EntryWatch(party, until)
        self._watch_door = door_id

    def _count_entries(self, came_in: int, now: float, outcome: Outcome) -> None:
        watch = self._watch
        if watch is None:
            return
        if tailgaters := watch.count(came_in):
            outcome.events.append(
                TailgatingSeen(self._watch_door, watch.party, watch.came_in, tailgaters)
            )
        if now >= watch.until:
            self._watch = None
