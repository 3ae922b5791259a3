"""What one poll of a branch saw: typed, module by module.

A branch may be wired to several I/O modules (a Moxa E1214 for the doors and the fire panel, an
E1212 for lights and PCs). Each module is read on its own, so one that is away, silent or talking
nonsense does not blind the others: the snapshot says, per module, whether it answered and why not,
and holds values only for the modules that did. A value the poll did not get is `None` (unknown),
never a safe-looking default.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from .pointmap import DoorKind, PointMap

type PointValue = int | bool


class ModuleStatus(StrEnum):
    """How a module answered the last poll (each also an error code the glue translates)."""

    OK = "ok"
    UNREACHABLE = "connection_lost"  # refused, silent, timed out, connection dropped
    ERROR_RESPONSE = (
        "exception_response"  # a Modbus exception code (address outside its map …)
    )
    MALFORMED = "malformed_answer"  # a short or otherwise unusable answer


@dataclass(frozen=True, slots=True)
class ModuleHealth:
    """One module's answer to the last poll."""

    status: ModuleStatus = ModuleStatus.OK
    detail: str = ""

    @property
    def ok(self) -> bool:
        """Return True when the module answered every read."""
        return self.status is ModuleStatus.OK


@dataclass(frozen=True, slots=True)
class DoorState:
    """A door as the poll saw it (None: its module did not answer, or it has no such point)."""

    id: str
    kind: DoorKind
    module: str
    released: (
        bool | None
    )  # the strike is released now (feedback, or hold/pulse where none)
    open: bool | None  # door contact
    forced: bool | None
    held_open: bool | None
    hold: bool | None  # held released (staffed hours, fire rule)
    pulsing: bool | None  # a timed release is running
    pulse_left: (
        int | None
    )  # its seconds left, where the controller counts them (else None)


@dataclass(frozen=True, slots=True)
class PaState:
    """The PA message player."""

    message: int | None
    zones: int | None
    volume: int | None
    busy: bool | None


# Points that change on every poll without meaning a change to show (a controller's liveness
# counter): two snapshots that differ only there are equal, so entities are not rewritten each poll.
VOLATILE_POINTS = frozenset({"controller.heartbeat"})


@dataclass(frozen=True, slots=True, eq=False)
class Snapshot:
    """One poll of a branch: per-module health and the values of the modules that answered."""

    point_map: PointMap
    modules: Mapping[str, ModuleHealth]
    values: Mapping[str, PointValue] = field(default_factory=dict)

    def __eq__(self, other: object) -> bool:
        """Return True for the same map, health and values (volatile points aside)."""
        if not isinstance(other, Snapshot):
            return NotImplemented
        return (
            self.point_map is other.point_map or self.point_map == other.point_map
        ) and (self.modules == other.modules and self._steady() == other._steady())

    __hash__ = None  # type: ignore[assignment]  # mutable mappings inside

    def _steady(self) -> dict[str, PointValue]:
        return {k: v for k, v in self.values.items() if k not in VOLATILE_POINTS}

    # -- raw access ----------------------------------------------------------------------------

    def module_ok(self, module: str) -> bool:
        """Return True if this module answered the poll."""
        health = self.modules.get(module)
        return health is not None and health.ok

    def available(self, key: str) -> bool:
        """Return True if the point exists and its module answered."""
        point = self.point_map.get(key)
        return point is not None and self.module_ok(point.module)

    def get(self, key: str) -> PointValue | None:
        """Return a point's value, or None when it is unknown."""
        return self.values.get(key)

    def flag(self, key: str) -> bool | None:
        """Return a bit point as a bool, or None when it is unknown."""
        value = self.values.get(key)
        return None if value is None else bool(value)

    def number(self, key: str) -> int | None:
        """Return a register point as an int, or None when it is unknown."""
        value = self.values.get(key)
        return None if value is None else int(value)

    @property
    def all_ok(self) -> bool:
        """Return True when every module answered."""
        return all(h.ok for h in self.modules.values())

    @property
    def any_ok(self) -> bool:
        """Return True when at least one module answered."""
        return any(h.ok for h in self.modules.values())

    # -- the building's functions ----------------------------------------------------------------

    def door(self, door_id: str) -> DoorState:
        """Return one door's state."""
        door = self.point_map.door(door_id)
        base = f"door.{door_id}"
        pulse = self.get(f"{base}.pulse")
        hold = self.flag(f"{base}.hold")
        if f"{base}.released" in self.point_map:
            released = self.flag(f"{base}.released")
        elif pulse is None or (f"{base}.hold" in self.point_map and hold is None):
            released = None
        else:
            released = bool(hold) or bool(pulse)
        return DoorState(
            id=door_id,
            kind=door.kind,
            module=self.point_map[f"{base}.pulse"].module,
            released=released,
            open=self.flag(f"{base}.open"),
            forced=self.flag(f"{base}.forced"),
            held_open=self.flag(f"{base}.held_open"),
            hold=hold,
            pulsing=None if pulse is None else bool(pulse),
            pulse_left=pulse
            if isinstance(pulse, int) and not isinstance(pulse, bool)
            else None,
        )

    @property
    def doors(self) -> dict[str, DoorState]:
        """Return every door's state by id."""
        return {door.id: self.door(door.id) for door in self.point_map.doors}

    def _family(self, family: str) -> dict[str, bool | None]:
        return {i: self.flag(f"{family}.{i}") for i in self.point_map.ids(family)}

    @property
    def lights(self) -> dict[str, bool | None]:
        """Return each lighting zone: on, off or unknown."""
        return self._family("light")

    @property
    def pcs(self) -> dict[str, bool | None]:
        """Return each public PC group's power."""
        return self._family("pc")

    @property
    def panic(self) -> dict[str, bool | None]:
        """Return each panic button."""
        return self._family("panic")

    @property
    def fire_alarm(self) -> bool | None:
        """Return the fire panel's alarm relay (None: unknown, never "all clear")."""
        return self.flag("fire.alarm")

    @property
    def fire_fault(self) -> bool | None:
        """Return the fire panel's fault relay."""
        return self.flag("fire.fault")

    @property
    def pa(self) -> PaState | None:
        """Return the PA player's state, or None where the branch has none."""
        if "pa.message" not in self.point_map:
            return None
        return PaState(
            message=self.number("pa.message"),
            zones=self.number("pa.zones"),
            volume=self.number("pa.volume"),
            busy=self.flag("pa.busy"),
        )

    @property
    def counter(self) -> tuple[int, int] | None:
        """Return the people counter's raw (in, out) totals, or None when unknown."""
        came_in, went_out = self.number("counter.in"), self.number("counter.out")
        if came_in is None or went_out is None:
            return None
        return came_in, went_out
