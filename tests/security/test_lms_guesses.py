"""Thirty PIN guesses at once at a door of a service on its LMS, the right PIN the 16th.

The lock-out's attempt is taken in the member store before the LMS is asked: however many
arrive together, at most the lock-out's number of PINs reach the LMS, the right one sent after
them is refused unread, and the door never opens.
"""

from __future__ import annotations

import asyncio
from collections import Counter

from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.smart_library.const import DEFAULT_LOCKOUT_ATTEMPTS
from simulator.building import SimulatedBuilding
from simulator.lms import SimulatedLms
from tests.components.test_sip2_backend import (
    ADULT,
    ADULT_PIN,
    asked,
    induct,
    lms as lms,  # noqa: PLC0414 - the fixture
    mock_config_entry,  # noqa: F401 - the fixture, for this module
    releases,
    request,
    set_mode,
)

GUESSES, RIGHT = 30, 15


async def test_a_burst_of_guesses_reaches_the_lms_five_times(
    hass: HomeAssistant,
    building: SimulatedBuilding,
    lms: SimulatedLms,
    init_integration: MockConfigEntry,
) -> None:
    """At most five PINs reach the LMS; the right PIN (16th) is refused; no door opens."""
    await set_mode(hass, "smart")
    await request(hass, ADULT, ADULT_PIN)
    await induct(hass, ADULT)
    before, released = asked(lms), releases(building)
    pins = [f"{n:04d}" for n in range(GUESSES)]
    pins[RIGHT] = ADULT_PIN
    answers = await asyncio.gather(*(request(hass, ADULT, pin) for pin in pins))
    reasons = Counter(a["reason"] for a in answers)
    assert set(reasons) <= {"wrong_pin", "locked_out"}, reasons
    assert reasons["wrong_pin"] <= DEFAULT_LOCKOUT_ATTEMPTS
    assert asked(lms) - before <= DEFAULT_LOCKOUT_ATTEMPTS
    assert releases(building) == released
    assert not answers[RIGHT]["granted"]
    # Locked out now: the right PIN alone is refused too, and does not reach the LMS.
    asked_now = asked(lms)
    assert (await request(hass, ADULT, ADULT_PIN))["reason"] == "locked_out"
    assert asked(lms) == asked_now
