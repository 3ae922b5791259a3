"""Attacks on room bookings: who may book or cancel, where the card ends up, a booking for ever.

A booking decides who may open a meeting-room door, and when: only an administrator may make or
cancel one, over every way in (the action, REST, the websocket). A booking never leaves the
booker's card in an event, a state or the recorder's database.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from http import HTTPStatus
import json
from typing import Any

from aiohttp.test_utils import TestClient
from homeassistant.auth.const import GROUP_ID_USER
from homeassistant.components.recorder import Recorder, get_instance
from homeassistant.components.recorder.util import session_scope
from homeassistant.const import ATTR_ENTITY_ID, MATCH_ALL
from homeassistant.core import Context, Event, HomeAssistant
from homeassistant.exceptions import ServiceValidationError, Unauthorized
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    CLIENT_ID,
    MockConfigEntry,
    MockUser,
)
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
)
from pytest_homeassistant_custom_component.typing import (
    ClientSessionGenerator,
    MockHAClientWebSocket,
    RecorderInstanceContextManager,
    WebSocketGenerator,
)
from sqlalchemy import text

from custom_components.smart_library.const import DOMAIN
from tests.components.test_calendar import (
    CALENDAR,
    CARD,
    branch_device,
    stored,
    ui_create,
)

pytestmark = pytest.mark.usefixtures("socket_enabled")

# The part of the card that is never shown (the mask shows its last four digits).
HIDDEN = CARD[:-4]


@pytest.fixture
def mock_recorder_before_hass(
    async_setup_recorder_instance: RecorderInstanceContextManager,
) -> None:
    """Have the recorder's database ready before Home Assistant starts (it is searched)."""


@pytest.fixture
async def member(hass: HomeAssistant, init_integration: MockConfigEntry) -> str:
    """Enroll an inducted adult member; return the card."""
    today = dt_util.now().date()
    await hass.services.async_call(
        DOMAIN,
        "enroll_member",
        {
            "card": CARD,
            "birth_date": "1970-01-01",
            "card_expiry": today + timedelta(days=365),
            "induction_date": today,
            "pin": "1357",
        },
        blocking=True,
    )
    return CARD


@pytest.fixture
async def staff_user(hass: HomeAssistant) -> MockUser:
    """Return a non-admin Home Assistant user (staff, or a door reader's old account)."""
    user = MockUser(groups=[await hass.auth.async_get_group(GROUP_ID_USER)])
    user.add_to_hass(hass)
    assert not user.is_admin
    return user


@pytest.fixture
async def staff_token(hass: HomeAssistant, staff_user: MockUser) -> str:
    """Return an access token of the non-admin user."""
    refresh = await hass.auth.async_create_refresh_token(staff_user, CLIENT_ID)
    return hass.auth.async_create_access_token(refresh)


def _action_data(start: datetime, end: datetime, description: str) -> dict[str, Any]:
    """Return `calendar.create_event` data for a booking of the room."""
    return {
        ATTR_ENTITY_ID: CALENDAR,
        "summary": "Take-over",
        "description": description,
        "start_date_time": start.isoformat(),
        "end_date_time": end.isoformat(),
    }


