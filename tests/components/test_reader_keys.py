"""Reader keys through Home Assistant: made by an admin, used at the door over HTTP, revoked."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date, timedelta
from http import HTTPStatus
import json
import logging
from typing import Any

from aiohttp.test_utils import TestClient
from freezegun.api import FrozenDateTimeFactory
from homeassistant.auth.const import GROUP_ID_USER
from homeassistant.const import ATTR_ENTITY_ID, ATTR_OPTION
from homeassistant.core import Context, Event, HomeAssistant
from homeassistant.exceptions import ServiceValidationError, Unauthorized
from homeassistant.helpers import device_registry as dr
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    CLIENT_ID,
    MockConfigEntry,
    MockUser,
    async_capture_events,
    async_fire_time_changed,
)
from pytest_homeassistant_custom_component.typing import WebSocketGenerator

from custom_components.smart_library.access.reader_keys import (
    EVENT_READER_THROTTLED,
    READER_KEY_HEADER,
    STORAGE_KEY,
)
from custom_components.smart_library.const import DOMAIN, EVENT_ACCESS, SUBENTRY_BRANCH
from simulator.building import SimulatedBuilding
from tests.components.conftest import branch_data

ADULT = "21234000000001"
STRANGER = "21239999000000"
PIN = "80417263"
ACCESS = "/api/smart_library/access"

type ClientFactory = Callable[[], Awaitable[TestClient]]


def device_of(hass: HomeAssistant, subentry_id: str) -> str:
    """Return the device id of a branch."""
    entry = hass.config_entries.async_entries(DOMAIN)[0]
    device = dr.async_get(hass).async_get_device_by_identifier(
        (DOMAIN, subentry_id), entry.entry_id
    )
    assert device is not None
    return device.id


async def call(
    hass: HomeAssistant, service: str, data: dict[str, Any], **kwargs: Any
) -> Any:
    """Call one of the integration's actions and return its response."""
    return await hass.services.async_call(
        DOMAIN, service, data, blocking=True, return_response=True, **kwargs
    )


@pytest.fixture
def mock_config_entry(building: SimulatedBuilding) -> MockConfigEntry:
    """Return a library service with two branches (both served by the simulated building)."""
    return MockConfigEntry(
        domain=DOMAIN,
        title="Shire Libraries",
        unique_id="shire_libraries",
        data={"name": "Shire Libraries", "backend": "local"},
        subentries_data=[
            {
                "data": branch_data(building),
                "subentry_id": subentry_id,
                "subentry_type": SUBENTRY_BRANCH,
                "title": title,
                "unique_id": f"127.0.0.1:{building.port}:{unit}",
            }
            for subentry_id, title, unit in (
                ("branch_oadby", "Oadby Library", 1),
                ("branch_wigston", "Wigston Library", 2),
            )
        ],
    )


@pytest.fixture
async def library(hass: HomeAssistant, init_integration: MockConfigEntry) -> None:
    """Enroll an inducted adult with PIN `PIN`, open Oadby in smart mode, have the key actions."""
    assert hass.services.has_service(DOMAIN, "create_reader_key")
    today = dt_util.now().date()
    await call(
        hass,
        "enroll_member",
        {
            "card": ADULT,
            "birth_date": date(1970, 1, 1),
            "card_expiry": today + timedelta(days=365),
            "induction_date": today,
            "pin": PIN,
        },
    )
    await hass.services.async_call(
        "select",
        "select_option",
        {
            ATTR_ENTITY_ID: "select.oadby_library_mode_override",
            ATTR_OPTION: "smart",
        },
        blocking=True,
    )


async def make_key(
    hass: HomeAssistant,
    doors: list[str] | None = None,
    branch: str = "branch_oadby",
    name: str = "Oadby porch",
) -> str:
    """Make a reader key as an admin would; return the key."""
    answer = await call(
        hass,
        "create_reader_key",
        {
            "branch": device_of(hass, branch),
            "doors": doors or ["entrance"],
            "name": name,
        },
    )
    assert answer["header"] == READER_KEY_HEADER
    token: str = answer["key"]
    return token


def releases(building: SimulatedBuilding, door: str = "entrance") -> int:
    """Return how many timed releases the controller was given for a door."""
    return sum(
        1 for key, value in building.writes if key == f"door.{door}.pulse" and value
    )


