"""The controller's point map: library functions -> Modbus addresses.

One declarative table shared by the integration (which reads and writes it) and the simulator (which
serves it). A branch's map names *functions* with stable keys and says where each lives:

    door.<id>.pulse      door strike release timed by the controller (see `PulseKind`)
    door.<id>.hold       strike held released (staffed hours); coil
    door.<id>.released   strike feedback: released now; bit input
    door.<id>.open       door contact: open; bit input
    door.<id>.forced     door opened without a release; bit input
    door.<id>.held_open  door left open too long; bit input
    light.<id>           lighting zone contactor; coil
    pc.<id>              public PC group power; coil
    fire.alarm           fire panel alarm relay; bit input
    fire.fault           fire panel fault relay; bit input
    panic.<id>           panic / trigger button; bit input
    help.<id>            a member's help button (call point for staff); bit input
    pa.message pa.zones pa.volume pa.command   PA message player; holding registers
    pa.busy              PA player busy; bit input
    counter.in counter.out   people counter, 16-bit wrapping totals; input registers

Reads are planned as one request per contiguous block per module and table, within the protocol's
limits (125 registers, 2000 bits per request), never one per point.

A map may also name a module's own **settings** (`PointMap.settings`), read once per connection
rather than every poll, never written: the pulse settings of a relay that releases a door,

    door.<id>.pulse_count      pulses per start (0 = pulse for ever); may be two words
    door.<id>.pulse_on_width   ON width in the module's steps (`Point.scale` seconds each)
    door.<id>.pulse_off_width  OFF width between pulses, likewise

which `check_door_pulses` checks against the branch's release time.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
import math
import re

MAX_REGISTERS_PER_READ = 125
MAX_BITS_PER_READ = 2000

PA_COMMAND_PLAY = 1
PA_COMMAND_STOP = 2
PA_KEYS = ("pa.message", "pa.zones", "pa.volume", "pa.command", "pa.busy")

# The settings of a door's pulse relay (see `PointMap.settings`), by the last part of their key.
PULSE_COUNT = "pulse_count"
PULSE_ON_WIDTH = "pulse_on_width"
PULSE_OFF_WIDTH = "pulse_off_width"
MOXA_WIDTH_SECONDS = 1.5  # a Moxa ioLogik E1214 relay's ON/OFF width step


class Table(StrEnum):
    """The four Modbus data tables."""

    COIL = "coil"  # read FC1, write FC5
    DISCRETE_INPUT = "discrete_input"  # read FC2
    HOLDING_REGISTER = "holding_register"  # read FC3, write FC6
    INPUT_REGISTER = "input_register"  # read FC4

    @property
    def is_bit(self) -> bool:
        """Return True for the single-bit tables."""
        return self in (Table.COIL, Table.DISCRETE_INPUT)

    @property
    def writable(self) -> bool:
        """Return True for the tables a client may write."""
        return self in (Table.COIL, Table.HOLDING_REGISTER)


class PulseKind(StrEnum):
    """How a door release is timed, always by the controller, never by Home Assistant."""

    # A holding register: write N seconds, the controller releases the strike and counts down to 0.
    SECONDS_REGISTER = "seconds_register"
    # A coil in the I/O module's pulse-output mode: write 1, the module releases for its configured
    # pulse width and reverts the coil itself.
    MODULE_PULSE_COIL = "module_pulse_coil"


class DoorKind(StrEnum):
    """What a door leads to."""

    ENTRANCE = "entrance"
    MEETING_ROOM = "meeting_room"


class PointMapError(ValueError):
    """A point map that cannot be used."""


@dataclass(frozen=True, slots=True)
class Point:
    """One library function at one Modbus address."""

    key: str
    table: Table
    address: int
    module: str = "main"
    invert: bool = False  # e.g. a normally-closed contact wired to a DI
    words: int = 1  # 2: a 32-bit value in two registers, high word first
    scale: float = 1.0  # seconds per count, for a width counted in the module's steps
    label: str = ""  # where an installer finds it on the module, e.g. "relay R0"

    @property
    def writable(self) -> bool:
        """Return True if the point can be written."""
        return self.table.writable

    @property
    def end(self) -> int:
        """Return the last address the point occupies."""
        return self.address + self.words - 1


@dataclass(frozen=True, slots=True)
class Door:
    """A door the branch controls."""

    id: str
    kind: DoorKind
    pulse: PulseKind


@dataclass(frozen=True, slots=True)
class ReadBlock:
    """One Modbus read request: a contiguous run of addresses in one table of one module."""

    module: str
    table: Table
    start: int
    count: int
    points: tuple[Point, ...]


_KEY = re.compile(r"^[a-z_]+(\.[a-z0-9_]+){0,2}$")


@dataclass(frozen=True, slots=True)
class PointMap:
    """A branch's complete point map."""

    name: str
    points: tuple[Point, ...]
    doors: tuple[Door, ...] = ()
    modules: tuple[str, ...] = ("main",)
    # PA zones, in bit order of the `pa.zones` register (bit 0 = first zone).
    pa_zones: tuple[str, ...] = ()
    description: str = ""
    # The modules' own settings, read once per connection and never written (see the module doc).
    settings: tuple[Point, ...] = ()
    _by_key: dict[str, Point] = field(init=False, repr=False, compare=False)
    _settings: dict[str, Point] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        """Validate the map: unique keys, unique addresses, known modules."""
        by_key: dict[str, Point] = {}
        settings: dict[str, Point] = {}
        seen: set[tuple[str, Table, int]] = set()
        tagged = [(False, p) for p in self.points] + [(True, p) for p in self.settings]
        for is_setting, point in tagged:
            if not _KEY.match(point.key):
                raise PointMapError(f"bad point key {point.key!r}")
            if point.key in by_key or point.key in settings:
                raise PointMapError(f"duplicate point key {point.key!r}")
            if point.module not in self.modules:
                raise PointMapError(f"{point.key}: unknown module {point.module!r}")
            if point.words not in (1, 2) or (point.words > 1 and point.table.is_bit):
                raise PointMapError(f"{point.key}: one bit, or one or two registers")
            if not 0 <= point.address <= point.end <= 0xFFFF:
                raise PointMapError(f"{point.key}: address out of range")
            for address in range(point.address, point.end + 1):
                where = (point.module, point.table, address)
                if where in seen:
                    raise PointMapError(f"{point.key}: address used twice")
                seen.add(where)
            (settings if is_setting else by_key)[point.key] = point
        for door in self.doors:
            if f"door.{door.id}.pulse" not in by_key:
                raise PointMapError(f"door {door.id} has no pulse point")
        if self.pa_zones:
            missing = [k for k in PA_KEYS if k not in by_key]
            if missing or len(self.pa_zones) > 16:
                raise PointMapError(f"PA zones need the PA player's points {missing}")
        object.__setattr__(self, "_by_key", by_key)
        object.__setattr__(self, "_settings", settings)

    def __contains__(self, key: object) -> bool:
        """Return True if the map has a point with this key."""
        return key in self._by_key

    def __getitem__(self, key: str) -> Point:
        """Return the point for a key."""
        return self._by_key[key]

    def get(self, key: str) -> Point | None:
        """Return the point for a key, or None."""
        return self._by_key.get(key)

    def ids(self, family: str) -> list[str]:
        """Return the ids of a family in map order: for "light", ["zone_1", "zone_2", ...]."""
        prefix = f"{family}."
        found: list[str] = []
        for point in self.points:
            if point.key.startswith(prefix):
                ident = point.key.split(".")[1]
                if ident not in found:
                    found.append(ident)
        return found

    def door(self, door_id: str) -> Door:
        """Return the door with this id."""
        for door in self.doors:
            if door.id == door_id:
                return door
        raise KeyError(door_id)

    def read_plan(
        self, max_gap: int = 0, *, per_point: bool = False
    ) -> list[ReadBlock]:
        """Group every point into as few read requests as the map allows.

        Points in the same module and table whose addresses are contiguous (or at most `max_gap`
        unused addresses apart) share one request, split only at the protocol's per-request limits.
        `per_point` gives the naive plan instead, one request per point (the benchmark's baseline).
        """
        return _plan(self.points, max_gap, per_point=per_point)

    def setting(self, key: str) -> Point | None:
        """Return one of the modules' settings by key, or None."""
        return self._settings.get(key)

    def settings_plan(self, module: str | None = None) -> list[ReadBlock]:
        """Return the requests that read the modules' settings (of one module, if given)."""
        return [
            block
            for block in _plan(self.settings, 0)
            if module is None or block.module == module
        ]

    def decode(
        self, block: ReadBlock, raw: Iterable[int | bool]
    ) -> dict[str, int | bool]:
        """Turn the values of one read block into point values by key.

        Bit reads come back padded to whole bytes: only the first `count` values are used.
        """
        values = list(raw)[: block.count]
        if len(values) < block.count:
            raise PointMapError(f"short read: {len(values)} of {block.count}")
        out: dict[str, int | bool] = {}
        for point in block.points:
            offset = point.address - block.start
            if block.table.is_bit:
                out[point.key] = bool(values[offset]) != point.invert
            else:  # high word first
                out[point.key] = sum(
                    (int(values[offset + n]) & 0xFFFF) << (16 * (point.words - 1 - n))
                    for n in range(point.words)
                )
        return out

    def encode(self, key: str, value: int | bool) -> tuple[Point, int | bool]:
        """Return the point and wire value for writing `value` to `key`."""
        point = self[key]
        if not point.writable:
            raise PointMapError(f"{key} is read-only")
        if point.table is Table.COIL:
            return point, bool(value) != point.invert
        if not 0 <= int(value) <= 0xFFFF:
            raise PointMapError(f"{key}: value out of range")
        return point, int(value)


