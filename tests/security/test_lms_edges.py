"""The library system's edges, end to end through Home Assistant against a SIP2 server.

Attacks a reader key holder can make at a service on its LMS: characters SIP2 cannot carry (a
field delimiter, a carriage return, a character cp850 lacks) to crash the encoder, lock members
out or go unthrottled; and a card with letters, which must reach the LMS exactly as typed.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
import dataclasses
from datetime import timedelta

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from simulator.building import SimulatedBuilding
from simulator.lms import DEMO_PATRONS, SimPatron, SimulatedLms
from tests.components.test_sip2_backend import (
    ADULT,
    ADULT_PIN,
    asked,
    induct,
    mock_config_entry,  # noqa: F401 - the fixture, for this module
    reader,
    releases,
    request,
    set_mode,
    system_of,
)

LETTERED = SimPatron("ab12cd34", "7531", "Lee Letters")


@pytest.fixture
async def lms(socket_enabled: None) -> AsyncGenerator[SimulatedLms]:
    """Serve the simulated LMS with one more patron, whose barcode holds lower-case letters."""
    sim = SimulatedLms(patrons=(*DEMO_PATRONS, LETTERED))
    await sim.start()
    yield sim
    await sim.stop()


@pytest.mark.parametrize("bad", ["12|4", "1234\r", "12\u20ac4", "12\x004"])
async def test_what_sip2_cannot_carry_is_refused_before_the_lms_is_asked(
    hass: HomeAssistant,
    building: SimulatedBuilding,
    lms: SimulatedLms,
    init_integration: MockConfigEntry,
    *,
    hass_client_no_auth: ClientSessionGenerator,
    bad: str,
) -> None:
    """400 at the reader, counted by its throttle, never against the card; the action says why."""
    await set_mode(hass, "smart")
    await request(hass, ADULT, ADULT_PIN)
    await induct(hass, ADULT)
    ask = await reader(hass, hass_client_no_auth)
    before, released = asked(lms), releases(building)
    statuses = []
    for _ in range(14):
        status, answer = await ask(ADULT, bad)
        statuses.append(status)
        assert status in (400, 429), answer
        if status == 400:
            assert answer["code"] == "invalid_request"
    assert statuses[0] == 400 and 429 in statuses  # the reader is stopped in the end
    assert asked(lms) == before  # the LMS never saw one
    with pytest.raises(ServiceValidationError) as err:
        await request(hass, ADULT, bad)
    assert err.value.translation_key == "invalid_request"
    with pytest.raises(ServiceValidationError):
        await request(hass, f"2100{bad}", ADULT_PIN)
    # Not one of them counted against the member: the right PIN opens.
    answer = await request(hass, ADULT, ADULT_PIN)
    assert (answer["granted"], answer["reason"]) == (True, "granted")
    assert releases(building) == released + 1


async def test_a_card_with_letters_reaches_the_lms_as_typed(
    hass: HomeAssistant,
    building: SimulatedBuilding,
    lms: SimulatedLms,
    init_integration: MockConfigEntry,
) -> None:
    """Evergreen's barcode `ab12cd34` is granted; before, it went out as `AB12CD34`: unknown."""
    await set_mode(hass, "smart")
    first = await request(hass, LETTERED.card, LETTERED.pin)
    assert first["reason"] == "induction_needed"  # known to the LMS: the PIN was right
    await induct(hass, LETTERED.card)
    answer = await request(hass, LETTERED.card, LETTERED.pin)
    assert (answer["granted"], answer["reason"]) == (True, "granted")


async def test_a_card_blocked_at_the_lms_loses_its_offline_grant_before_an_outage(
    hass: HomeAssistant,
    building: SimulatedBuilding,
    lms: SimulatedLms,
    init_integration: MockConfigEntry,
) -> None:
    """Blocked (reported lost) at the LMS, never at a door since: the re-check drops it.

    Before, the grant stayed cached for the whole offline period and the card was let in as
    soon as the LMS went away.
    """
    await set_mode(hass, "smart")
    await request(hass, ADULT, ADULT_PIN)
    await induct(hass, ADULT)
    assert (await request(hass, ADULT, ADULT_PIN))["reason"] == "granted"
    system = system_of(hass)
    await system.gateway.drain()
    assert len(system.gateway.cache) == 1
    lost = dataclasses.replace(lms._by_card[ADULT], flags=frozenset({4}))  # noqa: SLF001
    lms._by_card[ADULT] = lost  # noqa: SLF001 - the library marks the card lost
    for _ in range(3):  # the background re-checks, at their pace
        async_fire_time_changed(
            hass, dt_util.utcnow() + timedelta(seconds=system.gateway.planner.interval)
        )
        await hass.async_block_till_done(wait_background_tasks=True)
        await system.gateway.drain()
        if not len(system.gateway.cache):
            break
    assert len(system.gateway.cache) == 0
    await lms.set_down(True)
    offline = await request(hass, ADULT, ADULT_PIN)
    assert (offline["granted"], offline["reason"]) == (False, "lms_unavailable")
