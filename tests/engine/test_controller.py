"""The Modbus client against the simulated building over real TCP on 127.0.0.1."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
import itertools
import socket

import pytest

from custom_components.smart_library.engine.building.controller import (
    BranchController,
    ControllerConnectionError,
    ControllerMalformedError,
    ControllerResponseError,
    ModuleAddress,
)
from custom_components.smart_library.engine.building.pointmap import (
    POINT_MAPS,
    Point,
    PointMap,
    Table,
)
from custom_components.smart_library.engine.building.snapshot import ModuleStatus
from simulator.building import BuildingTiming, SimulatedBuilding
from tests.garbled_modbus import garbled_server

pytestmark = pytest.mark.usefixtures("socket_enabled")


@pytest.fixture
async def building(socket_enabled: None) -> AsyncGenerator[SimulatedBuilding]:
    """Serve a simulated building on a free port of 127.0.0.1."""
    sim = SimulatedBuilding(timing=BuildingTiming(tick=0.02, door_open_delay=0.05))
    await sim.start()
    yield sim
    await sim.stop()


@pytest.fixture
async def controller(building: SimulatedBuilding) -> AsyncGenerator[BranchController]:
    """Return a client for the building."""
    client = BranchController(
        building.point_map,
        {"main": ModuleAddress("127.0.0.1", building.port)},
        timeout=1,
    )
    yield client
    await client.close()


async def test_one_request_per_block(
    building: SimulatedBuilding, controller: BranchController
) -> None:
    """A poll of the whole reference building costs four Modbus requests, not one per point."""
    await controller.read_all()
    before = building.requests
    values = await controller.read_all()
    assert building.requests - before == 4
    assert len(values) == len(building.point_map.points) == 30
    assert values["controller.ok"] is True
    assert values["pa.volume"] == 60


async def test_write_is_seen_by_the_building_and_read_back(
    building: SimulatedBuilding, controller: BranchController
) -> None:
    """A coil written by the client switches the building's contactor and reads back."""
    await controller.write("pc.group_2", True)
    assert building.get("pc.group_2") is True
    assert (await controller.read_all())["pc.group_2"] is True


async def test_release_is_timed_by_the_controller(
    building: SimulatedBuilding, controller: BranchController
) -> None:
    """After a release the door relocks by itself, even with the client gone."""
    building.arrive(1)
    await controller.release_door("entrance", 1)
    await controller.close()  # the caller dies right after asking
    assert building.get("door.entrance.released") is True
    await asyncio.sleep(0.5)
    assert building.get("counter.in") == 1  # the member walked in
    await asyncio.sleep(1.0)
    assert building.get("door.entrance.released") is False
    assert building.get("door.entrance.pulse") == 0


async def test_address_outside_the_map_is_an_error_response(
    building: SimulatedBuilding,
) -> None:
    """A map that points past the controller's registers gets a clear error, not garbage."""
    wrong = PointMap("wrong", (Point("light.x", Table.COIL, 100),))
    client = BranchController(
        wrong, {"main": ModuleAddress("127.0.0.1", building.port)}
    )
    with pytest.raises(ControllerResponseError):
        await client.read_all()
    await client.close()


async def test_lost_and_back_within_one_request(
    building: SimulatedBuilding, controller: BranchController
) -> None:
    """A refused connection fails fast; the next request after the controller returns succeeds."""
    await controller.read_all()
    port = building.port
    await building.stop()
    for _ in range(3):
        with pytest.raises(ControllerConnectionError):
            await controller.read_all()
    await building.start("127.0.0.1", port)
    assert (await controller.read_all())["controller.ok"] is True


def _unused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_timed_out_connects_back_off() -> None:
    """After an attempt that used up the timeout, the next waits 1 s, then 2 s, never longer.

    Requests in between fail at once (a door command does not hang for the timeout), and a
    controller that returns is tried again within two seconds.
    """
    now = 0.0
    client = BranchController(
        SimulatedBuilding().point_map,
        {"main": ModuleAddress("127.0.0.1", _unused_port())},
        timeout=1,
        clock=lambda: now,
    )

    async def silent_host() -> bool:
        # Loopback refuses at once; a pulled cable is silent until the timeout.
        nonlocal now
        now += 1.0
        return False

    client._client("main").connect = silent_host  # type: ignore[method-assign]  # noqa: SLF001
    attempts: list[tuple[float, float]] = []
    while now < 12:
        started = now
        with pytest.raises(ControllerConnectionError) as err:
            await client.read_all()
        if "backing off" in str(err.value):
            assert now == started  # failed at once
        else:
            attempts.append((started, now))
        now += 0.25  # the next poll or command
    await client.close()
    pauses = [b[0] - a[1] for a, b in itertools.pairwise(attempts)]
    assert pauses == [1.0, 2.0, 2.0, 2.0]