def _plan(
    points: Iterable[Point], max_gap: int, *, per_point: bool = False
) -> list[ReadBlock]:
    """Group points into read requests: one per contiguous run within the protocol's limits."""
    if per_point:
        return [_block(p.module, p.table, [p]) for p in points]
    groups: dict[tuple[str, Table], list[Point]] = {}
    for point in points:
        groups.setdefault((point.module, point.table), []).append(point)
    blocks: list[ReadBlock] = []
    for (module, table), found in sorted(groups.items()):
        limit = MAX_BITS_PER_READ if table.is_bit else MAX_REGISTERS_PER_READ
        run: list[Point] = []
        for point in sorted(found, key=lambda p: p.address):
            if run and (
                point.address - max(p.end for p in run) - 1 > max_gap
                or point.end - run[0].address + 1 > limit
            ):
                blocks.append(_block(module, table, run))
                run = []
            run.append(point)
        if run:
            blocks.append(_block(module, table, run))
    return blocks


def _block(module: str, table: Table, run: list[Point]) -> ReadBlock:
    start = run[0].address
    end = max(p.end for p in run)
    return ReadBlock(module, table, start, end - start + 1, tuple(run))


def _points(
    table: Table, keys: Iterable[str], start: int = 0, module: str = "main"
) -> list[Point]:
    return [Point(key, table, start + i, module) for i, key in enumerate(keys)]


