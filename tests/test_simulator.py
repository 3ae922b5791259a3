"""The simulated building: its commands, its control port, its start-up errors and its advertisement."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
import os
from pathlib import Path
import random
import secrets
import signal
import socket
import sys

import pytest

from custom_components.smart_library.const import ZEROCONF_TYPE
from custom_components.smart_library.engine.building.controller import (
    BranchController,
    ModuleAddress,
)
from custom_components.smart_library.engine.building.pointmap import (
    POINT_MAPS,
    reference_map,
)
from simulator.__main__ import command
from simulator.building import BuildingTiming, PortUnavailableError, SimulatedBuilding
from simulator.ctl import send

pytestmark = pytest.mark.usefixtures("socket_enabled")
REPO = Path(__file__).resolve().parents[1]


def test_commands_drive_the_building() -> None:
    """What the facilities person types at the simulator changes the building."""
    building = SimulatedBuilding()
    assert command(building, "fire on") == "ok"
    assert building.get("fire.alarm") is True
    assert building.get("door.entrance.released") is True  # the controller's fail-safe
    command(building, "fire off")
    assert building.get("door.entrance.released") is False
    command(building, "panic on")
    assert building.get("panic.counter") is True
    command(building, "fault on")
    assert building.get("fire.fault") is True
    command(building, "force")
    assert building.get("door.entrance.forced") is True
    command(building, "offline on")
    assert building.online is False
    command(building, "offline off")
    assert building.online is True
    status = command(building, "status")
    assert "fire.alarm" in status
    assert "people inside" in status


@pytest.mark.parametrize(
    ("line", "says"),
    [
        ("dance", "unknown command 'dance'"),
        ("fire", "say 'fire on' or 'fire off'"),
        ("fire maybe", "say 'fire on' or 'fire off'"),
        ("force back_door", "no door 'back_door'"),
        ("rex back_door", "no door 'back_door'"),
        ("arrive 3 back_door", "no door 'back_door'"),
        ("help maybe", "say 'help on' or 'help off'"),
        ("help on back_door", "no help button 'back_door'"),
        ("silent", "say 'silent on' or 'silent off'"),
        (
            "pulse_count 0",
            "reads no pulse_count for entrance",
        ),  # the reference controller
        ("on_width x", "say 'on_width N [door]'"),
    ],
)
def test_a_refused_command_says_why_and_changes_nothing(line: str, says: str) -> None:
    """A mistyped command is answered with an error line, never a traceback, and the building is as it was."""
    building = SimulatedBuilding()
    before = command(building, "status")
    reply = command(building, line)
    assert reply.startswith("error: ")
    assert says in reply
    assert command(building, "status") == before


def test_help_button_and_silence() -> None:
    """A member presses the help button; a controller can be made to take requests and never answer."""
    building = SimulatedBuilding()
    assert command(building, "help on") == "ok"
    assert building.get("help.entrance") is True
    command(building, "help off entrance")
    assert building.get("help.entrance") is False
    assert "silent" in command(building, "help")  # the command list
    command(building, "silent on")
    assert building.silent is True
    assert "no (silent)" in command(building, "status")
    command(building, "silent off")
    assert building.silent is False


@pytest.mark.parametrize(
    ("line", "says"),
    [
        ("pulse_count 0 back_door", "no door 'back_door'"),
        ("on_width 70000", "70000 is out of range"),  # one register
        ("off_width", "say 'off_width N [door]'"),
    ],
)
def test_a_refused_setting_changes_nothing(line: str, says: str) -> None:
    """A module setting that cannot be made is refused with a reason; the module is as it was."""
    building = SimulatedBuilding(point_map=POINT_MAPS["moxa_e1214_e1212"])
    before = command(building, "status")
    reply = command(building, line)
    assert reply.startswith("error: ")
    assert says in reply
    assert command(building, "status") == before


async def test_a_module_at_pulse_count_0_holds_the_door_open() -> None:
    """A Moxa relay set to pulse for ever releases its door until told to stop; set right, it relocks.

    The module times its pulse by its own settings: pulse count x (ON width) steps.
    """
    moxa = SimulatedBuilding(
        point_map=POINT_MAPS["moxa_e1214_e1212"],
        timing=BuildingTiming(tick=0.02, module_pulse_seconds=0.6),  # steps of 0.2 s
    )
    await moxa.start()
    client = BranchController(
        moxa.point_map,
        {m: ModuleAddress("127.0.0.1", p) for m, p in moxa.ports.items()},
    )
    try:
        assert command(moxa, "status").count("(module setting)") == 6
        await client.release_door("entrance", 5)
        assert moxa.get("door.entrance.pulse") is True
        await asyncio.sleep(1.0)  # one pulse of 3 steps (0.6 s) has ended
        assert moxa.get("door.entrance.pulse") is False

        assert command(moxa, "pulse_count 0") == "ok"
        assert (await client.read_settings())["door.entrance.pulse_count"] == 0
        await client.release_door("entrance", 5)
        await asyncio.sleep(1.5)  # more than 2 pulses' worth
        assert moxa.get("door.entrance.pulse") is True  # the door never locks
        await client.write(
            "door.entrance.pulse", False
        )  # 0 to RLY_pulseStatus stops it
        assert moxa.get("door.entrance.pulse") is False

        command(moxa, "pulse_count 1")
        command(moxa, "on_width 6")
        await client.release_door("entrance", 5)
        await asyncio.sleep(0.5)
        assert (
            moxa.get("door.entrance.pulse") is True
        )  # 6 steps (1.2 s): still released
        await asyncio.sleep(1.2)
        assert moxa.get("door.entrance.pulse") is False
    finally:
        await client.close()
        await moxa.stop()


# -- leaving is not forcing: the request-to-exit input -------------------------------------------


class _Clock:
    """A clock the test moves: a whole day of the building in a fraction of a second."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _run_for(
    building: SimulatedBuilding, clock: _Clock, seconds: float, tick: float = 0.1
) -> set[str]:
    """Advance the building tick by tick; return the doors whose forced flag was seen on."""
    seen: set[str] = set()
    end = clock.now + seconds
    while clock.now < end:
        clock.now += tick
        building.step()
        seen |= {
            door.id
            for door in building.point_map.doors
            if building.get(f"door.{door.id}.forced")
        }
    return seen


