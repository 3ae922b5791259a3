"""Access settings and lifecycle: options, calendar UI bookings, logbook lines, removal."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import Event, HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import device_registry as dr
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import WebSocketGenerator

from custom_components.smart_library.access.decisions import store_path
from custom_components.smart_library.calendar import card_in_text
from custom_components.smart_library.const import DOMAIN, EVENT_ACCESS, EVENT_TAILGATING
from custom_components.smart_library.logbook import async_describe_events
from simulator.building import SimulatedBuilding
from tests.components.conftest import branch_device

CARD = "21234000000099"
CALENDAR = "calendar.oadby_library_room_bookings"


async def _enroll(hass: HomeAssistant, pin: str = "2468") -> None:
    today = dt_util.now().date()
    await hass.services.async_call(
        DOMAIN,
        "enroll_member",
        {
            "card": CARD,
            "birth_date": "1975-05-05",
            "card_expiry": today + timedelta(days=100),
            "induction_date": today,
            "pin": pin,
        },
        blocking=True,
    )
    await hass.services.async_call(
        "select",
        "select_option",
        {"entity_id": "select.oadby_library_mode_override", "option": "smart"},
        blocking=True,
    )


async def _ask(hass: HomeAssistant, pin: str) -> str:
    entry = hass.config_entries.async_entries(DOMAIN)[0]
    device = dr.async_get(hass).async_get_device_by_identifier(
        (DOMAIN, "branch_oadby"), entry.entry_id
    )
    assert device is not None
    response = await hass.services.async_call(
        DOMAIN,
        "request_access",
        {"branch": device.id, "card": CARD, "pin": pin},
        blocking=True,
        return_response=True,
    )
    return str(response["reason"])


async def test_lockout_options(
    hass: HomeAssistant, init_integration: MockConfigEntry, building: SimulatedBuilding
) -> None:
    """The service's options set the lock-out; the entry reloads and the store keeps members.

    *Configure* is a menu: the staff alerts first, then card + PIN access; each saves alone.
    """
    await _enroll(hass)
    result = await hass.config_entries.options.async_init(init_integration.entry_id)
    assert result["type"] is FlowResultType.MENU
    assert result["menu_options"] == ["safety", "access"]
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"next_step_id": "access"}
    )
    assert result["type"] is FlowResultType.FORM
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {
            "lockout_attempts": 2,
            "lockout_window": 10,
            "lockout_minutes": 60,
            "room_grace": 5,
            "reader_refusals": 4,
            "reader_throttle_minutes": 30,
        },
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    result = await hass.config_entries.options.async_init(init_integration.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"next_step_id": "safety"}
    )
    assert result["step_id"] == "safety"
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {
            "escalation_minutes": 10,
            "incident_retention_days": 90,
            "announcement_languages": ["en", "cy"],
        },
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert init_integration.state is ConfigEntryState.LOADED
    assert init_integration.options["lockout_attempts"] == 2
    safety = init_integration.runtime_data.safety.settings
    assert (safety.escalation_minutes, safety.retention_days) == (10, 90)
    assert safety.languages == ("en", "cy")
    assert safety.on_call == ()
    assert init_integration.options["reader_refusals"] == 4
    assert init_integration.options["reader_throttle_minutes"] == 30
    await hass.services.async_call(
        "select",
        "select_option",
        {"entity_id": "select.oadby_library_mode_override", "option": "smart"},
        blocking=True,
    )
    assert await _ask(hass, "0000") == "wrong_pin"
    assert await _ask(hass, "0000") == "wrong_pin"
    assert await _ask(hass, "2468") == "locked_out"


async def test_lockout_survives_a_restart(
    hass: HomeAssistant, init_integration: MockConfigEntry, building: SimulatedBuilding
) -> None:
    """Reloading (or restarting) Home Assistant does not lift a lock-out."""
    await _enroll(hass)
    for _ in range(5):
        await _ask(hass, "0000")
    await hass.config_entries.async_reload(init_integration.entry_id)
    await hass.async_block_till_done()
    await hass.services.async_call(
        "select",
        "select_option",
        {"entity_id": "select.oadby_library_mode_override", "option": "smart"},
        blocking=True,
    )
    assert await _ask(hass, "2468") == "locked_out"


async def test_calendar_ui_booking_and_cancel(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    building: SimulatedBuilding,
    hass_ws_client: WebSocketGenerator,
) -> None:
    """The calendar card books and cancels a room as Home Assistant's UI does."""
    await _enroll(hass)
    client = await hass_ws_client(hass)
    start = dt_util.now() + timedelta(hours=1)
    await client.send_json_auto_id(
        {
            "type": "calendar/event/create",
            "entity_id": CALENDAR,
            "event": {
                "summary": "Family history group",
                "description": f"Booked by Ann Reader, card {CARD}",
                "location": "Meeting room",
                "dtstart": start.isoformat(),
                "dtend": (start + timedelta(hours=2)).isoformat(),
            },
        }
    )
    assert (await client.receive_json())["success"]
    events = await hass.services.async_call(
        "calendar",
        "get_events",
        {"entity_id": CALENDAR, "duration": {"hours": 4}},
        blocking=True,
        return_response=True,
    )
    (booking,) = events[CALENDAR]["events"]
    assert booking["summary"] == "Family history group"
    assert booking["location"] == "meeting_room"
    entry = hass.config_entries.async_entries(DOMAIN)[0]
    bookings = await hass.async_add_executor_job(
        entry.runtime_data.access.store.bookings, "branch_oadby"
    )
    uid = bookings[0].id
    await client.send_json_auto_id(
        {"type": "calendar/event/delete", "entity_id": CALENDAR, "uid": uid}
    )
    assert (await client.receive_json())["success"]
    assert hass.states.get(CALENDAR).state == "off"
    # A room that does not exist is refused with the rooms there are.
    await client.send_json_auto_id(
        {
            "type": "calendar/event/create",
            "entity_id": CALENDAR,
            "event": {
                "summary": "x",
                "description": CARD,
                "location": "Ballroom",
                "dtstart": start.isoformat(),
                "dtend": (start + timedelta(hours=2)).isoformat(),
            },
        }
    )
    reply = await client.receive_json()
    assert not reply["success"]
    assert "meeting_room" in reply["error"]["message"]