def reference_map() -> PointMap:
    """Return the reference map: a dedicated smart-library controller (and our simulator).

    Coils 0-6, discrete inputs 0-13, holding registers 0-5, input registers 0-2: four requests
    read the whole building.
    """
    coils = ["door.entrance.hold", "door.meeting_room.hold"]
    coils += [f"light.zone_{n}" for n in (1, 2, 3)]
    coils += [f"pc.group_{n}" for n in (1, 2)]
    inputs: list[str] = []
    for door in ("entrance", "meeting_room"):
        inputs += [
            f"door.{door}.{what}"
            for what in ("released", "open", "forced", "held_open")
        ]
    inputs += ["fire.alarm", "fire.fault", "panic.counter", "pa.busy", "controller.ok"]
    inputs += ["help.entrance"]
    holding = ["door.entrance.pulse", "door.meeting_room.pulse"]
    holding += ["pa.message", "pa.zones", "pa.volume", "pa.command"]
    counters = ["counter.in", "counter.out", "controller.heartbeat"]
    return PointMap(
        name="reference",
        description="Smart Library reference controller (and the simulator)",
        points=tuple(
            _points(Table.COIL, coils)
            + _points(Table.DISCRETE_INPUT, inputs)
            + _points(Table.HOLDING_REGISTER, holding)
            + _points(Table.INPUT_REGISTER, counters)
        ),
        doors=(
            Door("entrance", DoorKind.ENTRANCE, PulseKind.SECONDS_REGISTER),
            Door("meeting_room", DoorKind.MEETING_ROOM, PulseKind.SECONDS_REGISTER),
        ),
        pa_zones=("zone_1", "zone_2", "zone_3"),
    )


