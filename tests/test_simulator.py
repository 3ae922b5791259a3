"""The simulated building: its command line, its behaviour and its zeroconf advertisement."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
import signal
import socket
import sys

import pytest

from custom_components.smart_library.const import ZEROCONF_TYPE
from custom_components.smart_library.engine.controller import (
    BranchController,
    ModuleAddress,
)
from custom_components.smart_library.engine.pointmap import reference_map
from simulator.__main__ import command
from simulator.building import SimulatedBuilding

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
    assert "fire.alarm" in command(building, "status")
    assert command(building, "dance").startswith("unknown command")


_BROWSE = """
import asyncio, sys
from zeroconf import IPVersion
from zeroconf.asyncio import AsyncZeroconf
async def main():
    zc = AsyncZeroconf(ip_version=IPVersion.V4Only)
    info = await zc.async_get_service_info(sys.argv[1], sys.argv[2], timeout=8000)
    print(info.port, info.properties[b"id"].decode(), info.properties[b"map"].decode())
    await zc.async_close()
asyncio.run(main())
"""


async def test_advertised_over_zeroconf() -> None:
    """The running simulator is found by a zeroconf browser on the network, with its id and map.

    Both ends run in their own processes: the test harness patches this process's network
    interfaces.
    """
    port = _free_port()
    simulator = await _start_simulator("--port", str(port), "--id", "SL-TEST")
    try:
        browse = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            _BROWSE,
            ZEROCONF_TYPE,
            f"Demo Branch.{ZEROCONF_TYPE}",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
        )
        out, _ = await asyncio.wait_for(browse.communicate(), 20)
        assert out.decode().split() == [str(port), "SL-TEST", "reference"]
    finally:
        await _stop(simulator)


async def _start_simulator(*args: str) -> asyncio.subprocess.Process:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "simulator",
        *args,
        cwd=REPO,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
        env=os.environ | {"PYTHONPATH": str(REPO)},
    )
    assert proc.stdout is not None
    await asyncio.wait_for(proc.stdout.readline(), 20)  # the banner: serving
    return proc


async def _stop(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is None:
        proc.send_signal(signal.SIGKILL)
        await proc.wait()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_runs_on_its_own() -> None:
    """`python -m simulator` serves the building and takes commands on its standard input."""
    port = _free_port()
    proc = await _start_simulator("--port", str(port), "--no-zeroconf")
    assert proc.stdin is not None
    assert proc.stdout is not None
    try:
        proc.stdin.write(b"fire on\n")
        await proc.stdin.drain()
        assert (await asyncio.wait_for(proc.stdout.readline(), 5)).strip() == b"ok"
        client = BranchController(
            reference_map(), {"main": ModuleAddress("127.0.0.1", port)}
        )
        values = await client.read_all()
        await client.close()
        assert values["fire.alarm"] is True
        proc.stdin.write(b"quit\n")
        await proc.stdin.drain()
        assert await asyncio.wait_for(proc.wait(), 10) == 0
    finally:
        await _stop(proc)