def _write(building: SimulatedBuilding, key: str, value: int | bool) -> None:
    """Write a point as the integration does over Modbus (through the request handler)."""
    point = building.point_map[key]
    answer = building.write(
        point.module, building.unit, point.table, point.address, [value]
    )
    assert answer is None


def test_a_day_of_visitors_raises_no_forced_door() -> None:
    """Members come in on a card release (or through the held door) and leave through the push bar.

    From 09:00 to 21:30: staffed until 13:00 (the entrance held released), then smart hours
    (every visitor's card releases the door for 5 s); meeting-room users go in on their card and
    out through the room's push bar too. The controller sees each exit's request-to-exit before the
    contact opens, so not one door reads forced all day, and everyone counted in is counted out.
    """
    clock = _Clock()
    building = SimulatedBuilding(clock=clock, seed=1)
    rng = random.Random(20)
    hour = 3600.0
    events: list[tuple[float, str, str]] = []  # (time, what, door)
    for n in range(120):
        door = "meeting_room" if n % 10 == 0 else "entrance"
        arrives = rng.uniform(0, 12 * hour)
        leaves = min(arrives + rng.uniform(60, 3 * hour), 12.5 * hour - 60)
        events += [(arrives, "arrive", door), (leaves, "leave", door)]
    events.sort()
    _write(building, "door.entrance.hold", True)  # 09:00: staffed, the entrance free
    staffed = True
    seen: set[str] = set()
    for at, what, door in events:
        if staffed and at >= 4 * hour:  # 13:00: smart hours, card + PIN at the entrance
            clock.now = max(clock.now, 4 * hour)
            _write(building, "door.entrance.hold", False)
            staffed = False
        clock.now = max(clock.now, at)
        if what == "arrive":
            building.arrive(1, door)
            if door != "entrance" or not staffed:
                _write(building, f"door.{door}.pulse", 5)  # the card granted
        else:
            building.leave(1, door)
        # The door opens, the person passes, it closes.
        seen |= _run_for(building, clock, 4)
    seen |= _run_for(building, clock, 30)

    assert seen == set()
    assert building.get("counter.in") == building.get("counter.out") == 120
    assert building.inside == 0
    assert building.get("door.entrance.released") is False
    assert building.get("door.entrance.open") is False


