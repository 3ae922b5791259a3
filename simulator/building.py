"""A simulated library building behind a Modbus TCP server.

The building serves the same point map the integration reads (`engine.pointmap`), and behaves like
one: a door released by the controller opens when someone is waiting and closes again a few seconds
later, the strike relocks by itself when the controller-timed pulse runs out, people come and go
through the counter, a fire alarm releases every door (the controller's own fail-safe), the PA player
is busy while a message plays.

Forced or not is the controller's call, as on a real access controller: a door contact that opens
while the strike is released (a timed release, a hold, the fire alarm) or within a few seconds of
the door's **request-to-exit** input (REX: the push bar's switch, an exit button or a PIR on the
inside) is a legitimate opening; any other opening raises `door.<id>.forced`. People leaving press
the push bar, so leaving is never a forced door. The REX input is wired to the controller and
judged there; the reference map does not expose it (the integration reads only the verdict).

A module's own settings (the pulse count and widths of a Moxa relay, `PointMap.settings`) are served
as the module serves them and time its pulses: pulse count 0 keeps the relay released for ever,
as a misconfigured module holds a door open. They are changed here (`set_setting`, or the
`pulse_count` / `on_width` / `off_width` commands), as an installer would in the module's web
console. A silent controller (`silent`) takes connections and requests and never answers, as a
hung controller or a pulled cable does.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
import logging
import math
import random
import socket
import time

from pymodbus.constants import ExcCodes
from pymodbus.datastore import ModbusServerContext
from pymodbus.exceptions import NoSuchIdException
from pymodbus.server import ModbusTcpServer

from custom_components.smart_library.engine.building.pointmap import (
    PA_COMMAND_PLAY,
    PA_COMMAND_STOP,
    PULSE_COUNT,
    PULSE_OFF_WIDTH,
    PULSE_ON_WIDTH,
    Point,
    PointMap,
    PulseKind,
    Table,
    reference_map,
)

# A module's pulse settings as the simulator starts: one pulse of 3 steps (4.5 s on a Moxa E1214,
# within the branch's default release time of 5 s), 1 step apart.
DEFAULT_PULSE_SETTINGS = {PULSE_COUNT: 1, PULSE_ON_WIDTH: 3, PULSE_OFF_WIDTH: 1}

_LOGGER = logging.getLogger(__name__)


class PortUnavailableError(OSError):
    """A module's Modbus port cannot be served (taken by another process, or not ours to use)."""


