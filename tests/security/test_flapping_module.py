"""A module that comes and goes (a loose cable, a switch port renegotiating) cannot flood the log.

Ten flaps in a minute used to be ten warnings (and ten "answering again"): at most one warning per
module every few minutes now, the next one counting the flaps between, while the *Controller
connected* sensor and its `modules` attribute follow every poll.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
import logging
from unittest.mock import patch

from homeassistant.const import STATE_OFF, STATE_ON
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import async_fire_time_changed

from simulator.building import SimulatedBuilding

pytestmark = pytest.mark.usefixtures("socket_enabled")

OURS = "custom_components.smart_library"
CONNECTED = "binary_sensor.oadby_library_controller_connected"


def _loud(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    """Return our log lines above debug."""
    return [
        r
        for r in caplog.records
        if r.name.startswith(OURS) and r.levelno > logging.DEBUG
    ]


class _Clock:
    """The clock the log's pacing reads (the polls run in real time)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Iterator[_Clock]:
    """Let a test move the pacing's clock on (a frozen loop would stall the Modbus client)."""
    fake = _Clock()
    with patch(
        "custom_components.smart_library.engine.building.availability.monotonic", fake
    ):
        yield fake


async def _poll(hass: HomeAssistant) -> None:
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=2))
    await hass.async_block_till_done(wait_background_tasks=True)


@pytest.mark.usefixtures("init_integration")
async def test_flapping_controller_warns_once_per_window(
    hass: HomeAssistant,
    building: SimulatedBuilding,
    clock: _Clock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Ten flaps in a minute: one warning and one "back" line; the sensor follows every one.

    Five minutes on, the next loss warns again and says how many flaps went unsaid.
    """
    caplog.set_level(logging.INFO, logger=OURS)
    caplog.clear()
    for _ in range(10):
        building.online = False  # answers every request with an exception code
        await _poll(hass)
        state = hass.states.get(CONNECTED)
        assert state is not None
        assert state.state == STATE_OFF
        assert state.attributes["modules"] == {"main": "exception_response"}
        building.online = True
        await _poll(hass)
        state = hass.states.get(CONNECTED)
        assert state is not None
        assert state.state == STATE_ON
        assert state.attributes["modules"] == {"main": "ok"}
        clock.now += 6  # ten flaps in a minute
    said = [
        (r.levelno, r.getMessage())
        for r in _loud(caplog)
        if "controller of" in r.getMessage()
    ]
    assert [level for level, _ in said] == [logging.WARNING, logging.INFO]
    assert said[0][1].startswith(
        "The controller of Oadby Library answers with an error"
    )

    clock.now += 5 * 60
    caplog.clear()
    building.online = False
    await _poll(hass)
    warnings = [r.getMessage() for r in _loud(caplog) if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert warnings[0].startswith(
        "The controller of Oadby Library answers with an error"
    )
    assert "9 flaps since the last warning" in warnings[0]


@pytest.mark.usefixtures("init_integration")
async def test_a_quiet_loss_that_lasts_is_warned_about(
    hass: HomeAssistant,
    building: SimulatedBuilding,
    clock: _Clock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A loss kept quiet because of a recent warning is warned about once the window is over.

    Otherwise the log's last word would be "answering again" while the module stays away.
    """
    caplog.set_level(logging.INFO, logger=OURS)
    building.online = False
    await _poll(hass)
    building.online = True
    await _poll(hass)
    caplog.clear()
    building.online = False  # again, at once: not said yet
    await _poll(hass)
    assert not [r for r in _loud(caplog) if r.levelno == logging.WARNING]
    clock.now += 5 * 60
    await _poll(hass)
    warnings = [r.getMessage() for r in _loud(caplog) if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "flaps" not in warnings[0]  # nothing came and went since the last warning