async def test_short_read_is_a_malformed_answer_and_other_modules_still_read(
    building: SimulatedBuilding,
) -> None:
    """A module that answers short is marked malformed; the snapshot still has the other module."""
    server, port = await garbled_server(registers=1)
    two = PointMap(
        "two",
        (
            Point(
                "fire.alarm", Table.DISCRETE_INPUT, 8, "doors"
            ),  # as the simulator has it
            Point("pa.message", Table.HOLDING_REGISTER, 2, "doors"),
            Point("light.zone_1", Table.HOLDING_REGISTER, 0, "garbled"),
            Point("light.zone_2", Table.HOLDING_REGISTER, 1, "garbled"),
        ),
        modules=("doors", "garbled"),
    )
    client = BranchController(
        two,
        {
            "doors": ModuleAddress("127.0.0.1", building.port),
            "garbled": ModuleAddress("127.0.0.1", port),
        },
        timeout=1,
    )
    building.raise_fire_alarm()
    try:
        snapshot = await client.read()
        assert snapshot.modules["garbled"].status is ModuleStatus.MALFORMED
        assert "short read" in snapshot.modules["garbled"].detail
        assert snapshot.modules["doors"].ok
        assert snapshot.fire_alarm is True
        assert snapshot.get("light.zone_1") is None
        with pytest.raises(ControllerMalformedError):
            await client.read_all()
    finally:
        await client.close()
        server.close()
        server.close_clients()
        await server.wait_closed()


async def test_a_silent_module_refuses_commands_at_once_until_a_poll_reads_it(
    building: SimulatedBuilding, controller: BranchController
) -> None:
    """After a request timed out, a door release or a light is refused without a request.

    The refusal is the connection-lost error, and not one request reaches the controller for it
    (no connect, no wait for another timeout); polls keep trying, and once one reads the module
    the commands go through again.
    """
    await controller.read_all()
    building.silent = True  # a hung controller: takes the request, never answers
    snapshot = await controller.read()
    assert snapshot.modules["main"].status is ModuleStatus.UNREACHABLE
    assert controller.is_down("main")
    heard = building.heard
    for command in (
        controller.release_door("entrance", 5),
        controller.write("light.zone_1", True),
        controller.play_announcement(1, 0b1),
    ):
        with pytest.raises(ControllerConnectionError, match="commands fail at once"):
            await command
    assert building.heard == heard  # nothing was sent for them
    snapshot = await controller.read()  # a poll still tries
    assert building.heard == heard + 1
    assert not snapshot.module_ok("main")
    building.silent = False
    assert (await controller.read()).module_ok("main")
    assert not controller.is_down("main")
    building.arrive(1)
    await controller.release_door("entrance", 1)
    assert building.get("door.entrance.released") is True


async def test_module_settings_are_read_once_per_connection() -> None:
    """A Moxa relay's pulse settings are read with the first poll of each connection, not every poll."""
    moxa = SimulatedBuilding(point_map=POINT_MAPS["moxa_e1214_e1212"])
    await moxa.start()
    client = BranchController(
        moxa.point_map,
        {m: ModuleAddress("127.0.0.1", p) for m, p in moxa.ports.items()},
        timeout=1,
    )
    heard: list[int] = []
    client.add_settings_listener(lambda: heard.append(client.settings_reads))
    try:
        assert client.settings == {}
        for _ in range(5):
            assert (await client.read()).all_ok
        assert client.settings_reads == 1
        assert moxa.setting_reads == 3  # count, ON width, OFF width: one request each
        assert client.settings == {
            "door.entrance.pulse_count": 1,
            "door.entrance.pulse_on_width": 3,
            "door.entrance.pulse_off_width": 1,
            "door.meeting_room.pulse_count": 1,
            "door.meeting_room.pulse_on_width": 3,
            "door.meeting_room.pulse_off_width": 1,
        }
        moxa.set_setting("door.entrance.pulse_count", 0x10002)  # two words, high first
        await client.read()
        assert client.settings["door.entrance.pulse_count"] == 1  # not read every poll
        await moxa.restart()  # a power cut: the connection is gone
        for _ in range(3):  # the first poll may still find the old connection's end
            if (await client.read()).all_ok:
                break
        assert client.settings_reads == 2
        assert heard == [1, 2]  # told after each read
        assert client.settings["door.entrance.pulse_count"] == 0x10002
        assert moxa.setting_reads == 6
        # The reference controller has no such settings: nothing is read for them.
        assert await client.read_settings("e1212") == client.settings
    finally:
        await client.close()
        await moxa.stop()


async def test_a_command_does_not_wait_behind_a_poll_of_a_silent_module() -> None:
    """A poll waiting for a silent module's answer does not make a door release wait for it."""
    accepted: list[asyncio.StreamWriter] = []

    async def never_answer(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        accepted.append(writer)
        await reader.read()  # takes requests, answers nothing

    server = await asyncio.start_server(never_answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    client = BranchController(
        SimulatedBuilding().point_map,
        {"main": ModuleAddress("127.0.0.1", port)},
        timeout=5,
    )
    try:
        poll = asyncio.create_task(client.read())
        await asyncio.sleep(0.2)  # the poll holds the module, waiting for its answer
        with pytest.raises(ControllerConnectionError, match="still waiting"):
            await client.release_door("entrance", 5)
        assert not poll.done()  # refused while the poll was still waiting
        poll.cancel()
    finally:
        await client.close()
        server.close()
        server.close_clients()
