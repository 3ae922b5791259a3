"""Fixtures shared by every test: a real simulated branch building on 127.0.0.1."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import pytest

from simulator.building import BuildingTiming, SimulatedBuilding


@pytest.fixture
async def building(socket_enabled: None) -> AsyncGenerator[SimulatedBuilding]:
    """Serve a simulated branch building over Modbus TCP on 127.0.0.1 (a free port)."""
    sim = SimulatedBuilding(timing=BuildingTiming(tick=0.02, door_open_delay=0.05))
    await sim.start("127.0.0.1", 0)
    yield sim
    await sim.stop()
