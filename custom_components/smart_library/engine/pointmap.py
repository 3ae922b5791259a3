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
    pa.message pa.zones pa.volume pa.command   PA message player; holding registers
    pa.busy              PA player busy; bit input
    counter.in counter.out   people counter, 16-bit wrapping totals; input registers

Reads are planned as one request per contiguous block per module and table, within the protocol's
limits (125 registers, 2000 bits per request), never one per point.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
import re

MAX_REGISTERS_PER_READ = 125
MAX_BITS_PER_READ = 2000

PA_COMMAND_PLAY = 1
PA_COMMAND_STOP = 2
PA_KEYS = ("pa.message", "pa.zones", "pa.volume", "pa.command", "pa.busy")


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

    @property
    def writable(self) -> bool:
        """Return True if the point can be written."""
        return self.table.writable


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
    _by_key: dict[str, Point] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        """Validate the map: unique keys, unique addresses, known modules."""
        by_key: dict[str, Point] = {}
        seen: set[tuple[str, Table, int]] = set()
        for point in self.points:
            if not _KEY.match(point.key):
                raise PointMapError(f"bad point key {point.key!r}")
            if point.key in by_key:
                raise PointMapError(f"duplicate point key {point.key!r}")
            if point.module not in self.modules:
                raise PointMapError(f"{point.key}: unknown module {point.module!r}")
            if not 0 <= point.address <= 0xFFFF:
                raise PointMapError(f"{point.key}: address out of range")
            where = (point.module, point.table, point.address)
            if where in seen:
                raise PointMapError(f"{point.key}: address used twice")
            seen.add(where)
            by_key[point.key] = point
        for door in self.doors:
            if f"door.{door.id}.pulse" not in by_key:
                raise PointMapError(f"door {door.id} has no pulse point")
        if self.pa_zones:
            missing = [k for k in PA_KEYS if k not in by_key]
            if missing or len(self.pa_zones) > 16:
                raise PointMapError(f"PA zones need the PA player's points {missing}")
        object.__setattr__(self, "_by_key", by_key)

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
        if per_point:
            return [_block(p.module, p.table, [p]) for p in self.points]
        groups: dict[tuple[str, Table], list[Point]] = {}
        for point in self.points:
            groups.setdefault((point.module, point.table), []).append(point)
        blocks: list[ReadBlock] = []
        for (module, table), points in sorted(groups.items()):
            limit = MAX_BITS_PER_READ if table.is_bit else MAX_REGISTERS_PER_READ
            run: list[Point] = []
            for point in sorted(points, key=lambda p: p.address):
                if run and (
                    point.address - run[-1].address - 1 > max_gap
                    or point.address - run[0].address + 1 > limit
                ):
                    blocks.append(_block(module, table, run))
                    run = []
                run.append(point)
            if run:
                blocks.append(_block(module, table, run))
        return blocks

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
            value = values[point.address - block.start]
            if block.table.is_bit:
                out[point.key] = bool(value) != point.invert
            else:
                out[point.key] = int(value)
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


def _block(module: str, table: Table, run: list[Point]) -> ReadBlock:
    start = run[0].address
    return ReadBlock(module, table, start, run[-1].address - start + 1, tuple(run))


def _points(
    table: Table, keys: Iterable[str], start: int = 0, module: str = "main"
) -> list[Point]:
    return [Point(key, table, start + i, module) for i, key in enumerate(keys)]


def reference_map() -> PointMap:
    """Return the reference map: a dedicated smart-library controller (and our simulator).

    Coils 0-6, discrete inputs 0-12, holding registers 0-5, input registers 0-2: four requests
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
    """
    e1214, e1212 = "e1214", "e1212"
    return PointMap(
        name="moxa_e1214_e1212",
        description="Moxa ioLogik E1214 (doors, lights) + E1212 (lights, PCs)",
        modules=(e1214, e1212),
        points=(
            Point("door.entrance.pulse", Table.COIL, 16, e1214),  # R0 pulse status
            Point("door.meeting_room.pulse", Table.COIL, 17, e1214),  # R1 pulse status
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