def _bind_error(host: str, port: int) -> str | None:
    """Return why (host, port) cannot be listened on as the Modbus server would, or None."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as pymodbus does
        try:
            sock.bind((host, port))
            sock.listen()
        except OSError as err:
            return (err.strerror or str(err)).lower()
    return None


# Function codes -> tables.
_FC_TABLE = {
    1: Table.COIL,
    5: Table.COIL,
    15: Table.COIL,
    2: Table.DISCRETE_INPUT,
    3: Table.HOLDING_REGISTER,
    6: Table.HOLDING_REGISTER,
    16: Table.HOLDING_REGISTER,
    4: Table.INPUT_REGISTER,
}


@dataclass
class _DoorState:
    pulse_until: float = 0.0
    open_since: float | None = None
    close_at: float | None = None
    waiting_in: int = 0
    waiting_out: int = 0
    push_at: float | None = None  # when the waiting person pushes the released door
    rex_at: float | None = None  # the request-to-exit input (push bar) last active


@dataclass
class BuildingTiming:
    """How fast the simulated building reacts (seconds)."""

    tick: float = 0.05
    door_open_delay: float = (
        0.3  # from release to the door swinging open when someone waits
    )
    door_open_time: float = 1.5  # how long a person holds the door
    held_open_after: float = 30.0  # door open longer than this raises held-open
    # How long after its request-to-exit input (push bar, exit button) a door may open without
    # being forced: a controller's REX shunt time.
    rex_seconds: float = 5.0
    message_seconds: float = 3.0  # how long a PA message plays
    # How long a module's pulse-output coil releases at the module's default settings. Where the
    # map names the pulse settings, one ON/OFF width step lasts this / the default ON width (3):
    # 1.5 s by default, as on a Moxa E1214; a test shortens it to speed the module's clock up.
    module_pulse_seconds: float = 4.5

    @property
    def width_step(self) -> float:
        """Return the seconds one ON/OFF width step of a simulated module lasts."""
        return self.module_pulse_seconds / DEFAULT_PULSE_SETTINGS[PULSE_ON_WIDTH]


@dataclass
class SimulatedBuilding:
    """One branch building: its point map, its state and its behaviour."""

    point_map: PointMap = field(default_factory=reference_map)
    unit: int = 1
    timing: BuildingTiming = field(default_factory=BuildingTiming)
    clock: Callable[[], float] = time.monotonic
    visitors_per_minute: float = 0.0  # > 0: random arrivals, for demos
    seed: int | None = None

    def __post_init__(self) -> None:
        """Build the register image from the map."""
        self._values: dict[tuple[str, Table, int], int | bool] = {}
        for point in self.point_map.points + self.point_map.settings:
            for address in range(point.address, point.end + 1):
                self._values[(point.module, point.table, address)] = (
                    False if point.table.is_bit else 0
                )
        for point in self.point_map.settings:
            what = point.key.rsplit(".", 1)[1]
            if what in DEFAULT_PULSE_SETTINGS:
                self.set_setting(point.key, DEFAULT_PULSE_SETTINGS[what])
        self._doors = {door.id: _DoorState() for door in self.point_map.doors}
        self._pa_until = 0.0
        self._started = self.clock()
        self._rng = random.Random(self.seed)
        self._task: asyncio.Task[None] | None = None
        self._servers: dict[str, ModbusTcpServer] = {}
        self.host = "127.0.0.1"
        self.ports: dict[str, int] = {}
        self.online = True
        self.silent = False  # takes requests and never answers them (a hung controller)
        self.requests = 0  # requests answered
        self.heard = (
            0  # requests received, answered or not (a silent controller hears them)
        )
        self.setting_reads = 0  # read requests that took a module setting
        self._setting_addresses = {
            (point.module, point.table, address)
            for point in self.point_map.settings
            for address in range(point.address, point.end + 1)
        }
        self.writes: list[tuple[str, int | bool]] = []
        if "controller.ok" in self.point_map:
            self.set("controller.ok", True)
        for key in ("pa.volume",):
            if key in self.point_map:
                self.set(key, 60)

    # -- state by key ---------------------------------------------------------------------------

    def _where(self, point: Point) -> tuple[str, Table, int]:
        return (point.module, point.table, point.address)

    def get(self, key: str) -> int | bool:
        """Return a point's current value (as the integration would decode it)."""
        point = self.point_map[key]
        raw = self._values[self._where(point)]
        return bool(raw) != point.invert if point.table.is_bit else int(raw)

    def set(self, key: str, value: int | bool) -> None:
        """Set a point's value from the building side (a sensor changing)."""
        point = self.point_map[key]
        self._values[self._where(point)] = (
            bool(value) != point.invert if point.table.is_bit else int(value) & 0xFFFF
        )

    def has(self, key: str) -> bool:
        """Return True if the building's map has this point."""
        return key in self.point_map

    def setting(self, key: str) -> int:
        """Return one of a module's settings (a KeyError if the map names no such setting)."""
        point = self.point_map.setting(key)
        if point is None:
            raise KeyError(key)
        words = [
            int(self._values[(point.module, point.table, a)])
            for a in range(point.address, point.end + 1)
        ]
        return sum(w << (16 * (len(words) - 1 - n)) for n, w in enumerate(words))

    def set_setting(self, key: str, value: int) -> None:
        """Change one of a module's settings, as an installer does in its web console."""
        point = self.point_map.setting(key)
        if point is None:
            raise KeyError(key)
        if not 0 <= value < 1 << (16 * point.words):
            raise ValueError(f"{key}: {value} out of range")
        for n, address in enumerate(range(point.address, point.end + 1)):
            shift = 16 * (point.words - 1 - n)
            self._values[(point.module, point.table, address)] = (
                value >> shift
            ) & 0xFFFF

    # -- what people and the fire panel do ------------------------------------------------------

    def raise_fire_alarm(self) -> None:
        """Put the fire panel into alarm."""
        self.set("fire.alarm", True)
        self._update(self.clock())

    def clear_fire_alarm(self) -> None:
        """Reset the fire panel."""
        self.set("fire.alarm", False)
        self._update(self.clock())

    def set_fire_fault(self, on: bool) -> None:
        """Raise or clear the fire panel's fault output."""
        self.set("fire.fault", on)

    def press_panic(self, button: str = "counter", on: bool = True) -> None:
        """Press or release a panic button."""
        self.set(f"panic.{button}", on)

    def press_help(self, point: str | None = None, on: bool = True) -> None:
        """Press or release a member's help button (the map's first one unless named)."""
        ids = self.point_map.ids("help")
        if point is None and ids:
            point = ids[0]
        self.set(f"help.{point}", on)

    def arrive(self, people: int = 1, door: str = "entrance") -> None:
        """People wait outside a door; they go in when it is released."""
        self._doors[door].waiting_in += people

    def leave(self, people: int = 1, door: str = "entrance") -> None:
        """People leave: egress never needs a release; they press the push bar (REX) and go."""
        self._doors[door].waiting_out += people

    def request_exit(self, door: str = "entrance") -> None:
        """Someone presses a door's push bar or exit button: its request-to-exit input.

        For the next `timing.rex_seconds` the door may open without being forced.
        """
        self._doors[door].rex_at = self.clock()

    def force_door(self, door: str = "entrance") -> None:
        """Someone opens a door from outside without a release: forced, unless REX just let it."""
        now = self.clock()
        state = self._doors[door]
        self._open_door(door, state, now)

    def step(self) -> None:
        """Advance the building to its clock's time, as its own loop does every tick.

        For a building driven by a clock of the caller's (a simulated day in a test), not started.
        """
        self._update(self.clock())

    @property
    def inside(self) -> int:
        """Return how many people the counter says are inside."""
        if not self.has("counter.in"):
            return 0
        return (int(self.get("counter.in")) - int(self.get("counter.out"))) % 0x10000

    # -- behaviour ------------------------------------------------------------------------------

    def _released(self, door: str, now: float) -> bool:
        hold = self.has(f"door.{door}.hold") and bool(self.get(f"door.{door}.hold"))
        fire = self.has("fire.alarm") and bool(self.get("fire.alarm"))
        return hold or fire or now < self._doors[door].pulse_until

    def _exit_requested(self, state: _DoorState, now: float) -> bool:
        return (
            state.rex_at is not None
            and 0 <= now - state.rex_at <= self.timing.rex_seconds
        )

    def _open_door(self, door: str, state: _DoorState, now: float) -> None:
        if state.open_since is None:
            state.open_since = now
            legitimate = self._released(door, now) or self._exit_requested(state, now)
            if self.has(f"door.{door}.forced") and not legitimate:
                self.set(f"door.{door}.forced", True)
        state.close_at = now + self.timing.door_open_time
        if self.has(f"door.{door}.open"):
            self.set(f"door.{door}.open", True)

    def _count(self, key: str, people: int) -> None:
        if self.has(key):
            self.set(key, (int(self.get(key)) + people) & 0xFFFF)

    def _update(self, now: float) -> None:
        """Advance the building to `now`."""
        for door in self.point_map.doors:
            state = self._doors[door.id]
            released = self._released(door.id, now)
            if door.pulse is PulseKind.SECONDS_REGISTER:
                self.set(
                    f"door.{door.id}.pulse", max(0, math.ceil(state.pulse_until - now))
                )
            elif now >= state.pulse_until:
                self.set(
                    f"door.{door.id}.pulse", False
                )  # the module reverts its pulse coil
            if self.has(f"door.{door.id}.released"):
                self.set(f"door.{door.id}.released", released)
            if state.waiting_out:
                # The push bar first: the controller sees REX, then the contact.
                state.rex_at = now
                self._open_door(door.id, state, now)
                self._count("counter.out", state.waiting_out)
                state.waiting_out = 0
            if state.waiting_in and released:
                # Whoever waits walks in together, a moment after the click of the strike.
                if state.push_at is None:
                    state.push_at = now + self.timing.door_open_delay
                elif now >= state.push_at:
                    state.push_at = None
                    self._open_door(door.id, state, now)
                    self._count("counter.in", state.waiting_in)
                    state.waiting_in = 0
            elif not released:
                state.push_at = None
            if (
                state.open_since is not None
                and state.close_at is not None
                and now >= state.close_at
            ):
                state.open_since = None
                state.close_at = None
                for what in ("open", "forced", "held_open"):
                    if self.has(f"door.{door.id}.{what}"):
                        self.set(f"door.{door.id}.{what}", False)
            elif (
                state.open_since is not None
                and now - state.open_since > self.timing.held_open_after
            ):
                if self.has(f"door.{door.id}.held_open"):
                    self.set(f"door.{door.id}.held_open", True)
        if self.has("pa.busy"):
            self.set("pa.busy", now < self._pa_until)
        if self.has("controller.heartbeat"):
            self.set("controller.heartbeat", int(now - self._started) & 0xFFFF)

    def _on_write(self, point: Point, value: int | bool, now: float) -> None:
        self.writes.append((point.key, value))
        family, _, rest = point.key.partition(".")
        if family == "door" and rest.endswith(".pulse"):
            door = self.point_map.door(rest.split(".")[0])
            state = self._doors[door.id]
            if door.pulse is PulseKind.SECONDS_REGISTER:
                state.pulse_until = now + int(value) if int(value) > 0 else now
            elif value:
                state.pulse_until = now + self._module_pulse_seconds(door.id)
            else:  # 0 to the pulse status stops the pulse
                state.pulse_until = now
        elif point.key == "pa.command":
            if int(value) == PA_COMMAND_PLAY:
                self._pa_until = now + self.timing.message_seconds
            elif int(value) == PA_COMMAND_STOP:
                self._pa_until = now
            self.set("pa.command", 0)  # the player takes the command
        self._update(now)

    def _module_pulse_seconds(self, door: str) -> float:
        """Return how long a module pulse releases the door at the module's settings."""
        count_key = f"door.{door}.{PULSE_COUNT}"
        on_key = f"door.{door}.{PULSE_ON_WIDTH}"
        if self.point_map.setting(count_key) is None:
            return self.timing.module_pulse_seconds
        count = self.setting(count_key)
        if count == 0:
            return math.inf  # pulse for ever: the door never locks
        on = self.setting(on_key) if self.point_map.setting(on_key) else 3
        off_key = f"door.{door}.{PULSE_OFF_WIDTH}"
        off = self.setting(off_key) if self.point_map.setting(off_key) else 0
        # (Released through the OFF gaps too: what matters is how long it is not locked.)
        return (count * on + (count - 1) * off) * self.timing.width_step

    async def _run(self) -> None:
        next_visitor = self._next_visitor(self.clock())
        while True:
            now = self.clock()
            if next_visitor is not None and now >= next_visitor:
                if self._rng.random() < 0.5 or self.inside == 0:
                    self.arrive(1)
                else:
                    self.leave(1)
                next_visitor = self._next_visitor(now)
            self._update(now)
            await asyncio.sleep(self.timing.tick)

    def _next_visitor(self, now: float) -> float | None:
        if self.visitors_per_minute <= 0:
            return None
        return now + self._rng.expovariate(self.visitors_per_minute / 60)

    # -- Modbus server ---------------------------------------------------------------------------

    @property
    def port(self) -> int:
        """Return the port of the first (or only) I/O module."""
        return self.ports.get(self.point_map.modules[0], 0)

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> int:
        """Serve every I/O module of the map, each on its own port, and start behaving.

        The first module listens on `port` (0 = a free port), the next ones on the following
        ports (or free ports when `port` is 0), as separate modules on a real network would.
        Restarting after stop() reuses the ports the modules had. Returns the first port.
        Raises PortUnavailableError (nothing left serving) when a port is taken.
        """
        self.host = host
        for index, module in enumerate(self.point_map.modules):
            wanted = self.ports.get(module) or (port + index if port else 0)
            if wanted and (why := _bind_error(host, wanted)):
                await self.stop()
                raise PortUnavailableError(
                    f"cannot serve Modbus TCP on {host}:{wanted}: {why}"
                )
            server = ModbusTcpServer(
                _BuildingContext(self, module),
                address=(host, wanted),
                ignore_missing_devices=True,  # how a silent controller drops a request
            )
            if not await server.listen():  # pymodbus logs the reason and carries on
                await self.stop()
                raise PortUnavailableError(
                    f"cannot serve Modbus TCP on {host}:{wanted}: the port could not be opened"
                )
            sockets = getattr(server.transport, "sockets", None) or ()
            self.ports[module] = int(sockets[0].getsockname()[1]) if sockets else wanted
            self._servers[module] = server
            _LOGGER.info(
                "Simulated branch module %s serving Modbus TCP on %s:%s",
                module,
                host,
                self.ports[module],
            )
        self._task = asyncio.create_task(self._run())
        return self.port

    async def restart(self) -> None:
        """Restart the modules, as after a power cut: every connection dropped, then serving again."""
        await self.stop()
        await asyncio.sleep(0.05)  # the connections' ends reach their clients
        await self.start(self.host)

    async def stop(self) -> None:
        """Stop serving and behaving (the building's state is kept)."""
        if self._task:
            self._task.cancel()
            self._task = None
        for server in self._servers.values():
            await server.shutdown()
        self._servers.clear()

    # -- request handling (called by the server context) ---------------------------------------

    def read(
        self, module: str, unit: int, table: Table, address: int, count: int
    ) -> list[int] | list[bool] | ExcCodes:
        """Answer a read request, or an exception code for addresses outside the map."""
        self.requests += 1
        if not self.online:
            return ExcCodes.DEVICE_BUSY
        if unit not in (0, self.unit):
            return ExcCodes.GATEWAY_NO_RESPONSE
        self._update(self.clock())
        out: list[int | bool] = []
        if any(
            (module, table, addr) in self._setting_addresses
            for addr in range(address, address + count)
        ):
            self.setting_reads += 1
        for addr in range(address, address + count):
            value = self._values.get((module, table, addr))
            if value is None:
                return ExcCodes.ILLEGAL_ADDRESS
            out.append(value)
        return out  # type: ignore[return-value]

    def write(
        self,
        module: str,
        unit: int,
        table: Table,
        address: int,
        values: list[int] | list[bool],
    ) -> ExcCodes | None:
        """Apply a write request to the building."""
        self.requests += 1
        if not self.online:
            return ExcCodes.DEVICE_BUSY
        if unit not in (0, self.unit):
            return ExcCodes.GATEWAY_NO_RESPONSE
        if not table.writable:
            return ExcCodes.ILLEGAL_FUNCTION
        points: list[tuple[Point, int | bool]] = []
        for offset, value in enumerate(values):
            point = self._point_at(module, table, address + offset)
            if point is None:
                return ExcCodes.ILLEGAL_ADDRESS
            points.append((point, value))
        now = self.clock()
        for point, value in points:
            self._values[self._where(point)] = (
                bool(value) if table.is_bit else int(value)
            )
            self._on_write(point, self.get(point.key), now)
        return None

    def _point_at(self, module: str, table: Table, address: int) -> Point | None:
        for point in self.point_map.points:
            if (
                point.table is table
                and point.address == address
                and point.module == module
            ):
                return point
        return None