async def ask(
    client: TestClient, key: str | None, **body: Any
) -> tuple[int, dict[str, Any]]:
    """Ask for a door with a reader key; return the status and the JSON reply."""
    headers = {READER_KEY_HEADER: key} if key is not None else {}
    response = await client.post(
        ACCESS, json={"card": ADULT, "pin": PIN} | body, headers=headers
    )
    return response.status, await response.json()


@pytest.fixture
def access_events(hass: HomeAssistant) -> list[Event]:
    """Collect the staff-facing access events (one per decision taken)."""
    return async_capture_events(hass, EVENT_ACCESS)


@pytest.mark.usefixtures("library")
async def test_a_key_made_by_an_admin_opens_its_door(
    hass: HomeAssistant,
    building: SimulatedBuilding,
    hass_client_no_auth: ClientFactory,
) -> None:
    """The key from create_reader_key opens its door for a member; the list never shows it."""
    key = await make_key(hass)
    client = await hass_client_no_auth()
    status, reply = await ask(client, key)
    assert status == HTTPStatus.OK
    assert reply == {
        "granted": True,
        "reason": "granted",
        "door": "entrance",
        "release_seconds": 5,
        "party": 1,
        "message_key": "welcome",
        "text": "Welcome",
    }
    assert releases(building) == 1

    listing = await call(hass, "list_reader_keys", {})
    (entry,) = listing["reader_keys"]
    assert entry["name"] == "Oadby porch"
    assert entry["branch"] == "Oadby Library"
    assert entry["doors"] == ["entrance"]
    assert entry["created"] and entry["last_used"] and entry["revoked"] is None
    secret = key.split(".", 1)[1]
    assert secret not in json.dumps(listing)
    assert key.startswith(entry["id"] + ".")


@pytest.mark.usefixtures("library")
async def test_a_reader_is_told_not_recognised_for_a_stranger_and_a_wrong_pin(
    hass: HomeAssistant,
    hass_client_no_auth: ClientFactory,
    access_events: list[Event],
) -> None:
    """Unknown card and wrong PIN read the same at the door; staff's events keep the detail."""
    key = await make_key(hass)
    client = await hass_client_no_auth()
    _, stranger = await ask(client, key, card=STRANGER)
    _, wrong = await ask(client, key, pin="11111111")
    assert stranger == wrong
    assert stranger["reason"] == "not_recognised" and stranger["granted"] is False
    assert [e.data["reason"] for e in access_events] == ["unknown_card", "wrong_pin"]


@pytest.mark.usefixtures("library")
async def test_outside_its_scope_nothing_happens(
    hass: HomeAssistant,
    building: SimulatedBuilding,
    hass_client_no_auth: ClientFactory,
    access_events: list[Event],
) -> None:
    """Another door or another branch: 403, no decision, no wrong PIN counted."""
    key = await make_key(hass)
    client = await hass_client_no_auth()
    wigston = device_of(hass, "branch_wigston")
    for _ in range(6):  # more wrong PINs than the lock-out allows
        status, reply = await ask(client, key, door="meeting_room", pin="1111")
        assert (status, reply["code"]) == (HTTPStatus.FORBIDDEN, "door_not_allowed")
        status, reply = await ask(client, key, branch=wigston, pin="1111")
        assert (status, reply["code"]) == (HTTPStatus.FORBIDDEN, "branch_not_allowed")
    assert access_events == []
    assert releases(building, "meeting_room") == 0
    # A Wigston key cannot be pointed at Oadby either.
    wigston_key = await make_key(hass, branch="branch_wigston", name="Wigston porch")
    status, reply = await ask(
        client, wigston_key, branch=device_of(hass, "branch_oadby")
    )
    assert status == HTTPStatus.FORBIDDEN
    assert releases(building) == 0
    # The card was never counted against: its right PIN still opens the door.
    status, reply = await ask(client, key, branch=device_of(hass, "branch_oadby"))
    assert (status, reply["granted"]) == (HTTPStatus.OK, True)