def moxa_e1214_e1212_map() -> PointMap:
    """Return a branch wired to a Moxa ioLogik E1214 (doors, two zones) and an E1212 (the rest).

    E1214 relays: R0 and R1 in the module's pulse mode release the entrance and meeting-room
    strikes; a pulse is started by writing 1 to the relay's "pulse operate status" coil (RLY_pulseStatus,
    coils 16-21, Moxa's own map) and the module ends it after its configured ON width. R2/R3 (relay
    value coils 2-3) hold the same two strikes released (wired in parallel with R0/R1), R4/R5
    lighting zones 1 and 2. E1214 inputs (function 2, 0-5): entrance contact, meeting-room contact,
    fire-panel alarm relay, fire-panel fault relay, panic button. E1212 outputs (coils 0-2): lighting
    zone 3, PC groups 1 and 2. No PA player and no people counter: the modules have none.

    Settings read once per connection (Moxa's "E1214 Modbus Address and Register Map"): R0/R1's
    pulse count (RLY_pulseCount, holding registers 36-47, two words per relay, high word first;
    0 = pulse for ever), ON width (RLY_pulseOnWidth, 52-57) and OFF width (RLY_pulseOffWidth,
    68-73), both in steps of 1.5 s.
    """
    e1214, e1212 = "e1214", "e1212"
    settings: list[Point] = []
    for relay, door in enumerate(("entrance", "meeting_room")):
        label = f"relay R{relay}"
        settings += [
            Point(
                f"door.{door}.{PULSE_COUNT}",
                Table.HOLDING_REGISTER,
                36 + 2 * relay,
                e1214,
                words=2,
                label=label,
            ),
            Point(
                f"door.{door}.{PULSE_ON_WIDTH}",
                Table.HOLDING_REGISTER,
                52 + relay,
                e1214,
                scale=MOXA_WIDTH_SECONDS,
                label=label,
            ),
            Point(
                f"door.{door}.{PULSE_OFF_WIDTH}",
                Table.HOLDING_REGISTER,
                68 + relay,
                e1214,
                scale=MOXA_WIDTH_SECONDS,
                label=label,
            ),
        ]
    return PointMap(
        name="moxa_e1214_e1212",
        description="Moxa ioLogik E1214 (doors, lights) + E1212 (lights, PCs)",
        modules=(e1214, e1212),
        points=(
            Point("door.entrance.pulse", Table.COIL, 16, e1214, label="relay R0"),
            Point("door.meeting_room.pulse", Table.COIL, 17, e1214, label="relay R1"),
            Point("door.entrance.hold", Table.COIL, 2, e1214),  # R2
            Point("door.meeting_room.hold", Table.COIL, 3, e1214),  # R3
            Point("light.zone_1", Table.COIL, 4, e1214),
            Point("light.zone_2", Table.COIL, 5, e1214),
            Point("door.entrance.open", Table.DISCRETE_INPUT, 0, e1214),
            Point("door.meeting_room.open", Table.DISCRETE_INPUT, 1, e1214),
            Point("fire.alarm", Table.DISCRETE_INPUT, 2, e1214),
            Point("fire.fault", Table.DISCRETE_INPUT, 3, e1214),
            Point("panic.counter", Table.DISCRETE_INPUT, 4, e1214),
            Point("light.zone_3", Table.COIL, 0, e1212),
            Point("pc.group_1", Table.COIL, 1, e1212),
            Point("pc.group_2", Table.COIL, 2, e1212),
        ),
        doors=(
            Door("entrance", DoorKind.ENTRANCE, PulseKind.MODULE_PULSE_COIL),
            Door("meeting_room", DoorKind.MEETING_ROOM, PulseKind.MODULE_PULSE_COIL),
        ),
        settings=tuple(settings),
    )