class _BuildingContext(ModbusServerContext):
    """A server context that hands every request to the building model.

    pymodbus 3.13's server calls `async_getValues` / `async_setValues` / `device_ids` on its context;
    the deprecated datastore blocks (and their warnings) are not used.
    """

    def __init__(self, building: SimulatedBuilding, module: str) -> None:  # pylint: disable=super-init-not-called
        self.building = building
        self.module = module
        self.simdevices = []

    async def async_getValues(  # noqa: N802
        self, device_id: int, func_code: int, address: int, count: int = 1
    ) -> list[int] | list[bool] | ExcCodes:
        table = _FC_TABLE.get(func_code)
        if table is None:
            return ExcCodes.ILLEGAL_FUNCTION
        self._hear()
        return self.building.read(self.module, device_id, table, address, count)

    async def async_setValues(  # noqa: N802
        self,
        device_id: int,
        func_code: int,
        address: int,
        values: list[int] | list[bool],
    ) -> ExcCodes | None:
        table = _FC_TABLE.get(func_code)
        if table is None:
            return ExcCodes.ILLEGAL_FUNCTION
        self._hear()
        return self.building.write(self.module, device_id, table, address, values)

    def _hear(self) -> None:
        """Count a request; a silent controller drops it (no answer, the client times out)."""
        self.building.heard += 1
        if self.building.silent:
            raise NoSuchIdException("silent")  # the server sends nothing back

    def device_ids(self) -> list[int]:
        return [self.building.unit]