@pytest.mark.usefixtures("library")
async def test_a_revoked_or_unknown_key_gets_401(
    hass: HomeAssistant,
    building: SimulatedBuilding,
    hass_client_no_auth: ClientFactory,
    access_events: list[Event],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Revoked, unknown, malformed or missing: 401, counted as a failed login, nothing decided."""
    key = await make_key(hass)
    other = await make_key(hass, name="Kiosk")
    client = await hass_client_no_auth()
    revoked = await call(hass, "revoke_reader_key", {"reader_key": "Oadby porch"})
    assert revoked["revoked"]
    key_id, secret = key.split(".", 1)
    with caplog.at_level(logging.WARNING):
        for bad in (key, f"{key_id}.{secret[::-1]}", "nonsense", secret, None):
            status, reply = await ask(client, bad)
            assert (status, reply["code"]) == (
                HTTPStatus.UNAUTHORIZED,
                "invalid_reader_key",
            )
    assert (
        caplog.text.count("Login attempt or request with invalid authentication") == 5
    )
    assert access_events == []
    assert releases(building) == 0
    # Another key goes on working; the revoked one is listed as revoked.
    status, _ = await ask(client, other)
    assert status == HTTPStatus.OK
    listing = (await call(hass, "list_reader_keys", {}))["reader_keys"]
    assert [(k["name"], bool(k["revoked"])) for k in listing] == [
        ("Oadby porch", True),
        ("Kiosk", False),
    ]
    with pytest.raises(ServiceValidationError) as err:
        await call(hass, "revoke_reader_key", {"reader_key": "no such reader"})
    assert err.value.translation_key == "unknown_reader_key"


@pytest.mark.usefixtures("library")
async def test_a_home_assistant_token_is_not_a_reader_key(
    hass: HomeAssistant,
    building: SimulatedBuilding,
    hass_client: Callable[..., Awaitable[TestClient]],
    access_events: list[Event],
) -> None:
    """A normal user's token, and an admin's: 401 at the reader endpoint, the door stays shut."""
    user = MockUser(groups=[await hass.auth.async_get_group(GROUP_ID_USER)])
    user.add_to_hass(hass)
    refresh = await hass.auth.async_create_refresh_token(user, CLIENT_ID)
    user_token = hass.auth.async_create_access_token(refresh)
    for client in (await hass_client(user_token), await hass_client()):
        response = await client.post(ACCESS, json={"card": ADULT, "pin": PIN})
        assert response.status == HTTPStatus.UNAUTHORIZED
        assert (await response.json())["code"] == "invalid_reader_key"
    assert access_events == []
    assert releases(building) == 0


@pytest.mark.usefixtures("library")
async def test_only_admins_manage_reader_keys(
    hass: HomeAssistant,
    hass_read_only_user: MockUser,
    hass_read_only_access_token: str,
    hass_ws_client: WebSocketGenerator,
    hass_client: Callable[..., Awaitable[TestClient]],
) -> None:
    """Read-only and non-admin users cannot make, list or revoke keys: action, websocket or REST."""
    assert await async_setup_component(hass, "api", {})  # before any client starts
    await make_key(hass)
    user = MockUser(groups=[await hass.auth.async_get_group(GROUP_ID_USER)])
    user.add_to_hass(hass)
    device = device_of(hass, "branch_oadby")
    attempts = {
        "create_reader_key": {"branch": device, "doors": ["entrance"], "name": "Mine"},
        "list_reader_keys": {},
        "revoke_reader_key": {"reader_key": "Oadby porch"},
    }
    for someone in (user, hass_read_only_user):
        for service, data in attempts.items():
            with pytest.raises(Unauthorized):
                await call(hass, service, data, context=Context(user_id=someone.id))

    refresh = await hass.auth.async_create_refresh_token(user, CLIENT_ID)
    for token in (
        hass.auth.async_create_access_token(refresh),
        hass_read_only_access_token,
    ):
        ws = await hass_ws_client(hass, token)
        for service, data in attempts.items():
            await ws.send_json_auto_id(
                {
                    "type": "call_service",
                    "domain": DOMAIN,
                    "service": service,
                    "service_data": data,
                    "return_response": True,
                }
            )
            answer = await ws.receive_json()
            assert answer["success"] is False
            assert answer["error"]["message"] == "Unauthorized"
        rest = await hass_client(token)
        for service, data in attempts.items():
            response = await rest.post(
                f"/api/services/{DOMAIN}/{service}?return_response", json=data
            )
            assert response.status == HTTPStatus.UNAUTHORIZED
    (only,) = (await call(hass, "list_reader_keys", {}))["reader_keys"]
    assert only["name"] == "Oadby porch" and only["revoked"] is None


@pytest.mark.usefixtures("library")
@pytest.mark.parametrize(
    ("data", "key"),
    [
        ({"doors": ["back_door"]}, "reader_key_unknown_door"),
        ({"doors": []}, "reader_key_no_door"),
        ({"name": " "}, "reader_key_bad_name"),
        ({"name": "Oadby porch"}, "reader_key_name_taken"),
        ({"branch": "not-a-device"}, "unknown_branch"),
    ],
)
async def test_bad_keys_are_refused_and_nothing_is_stored(
    hass: HomeAssistant, data: dict[str, Any], key: str
) -> None:
    """Each mistake gets its translated error; the key list is unchanged."""
    await make_key(hass)
    before = await call(hass, "list_reader_keys", {})
    with pytest.raises(ServiceValidationError) as err:
        await call(
            hass,
            "create_reader_key",
            {
                "branch": device_of(hass, "branch_oadby"),
                "doors": ["entrance"],
                "name": "Another",
            }
            | data,
        )
    assert err.value.translation_key == key
    assert str(err.value)  # a sentence, not an empty message
    assert await call(hass, "list_reader_keys", {}) == before


@pytest.mark.usefixtures("library")
async def test_last_use_is_written_at_most_once_a_minute(
    hass: HomeAssistant,
    hass_client_no_auth: ClientFactory,
    hass_storage: dict[str, Any],
    freezer: FrozenDateTimeFactory,
) -> None:
    """Storage holds digests only; a key's last use reaches it a minute later, not per request."""
    key = await make_key(hass)
    stored = hass_storage[STORAGE_KEY]["data"]["keys"]
    assert stored[0]["last_used"] is None
    assert key.split(".", 1)[1] not in json.dumps(hass_storage[STORAGE_KEY])
    client = await hass_client_no_auth()
    for _ in range(3):
        assert (await ask(client, key))[0] == HTTPStatus.OK
    await hass.async_block_till_done()
    assert hass_storage[STORAGE_KEY]["data"]["keys"][0]["last_used"] is None
    freezer.tick(timedelta(seconds=61))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert hass_storage[STORAGE_KEY]["data"]["keys"][0]["last_used"] is not None


@pytest.mark.usefixtures("library")
async def test_a_reader_refused_too_often_is_throttled(
    hass: HomeAssistant,
    building: SimulatedBuilding,
    hass_client_no_auth: ClientFactory,
    access_events: list[Event],
    freezer: FrozenDateTimeFactory,
) -> None:
    """The 11th refusal in a minute stops the reader for 5 minutes; staff get an event."""
    throttled = async_capture_events(hass, EVENT_READER_THROTTLED)
    key = await make_key(hass)
    client = await hass_client_no_auth()
    strangers = [f"2123999900{n:04d}" for n in range(7)]
    for card in strangers:
        assert (await ask(client, key, card=card))[1]["reason"] == "not_recognised"
    for _ in range(4):  # under the card's lock-out of 5
        assert (await ask(client, key, pin="11111111"))[1]["reason"] == "not_recognised"
    assert len(throttled) == 1
    decided = len(access_events)
    assert decided == 11

    # Throttled: even the right card and PIN gets no decision, and the door stays shut.
    status, reply = await ask(client, key)
    assert status == HTTPStatus.TOO_MANY_REQUESTS
    assert reply["reason"] == "reader_throttled" and reply["granted"] is False
    assert 0 < reply["retry_after"] <= 300
    assert len(access_events) == decided
    assert releases(building) == 0

    data = throttled[0].data
    assert data["reader"] == "Oadby porch"
    assert data["branch"] == "Oadby Library"
    assert data["refusals"] == 11
    assert data["reasons"] == {"unknown_card": 7, "wrong_pin": 4}
    text = json.dumps(data)
    assert PIN not in text and "11111111" not in text
    assert not [field for field in data if "card" in field or "pin" in field]
    for card in (ADULT, *strangers):
        assert card[-4:] not in text and card[:6] not in text

    freezer.tick(timedelta(minutes=5, seconds=1))
    status, reply = await ask(client, key)
    assert (status, reply["granted"]) == (HTTPStatus.OK, True)
    assert releases(building) == 1


async def test_a_whole_key_pasted_into_revoke_is_never_recorded(
    hass: HomeAssistant, library: None
) -> None:
    """Revoke by the whole key (a mistake people make): the call's recorded data is masked."""
    token = await make_key(hass, name="Paste test")
    key_id, _, secret = token.partition(".")
    recorded = async_capture_events(hass, "call_service")
    await hass.services.async_call(
        DOMAIN, "revoke_reader_key", {"reader_key": token}, blocking=True
    )
    (event,) = recorded
    assert secret not in str(event.data)
    assert event.data["service_data"]["reader_key"].startswith(key_id)
    listed = await call(hass, "list_reader_keys", {})
    (revoked,) = [k for k in listed["reader_keys"] if k["id"] == key_id]
    assert revoked["revoked"] is not None