def test_logbook_lines(hass: HomeAssistant) -> None:
    """Access attempts and tailgating read well in the logbook."""
    describers: dict[str, Callable[[Event], dict[str, str]]] = {}

    def register(domain: str, event: str, describe: Any) -> None:
        describers[event] = describe

    async_describe_events(hass, register)
    refused = describers[EVENT_ACCESS](
        Event(
            EVENT_ACCESS,
            {
                "branch": "Oadby Library",
                "door": "entrance",
                "granted": False,
                "reason": "induction_outdated",
                "card": "••••0099",
                "party": 0,
            },
        )
    )
    assert refused == {
        "name": "Oadby Library",
        "message": "refused at the entrance: new induction needed after card renewal "
        "(card ••••0099)",
    }
    family = describers[EVENT_ACCESS](
        Event(
            EVENT_ACCESS,
            {
                "branch": "Oadby Library",
                "door": "entrance",
                "granted": True,
                "reason": "granted",
                "card": "••••0099",
                "party": 3,
            },
        )
    )
    assert family["message"] == "let in at the entrance (3 people, card ••••0099)"
    tailgating = describers[EVENT_TAILGATING](
        Event(
            EVENT_TAILGATING,
            {
                "branch": "Oadby Library",
                "door": "entrance",
                "admitted": 1,
                "came_in": 3,
            },
        )
    )
    assert tailgating["message"] == (
        "tailgating at the entrance: 3 came in on a release for 1"
    )


@pytest.mark.usefixtures("building")
async def test_removing_the_service_deletes_member_data(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    hass_storage: dict[str, Any],
) -> None:
    """Members are personal data: removing the library service removes all it stored."""
    await _enroll(hass)
    await hass.services.async_call(
        DOMAIN,
        "add_event",
        {
            "branch": branch_device(hass),
            "title": "Author talk",
            "start": "2030-01-01T18:00:00+00:00",
            "end": "2030-01-01T20:00:00+00:00",
        },
        blocking=True,
    )
    await hass.async_block_till_done()
    prefix = f"{DOMAIN}.{init_integration.entry_id}"
    assert any(key.startswith(prefix) for key in hass_storage)
    path = store_path(hass, init_integration.entry_id)
    assert path.exists()
    await hass.config_entries.async_remove(init_integration.entry_id)
    await hass.async_block_till_done()
    assert not path.exists()
    assert not list(path.parent.glob(f"{init_integration.entry_id}*"))
    assert not [key for key in hass_storage if key.startswith(prefix)]


@pytest.mark.parametrize(
    ("text", "card"),
    [
        ("21230000000011", "21230000000011"),
        ("Booked by Jane Smith, card 21230000000011", "21230000000011"),
        ("Card no. 21230000000011 (Jane)", "21230000000011"),
        ("Jane Smith 21230000000011", "21230000000011"),
        ("Booked by Jane Smith", None),
    ],
)
def test_the_card_in_a_booking_description(text: str, card: str | None) -> None:
    """A booking's description may say the card as people write it; a name is not a card."""
    assert card_in_text(text) == card