def adam_6050_map() -> PointMap:
    """Return a small branch on one Advantech ADAM-6050 (12 DI, 6 DO).

    Inputs (function 2, 0-4): entrance contact, fire-panel alarm relay, fire-panel fault relay,
    panic button. Outputs (coils 16-21): DO0 entrance strike in pulse-output mode, DO1 entrance
    strike hold, DO2/DO3 lighting zones 1 and 2, DO4/DO5 PC groups 1 and 2.
    """
    return PointMap(
        name="adam_6050",
        description="Advantech ADAM-6050: one door, two lighting zones, two PC groups",
        points=(
            Point("door.entrance.open", Table.DISCRETE_INPUT, 0),
            Point("fire.alarm", Table.DISCRETE_INPUT, 1),
            Point("fire.fault", Table.DISCRETE_INPUT, 2),
            Point("panic.counter", Table.DISCRETE_INPUT, 3),
            Point("door.entrance.pulse", Table.COIL, 16),
            Point("door.entrance.hold", Table.COIL, 17),
            Point("light.zone_1", Table.COIL, 18),
            Point("light.zone_2", Table.COIL, 19),
            Point("pc.group_1", Table.COIL, 20),
            Point("pc.group_2", Table.COIL, 21),
        ),
        doors=(Door("entrance", DoorKind.ENTRANCE, PulseKind.MODULE_PULSE_COIL),),
    )


POINT_MAPS: Mapping[str, PointMap] = {
    m.name: m for m in (reference_map(), moxa_e1214_e1212_map(), adam_6050_map())
}


# -- the modules' safety settings -------------------------------------------------------------


class ProblemKind(StrEnum):
    """A module setting that makes a door unsafe (each also a repair issue's translation key)."""

    # Pulse count 0: the module pulses without end, the door keeps releasing, never locks.
    PULSES_FOR_EVER = "door_pulses_for_ever"
    # One release keeps the door released longer than the branch's release time.
    RELEASE_TOO_LONG = "door_release_too_long"


@dataclass(frozen=True, slots=True)
class Problem:
    """One door whose module's pulse settings are unsafe, and what to set instead."""

    kind: ProblemKind
    door: str
    module: str
    where: str  # the module's channel, e.g. "relay R0"
    pulse_count: int
    on_width: int  # in the module's steps
    off_width: int  # in the module's steps (0 where the map cannot read it)
    step_seconds: float  # seconds per ON/OFF width step
    released_seconds: (
        float  # how long one release lasts at these settings (inf: for ever)
    )
    release_seconds: float  # the branch's configured release time
    max_on_width: int  # the largest ON width (pulse count 1) within the release time


def check_door_pulses(
    point_map: PointMap, values: Mapping[str, int | bool], release_seconds: float
) -> list[Problem]:
    """Check the pulse settings of each door's release relay against the branch's release time.

    `values` are the modules' settings as read (`BranchController.read_settings`). A door whose
    settings the map does not name, or that were not read, is not judged (unknown is not safe,
    but it is not a problem found either). Pulse count 0 (pulse for ever) holds the door
    released; count N releases it N times, N x ON + (N - 1) x OFF widths in all, which must not
    outlast the release time.
    """
    problems: list[Problem] = []
    for door in point_map.doors:
        if door.pulse is not PulseKind.MODULE_PULSE_COIL:
            continue
        count_point = point_map.setting(f"door.{door.id}.{PULSE_COUNT}")
        on_point = point_map.setting(f"door.{door.id}.{PULSE_ON_WIDTH}")
        if count_point is None or on_point is None:
            continue
        count = values.get(count_point.key)
        on_width = values.get(on_point.key)
        if count is None or on_width is None:
            continue
        off_point = point_map.setting(f"door.{door.id}.{PULSE_OFF_WIDTH}")
        off_width = int(values.get(off_point.key, 0)) if off_point else 0
        step = on_point.scale
        count, on_width = int(count), int(on_width)
        if count == 0:
            kind: ProblemKind | None = ProblemKind.PULSES_FOR_EVER
            released = math.inf
        else:
            released = (count * on_width + (count - 1) * off_width) * step
            too_long = released > release_seconds + 1e-9
            kind = ProblemKind.RELEASE_TOO_LONG if too_long else None
        if kind is None:
            continue
        problems.append(
            Problem(
                kind=kind,
                door=door.id,
                module=count_point.module,
                where=count_point.label or point_map[f"door.{door.id}.pulse"].label,
                pulse_count=count,
                on_width=on_width,
                off_width=off_width,
                step_seconds=step,
                released_seconds=released,
                release_seconds=release_seconds,
                max_on_width=max(1, math.floor(release_seconds / step + 1e-9)),
            )
        )
    return problems