def test_an_opening_without_release_or_exit_request_is_forced() -> None:
    """The contact opening with the strike locked and no recent request-to-exit is a forced door.

    A push bar pressed a moment before lets the door open (someone let out); pressed longer ago
    than the controller's REX time, or a release that has run out, does not.
    """
    clock = _Clock()
    building = SimulatedBuilding(clock=clock)
    window = building.timing.rex_seconds

    building.force_door("entrance")  # nobody released it, nobody pushed the bar
    assert building.get("door.entrance.forced") is True
    assert building.get("door.meeting_room.forced") is False
    _run_for(building, clock, 3)  # it closes again; the controller's flag goes with it
    assert building.get("door.entrance.forced") is False

    assert command(building, "rex") == "ok"  # the exit button, pressed from inside
    _run_for(building, clock, window - 1)
    assert command(building, "force") == "ok"  # opened within the REX time: let out
    assert building.get("door.entrance.forced") is False
    _run_for(building, clock, 3)

    building.request_exit("entrance")
    _run_for(building, clock, window + 1)
    building.force_door("entrance")  # the REX time has run out
    assert building.get("door.entrance.forced") is True
    _run_for(building, clock, 3)

    _write(building, "door.meeting_room.pulse", 2)  # released for 2 s, nobody came
    _run_for(building, clock, 3)
    building.force_door("meeting_room")
    assert building.get("door.meeting_room.forced") is True

    building.leave(1, "meeting_room")  # out through the forced door: it stays forced
    building.step()
    assert building.get("door.meeting_room.forced") is True


async def test_the_integration_reads_leaving_as_no_forced_door() -> None:
    """Over Modbus, as the integration polls it: a member leaving opens the door, unforced."""
    building = SimulatedBuilding(
        timing=BuildingTiming(tick=0.02, door_open_time=0.3, rex_seconds=0.2)
    )
    port = await building.start()
    client = BranchController(
        building.point_map, {"main": ModuleAddress("127.0.0.1", port)}
    )
    try:
        building.leave(1)
        await asyncio.sleep(0.1)
        door = (await client.read()).door("entrance")
        assert (door.open, door.forced, door.released) == (True, False, False)
        await asyncio.sleep(0.5)  # the door has closed, the push bar's REX time is over
        building.force_door("entrance")
        door = (await client.read()).door("entrance")
        assert (door.open, door.forced) == (True, True)
    finally:
        await client.close()
        await building.stop()


async def test_building_refuses_a_taken_port() -> None:
    """Started on a port another process listens on, the building says so instead of claiming to serve."""
    with _listening() as port:
        building = SimulatedBuilding()
        with pytest.raises(PortUnavailableError, match=f"127.0.0.1:{port}"):
            await building.start("127.0.0.1", port)
        assert building.ports == {}


# -- the simulator as a process ------------------------------------------------------------------


class _Simulator:
    """A `python -m simulator` process and what its banner said."""

    def __init__(self, proc: asyncio.subprocess.Process, banner: str) -> None:
        self.proc = proc
        self.banner = banner

    @property
    def control_port(self) -> int:
        return int(self.banner.rsplit("control port ", 1)[1])