async def test_non_admins_cannot_book_or_cancel(
    hass: HomeAssistant,
    member: str,
    *,
    hass_read_only_user: MockUser,
    hass_read_only_access_token: str,
    staff_user: MockUser,
    staff_token: str,
    hass_ws_client: WebSocketGenerator,
    hass_client: ClientSessionGenerator,
) -> None:
    """A read-only user and a non-admin are refused by the action, REST and the websocket."""
    for component in ("api", "websocket_api"):  # both before the HTTP server starts
        assert await async_setup_component(hass, component, {})
    start = dt_util.now() + timedelta(minutes=5)
    end = start + timedelta(hours=1)
    for user, token in (
        (hass_read_only_user, hass_read_only_access_token),
        (staff_user, staff_token),
    ):
        with pytest.raises(Unauthorized):
            await hass.services.async_call(
                "calendar",
                "create_event",
                _action_data(start, end, member),
                blocking=True,
                context=Context(user_id=user.id),
            )
        response = await (await hass_client(token)).post(
            "/api/services/calendar/create_event", json=_action_data(start, end, member)
        )
        assert response.status == HTTPStatus.UNAUTHORIZED
        client = await hass_ws_client(hass, access_token=token)
        reply = await ui_create(client, start, end, description=member)
        assert not reply["success"]
        await client.send_json_auto_id(
            {
                "type": "call_service",
                "domain": "calendar",
                "service": "create_event",
                "service_data": _action_data(start, end, member),
            }
        )
        assert not (await client.receive_json())["success"]
    assert await stored(hass) == []

    # An administrator's booking cannot be cancelled by them either.
    admin = await hass_ws_client(hass)
    assert (await ui_create(admin, start, end, description=member))["success"]
    (booking,) = await stored(hass)
    for token in (hass_read_only_access_token, staff_token):
        client = await hass_ws_client(hass, access_token=token)
        await client.send_json_auto_id(
            {"type": "calendar/event/delete", "entity_id": CALENDAR, "uid": booking.id}
        )
        assert not (await client.receive_json())["success"]
    assert await stored(hass) == [booking]


async def test_staff_message_is_translated(
    hass: HomeAssistant,
    member: str,
    staff_token: str,
    hass_ws_client: WebSocketGenerator,
) -> None:
    """The calendar card shows the staff member why (in their language), not a traceback."""
    client = await hass_ws_client(hass, access_token=staff_token)
    start = dt_util.now() + timedelta(minutes=5)
    reply = await ui_create(
        client, start, start + timedelta(hours=1), description=member
    )
    assert reply["error"] == {
        "code": "failed",
        "message": "Only an administrator can book or cancel a meeting room",
    }


async def test_an_admins_context_cannot_be_borrowed(
    hass: HomeAssistant,
    member: str,
    *,
    hass_admin_user: MockUser,
    staff_user: MockUser,
    staff_token: str,
    hass_ws_client: WebSocketGenerator,
) -> None:
    """Right after an administrator's action on the calendar, a non-admin's UI call is refused.

    The entity keeps the context of the last action on it for a few seconds: the UI path must
    not take that for the caller. The reverse holds too: a non-admin's recent action does not
    lock an administrator out of the UI.
    """
    start = dt_util.now() + timedelta(minutes=5)
    end = start + timedelta(hours=1)
    await hass.services.async_call(
        "calendar",
        "get_events",
        {ATTR_ENTITY_ID: CALENDAR, "duration": {"hours": 1}},
        blocking=True,
        return_response=True,
        context=Context(user_id=hass_admin_user.id),
    )
    staff = await hass_ws_client(hass, access_token=staff_token)
    assert not (await ui_create(staff, start, end, description=member))["success"]
    assert await stored(hass) == []

    await hass.services.async_call(
        "calendar",
        "get_events",
        {ATTR_ENTITY_ID: CALENDAR, "duration": {"hours": 1}},
        blocking=True,
        return_response=True,
        context=Context(user_id=staff_user.id),
    )
    admin = await hass_ws_client(hass)
    assert (await ui_create(admin, start, end, description=member))["success"]


def _contains_card(value: Any) -> bool:
    """Return True when the hidden part of the card appears anywhere in a value."""
    return HIDDEN in json.dumps(value, default=str)


async def _book(
    hass: HomeAssistant,
    way: str,
    card: str,
    ws: MockHAClientWebSocket,
    rest: TestClient,
) -> None:
    """Try to book the room one way, as an administrator, with the card as that way takes it."""
    start = dt_util.now().replace(microsecond=0) + timedelta(hours=1)
    end = start + timedelta(hours=1)
    if way == "calendar UI":
        reply = await ui_create(
            ws, start, end, description=f"Booked by Ann Reader, card {card}"
        )
        assert reply["success"], reply
    elif way == "book_room action":
        await hass.services.async_call(
            DOMAIN,
            "book_room",
            {"branch": branch_device(hass), "card": card, "start": start, "end": end},
            blocking=True,
        )
    elif way == "book_room over REST":
        response = await rest.post(
            "/api/services/smart_library/book_room",
            json={
                "branch": branch_device(hass),
                "card": card,
                "start": start.isoformat(),
                "end": end.isoformat(),
            },
        )
        assert response.status == HTTPStatus.OK
    elif way == "calendar.create_event action":
        with pytest.raises(ServiceValidationError) as err:
            await hass.services.async_call(
                "calendar",
                "create_event",
                _action_data(start, end, f"card {card}"),
                blocking=True,
            )
        assert err.value.translation_key == "booking_use_book_room"
    else:  # calendar.create_event over REST
        response = await rest.post(
            "/api/services/calendar/create_event",
            json=_action_data(start, end, f"card {card}"),
        )
        assert response.status == HTTPStatus.BAD_REQUEST
        assert "smart_library.book_room" in (await response.json())["message"]


