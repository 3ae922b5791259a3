"""Async Modbus TCP client for a branch controller, driven by its point map.

No Home Assistant import: the integration's coordinator owns one `BranchController` per branch.
Reads follow the map's read plan (one request per contiguous block); door releases are written as
pulses the controller times itself, so nothing depends on the caller staying alive to relock.

A branch may be several I/O modules. Each has its own connection, lock and back-off, and a poll
reads them side by side: one module that is away, silent or garbled leaves the others' values in
the snapshot (`read()`), with its own health saying why it is missing.

A module whose connection or request has timed out (a silent host: a cable pulled, a controller
hung) is **down**: commands to it (a door release, a light) fail at once with the connection-lost
error instead of waiting for another timeout, until a poll reads it again. Polls keep trying, with
the back-off below.

A map may name a module's own settings (the pulse settings of a door's relay): they are read once
per connection, on the first poll that reads the module after it (re)connected, never every poll
(`settings`, `settings_reads`, `read_settings()`).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
import contextlib
from contextvars import ContextVar
from dataclasses import dataclass, field
import logging
import struct
import time

from pymodbus.client import AsyncModbusTcpClient
from pymodbus.exceptions import ModbusException

from .pointmap import (
    PA_COMMAND_PLAY,
    PointMap,
    PointMapError,
    PulseKind,
    ReadBlock,
    Table,
)
from .snapshot import ModuleHealth, ModuleStatus, Snapshot

_LOGGER = logging.getLogger(__name__)

DEFAULT_PORT = 502
DEFAULT_UNIT = 1
DEFAULT_TIMEOUT = 3.0
# A command waits this long at most for a module that is busy with a poll (a silent one holds it
# for the whole timeout): a member at the door is answered within it.
COMMAND_WAIT = 0.5
# A refused connection costs nothing, so it is retried on the next request and a controller that
# comes back is seen within one poll. A connection attempt or a request that times out (a silent
# host: a cable pulled, a switch down, a hung controller) costs the whole timeout, so the next
# attempt waits 1 s, then 2 s, never more: meanwhile requests fail at once instead of hanging for
# the timeout, commands until a poll reads the module again, and a controller that returns is
# still seen within a couple of seconds.
FIRST_BACKOFF_SECONDS = 1.0
MAX_BACKOFF_SECONDS = 2.0
# What a command to a module that is down is told (the connection-lost error).
DOWN_MESSAGE = (
    "not answering since a request to it timed out; commands fail at once until it "
    "answers a poll again"
)

type PointValues = dict[str, int | bool]

# pymodbus logs a warning or an error on every failed attempt, and a branch is polled every few
# seconds: a controller that is away for an hour would fill the log. The coordinator says once
# that it is away and once that it is back; pymodbus's own lines are kept for our debug logging.
_IN_OUR_REQUEST: ContextVar[bool] = ContextVar("smart_library_request", default=False)


class _OwnRequestsQuiet(logging.Filter):
    """Let pymodbus's warnings about *our* requests through only when we debug.

    Scoped by a context variable set around our requests, so another integration's use of pymodbus
    in the same Home Assistant (core's modbus, say) logs exactly as before.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """Return False for a pymodbus warning raised inside one of our requests."""
        if record.levelno >= logging.WARNING and _IN_OUR_REQUEST.get():
            return _LOGGER.isEnabledFor(logging.DEBUG)
        return True


logging.getLogger("pymodbus.logging").addFilter(_OwnRequestsQuiet())


class ControllerError(Exception):
    """Base class for controller errors; `status` says which kind (it is also the error code)."""

    status = ModuleStatus.UNREACHABLE


class ControllerConnectionError(ControllerError):
    """The controller cannot be reached (refused, silent, timed out, dropped)."""

    status = ModuleStatus.UNREACHABLE


class ControllerResponseError(ControllerError):
    """The controller answered with an exception code (address outside its map, busy, ...)."""

    status = ModuleStatus.ERROR_RESPONSE


class ControllerMalformedError(ControllerError):
    """The controller's answer cannot be used (a short read, say)."""

    status = ModuleStatus.MALFORMED


@dataclass
class _Link:
    """One module's connection state: its own lock, back-off and down state."""

    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    backoff: float = 0.0  # seconds to wait after the last timed-out attempt
    next_attempt: float = 0.0
    down: bool = False  # timed out; commands fail at once until a poll reads the module
    fresh: bool = False  # connected, and its settings not yet read on this connection


@dataclass(frozen=True, slots=True)
class ModuleAddress:
    """Where one I/O module of a branch is reached."""

    host: str
    port: int = DEFAULT_PORT
    unit: int = DEFAULT_UNIT


class BranchController:
    """Reads and writes one branch's point map over Modbus TCP."""

    def __init__(
        self,
        point_map: PointMap,
        modules: Mapping[str, ModuleAddress],
        *,
        timeout: float = DEFAULT_TIMEOUT,
        max_gap: int = 0,
        per_point: bool = False,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Prepare the clients; nothing connects until the first request."""
        missing = set(point_map.modules) - set(modules)
        if missing:
            raise ValueError(f"no address for module(s) {sorted(missing)}")
        self.point_map = point_map
        self.modules = dict(modules)
        self._timeout = timeout
        self._clock = clock
        self._plan = point_map.read_plan(max_gap, per_point=per_point)
        self._settings_plan = point_map.settings_plan()
        self._settings: dict[str, PointValues] = {}
        self._clients: dict[str, AsyncModbusTcpClient] = {}
        self._links = {module: _Link() for module in point_map.modules}
        self.requests = 0  # Modbus requests sent, for benchmarks and diagnostics
        # Times a module's settings were read (once per connection), and who wants to know.
        self.settings_reads = 0
        self._settings_listeners: list[Callable[[], None]] = []

    @property
    def read_plan(self) -> list[ReadBlock]:
        """Return the read requests one poll makes."""
        return list(self._plan)

    @property
    def connected(self) -> bool:
        """Return True if every module's connection is up."""
        return len(self._clients) == len(self._links) and all(
            c.connected for c in self._clients.values()
        )

    def is_down(self, module: str) -> bool:
        """Return True while a module that timed out has not answered a poll again."""
        return self._links[module].down

    @property
    def settings(self) -> PointValues:
        """Return the modules' settings as last read (those of a module never read are absent)."""
        values: PointValues = {}
        for module_values in self._settings.values():
            values.update(module_values)
        return values

    def add_settings_listener(self, listener: Callable[[], None]) -> Callable[[], None]:
        """Call `listener` (in the event loop) after each read of a module's settings.

        That is once per connection, so a listener sees the settings as they are after a module
        reconnects (an installer's change applied with a restart, say). Returns the remover.
        """
        self._settings_listeners.append(listener)

        def remove() -> None:
            if listener in self._settings_listeners:
                self._settings_listeners.remove(listener)

        return remove

    @contextlib.asynccontextmanager
    async def _command_lock(self, module: str) -> AsyncIterator[None]:
        """Hold a module's lock for a command, waiting at most COMMAND_WAIT for it.

        A poll that is still waiting for a silent module's answer holds its lock for up to the
        timeout; a command (a door release for a member at the door) does not wait that long: it
        fails as the module being unreachable.
        """
        lock = self._links[module].lock
        try:
            await asyncio.wait_for(lock.acquire(), COMMAND_WAIT)
        except TimeoutError:
            raise ControllerConnectionError(
                f"{module}: still waiting for its answer to the last request"
            ) from None
        try:
            yield
        finally:
            lock.release()

    def _refuse_if_down(self, modules: Iterable[str]) -> None:
        """Fail a command at once when one of its modules is down."""
        for module in modules:
            if self._links[module].down:
                raise ControllerConnectionError(f"{module}: {DOWN_MESSAGE}")

    def _timed_out(self, module: str, *, connecting: bool) -> None:
        """Note a connection attempt or request that used up the timeout: the module is down.

        A connection attempt that timed out also backs off; after a request that timed out the
        next poll connects again at once (a refusal costs nothing, a silent host one timeout).
        """
        link = self._links[module]
        link.down = True
        if connecting:
            link.backoff = min(
                MAX_BACKOFF_SECONDS, max(FIRST_BACKOFF_SECONDS, link.backoff * 2)
            )
            link.next_attempt = self._clock() + link.backoff
        _LOGGER.debug(
            "%s timed out; commands fail at once until a poll reads it", module
        )

    def _answered(self, module: str) -> None:
        """Note a poll that read the module: it is up, no back-off."""
        link = self._links[module]
        if link.down:
            _LOGGER.debug("%s answers a poll again; commands go through", module)
        link.down = False
        link.backoff = 0.0
        link.next_attempt = 0.0

    def _client(self, module: str) -> AsyncModbusTcpClient:
        client = self._clients.get(module)
        if client is None:
            address = self.modules[module]
            client = AsyncModbusTcpClient(
                address.host,
                port=address.port,
                timeout=self._timeout,
                retries=0,
                reconnect_delay=0,  # reconnection is ours, with backoff
                name=f"smart_library:{module}",
            )
            self._clients[module] = client
        return client

    async def _ensure_connected(self, module: str) -> AsyncModbusTcpClient:
        client = self._client(module)
        if client.connected:
            return client
        link = self._links[module]
        if self._clock() < link.next_attempt:
            raise ControllerConnectionError(
                "backing off after a timed-out connection attempt"
            )
        started = self._clock()
        if not await client.connect():
            if self._clock() - started >= self._timeout * 0.9:
                self._timed_out(module, connecting=True)
            address = self.modules[module]
            raise ControllerConnectionError(
                f"cannot connect to {address.host}:{address.port}"
            )
        link.fresh = True
        return client

    async def _call(
        self, module: str, what: str, *, poll: bool = False, **kwargs: object
    ) -> object:
        """Send one request. Only a poll (`poll`) tries a module that is down."""
        if self._links[module].down and not poll:
            raise ControllerConnectionError(f"{module}: {DOWN_MESSAGE}")
        token = _IN_OUR_REQUEST.set(True)
        try:
            client = await self._ensure_connected(module)
            self.requests += 1
            started = self._clock()
            try:
                response = await getattr(client, what)(
                    device_id=self.modules[module].unit, **kwargs
                )
            except ModbusException as err:
                client.close()  # reconnect on the next request
                if self._clock() - started >= self._timeout * 0.9:
                    self._timed_out(module, connecting=False)  # a silent host
                raise ControllerConnectionError(str(err)) from err
            except (ValueError, TypeError, struct.error) as err:
                # pymodbus decoding an answer it cannot make sense of
                client.close()
                raise ControllerMalformedError(str(err)) from err
        finally:
            _IN_OUR_REQUEST.reset(token)
        if response.isError():
            raise ControllerResponseError(f"{what} {kwargs} -> {response}")
        return response

    async def test_connection(self, module: str | None = None) -> None:
        """Connect and read the whole map (or one module's part) once; raise ControllerError if that fails."""
        for name in self._links if module is None else (module,):
            self._links[name].next_attempt = 0.0
            await self._read_module(name)

    async def read(self) -> Snapshot:
        """Read every module side by side, one request per block of the read plan.

        A module that fails (refused, silent, an exception code, a short read) is marked with its
        error in the snapshot and its values are left out; the other modules are read all the same.
        """
        names = list(self._links)
        results = await asyncio.gather(
            *(self._read_module(name) for name in names), return_exceptions=True
        )
        values: PointValues = {}
        health: dict[str, ModuleHealth] = {}
        for name, result in zip(names, results, strict=True):
            if isinstance(result, ControllerError):
                health[name] = ModuleHealth(result.status, str(result))
            elif isinstance(result, BaseException):
                raise result
            else:
                health[name] = ModuleHealth()
                values.update(result)
        return Snapshot(self.point_map, health, values)

    async def read_all(self) -> PointValues:
        """Read every point; raise the first module's ControllerError if any module failed."""
        values: PointValues = {}
        for name in self._links:
            values.update(await self._read_module(name))
        return values

    async def _read_module(self, module: str) -> PointValues:
        """Poll one module's blocks; stop at its first failure.

        A poll tries a module that is down (after its back-off), and reading it clears the down
        state. The first poll that reads a module on a new connection also reads its settings.
        """
        link = self._links[module]
        async with link.lock:
            values: PointValues = {}
            for block in self._plan:
                if block.module == module:
                    values.update(await self._read_block(block, poll=True))
            self._answered(module)
            if link.fresh:
                with contextlib.suppress(
                    ControllerError
                ):  # unknown; the poll still counts
                    await self._read_settings(module)
            return values

    async def read_settings(self, module: str | None = None) -> PointValues:
        """Read the modules' settings now (one module's, if given); return every known setting.

        Not a poll: a module that is down fails at once. Raises the first ControllerError.
        """
        modules = {b.module for b in self._settings_plan}
        for name in sorted(modules if module is None else modules & {module}):
            self._refuse_if_down((name,))
            async with self._links[name].lock:
                await self._read_settings(name)
        return self.settings

    async def _read_settings(self, module: str) -> None:
        """Read one module's settings (its lock held); done for this connection even if it fails."""
        link = self._links[module]
        blocks = [b for b in self._settings_plan if b.module == module]
        if not blocks:
            link.fresh = False
            return
        try:
            values: PointValues = {}
            for block in blocks:
                values.update(await self._read_block(block))
        except ControllerError as err:
            _LOGGER.debug("%s: settings not read: %s", module, err)
            raise
        finally:
            link.fresh = False
        self._settings[module] = values
        self.settings_reads += 1
        for listener in list(self._settings_listeners):
            try:
                listener()
            except Exception:  # a listener's mistake must not fail the poll
                _LOGGER.exception("Error in a module settings listener")

    async def _read_block(self, block: ReadBlock, *, poll: bool = False) -> PointValues:
        method = {
            Table.COIL: "read_coils",
            Table.DISCRETE_INPUT: "read_discrete_inputs",
            Table.HOLDING_REGISTER: "read_holding_registers",
            Table.INPUT_REGISTER: "read_input_registers",
        }[block.table]
        response = await self._call(
            block.module, method, poll=poll, address=block.start, count=block.count
        )
        raw = response.bits if block.table.is_bit else response.registers  # type: ignore[attr-defined]
        try:
            return self.point_map.decode(block, raw)
        except PointMapError as err:  # a short read
            raise ControllerMalformedError(str(err)) from err

    async def write(self, key: str, value: int | bool) -> None:
        """Write one point (coil or holding register)."""
        await self.write_many({key: value})

    async def write_many(self, values: Mapping[str, int | bool]) -> None:
        """Write several points in order, with no other request in between.

        (A PA announcement is message, zones, then play: two zones asking at once must not mix.)
        """
        modules = set()
        for key, value in values.items():
            # refuse bad input before writing anything
            modules.add(self.point_map.encode(key, value)[0].module)
        self._refuse_if_down(modules)  # at once, not after a poll that holds the lock
        async with contextlib.AsyncExitStack() as stack:
            for module in sorted(modules):  # always in the same order: no deadlock
                await stack.enter_async_context(self._command_lock(module))
            for key, value in values.items():
                await self._write_point(key, value)

    async def play_announcement(self, number: int, zone_mask: int) -> None:
        """Play stored message `number` on the PA zones in `zone_mask`.

        One player serves every zone: if it is already playing this message (another zone asked a
        moment ago), the zones are added to the running announcement instead of restarting it.
        """
        module = self.point_map["pa.message"].module
        self._refuse_if_down((module,))
        async with self._command_lock(module):
            busy = await self._read_point("pa.busy")
            playing = await self._read_point("pa.message")
            zones = int(await self._read_point("pa.zones"))
            if busy and playing == number:
                await self._write_point("pa.zones", zones | zone_mask)
                return
            await self._write_point("pa.message", number)
            await self._write_point("pa.zones", zone_mask)
            await self._write_point("pa.command", PA_COMMAND_PLAY)

    async def _read_point(self, key: str) -> int | bool:
        point = self.point_map[key]
        block = ReadBlock(point.module, point.table, point.address, 1, (point,))
        return (await self._read_block(block))[key]

    async def _write_point(self, key: str, value: int | bool) -> None:
        point, wire = self.point_map.encode(key, value)
        if point.table is Table.COIL:
            await self._call(
                point.module, "write_coil", address=point.address, value=bool(wire)
            )
        else:
            await self._call(
                point.module, "write_register", address=point.address, value=int(wire)
            )

    async def release_door(self, door_id: str, seconds: int) -> None:
        """Release a door strike for `seconds`, timed by the controller.

        With a seconds register the controller counts down and relocks by itself; with a module
        pulse coil the module reverts the coil after its configured pulse width. Either way the
        door relocks even if the caller dies right after this returns.
        """
        door = self.point_map.door(door_id)
        if door.pulse is PulseKind.SECONDS_REGISTER:
            await self.write(f"door.{door_id}.pulse", max(1, min(seconds, 0xFFFF)))
        else:
            await self.write(f"door.{door_id}.pulse", True)

    async def close(self) -> None:
        """Close every connection."""
        for client in self._clients.values():
            client.close()
        self._clients.clear()
