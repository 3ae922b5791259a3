"""A library service on its own system: SIP2 to the simulated LMS (pysip2) over TCP on 127.0.0.1.

Through the request_access action and the readers' endpoint (a reader key): each LMS refusal
and each house rule gives its reason; the LMS down, slow, answering garbage, asking for a
resend, refusing the login — and what the doors, the entity and the repair issue then do.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Awaitable, Callable
from dataclasses import replace
from datetime import timedelta
from http import HTTPStatus
from pathlib import Path
import ssl
from typing import Any

from aiohttp.test_utils import TestClient
from homeassistant.config_entries import SOURCE_REAUTH
from homeassistant.const import ATTR_ENTITY_ID, ATTR_OPTION, CONF_NAME
from homeassistant.core import Event, HomeAssistant
from homeassistant.helpers import device_registry as dr, issue_registry as ir
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
    async_fire_time_changed,
)

from custom_components.smart_library.access import library_system
from custom_components.smart_library.access.library_system import (
    BACKEND_SIP2,
    CONF_CATEGORIES_DENIED,
    CONF_LMS_TIMEOUT,
    LMS_OPTIONS_DEFAULTS,
    LibrarySystem,
)
from custom_components.smart_library.access.reader_keys import READER_KEY_HEADER
from custom_components.smart_library.const import (
    CONF_BACKEND,
    DOMAIN,
    EVENT_ACCESS,
    SUBENTRY_BRANCH,
)
from custom_components.smart_library.engine.lms.sip2 import Sip2Client
from simulator.building import SimulatedBuilding
from simulator.lms import SimulatedLms
from tests.components.conftest import branch_data
from tests.test_sip2_server import self_signed

ADULT, ADULT_PIN = "21000001", "1234"
EXPIRED = ("21000002", "2345")
CHILD = ("21000003", "3456")  # aged 12
TEEN = ("21000004", "4567")  # aged 17
BLOCKED = ("21000005", "5678")  # flag 0
LOST = ("21000006", "6789")  # flag 4
FINES = ("21000007", "7890")  # flag 10
TEMP = ("21000008", "8901")  # category TEMP
BLANK = ("21000009", "9012")  # no CQ
RECALL = ("21000010", "1122")  # flag 2 only
BIRTHLESS = ("21000011", "2233")
STRANGER = "21009999"
TIMEOUT = 0.5  # the LMS's answer timeout in these tests (seconds)
ACCESS = "/api/smart_library/access"
REACHABLE = "binary_sensor.shire_libraries_library_system_reachable"

type ClientFactory = Callable[[], Awaitable[TestClient]]


@pytest.fixture
async def lms(socket_enabled: None) -> AsyncGenerator[SimulatedLms]:
    """Serve the simulated LMS (Evergreen dialect) on 127.0.0.1."""
    sim = SimulatedLms()
    await sim.start()
    yield sim
    await sim.stop()


def sip2_data(sim: SimulatedLms, **changes: Any) -> dict[str, Any]:
    """Return a service's data for the simulated LMS."""
    return {
        CONF_NAME: "Shire Libraries",
        CONF_BACKEND: BACKEND_SIP2,
        "host": "127.0.0.1",
        "port": sim.port,
        "tls": False,
        "verify_ssl": True,
        "username": "sip",
        "password": "sip-password",
        "institution": "DEMO",
        "location": "",
        "encoding": "cp850",
    } | changes