@pytest.mark.parametrize(
    "way",
    [
        "calendar UI",
        "book_room action",
        "book_room over REST",
        "calendar.create_event action",
        "calendar.create_event over REST",
    ],
)
async def test_no_booking_carries_the_card(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    member: str,
    *,
    hass_ws_client: WebSocketGenerator,
    hass_client: ClientSessionGenerator,
    way: str,
) -> None:
    """Whichever way a room is booked, no event, state or recorded row carries the card.

    `calendar.create_event` (the way the README used to give) books nothing: Home Assistant has
    put its data, card included, in the `call_service` event before any integration sees the
    call, so the calendar refuses it and names `smart_library.book_room` instead.
    """
    for component in ("api", "websocket_api"):  # both before the HTTP server starts
        assert await async_setup_component(hass, component, {})
    ws = await hass_ws_client(hass)
    rest = await hass_client()
    seen: list[Event] = []
    remove: Callable[[], None] = hass.bus.async_listen(MATCH_ALL, seen.append)
    await _book(hass, way, member, ws, rest)
    await async_wait_recording_done(hass)
    remove()
    if way.startswith("calendar.create_event"):
        assert await stored(hass) == []  # refused: no booking rests on a recorded card
        return

    assert len(await stored(hass)) == 1
    assert [e.event_type for e in seen if _contains_card(e.data)] == []
    for state in hass.states.async_all():
        assert not _contains_card(state.as_dict()), state.entity_id

    def rows() -> list[str]:
        with session_scope(hass=hass, read_only=True) as session:
            return [
                str(row[0])
                for query in (
                    "SELECT shared_data FROM event_data",
                    "SELECT shared_attrs FROM state_attributes",
                    "SELECT state FROM states",
                )
                for row in session.execute(text(query))
            ]

    recorded = await get_instance(hass).async_add_executor_job(rows)
    assert any("Room bookings" in row for row in recorded)  # the recorder was writing …
    assert [row for row in recorded if HIDDEN in row] == []  # … and never the card


@pytest.mark.parametrize(
    ("time_zone", "end"),
    [
        ("Europe/Copenhagen", "9999-12-31T23:59:59+01:00"),
        ("UTC", "9999-12-31T23:59:59+00:00"),
        # West of Greenwich, Home Assistant's calendar itself cannot convert this end to UTC and
        # refuses it ("unknown error") before any integration sees it: still nothing is kept.
        ("US/Pacific", "9999-12-31T23:59:59-08:00"),
    ],
)
async def test_a_booking_for_ever_is_refused(
    hass: HomeAssistant,
    member: str,
    hass_ws_client: WebSocketGenerator,
    time_zone: str,
    end: str,
) -> None:
    """A booking ending 9999-12-31T23:59:59: refused, nothing stored, no room for ever."""
    await hass.config.async_set_time_zone(time_zone)
    client = await hass_ws_client(hass)
    start = dt_util.now().replace(microsecond=0) + timedelta(hours=1)
    await client.send_json_auto_id(
        {
            "type": "calendar/event/create",
            "entity_id": CALENDAR,
            "event": {
                "summary": "For ever",
                "description": member,
                "dtstart": start.isoformat(),
                "dtend": end,
            },
        }
    )
    reply = await client.receive_json()
    assert not reply["success"]
    if time_zone != "US/Pacific":
        assert reply["error"]["code"] == "failed"
        assert "at most" in reply["error"]["message"]
    assert HIDDEN not in json.dumps(reply)
    assert await stored(hass) == []
