"""The building's rules over (snapshot, time): what to write to the controller, what to report.

Plain code, no Home Assistant: the coordinator polls, hands each snapshot to `BuildingRules`,
writes the commands it returns and dispatches the events. The rules:

- **Fire**: while the fire panel reports an alarm every door is held released, retried on every
  poll until the controller confirms it (a failed write is never forgotten), on whatever modules
  answered. Locking is refused while the alarm lasts; an alarm whose input can no longer be read
  (its module away) is still an alarm until the input is read clear again.
- **Doors follow the mode**: staffed hours and events hold released the doors configured for free
  entry; smart hours and closed time hold nothing. Applied when the mode changes (a hand-set hold
  in between is left alone), and again after a failed write until it takes.
- **Occupancy** from the people counter, and the **tailgating watch**: more people through a card
  release than it admitted.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from .occupancy import EntryWatch, Occupancy
from .pointmap import DoorKind, PointMap
from .schedule import Mode
from .snapshot import Snapshot

# After a release, entries are counted against the admitted party for this long beyond the
# release itself (the door closing behind the last of them).
ENTRY_WATCH_EXTRA_SECONDS = 5.0


@dataclass(frozen=True, slots=True)
class HoldDoor:
    """Command: hold a door's strike released (True) or let it lock (False)."""

    door: str
    released: bool
    why: str  # "fire" or "mode"

    @property
    def key(self) -> str:
        """Return the point this command writes."""
        return f"door.{self.door}.hold"


@dataclass(frozen=True, slots=True)
class FireAlarmStarted:
    """Event: the fire panel reports an alarm."""


@dataclass(frozen=True, slots=True)
class FireAlarmCleared:
    """Event: the fire panel's alarm input reads clear again."""


@dataclass(frozen=True, slots=True)
class TailgatingSeen:
    """Event: more people came in on a release than it admitted."""

    door: str
    admitted: int
    came_in: int
    tailgaters: int


@dataclass(frozen=True, slots=True)
class OccupancyRestarted:
    """Event: the count of people inside started from zero at opening."""

    was_inside: int


type BuildingEvent = (
    FireAlarmStarted | FireAlarmCleared | TailgatingSeen | OccupancyRestarted
)


@dataclass(slots=True)
class Outcome:
    """What one evaluation asks for."""

    commands: list[HoldDoor] = field(default_factory=list)
    events: list[BuildingEvent] = field(default_factory=list)


class BuildingRules:
    """The rules of one branch building, fed one snapshot at a time."""

    def __init__(
        self,
        point_map: PointMap,
        *,
        free_entry_doors: Iterable[str] = ("entrance",),
        release_seconds: int = 5,
    ) -> None:
        """Start with no mode applied and no alarm known."""
        self.point_map = point_map
        self.free_entry_doors = frozenset(free_entry_doors)
        self.release_seconds = release_seconds
        self.occupancy = Occupancy()
        self.fire_alarm = False
        self.mode: Mode | None = None
        self._pending: set[str] = set()  # doors whose mode hold is still to be written
        self._watch: EntryWatch | None = None
        self._watch_door = "entrance"
        self._hold_doors = [
            d.id for d in point_map.doors if f"door.{d.id}.hold" in point_map
        ]

    # -- inputs ------------------------------------------------------------------------------

    def set_mode(self, mode: Mode) -> Outcome:
        """Take the branch's new mode: its door holds are due (only on a change)."""
        outcome = Outcome()
        if mode is self.mode:
            return outcome
        was_open = self.mode is not None and self.mode.is_open
        first = self.mode is None
        self.mode = mode
        self._pending = set(self._hold_doors)
        # Counters drift (a missed exit), so each opening starts from zero. Resetting at closing
        # instead would tell the closing routine the building is empty while someone may still
        # be inside: overnight the count stays as counted.
        if mode.is_open and not was_open and not first and self.occupancy.inside:
            outcome.events.append(OccupancyRestarted(self.occupancy.inside))
            self.occupancy.reset_inside()
        return outcome

    def held_by_mode(self, door_id: str) -> bool:
        """Return whether the mode wants this door held released."""
        free = self.mode in (Mode.STAFFED, Mode.EVENT)
        return free and door_id in self.free_entry_doors

    def evaluate(self, snapshot: Snapshot, now: float) -> Outcome:
        """Apply the rules to one poll's snapshot (`now`: monotonic seconds)."""
        outcome = Outcome()
        fire = snapshot.fire_alarm
        if fire and not self.fire_alarm:
            self.fire_alarm = True
            outcome.events.append(FireAlarmStarted())
        elif fire is False and self.fire_alarm:
            self.fire_alarm = False
            self._pending.clear()  # the doors stay released until a person locks them
            outcome.events.append(FireAlarmCleared())
        outcome.commands.extend(self.door_commands(snapshot))
        if (counter := snapshot.counter) is not None:
            came_in = self.occupancy.update(*counter)
            self._count_entries(came_in, now, outcome)
        return outcome

    def door_commands(self, snapshot: Snapshot) -> list[HoldDoor]:
        """Return the door holds due: every door while the fire alarm lasts, else the mode's."""
        if self.fire_alarm:
            return [
                HoldDoor(door, True, "fire")
                for door in self._hold_doors
                if snapshot.available(f"door.{door}.hold")
                and not snapshot.flag(f"door.{door}.hold")
            ]
        commands = []
        for door in sorted(self._pending):
            key = f"door.{door}.hold"
            if not snapshot.available(key):
                continue  # its module is away: tried again when it answers
            self._pending.discard(door)
            wanted = self.held_by_mode(door)
            if snapshot.flag(key) != wanted:
                commands.append(HoldDoor(door, wanted, "mode"))
        return commands

    def command_failed(self, command: HoldDoor) -> None:
        """Note a command that could not be written: a mode hold is tried again next poll.

        (A fire hold needs no note: it is asked for on every poll while the alarm lasts.)
        """
        if command.why == "mode":
            self._pending.add(command.door)

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