async def _start_simulator(*args: str, stdin: int | None = None) -> _Simulator:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "simulator",
        *args,
        cwd=REPO,
        stdin=asyncio.subprocess.PIPE if stdin is None else stdin,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
        env=os.environ | {"PYTHONPATH": str(REPO)},
    )
    assert proc.stdout is not None
    banner = await asyncio.wait_for(proc.stdout.readline(), 20)  # serving
    assert banner, "the simulator ended before serving"
    return _Simulator(proc, banner.decode().strip())


async def _stop(proc: asyncio.subprocess.Process) -> int:
    """Stop it as scripts/develop does (SIGTERM, its advert withdrawn); SIGKILL if it lingers."""
    if proc.returncode is None:
        proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(proc.wait(), 15)
        except TimeoutError:
            proc.kill()
            await proc.wait()
    assert proc.returncode is not None
    return proc.returncode


@pytest.fixture
async def simulators() -> AsyncGenerator[list[_Simulator]]:
    """Collect the simulators a test starts; stop each afterwards."""
    started: list[_Simulator] = []
    yield started
    for simulator in started:
        await _stop(simulator.proc)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class _listening:  # noqa: N801 - used as a context manager, like a function
    """A port of 127.0.0.1 some other program listens on."""

    def __enter__(self) -> int:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        return int(self.sock.getsockname()[1])

    def __exit__(self, *exc: object) -> None:
        self.sock.close()


async def _read_points(port: int) -> dict[str, object]:
    client = BranchController(
        reference_map(), {"main": ModuleAddress("127.0.0.1", port)}
    )
    try:
        return dict(await client.read_all())
    finally:
        await client.close()


async def test_runs_on_its_own(simulators: list[_Simulator]) -> None:
    """`python -m simulator` serves the building and takes commands on its standard input."""
    port = _free_port()
    simulator = await _start_simulator(
        "--port", str(port), "--control-port", "0", "--no-zeroconf"
    )
    simulators.append(simulator)
    proc = simulator.proc
    assert proc.stdin is not None
    assert proc.stdout is not None
    proc.stdin.write(b"fire on\n")
    await proc.stdin.drain()
    assert (await asyncio.wait_for(proc.stdout.readline(), 5)).strip() == b"ok"
    assert (await _read_points(port))["fire.alarm"] is True
    proc.stdin.write(b"quit\n")
    await proc.stdin.drain()
    assert await asyncio.wait_for(proc.wait(), 10) == 0


async def test_control_port_drives_the_building_while_stdin_is_closed(
    simulators: list[_Simulator],
) -> None:
    """As under scripts/develop (standard input closed), `scripts/sim fire on` raises the alarm.

    The command goes through the command-line client to the control port; the fire alarm (and the
    doors it releases) is what the integration then reads over Modbus. A refused command exits 1.
    """
    port = _free_port()
    simulator = await _start_simulator(
        "--port",
        str(port),
        "--control-port",
        "0",
        "--no-zeroconf",
        stdin=asyncio.subprocess.DEVNULL,
    )
    simulators.append(simulator)
    assert (await _read_points(port))["fire.alarm"] is False

    code, out, err = await _ctl(simulator.control_port, "fire", "on")
    assert (code, out.strip(), err) == (0, "ok", "")
    points = await _read_points(port)
    assert points["fire.alarm"] is True
    assert points["door.entrance.released"] is True

    assert "fire.alarm                   True" in await send(
        "status", simulator.control_port
    )
    code, out, err = await _ctl(simulator.control_port, "fire", "maybe")
    assert code == 1
    assert out == ""
    assert err.strip() == "say 'fire on' or 'fire off'"

    assert await send("fire off", simulator.control_port) == "ok"
    assert (await _read_points(port))["fire.alarm"] is False
    assert await _stop(simulator.proc) == 0  # SIGTERM: an orderly stop


