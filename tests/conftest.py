"""Fixtures shared by every test: a real simulated branch building on 127.0.0.1."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import UTC, datetime

from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
import pytest

from simulator.building import BuildingTiming, SimulatedBuilding


@pytest.fixture
async def building(socket_enabled: None) -> AsyncGenerator[SimulatedBuilding]:
    """Serve a simulated branch building over Modbus TCP on 127.0.0.1 (a free port)."""
    sim = SimulatedBuilding(timing=BuildingTiming(tick=0.02, door_open_delay=0.05))
    await sim.start("127.0.0.1", 0)
    yield sim
    await sim.stop()


# The hours of Home Assistant's test time zone (US/Pacific) in which a branch cannot be put in
# smart mode by hand (smart hours end at 21:30 at the latest, a mode forced by hand ends at
# midnight) or in which a test could cross midnight: there, a test that opens a branch with the
# real clock would be refused for the hour it runs at, not for what it tests.
LATE_HOURS = frozenset({21, 22, 23, 0})


def _afternoon_zone(now: datetime) -> str:
    """Return a fixed-offset zone (`Etc/GMT±N`) whose local hour is now 15:xx."""
    # 15 - hour runs from -8 to +15; Etc/GMT-14 is the furthest ahead (14:xx is as good).
    offset = min(15 - now.astimezone(UTC).hour, 14)
    return "Etc/GMT" if offset == 0 else f"Etc/GMT{-offset:+d}"


@pytest.fixture
async def hass(hass: HomeAssistant) -> HomeAssistant:
    """Home Assistant's test instance, moved to an afternoon time zone late in its own day.

    Outside its late hours it is left exactly as the test harness makes it (US/Pacific). A test
    that sets its own zone or freezes the clock does so after this and is not affected.
    """
    now = dt_util.utcnow()
    if now.astimezone(dt_util.get_time_zone("US/Pacific")).hour in LATE_HOURS:
        await hass.config.async_set_time_zone(_afternoon_zone(now))
    return hass
