"""The online induction with the library's own system (SIP2) checking card and PIN.

The LMS checks the PIN exactly as at the door; the member's local record is made on signing in,
as at the door, and the induction is recorded on it.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator

from homeassistant.const import CONF_NAME
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.smart_library.access.library_system import (
    BACKEND_SIP2,
    LMS_OPTIONS_DEFAULTS,
)
from custom_components.smart_library.const import CONF_BACKEND, DOMAIN, SUBENTRY_BRANCH
from simulator.building import SimulatedBuilding
from simulator.lms import SimulatedLms

from .conftest import branch_data
from .pages_common import (
    ClientFactory,
    Walker,
    at_the_door,
    inducted,
    open_smart,
    stored_member,
)

# The simulated LMS's patrons (simulator/lms.py), as tests/components/test_sip2_backend.py uses them.
ADULT, ADULT_PIN = "21000001", "1234"
EXPIRED = ("21000002", "2345")
CHILD = ("21000003", "3456")  # aged 12
BLOCKED = ("21000005", "5678")  # flag 0: charge privileges denied
STRANGER = "21009999"


@pytest.fixture
async def lms(socket_enabled: None) -> AsyncGenerator[SimulatedLms]:
    """Serve the simulated LMS (Evergreen dialect) on 127.0.0.1."""
    sim = SimulatedLms()
    await sim.start()
    yield sim
    await sim.stop()


@pytest.fixture
def mock_config_entry(
    building: SimulatedBuilding, lms: SimulatedLms
) -> MockConfigEntry:
    """Return a library service on the simulated LMS, with the simulated building."""
    return MockConfigEntry(
        domain=DOMAIN,
        title="Shire Libraries",
        data={
            CONF_NAME: "Shire Libraries",
            CONF_BACKEND: BACKEND_SIP2,
            "host": "127.0.0.1",
            "port": lms.port,
            "tls": False,
            "verify_ssl": True,
            "username": "sip",
            "password": "sip-password",
            "institution": "DEMO",
            "location": "",
            "encoding": "cp850",
        },
        options=dict(LMS_OPTIONS_DEFAULTS),
        subentries_data=[
            {
                "data": branch_data(building),
                "subentry_id": "branch_oadby",
                "subentry_type": SUBENTRY_BRANCH,
                "title": "Oadby Library",
                "unique_id": f"127.0.0.1:{building.port}:1",
            }
        ],
    )


@pytest.fixture
async def library(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> MockConfigEntry:
    """Open the branch in smart hours; its service asks the simulated LMS."""
    await open_smart(hass)
    return init_integration


@pytest.mark.usefixtures("library")
async def test_the_lms_checks_the_pin_and_the_local_record_is_made(
    hass: HomeAssistant, hass_client_no_auth: ClientFactory
) -> None:
    """No local record before; signed in through the LMS; the induction recorded on it."""
    assert await hass.async_add_executor_job(stored_member, hass, ADULT) is None
    walker = Walker(await hass_client_no_auth())
    page = await walker.sign_in(ADULT, ADULT_PIN)
    assert page.title == "Floor plans and opening hours"
    member = await hass.async_add_executor_job(stored_member, hass, ADULT)
    assert member is not None and member.induction_date is None  # made as at the door
    assert (await walker.through()).title == "Induction complete"
    assert await inducted(hass, ADULT) == (dt_util.now().date(), 1, "online")
    assert await at_the_door(hass, ADULT, ADULT_PIN) == "granted"


@pytest.mark.usefixtures("library")
async def test_the_lms_refusals_and_the_lock_out(
    hass: HomeAssistant, hass_client_no_auth: ClientFactory
) -> None:
    """A wrong PIN and a stranger read the same; under 16, blocked, expired; the lock-out."""
    client = await hass_client_no_auth()
    wrong = await Walker(client).sign_in(ADULT, "0000")
    stranger = await Walker(client).sign_in(STRANGER, "0000")
    assert wrong.text == stranger.text
    assert "Card number or PIN not recognised" in wrong.text
    titles = {
        CHILD: "Under-16s cannot complete the Smart Library induction",
        BLOCKED: "Please contact the library",
        EXPIRED: "Your library card has expired",
    }
    for (card, pin), title in titles.items():
        assert (await Walker(client).sign_in(card, pin)).title == title
        member = await hass.async_add_executor_job(stored_member, hass, card)
        assert member is None or member.induction_date is None
    for _ in range(4):
        await Walker(client).sign_in(ADULT, "0000")
    assert "Card locked." in (await Walker(client).sign_in(ADULT, ADULT_PIN)).text
    assert await at_the_door(hass, ADULT, ADULT_PIN) == "locked_out"