async def _ctl(control_port: int, *words: str) -> tuple[int, str, str]:
    """Run `python -m simulator.ctl --port P words…`; return its exit status, stdout and stderr."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "simulator.ctl",
        "--port",
        str(control_port),
        *words,
        cwd=REPO,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=os.environ | {"PYTHONPATH": str(REPO)},
    )
    out, err = await asyncio.wait_for(proc.communicate(), 20)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_ctl_without_a_simulator_says_so() -> None:
    """`scripts/sim` with no simulator running exits 1 with a sentence saying what to start."""
    code, out, err = await _ctl(_free_port(), "status")
    assert code == 1
    assert out == ""
    assert "No simulator answers" in err
    assert "Traceback" not in err


@pytest.mark.parametrize("taken", ["modbus", "control"])
async def test_a_taken_port_is_one_clear_line_and_exit_1(taken: str) -> None:
    """Started while its Modbus (or control) port is in use, it says so in one line and exits 1."""
    with _listening() as busy:
        port = busy if taken == "modbus" else _free_port()
        control = busy if taken == "control" else _free_port()
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "simulator",
            "--port",
            str(port),
            "--control-port",
            str(control),
            "--no-zeroconf",
            cwd=REPO,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=os.environ | {"PYTHONPATH": str(REPO)},
        )
        out, err = await asyncio.wait_for(proc.communicate(), 20)
    assert proc.returncode == 1
    assert out == b""  # never claims to serve
    lines = err.decode().splitlines()
    assert len(lines) == 1, lines
    assert f"127.0.0.1:{busy}" in lines[0]
    assert "address already in use" in lines[0]
    assert ("control port" in lines[0]) is (taken == "control")


_BROWSE = """
import asyncio, sys
from zeroconf import IPVersion, ServiceStateChange
from zeroconf.asyncio import AsyncServiceBrowser, AsyncServiceInfo, AsyncZeroconf

async def main():
    service_type, wanted = sys.argv[1], set(sys.argv[2:])
    zc = AsyncZeroconf(ip_version=IPVersion.V4Only)
    names = asyncio.Queue()
    def changed(zeroconf, service_type, name, state_change):
        if state_change is not ServiceStateChange.Removed:
            names.put_nowait(name)
    browser = AsyncServiceBrowser(zc.zeroconf, service_type, handlers=[changed])
    found = {}
    async with asyncio.timeout(20):
        while not wanted <= found.keys():
            name = await names.get()
            info = AsyncServiceInfo(service_type, name)
            if await info.async_request(zc.zeroconf, 3000):
                controller = info.properties.get(b"id", b"").decode()
                if controller in wanted:  # others' adverts (scripts/develop's) are not ours
                    found[controller] = (info.port, info.properties[b"map"].decode(), name)
    for controller, (port, map_, name) in sorted(found.items()):
        print(controller, port, map_, name, sep="\\t")
    await browser.async_cancel()
    await zc.async_close()
asyncio.run(main())
"""


async def test_two_simulators_of_one_name_are_both_advertised(
    simulators: list[_Simulator],
) -> None:
    """Two simulated branches of the same name (a test beside scripts/develop) are both found.

    Each advertises under its own instance name, so neither is refused the name; the browser picks
    out this test's controllers by their ids and ignores any other advertisement on the network.
    Both ends run in their own processes: the test harness patches this process's network
    interfaces.
    """
    ids = [f"SL-TEST-{secrets.token_hex(4)}" for _ in range(2)]
    ports = [_free_port() for _ in ids]
    for controller, port in zip(ids, ports, strict=True):
        simulators.append(
            await _start_simulator(
                "--port", str(port), "--control-port", "0", "--id", controller
            )
        )
    browse = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        _BROWSE,
        ZEROCONF_TYPE,
        *ids,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    out, _ = await asyncio.wait_for(browse.communicate(), 30)
    found = {
        controller: (int(port), map_, name)
        for controller, port, map_, name in (
            line.split("\t") for line in out.decode().splitlines()
        )
    }
    assert {c: found[c][:2] for c in found} == {
        ids[0]: (ports[0], "reference"),
        ids[1]: (ports[1], "reference"),
    }
    names = {found[c][2] for c in ids}
    assert len(names) == 2
    assert all(name.startswith("Demo Branch (") for name in names)
