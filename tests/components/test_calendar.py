"""The room-bookings calendar: booked from the UI or with book_room, never with the card recorded."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from homeassistant.const import ATTR_ENTITY_ID
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import device_registry as dr
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import (
    MockHAClientWebSocket,
    WebSocketGenerator,
)

from custom_components.smart_library.const import DOMAIN
from simulator.building import SimulatedBuilding

CARD = "21234000000077"
PIN = "1357"
CALENDAR = "calendar.oadby_library_room_bookings"

pytestmark = pytest.mark.usefixtures("socket_enabled")


@pytest.fixture
async def member(hass: HomeAssistant, init_integration: MockConfigEntry) -> str:
    """Enroll an inducted adult member; put the branch in smart hours; return the card."""
    today = dt_util.now().date()
    await hass.services.async_call(
        DOMAIN,
        "enroll_member",
        {
            "card": CARD,
            "birth_date": "1970-01-01",
            "card_expiry": today + timedelta(days=365),
            "induction_date": today,
            "pin": PIN,
        },
        blocking=True,
    )
    await hass.services.async_call(
        "select",
        "select_option",
        {ATTR_ENTITY_ID: "select.oadby_library_mode_override", "option": "smart"},
        blocking=True,
    )
    return CARD


def branch_device(hass: HomeAssistant) -> str:
    """Return the device id of the simulated branch."""
    entry = hass.config_entries.async_entries(DOMAIN)[0]
    device = dr.async_get(hass).async_get_device_by_identifier(
        (DOMAIN, "branch_oadby"), entry.entry_id
    )
    assert device is not None
    return device.id


async def ui_create(
    client: MockHAClientWebSocket, start: datetime, end: datetime, **event: Any
) -> dict[str, Any]:
    """Create a calendar event as Home Assistant's calendar card does; return the reply."""
    await client.send_json_auto_id(
        {
            "type": "calendar/event/create",
            "entity_id": CALENDAR,
            "event": {
                "summary": "Knit and natter",
                "dtstart": start.isoformat(),
                "dtend": end.isoformat(),
            }
            | event,
        }
    )
    reply: dict[str, Any] = await client.receive_json()
    return reply


async def stored(hass: HomeAssistant) -> list[Any]:
    """Return the bookings the member store holds for the branch."""
    entry = hass.config_entries.async_entries(DOMAIN)[0]
    access = entry.runtime_data.access
    return list(
        await hass.async_add_executor_job(access.store.bookings, "branch_oadby")
    )


async def request_room(hass: HomeAssistant, card: str) -> dict[str, Any]:
    """Ask for the meeting-room door with a card and PIN."""
    response: dict[str, Any] = await hass.services.async_call(
        DOMAIN,
        "request_access",
        {
            "branch": branch_device(hass),
            "door": "meeting_room",
            "card": card,
            "pin": PIN,
        },
        blocking=True,
        return_response=True,
    )
    return response


async def test_ui_booking_opens_the_room_for_the_booker(
    hass: HomeAssistant,
    member: str,
    building: SimulatedBuilding,
    hass_ws_client: WebSocketGenerator,
) -> None:
    """An administrator books in the calendar UI; the room opens for that card, shown masked."""
    client = await hass_ws_client(hass)
    start = dt_util.now() + timedelta(minutes=5)
    reply = await ui_create(
        client, start, start + timedelta(hours=1), description=f"card {member}"
    )
    assert reply["success"], reply
    state = hass.states.get(CALENDAR)
    assert state is not None
    assert state.attributes["message"] == "Knit and natter"
    assert state.attributes["description"] == "Booked with card ••••0077"
    assert member not in str(state.attributes)
    answer = await request_room(hass, member)
    assert (answer["granted"], answer["door"]) == (True, "meeting_room")


async def test_calendar_action_points_to_book_room(
    hass: HomeAssistant, member: str
) -> None:
    """`calendar.create_event` books nothing, whatever it carries; the error names book_room."""
    start = dt_util.now() + timedelta(minutes=5)
    for description in (f"card {member}", "Knit and natter group", ""):
        with pytest.raises(ServiceValidationError) as err:
            await hass.services.async_call(
                "calendar",
                "create_event",
                {
                    ATTR_ENTITY_ID: CALENDAR,
                    "summary": "Knit and natter",
                    "description": description,
                    "start_date_time": start,
                    "end_date_time": start + timedelta(hours=1),
                },
                blocking=True,
            )
        assert err.value.translation_key == "booking_use_book_room"
        assert "smart_library.book_room" in str(err.value)
    assert await stored(hass) == []


async def test_book_room_action_books(hass: HomeAssistant, member: str) -> None:
    """`smart_library.book_room` is the way for automations and scripts."""
    start = dt_util.now() + timedelta(minutes=5)
    response = await hass.services.async_call(
        DOMAIN,
        "book_room",
        {
            "branch": branch_device(hass),
            "card": member,
            "start": start,
            "end": start + timedelta(hours=1),
            "title": "Knit and natter",
        },
        blocking=True,
        return_response=True,
    )
    assert response is not None
    assert response["room"] == "meeting_room"
    (booking,) = await stored(hass)
    assert booking.title == "Knit and natter"
    await hass.async_block_till_done()  # the calendar hears of it by a signal
    assert hass.states.get(CALENDAR).attributes["message"] == "Knit and natter"
    assert (await request_room(hass, member))["granted"]


async def test_ui_refusals_keep_nothing(
    hass: HomeAssistant, member: str, hass_ws_client: WebSocketGenerator
) -> None:
    """A repeating event, a booking without a card, an overlap: translated, nothing kept."""
    client = await hass_ws_client(hass)
    start = dt_util.now() + timedelta(hours=1)
    end = start + timedelta(hours=1)
    reply = await ui_create(
        client, start, end, description=f"card {member}", rrule="FREQ=WEEKLY"
    )
    assert not reply["success"]
    assert reply["error"]["message"] == (
        "Room bookings do not repeat: book each date on its own"
    )
    reply = await ui_create(client, start, end, description="Knit and natter group")
    assert not reply["success"]
    assert "card number" in reply["error"]["message"]
    assert await stored(hass) == []
    assert (await ui_create(client, start, end, description=member))["success"]
    reply = await ui_create(
        client, start + timedelta(minutes=30), end, description=member
    )
    assert not reply["success"]
    assert "already booked" in reply["error"]["message"]
    assert len(await stored(hass)) == 1


async def test_admin_cancels_in_the_ui(
    hass: HomeAssistant, member: str, hass_ws_client: WebSocketGenerator
) -> None:
    """Cancelling from the calendar removes the booking; the room stays shut for the card."""
    client = await hass_ws_client(hass)
    start = dt_util.now() + timedelta(minutes=5)
    await ui_create(client, start, start + timedelta(hours=1), description=member)
    (booking,) = await stored(hass)
    await client.send_json_auto_id(
        {"type": "calendar/event/delete", "entity_id": CALENDAR, "uid": booking.id}
    )
    assert (await client.receive_json())["success"]
    assert await stored(hass) == []
    assert (await request_room(hass, member))["reason"] == "room_not_booked"