@pytest.fixture
def mock_config_entry(
    building: SimulatedBuilding, lms: SimulatedLms
) -> MockConfigEntry:
    """Return a library service on the simulated LMS, with the simulated building."""
    return MockConfigEntry(
        domain=DOMAIN,
        title="Shire Libraries",
        data=sip2_data(lms),
        options=dict(LMS_OPTIONS_DEFAULTS)
        | {CONF_CATEGORIES_DENIED: "TEMP", CONF_LMS_TIMEOUT: TIMEOUT},
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


async def call(hass: HomeAssistant, service: str, data: dict[str, Any]) -> Any:
    """Call one of the integration's actions and return its response."""
    return await hass.services.async_call(
        DOMAIN, service, data, blocking=True, return_response=True
    )


def branch_device(hass: HomeAssistant) -> str:
    """Return the device id of the Oadby branch."""
    entry = hass.config_entries.async_entries(DOMAIN)[0]
    device = dr.async_get(hass).async_get_device_by_identifier(
        (DOMAIN, "branch_oadby"), entry.entry_id
    )
    assert device is not None
    return device.id


def system_of(hass: HomeAssistant) -> LibrarySystem:
    """Return the service's library system."""
    entry = hass.config_entries.async_entries(DOMAIN)[0]
    system: LibrarySystem | None = entry.runtime_data.access.system
    assert system is not None
    return system


async def request(
    hass: HomeAssistant, card: str, pin: str, **extra: Any
) -> dict[str, Any]:
    """Ask for the entrance (or another door) through the action."""
    answer: dict[str, Any] = await call(
        hass,
        "request_access",
        {"branch": branch_device(hass), "card": card, "pin": pin} | extra,
    )
    return answer


async def set_mode(hass: HomeAssistant, mode: str) -> None:
    """Override the branch's mode (smart: open to members)."""
    await hass.services.async_call(
        "select",
        "select_option",
        {ATTR_ENTITY_ID: "select.oadby_library_mode_override", ATTR_OPTION: mode},
        blocking=True,
    )


async def induct(hass: HomeAssistant, card: str) -> None:
    """Record a member's induction, as staff do at the desk."""
    await call(hass, "record_induction", {"card": card})


def asked(sim: SimulatedLms) -> int:
    """Return how many patron information requests (63) reached the LMS."""
    return sim.received.count("63")


def releases(building: SimulatedBuilding, door: str = "entrance") -> int:
    """Return how many timed releases the controller was given for a door."""
    return sum(
        1 for key, value in building.writes if key == f"door.{door}.pulse" and value
    )


@pytest.fixture
async def library(hass: HomeAssistant, init_integration: MockConfigEntry) -> None:
    """Set the service up on its LMS and open the branch to members."""
    await set_mode(hass, "smart")


@pytest.fixture
def access_events(hass: HomeAssistant) -> list[Event]:
    """Collect the staff-facing access events."""
    return async_capture_events(hass, EVENT_ACCESS)


async def reader(
    hass: HomeAssistant, hass_client_no_auth: ClientFactory
) -> Callable[..., Awaitable[tuple[int, dict[str, Any]]]]:
    """Return a door reader: a reader key for the entrance, asking over HTTP."""
    assert hass.services.has_service(DOMAIN, "create_reader_key")
    made = await call(
        hass,
        "create_reader_key",
        {"branch": branch_device(hass), "doors": ["entrance"], "name": "Porch"},
    )
    client = await hass_client_no_auth()

    async def ask(card: str, pin: str, **body: Any) -> tuple[int, dict[str, Any]]:
        response = await client.post(
            ACCESS,
            json={"card": card, "pin": pin} | body,
            headers={READER_KEY_HEADER: made["key"]},
        )
        return response.status, await response.json()

    return ask


# -- the set-up ---------------------------------------------------------------------------------


@pytest.mark.usefixtures("library")
async def test_the_library_system_is_reachable(
    hass: HomeAssistant, lms: SimulatedLms
) -> None:
    """Set up logs in (93) and asks the status (99); the entity says reachable, no issue."""
    assert lms.received[:2] == ["93", "99"]
    state = hass.states.get(REACHABLE)
    assert state is not None
    assert (state.state, state.attributes["failure"]) == ("on", None)
    assert state.attributes["device_class"] == "connectivity"
    assert ir.async_get(hass).async_get_issue(DOMAIN, system_of(hass).issue_id) is None


# -- the LMS's answers --------------------------------------------------------------------------


@pytest.mark.usefixtures("library")
@pytest.mark.parametrize(
    ("card", "pin", "reason", "public", "message"),
    [
        (ADULT, "9999", "wrong_pin", "not_recognised", None),
        (STRANGER, "1234", "unknown_card", "not_recognised", None),
        (*BLANK, "pin_not_checked", "not_recognised", None),
        (*EXPIRED, "card_expired", "card_expired", None),
        (
            *BLOCKED,
            "charge_privileges_denied",
            "charge_privileges_denied",
            "Patron is restricted",
        ),
        (*LOST, "card_reported_lost", "card_reported_lost", None),
        (
            *FINES,
            "excessive_fines",
            "excessive_fines",
            "Fines of 25.00 exceed the limit",
        ),
        (*TEMP, "category_denied", "category_denied", None),
        (*BIRTHLESS, "age_unknown", "age_unknown", None),
        (
            *RECALL,
            "induction_needed",
            "induction_needed",
            None,
        ),  # flag 2 does not refuse
        (ADULT, ADULT_PIN, "induction_needed", "induction_needed", None),
    ],
)
async def test_each_lms_answer_gives_its_reason(  # noqa: PLR0917
    hass: HomeAssistant,
    hass_client_no_auth: ClientFactory,
    building: SimulatedBuilding,
    lms: SimulatedLms,
    access_events: list[Event],
    card: str,
    pin: str,
    reason: str,
    public: str,
    message: str | None,
) -> None:
    """The action keeps the detail (and the LMS's message, PIN right); a reader the public one."""
    answer = await request(hass, card, pin)
    assert (answer["granted"], answer["reason"]) == (False, reason)
    assert answer.get("message") == message
    ask = await reader(hass, hass_client_no_auth)
    status, reply = await ask(card, pin)
    assert status == HTTPStatus.OK
    assert (reply["granted"], reply["reason"]) == (False, public)
    assert (
        reply.get("message") == message
    )  # the LMS's words reach the person at the door
    assert [e.data["reason"] for e in access_events] == [reason, reason]
    assert asked(lms) == 2
    assert releases(building) == 0
    for event in access_events:  # the message is the reader's, not the logbook's
        assert "Fines" not in str(event.data) and card not in str(event.data)


@pytest.mark.usefixtures("library")
async def test_a_member_of_the_lms_inducted_here_gets_in(
    hass: HomeAssistant,
    hass_client_no_auth: ClientFactory,
    building: SimulatedBuilding,
) -> None:
    """First visit: induction needed (the local record is made); inducted at the desk: in."""
    assert (await request(hass, ADULT, ADULT_PIN))["reason"] == "induction_needed"
    await induct(hass, ADULT)
    answer = await request(hass, ADULT, ADULT_PIN)
    assert (answer["granted"], answer["reason"], answer["party"]) == (
        True,
        "granted",
        1,
    )
    ask = await reader(hass, hass_client_no_auth)
    status, reply = await ask(ADULT, ADULT_PIN)
    assert (status, reply["granted"], reply["reason"]) == (
        HTTPStatus.OK,
        True,
        "granted",
    )
    assert releases(building) == 2
    # The flag the policy lets through (2: recall privileges denied) does not refuse.
    await request(hass, *RECALL)
    await induct(hass, RECALL[0])
    assert (await request(hass, *RECALL))["granted"]


# -- the house rules on the LMS's members ---------------------------------------------------------


@pytest.mark.usefixtures("library")
async def test_ages_from_the_lms(hass: HomeAssistant) -> None:
    """12: only with an adult of 18+ (and their PIN); 17: alone yes, bringing a child no."""
    for card, pin in (CHILD, TEEN, (ADULT, ADULT_PIN)):
        await request(hass, card, pin)  # a first visit makes the local record
        await induct(hass, card)
    assert (await request(hass, *CHILD))["reason"] == "under_16"
    with_adult = await request(hass, *CHILD, adult_card=ADULT, adult_pin=ADULT_PIN)
    assert (with_adult["granted"], with_adult["party"]) == (True, 2)
    wrong = await request(hass, *CHILD, adult_card=ADULT, adult_pin="9999")
    assert wrong["reason"] == "wrong_pin"
    teen_adult = await request(hass, *CHILD, adult_card=TEEN[0], adult_pin=TEEN[1])
    assert teen_adult["reason"] == "adult_under_18"
    assert (await request(hass, *TEEN))["granted"]
    assert (await request(hass, *TEEN, minors=1))["reason"] == "adult_under_18"
    assert (await request(hass, ADULT, ADULT_PIN, minors=2))["party"] == 3


@pytest.mark.usefixtures("library")
async def test_local_bars_warnings_and_renewals(
    hass: HomeAssistant, lms: SimulatedLms
) -> None:
    """What the LMS does not know stays local: bars, final warnings, a renewal's induction."""
    await request(hass, ADULT, ADULT_PIN)
    await induct(hass, ADULT)
    review = (dt_util.now() + timedelta(days=30)).date()
    await call(
        hass, "bar_member", {"card": ADULT, "reason": "Damage", "review_date": review}
    )
    assert (await request(hass, ADULT, ADULT_PIN))["reason"] == "barred"
    await call(hass, "lift_restriction", {"card": ADULT})
    await call(hass, "issue_final_warning", {"card": ADULT, "reason": "Noise"})
    assert (await request(hass, ADULT, ADULT_PIN))["reason"] == "final_warning"
    await call(hass, "lift_restriction", {"card": ADULT})
    assert (await request(hass, ADULT, ADULT_PIN))["granted"]
    # The LMS renews the card (its expiry moves a year later): a new induction is due.
    store = system_of(hass).access.decider.store
    patron = lms._by_card[ADULT]
    lms._by_card[ADULT] = replace(patron, expires_in_days=patron.expires_in_days + 365)
    assert (await request(hass, ADULT, ADULT_PIN))["reason"] == "induction_outdated"
    member = await hass.async_add_executor_job(store.member, ADULT)
    assert member is not None and member.renewed_on == dt_util.now().date()
    await induct(hass, ADULT)
    assert (await request(hass, ADULT, ADULT_PIN))["granted"]


@pytest.mark.usefixtures("library")
async def test_rooms_hours_fire_and_staff_cards(
    hass: HomeAssistant, building: SimulatedBuilding, lms: SimulatedLms
) -> None:
    """Rooms by booking, opening hours, the fire alarm (no LMS asked), staff cards (local)."""
    await request(hass, ADULT, ADULT_PIN)
    await induct(hass, ADULT)
    assert (await request(hass, ADULT, ADULT_PIN, door="meeting_room"))[
        "reason"
    ] == "room_not_booked"
    start = dt_util.now() + timedelta(minutes=5)
    await call(
        hass,
        "book_room",
        {
            "branch": branch_device(hass),
            "title": "Reading group",
            "card": ADULT,
            "start": start,
            "end": start + timedelta(hours=1),
        },
    )
    assert (await request(hass, ADULT, ADULT_PIN, door="meeting_room"))["granted"]
    await set_mode(hass, "closed")
    assert (await request(hass, ADULT, ADULT_PIN))["reason"] == "not_open"
    now = dt_util.now()
    await call(
        hass,
        "add_staff_card",
        {
            "card": "CLEAN001",
            "name": "Evening cleaner",
            "role": "cleaner",
            "windows": f"{now - timedelta(minutes=30):%H:%M}-{now + timedelta(minutes=30):%H:%M}",
            "pin": "97531",
        },
    )
    before = asked(lms)
    staff = await request(hass, "CLEAN001", "97531")
    assert (staff["granted"], staff["reason"]) == (True, "staff")
    assert (await request(hass, "CLEAN001", "11111"))["reason"] == "wrong_pin"
    assert asked(lms) == before  # a staff card is the service's own
    await set_mode(hass, "smart")
    building.raise_fire_alarm()
    entry = hass.config_entries.async_entries(DOMAIN)[0]
    await entry.runtime_data.branches["branch_oadby"].coordinator.async_refresh()
    assert (await request(hass, ADULT, ADULT_PIN))["reason"] == "fire_alarm"
    assert asked(lms) == before


@pytest.mark.usefixtures("library")
async def test_the_lockout_holds_before_the_lms(
    hass: HomeAssistant, hass_client_no_auth: ClientFactory, lms: SimulatedLms
) -> None:
    """Five wrong PINs lock the card: the sixth attempt, right PIN or not, never reaches the LMS."""
    reasons = [(await request(hass, ADULT, f"99{n:02d}"))["reason"] for n in range(5)]
    assert reasons == ["wrong_pin"] * 5
    before = asked(lms)
    assert (await request(hass, ADULT, ADULT_PIN))["reason"] == "locked_out"
    ask = await reader(hass, hass_client_no_auth)
    assert (await ask(ADULT, ADULT_PIN))[1]["reason"] == "locked_out"
    assert asked(lms) == before
    # A stranger's number is counted and locked out the same way.
    for n in range(5):
        await request(hass, STRANGER, f"99{n:02d}")
    assert (await request(hass, STRANGER, "1234"))["reason"] == "locked_out"


# -- the LMS away ---------------------------------------------------------------------------------


async def _granted_online(hass: HomeAssistant) -> None:
    """Make the adult a member granted online a moment ago (the cache remembers them)."""
    await request(hass, ADULT, ADULT_PIN)
    await induct(hass, ADULT)
    assert (await request(hass, ADULT, ADULT_PIN))["reason"] == "granted"
    await system_of(hass).gateway.drain()


@pytest.mark.usefixtures("library")
async def test_lms_down_recent_member_in_stranger_out(
    hass: HomeAssistant,
    hass_client_no_auth: ClientFactory,
    building: SimulatedBuilding,
    lms: SimulatedLms,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Connection refused: a member granted recently gets in; the next requests ask no one.

    Unknown cards (and members never granted) are refused; the entity is off, a repair
    issue says so; when the LMS is back both go.
    """
    await _granted_online(hass)
    calls: list[str] = []
    real = Sip2Client.patron_information

    async def spy(self: Sip2Client, card: str, pin: str) -> Any:
        calls.append(card)
        return await real(self, card, pin)

    monkeypatch.setattr(Sip2Client, "patron_information", spy)
    ask = await reader(hass, hass_client_no_auth)
    await lms.set_down(True)
    first = await request(hass, ADULT, ADULT_PIN)
    assert (first["granted"], first["reason"]) == (True, "granted_offline")
    assert len(calls) == 1  # the one attempt that found the LMS away
    status, reply = await ask(ADULT, ADULT_PIN)
    assert (status, reply["granted"], reply["reason"]) == (
        HTTPStatus.OK,
        True,
        "granted_offline",
    )
    assert (await request(hass, ADULT, "9999"))["reason"] == "wrong_pin"
    stranger = await request(hass, STRANGER, "1234")
    assert (stranger["granted"], stranger["reason"]) == (False, "lms_unavailable")
    assert (await ask(STRANGER, "1234"))[1]["reason"] == "not_recognised"
    never = await request(hass, *TEEN)
    assert never["reason"] == "lms_unavailable"
    assert len(calls) == 1  # the breaker is open: no one waited for the LMS again
    assert releases(building) == 3  # the two grants, and the one before the LMS went
    await hass.async_block_till_done()
    state = hass.states.get(REACHABLE)
    assert (state.state, state.attributes["failure"]) == ("off", "connection")
    system = system_of(hass)
    issue = ir.async_get(hass).async_get_issue(DOMAIN, system.issue_id)
    assert issue is not None and issue.translation_key == "lms_unreachable"
    assert issue.translation_placeholders["days"] == "1"  # the default offline period

    await lms.set_down(False)
    assert await system.gateway.probe()
    await hass.async_block_till_done()
    assert hass.states.get(REACHABLE).state == "on"
    assert ir.async_get(hass).async_get_issue(DOMAIN, system.issue_id) is None
    assert (await request(hass, ADULT, ADULT_PIN))["reason"] == "granted"
    assert len(calls) == 2


@pytest.mark.usefixtures("library")
async def test_lms_slow_waits_once(hass: HomeAssistant, lms: SimulatedLms) -> None:
    """Answers later than the timeout: the first request waits it out, the next ones do not."""
    await _granted_online(hass)
    lms.faults.delay = 5.0
    before = asked(lms)
    first = await request(hass, ADULT, ADULT_PIN)
    assert first["reason"] == "granted_offline"
    assert asked(lms) == before + 1
    for _ in range(3):
        assert (await request(hass, ADULT, ADULT_PIN))["reason"] == "granted_offline"
    assert asked(lms) == before + 1  # straight to the cache
    assert system_of(hass).failure is not None
    assert system_of(hass).failure.value == "timeout"


@pytest.mark.usefixtures("library")
async def test_lms_back_is_noticed_by_the_probe(
    hass: HomeAssistant, lms: SimulatedLms, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While it is away the LMS is tried now and then; once it answers, the doors ask it again."""
    entry = hass.config_entries.async_entries(DOMAIN)[0]
    monkeypatch.setattr(library_system, "PROBE_INTERVAL", 0.05)
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    await set_mode(hass, "smart")
    await lms.set_down(True)
    await request(hass, ADULT, ADULT_PIN)
    await hass.async_block_till_done()
    assert hass.states.get(REACHABLE).state == "off"
    system = system_of(hass)
    back = asyncio.Event()
    system.add_listener(lambda: back.set() if system.reachable else None)
    await lms.set_down(False)
    async with asyncio.timeout(30):  # a bound on a hang, not a measurement
        await back.wait()
    await hass.async_block_till_done()
    assert hass.states.get(REACHABLE).state == "on"
    assert (await request(hass, ADULT, ADULT_PIN))["reason"] == "induction_needed"


@pytest.mark.usefixtures("library")
async def test_lms_answering_garbage(hass: HomeAssistant, lms: SimulatedLms) -> None:
    """Not SIP2: decided offline (an unknown card refused), the entity says why."""
    await _granted_online(hass)
    lms.faults.garbage = True
    assert (await request(hass, ADULT, ADULT_PIN))["reason"] == "granted_offline"
    assert (await request(hass, STRANGER, "1234"))["reason"] == "lms_unavailable"
    await hass.async_block_till_done()
    assert hass.states.get(REACHABLE).attributes["failure"] == "malformed"


@pytest.mark.usefixtures("library")
async def test_lms_asks_for_a_resend(hass: HomeAssistant, lms: SimulatedLms) -> None:
    """The LMS answers 96: the request is sent again, and decided online."""
    lms.faults.resend = 1
    before = asked(lms)
    assert (await request(hass, *LOST))["reason"] == "card_reported_lost"
    assert asked(lms) == before + 2
    assert system_of(hass).reachable


async def test_login_refused_starts_a_reauthentication(
    hass: HomeAssistant,
    lms: SimulatedLms,
    mock_config_entry: MockConfigEntry,
) -> None:
    """The LMS refuses the SIP login: the doors go offline, a reauth flow and an issue appear.

    The login is not repeated meanwhile (a wrong password repeated could lock the account).
    Putting the account right through the flow brings the LMS back.
    """
    lms.faults.refuse_login = True
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [f["context"]["source"] for f in flows] == [SOURCE_REAUTH]
    issue = ir.async_get(hass).async_get_issue(DOMAIN, system_of(hass).issue_id)
    assert issue is not None and issue.translation_key == "lms_login_refused"
    assert hass.states.get(REACHABLE).attributes["failure"] == "login_refused"
    await set_mode(hass, "smart")
    assert (await request(hass, ADULT, ADULT_PIN))["reason"] == "lms_unavailable"
    assert lms.received.count("93") == 1

    lms.faults.refuse_login = False
    result = await hass.config_entries.flow.async_configure(
        flows[0]["flow_id"], {"username": "sip", "password": "sip-password"}
    )
    assert (result["type"], result["reason"]) == ("abort", "reauth_successful")
    await hass.async_block_till_done()
    assert system_of(hass).reachable
    assert hass.states.get(REACHABLE).state == "on"
    assert ir.async_get(hass).async_get_issue(DOMAIN, system_of(hass).issue_id) is None
    await set_mode(hass, "smart")
    assert (await request(hass, ADULT, ADULT_PIN))["reason"] == "induction_needed"


async def test_the_service_sets_up_with_its_lms_away(
    hass: HomeAssistant,
    lms: SimulatedLms,
    building: SimulatedBuilding,
    mock_config_entry: MockConfigEntry,
) -> None:
    """The building does not wait for the LMS: doors, fire alarm and hours work without it."""
    await lms.set_down(True)
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    assert hass.states.get("binary_sensor.oadby_library_fire_alarm").state == "off"
    assert hass.states.get(REACHABLE).state == "off"
    await set_mode(hass, "smart")
    assert (await request(hass, ADULT, ADULT_PIN))["reason"] == "lms_unavailable"
    assert await hass.config_entries.async_unload(mock_config_entry.entry_id)
    assert (
        ir.async_get(hass).async_get_issue(
            DOMAIN, f"lms_unreachable_{mock_config_entry.entry_id}"
        )
        is None
    )


@pytest.mark.usefixtures("library")
async def test_an_lms_gone_quiet_is_noticed_without_a_visitor(
    hass: HomeAssistant, lms: SimulatedLms
) -> None:
    """No one at the doors: the minute's status check sees the LMS gone (entity, issue)."""
    assert hass.states.get(REACHABLE).state == "on"
    system = system_of(hass)
    gone = asyncio.Event()
    system.add_listener(lambda: gone.set() if system.reachable is False else None)
    await lms.set_down(True)
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=61))
    async with asyncio.timeout(30):  # a bound on a hang, not a measurement
        await gone.wait()
    await hass.async_block_till_done()
    assert hass.states.get(REACHABLE).state == "off"
    assert ir.async_get(hass).async_get_issue(DOMAIN, system_of(hass).issue_id)
    before = asked(lms)
    assert (await request(hass, ADULT, ADULT_PIN))["reason"] == "lms_unavailable"
    assert asked(lms) == before  # the breaker was already open: no wait at the door


async def test_tls_unverified(
    hass: HomeAssistant,
    building: SimulatedBuilding,
    tmp_path: Path,
    socket_enabled: None,
) -> None:
    """An LMS behind TLS with a certificate no authority signed, verification turned off.

    (A verified connection to it fails before any PIN is sent: tests/test_sip2_server.py and
    the config flow's `tls_failed`.)
    """
    cert, key = self_signed(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    sim = SimulatedLms(ssl_context=context)
    await sim.start()
    try:
        entry = MockConfigEntry(
            domain=DOMAIN,
            title="Shire Libraries",
            data=sip2_data(sim, tls=True, verify_ssl=False),
            options={CONF_LMS_TIMEOUT: TIMEOUT},
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
        entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
        assert hass.states.get(REACHABLE).state == "on"
        await set_mode(hass, "smart")
        answer = await request(hass, ADULT, ADULT_PIN)
        assert answer["reason"] == "induction_needed"
        assert await hass.config_entries.async_unload(entry.entry_id)
    finally:
        await sim.stop()
