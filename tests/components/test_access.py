"""Card + PIN access through Home Assistant: the action, the HTTP endpoint, events and doors."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import date, timedelta
from http import HTTPStatus
import json
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient
from homeassistant.const import ATTR_ENTITY_ID, ATTR_OPTION
from homeassistant.core import Context, HomeAssistant
from homeassistant.exceptions import ServiceValidationError, Unauthorized
from homeassistant.helpers import device_registry as dr
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, MockUser

from custom_components.smart_library.access.reader_keys import READER_KEY_HEADER
from custom_components.smart_library.const import DOMAIN, EVENT_ACCESS
from custom_components.smart_library.engine.members.membership import public_reason
from simulator.building import SimulatedBuilding
from tests.components.conftest import years_before

ROOT = Path(__file__).resolve().parents[2]

ADULT, TEEN, CHILD = "21234000000001", "21234000000002", "21234000000003"
PIN = "80417263"
ENTRANCE_EVENTS = "event.oadby_library_entrance_access"
TAILGATING = "binary_sensor.oadby_library_tailgating"


async def call(
    hass: HomeAssistant, service: str, data: dict[str, Any], **kwargs: Any
) -> Any:
    """Call one of the integration's actions and return its response."""
    return await hass.services.async_call(
        DOMAIN, service, data, blocking=True, return_response=True, **kwargs
    )


def branch_device(hass: HomeAssistant) -> str:
    """Return the device id of the Oadby branch."""
    entry = hass.config_entries.async_entries(DOMAIN)[0]
    device = dr.async_get(hass).async_get_device_by_identifier(
        (DOMAIN, "branch_oadby"), entry.entry_id
    )
    assert device is not None
    return device.id


async def open_smart(hass: HomeAssistant) -> None:
    """Put the branch in smart mode (until its next scheduled change)."""
    await hass.services.async_call(
        "select",
        "select_option",
        {ATTR_ENTITY_ID: "select.oadby_library_mode_override", ATTR_OPTION: "smart"},
        blocking=True,
    )


@pytest.fixture
async def members(hass: HomeAssistant, init_integration: MockConfigEntry) -> None:
    """Enroll an inducted adult, a 17-year-old and a 12-year-old, all with PIN `PIN`."""
    today = dt_util.now().date()
    for card, born in (
        (ADULT, date(1970, 1, 1)),
        (TEEN, years_before(today, 17)),
        (CHILD, years_before(today, 12) - timedelta(days=1)),
    ):
        await call(
            hass,
            "enroll_member",
            {
                "card": card,
                "birth_date": born,
                "card_expiry": today + timedelta(days=365),
                "induction_date": today,
                "pin": PIN,
            },
        )
    await open_smart(hass)


async def request(
    hass: HomeAssistant, card: str, pin: str = PIN, **extra: Any
) -> dict[str, Any]:
    """Ask for the entrance (or another door) with a card and PIN."""
    response: dict[str, Any] = await call(
        hass,
        "request_access",
        {"branch": branch_device(hass), "card": card, "pin": pin} | extra,
    )
    return response


def releases(building: SimulatedBuilding, door: str = "entrance") -> int:
    """Return how many timed releases the controller was given for a door."""
    return sum(
        1 for key, value in building.writes if key == f"door.{door}.pulse" and value
    )


@pytest.mark.usefixtures("members")
async def test_granted_releases_the_door_and_is_seen(
    hass: HomeAssistant, building: SimulatedBuilding
) -> None:
    """A good card and PIN release the door for the branch's time; the event shows it masked."""
    seen: list[dict[str, Any]] = []
    hass.bus.async_listen(EVENT_ACCESS, lambda e: seen.append(dict(e.data)))
    building.arrive(1)
    response = await request(hass, ADULT)
    assert response == {
        "granted": True,
        "reason": "granted",
        "door": "entrance",
        "release_seconds": 5,
        "card": "••••0001",
        "party": 1,
    }
    assert releases(building) == 1
    assert building.get("door.entrance.pulse") > 0  # the controller counts it down
    state = hass.states.get(ENTRANCE_EVENTS)
    assert state is not None
    assert state.attributes["event_type"] == "granted"
    assert state.attributes["reason"] == "granted"
    assert state.attributes["card"] == "••••0001"
    await hass.async_block_till_done()
    assert seen == [
        {
            "branch": "Oadby Library",
            "door": "entrance",
            "granted": True,
            "reason": "granted",
            "card": "••••0001",
            "party": 1,
        }
    ]


@pytest.mark.usefixtures("members")
@pytest.mark.parametrize(
    "case",
    [
        ("99999999", PIN, {}, "unknown_card"),
        (ADULT, "1111", {}, "wrong_pin"),
        (CHILD, PIN, {}, "under_16"),
        (TEEN, PIN, {"minors": 1}, "adult_under_18"),
        (CHILD, PIN, {"adult_card": TEEN, "adult_pin": PIN}, "adult_under_18"),
        (ADULT, PIN, {"door": "meeting_room"}, "room_not_booked"),
    ],
)
async def test_refused_leaves_the_door_shut(
    hass: HomeAssistant,
    building: SimulatedBuilding,
    case: tuple[str, str, dict[str, Any], str],
) -> None:
    """A refusal says why, releases nothing and shows as a denied event."""
    card, pin, extra, reason = case
    response = await request(hass, card, pin, **extra)
    assert (response["granted"], response["reason"]) == (False, reason)
    assert response["release_seconds"] == 0
    assert releases(building) == releases(building, "meeting_room") == 0
    door = extra.get("door", "entrance")
    state = hass.states.get(f"event.oadby_library_{door}_access")
    assert state is not None
    assert (state.attributes["event_type"], state.attributes["reason"]) == (
        "denied",
        reason,
    )


@pytest.mark.usefixtures("members")
async def test_member_standing_follows_staff_actions(
    hass: HomeAssistant, building: SimulatedBuilding
) -> None:
    """Bar, final warning, lift, renewal and induction change what the door says."""
    today = dt_util.now().date()
    steps: list[tuple[str, dict[str, Any], str]] = [
        (
            "bar_member",
            {"reason": "Abuse of staff", "review_date": today + timedelta(days=90)},
            "barred",
        ),
        ("lift_restriction", {}, "granted"),
        ("issue_final_warning", {"reason": "Noise"}, "final_warning"),
        ("lift_restriction", {}, "granted"),
        (
            "renew_card",
            {"card_expiry": today + timedelta(days=1000)},
            "induction_outdated",
        ),
        ("record_induction", {}, "granted"),
    ]
    for service, data, expected in steps:
        answer = await call(hass, service, {"card": ADULT} | data)
        assert answer["eligibility"] == expected, service
        assert (await request(hass, ADULT))["reason"] == expected, service
    await call(hass, "remove_member", {"card": ADULT})
    assert (await request(hass, ADULT))["reason"] == "unknown_card"


@pytest.mark.usefixtures("members")
async def test_minors_and_the_party(
    hass: HomeAssistant, building: SimulatedBuilding
) -> None:
    """An adult brings two children; a child's card opens with an adult's card and PIN."""
    assert (await request(hass, ADULT, minors=2))["party"] == 3
    answer = await request(hass, CHILD, adult_card=ADULT, adult_pin=PIN)
    assert (answer["granted"], answer["party"]) == (True, 2)
    assert releases(building) == 2


@pytest.mark.usefixtures("members")
async def test_lockout_across_doors(hass: HomeAssistant) -> None:
    """Five wrong PINs lock the card at every door; a new PIN set by staff lifts it."""
    for _ in range(5):
        assert (await request(hass, ADULT, "0000"))["reason"] == "wrong_pin"
    assert (await request(hass, ADULT))["reason"] == "locked_out"
    assert (await request(hass, ADULT, door="meeting_room"))["reason"] == "locked_out"
    await call(hass, "set_pin", {"card": ADULT, "pin": "13572468"})
    assert (await request(hass, ADULT, "13572468"))["reason"] == "granted"


async def test_closed_and_fire(
    hass: HomeAssistant, building: SimulatedBuilding, members: None
) -> None:
    """Closed: a good card is refused; fire alarm: card checks are suspended."""
    await hass.services.async_call(
        "select",
        "select_option",
        {ATTR_ENTITY_ID: "select.oadby_library_mode_override", ATTR_OPTION: "closed"},
        blocking=True,
    )
    assert (await request(hass, ADULT))["reason"] == "not_open"
    await open_smart(hass)
    building.raise_fire_alarm()
    entry = hass.config_entries.async_entries(DOMAIN)[0]
    await entry.runtime_data.branches["branch_oadby"].coordinator.async_refresh()
    assert (await request(hass, ADULT))["reason"] == "fire_alarm"


@pytest.mark.usefixtures("members")
async def test_controller_away(
    hass: HomeAssistant, building: SimulatedBuilding
) -> None:
    """A grant the controller cannot carry out is reported as such, not as an open door."""
    building.online = False
    answer = await request(hass, ADULT)
    assert (answer["granted"], answer["reason"]) == (False, "controller_unreachable")


@pytest.mark.usefixtures("members")
async def test_tailgating(hass: HomeAssistant, building: SimulatedBuilding) -> None:
    """Three people through on a release for one: a tailgating event and the sensor on."""
    assert hass.states.get(TAILGATING).state == "off"
    seen: list[dict[str, Any]] = []
    hass.bus.async_listen(
        "smart_library_tailgating", lambda e: seen.append(dict(e.data))
    )
    building.arrive(3)
    assert (await request(hass, ADULT))["granted"]
    coordinator = (
        hass.config_entries.async_entries(DOMAIN)[0]
        .runtime_data.branches["branch_oadby"]
        .coordinator
    )
    for _ in range(40):
        await asyncio.sleep(0.05)
        await coordinator.async_refresh()
        if seen:
            break
    await hass.async_block_till_done()
    assert seen and seen[0]["admitted"] == 1 and seen[0]["came_in"] == 3
    assert hass.states.get(TAILGATING).state == "on"
    assert hass.states.get(ENTRANCE_EVENTS).attributes["event_type"] == "tailgating"

    # A declared party is not tailgating.
    seen.clear()
    building.arrive(3)
    assert (await request(hass, ADULT, minors=2))["party"] == 3
    for _ in range(20):
        await asyncio.sleep(0.05)
        await coordinator.async_refresh()
    assert building.inside == 6
    assert seen == []


@pytest.mark.usefixtures("members")
async def test_staff_card_windows(hass: HomeAssistant) -> None:
    """A cleaner's card opens in its window even when closed, and not outside it."""
    now = dt_util.now()

    async def cleaner_hours(start: timedelta, end: timedelta) -> None:
        await call(
            hass,
            "add_staff_card",
            {
                "card": "CLEAN001",
                "name": "Evening cleaner",
                "role": "cleaner",
                "windows": f"{now + start:%H:%M}-{now + end:%H:%M}",
                "pin": "97531",
            },
        )

    await cleaner_hours(timedelta(minutes=-30), timedelta(minutes=30))
    answer = await request(hass, "CLEAN001", "97531")
    assert (answer["granted"], answer["reason"]) == (True, "staff")
    state = hass.states.get(ENTRANCE_EVENTS)
    assert state.attributes["role"] == "cleaner"
    await cleaner_hours(timedelta(hours=2), timedelta(hours=3))
    assert (await request(hass, "CLEAN001", "97531"))["reason"] == "outside_window"
    with pytest.raises(ServiceValidationError) as err:
        await call(
            hass,
            "add_staff_card",
            {
                "card": ADULT,
                "name": "x",
                "role": "staff",
                "windows": "09:00-10:00",
                "pin": "97531",
            },
        )
    assert err.value.translation_key == "card_is_a_member"


@pytest.mark.usefixtures("members")
async def test_meeting_room_booking(
    hass: HomeAssistant, building: SimulatedBuilding
) -> None:
    """A booking made with book_room opens the room for the booker's card in its window."""
    calendar = "calendar.oadby_library_room_bookings"
    start = dt_util.now() + timedelta(minutes=5)
    booking = {
        "branch": branch_device(hass),
        "title": "Knit and natter",
        "card": ADULT,
        "start": start,
        "end": start + timedelta(hours=1),
    }
    await call(hass, "book_room", booking)
    await hass.async_block_till_done()  # the calendar reloads on the booking's signal
    state = hass.states.get(calendar)
    assert state is not None
    assert state.attributes["message"] == "Knit and natter"
    assert ADULT not in str(state.attributes)
    answer = await request(hass, ADULT, door="meeting_room")
    assert (answer["granted"], answer["door"]) == (True, "meeting_room")
    assert releases(building, "meeting_room") == 1
    assert (await request(hass, TEEN, door="meeting_room"))["reason"] == (
        "room_not_booked"
    )
    # An overlapping booking of the room is refused.
    with pytest.raises(ServiceValidationError) as err:
        await call(
            hass,
            "book_room",
            booking
            | {
                "card": TEEN,
                "start": start + timedelta(minutes=30),
                "end": start + timedelta(hours=2),
            },
        )
    assert err.value.translation_key == "booking_overlaps"
    events = await hass.services.async_call(
        "calendar",
        "get_events",
        {ATTR_ENTITY_ID: calendar, "duration": {"hours": 3}},
        blocking=True,
        return_response=True,
    )
    (booking,) = events[calendar]["events"]
    assert booking["description"] == "Booked with card ••••0001"


@pytest.mark.usefixtures("members")
async def test_import_and_export(hass: HomeAssistant) -> None:
    """An LMS export goes in with a report; the export never carries a PIN."""
    report = await call(
        hass,
        "import_members",
        {
            "csv": "Barcode,Name,DOB,Expiry\n"
            "31234000000001,Ann,1980-01-01,2030-01-01\n"
            "31234000000002,Bo,not a date,2030-01-01\n"
            "31234000000003,Cy,1990-01-01,\n"
            "31234000000001,Ann again,1980-01-01,2031-01-01\n"
        },
    )
    assert (report["taken"], report["refused"]) == (
        1,
        [
            {
                "row": 3,
                "card": "••••0002",
                "reason": "invalid_birth_date",
                "message": "The birth date is not a date",
            },
            {
                "row": 4,
                "card": "••••0003",
                "reason": "missing_card_expiry",
                "message": "The card expiry date is missing",
            },
            {
                "row": 5,
                "card": "••••0001",
                "reason": "duplicate_card",
                "message": "The card appears earlier in the file; this row was left out",
            },
        ],
    )
    exported = await call(hass, "export_members", {})
    assert exported["members"] == 4
    assert "scrypt" not in exported["csv"]
    assert "31234000000001,Ann,1980-01-01,2030-01-01" in exported["csv"]
    # A new member without an induction is refused at the door with that reason.
    await call(hass, "set_pin", {"card": "31234000000001", "pin": "2468"})
    assert (await request(hass, "31234000000001", "2468"))["reason"] == (
        "induction_needed"
    )


@pytest.mark.usefixtures("members")
@pytest.mark.parametrize(
    ("service", "data", "key"),
    [
        (
            "enroll_member",
            {"card": ADULT, "birth_date": "1970-01-01", "card_expiry": "2030-01-01"},
            "member_exists",
        ),
        (
            "enroll_member",
            {"card": "4", "birth_date": "1970-01-01", "card_expiry": "2030-01-01"},
            "invalid_card",
        ),
        (
            "enroll_member",
            {"card": "41234", "birth_date": "2999-01-01", "card_expiry": "2030-01-01"},
            "birth_date_in_future",
        ),
        (
            "enroll_member",
            {
                "card": "41234",
                "birth_date": "1970-01-01",
                "card_expiry": "2030-01-01",
                "pin": "12",
            },
            "invalid_pin",
        ),
        ("set_pin", {"card": ADULT, "pin": "abcd"}, "invalid_pin"),
        ("set_pin", {"card": "55555555", "pin": "1234"}, "unknown_member"),
        (
            "renew_card",
            {"card": ADULT, "card_expiry": "2000-01-01"},
            "expiry_not_after_renewal",
        ),
        (
            "bar_member",
            {"card": ADULT, "reason": "x", "review_date": "2000-01-01"},
            "review_date_not_after_today",
        ),
        (
            "record_induction",
            {"card": ADULT, "date": "2999-01-01"},
            "induction_in_future",
        ),
        ("remove_member", {"card": "55555555"}, "unknown_member"),
        ("import_members", {"csv": "name\nx\n"}, "import_no_card_column"),
        ("import_members", {"path": "/etc/passwd"}, "import_path_not_allowed"),
        ("import_members", {}, "import_nothing"),
        (
            "add_staff_card",
            {
                "card": "S1234",
                "name": "x",
                "role": "staff",
                "windows": "someday",
                "pin": "1234",
            },
            "invalid_window",
        ),
        ("remove_staff_card", {"card": "S9999"}, "unknown_staff_card"),
    ],
)
async def test_bad_staff_input_is_refused_and_loses_nothing(
    hass: HomeAssistant, service: str, data: dict[str, Any], key: str
) -> None:
    """Each mistake gets its own translated error and the member store is unchanged."""
    before = (await call(hass, "export_members", {}))["csv"]
    with pytest.raises(ServiceValidationError) as err:
        await call(hass, service, data)
    assert err.value.translation_key == key
    assert str(err.value)  # a translated message, not an empty one
    assert (await call(hass, "export_members", {}))["csv"] == before
    assert (await request(hass, ADULT))["reason"] == "granted"


@pytest.mark.usefixtures("members")
async def test_member_actions_are_admin_only(
    hass: HomeAssistant, hass_read_only_user: MockUser
) -> None:
    """A read-only user cannot change members, read the export, or ask for a decision."""
    for service, data in (
        ("set_pin", {"card": ADULT, "pin": "1234"}),
        ("export_members", {}),
        ("lift_restriction", {"card": ADULT}),
    ):
        with pytest.raises(Unauthorized):
            await call(
                hass, service, data, context=Context(user_id=hass_read_only_user.id)
            )
    with pytest.raises(Unauthorized):
        await hass.services.async_call(
            DOMAIN,
            "request_access",
            {"branch": branch_device(hass), "card": ADULT, "pin": PIN},
            blocking=True,
            return_response=True,
            context=Context(user_id=hass_read_only_user.id),
        )


async def reader_key(hass: HomeAssistant) -> dict[str, str]:
    """Make a reader key for the entrance and the meeting room; return its request header."""
    answer = await call(
        hass,
        "create_reader_key",
        {
            "branch": branch_device(hass),
            "doors": ["entrance", "meeting_room"],
            "name": "Porch",
        },
    )
    return {READER_KEY_HEADER: answer["key"]}


@pytest.mark.usefixtures("members")
async def test_http_endpoint(
    hass: HomeAssistant,
    building: SimulatedBuilding,
    hass_client: Callable[[], Awaitable[TestClient]],
    hass_client_no_auth: Callable[[], Awaitable[TestClient]],
) -> None:
    """The same decision over HTTP with a reader key; without one, 401 and the door stays shut.

    A Home Assistant user's token is no reader key.
    """
    body = {"card": ADULT, "pin": PIN, "door": "entrance"}
    anonymous = await hass_client_no_auth()
    response = await anonymous.post("/api/smart_library/access", json=body)
    assert response.status == HTTPStatus.UNAUTHORIZED
    user = await hass_client()
    response = await user.post("/api/smart_library/access", json=body)
    assert response.status == HTTPStatus.UNAUTHORIZED
    assert releases(building) == 0

    key = await reader_key(hass)
    response = await anonymous.post("/api/smart_library/access", json=body, headers=key)
    assert response.status == HTTPStatus.OK
    assert (await response.json())["granted"] is True
    assert releases(building) == 1

    response = await anonymous.post(
        "/api/smart_library/access", json=body | {"pin": "0000"}, headers=key
    )
    assert (await response.json())["reason"] == "not_recognised"
    for bad in ({"card": ADULT}, body | {"branch": "nowhere"}):
        response = await anonymous.post(
            "/api/smart_library/access", json=bad, headers=key
        )
        assert response.status in (HTTPStatus.BAD_REQUEST, HTTPStatus.FORBIDDEN)
        assert PIN not in await response.text()
    response = await anonymous.post(
        "/api/smart_library/access", data="not json", headers=key
    )
    assert response.status == HTTPStatus.BAD_REQUEST
    assert releases(building) == 1


EXPIRED, NEW, RENEWED, BARRED, WARNED, LOCKED, NO_PIN = (
    f"2123400000001{n}" for n in range(7)
)
STAFF_CARD = "STAFF0001"


async def population(hass: HomeAssistant) -> None:
    """Add a member for each refusal the rules give, a locked-out card and a staff card."""
    today = dt_util.now().date()
    base = {"birth_date": date(1980, 1, 1), "pin": PIN}
    good = base | {"card_expiry": today + timedelta(days=90), "induction_date": today}
    for card, data in (
        (EXPIRED, good | {"card_expiry": today - timedelta(days=1)}),
        (NEW, base | {"card_expiry": today + timedelta(days=90)}),
        (RENEWED, good),
        (BARRED, good),
        (WARNED, good),
        (LOCKED, good),
        (NO_PIN, {k: v for k, v in good.items() if k != "pin"}),  # as imported
    ):
        await call(hass, "enroll_member", {"card": card} | data)
    await call(
        hass,
        "renew_card",
        {"card": RENEWED, "card_expiry": today + timedelta(days=700)},
    )
    await call(
        hass,
        "bar_member",
        {"card": BARRED, "reason": "x", "review_date": today + timedelta(days=60)},
    )
    await call(hass, "issue_final_warning", {"card": WARNED, "reason": "y"})
    for _ in range(5):
        await request(hass, LOCKED, "0000")
    await call(
        hass,
        "add_staff_card",
        {
            "card": STAFF_CARD,
            "name": "Security",
            "role": "security",
            "windows": "00:00-23:59",
            "pin": "97531",
        },
    )


# reason: (card, pin, extra fields, what happens to the branch first)
EVERY_REASON: dict[str, tuple[str, str, dict[str, Any], str | None]] = {
    "granted": (ADULT, PIN, {}, None),
    "staff": (STAFF_CARD, "97531", {}, "closed"),
    "unknown_card": ("21230000000000", PIN, {}, None),
    "wrong_pin": (ADULT, "1111", {}, None),
    "no_pin_set": (NO_PIN, PIN, {}, None),
    "locked_out": (LOCKED, PIN, {}, None),
    "under_16": (CHILD, PIN, {}, None),
    "induction_needed": (NEW, PIN, {}, None),
    "card_expired": (EXPIRED, PIN, {}, None),
    "induction_outdated": (RENEWED, PIN, {}, None),
    "barred": (BARRED, PIN, {}, None),
    "final_warning": (WARNED, PIN, {}, None),
    "not_open": (ADULT, PIN, {}, "closed"),
    "room_not_booked": (ADULT, PIN, {"door": "meeting_room"}, None),
    "adult_under_18": (TEEN, PIN, {"minors": 1}, None),
    "adult_not_member": (
        CHILD,
        PIN,
        {"adult_card": STAFF_CARD, "adult_pin": "97531"},
        None,
    ),
    "fire_alarm": (ADULT, PIN, {}, "fire"),
    "evacuation": (ADULT, PIN, {}, "fire over"),
    "lockdown": (ADULT, PIN, {}, "lockdown"),
}


@pytest.mark.usefixtures("members")
@pytest.mark.parametrize("transport", ["action", "http"])
@pytest.mark.parametrize("reason", list(EVERY_REASON))
async def test_every_reason_through_action_and_http(
    hass: HomeAssistant,
    building: SimulatedBuilding,
    hass_client_no_auth: Callable[[], Awaitable[TestClient]],
    transport: str,
    reason: str,
) -> None:
    """Each rule of the seeds gives its own reason, through the action and over HTTP.

    A reader is told the same, except that an unknown card and a wrong PIN both read
    `not_recognised`; the action (staff automations) keeps the detail.
    """
    await population(hass)
    card, pin, extra, situation = EVERY_REASON[reason]
    if situation == "closed":
        await hass.services.async_call(
            "select",
            "select_option",
            {
                ATTR_ENTITY_ID: "select.oadby_library_mode_override",
                ATTR_OPTION: "closed",
            },
            blocking=True,
        )
    elif situation in ("fire", "fire over"):
        building.raise_fire_alarm()
        entry = hass.config_entries.async_entries(DOMAIN)[0]
        coordinator = entry.runtime_data.branches["branch_oadby"].coordinator
        await coordinator.async_refresh()
        if situation == "fire over":  # the panel reset; nobody has reset the branch yet
            building.clear_fire_alarm()
            await coordinator.async_refresh()
    elif situation == "lockdown":
        await hass.services.async_call(
            DOMAIN, "lockdown", {"branch": branch_device(hass)}, blocking=True
        )
    before = releases(building)
    if transport == "action":
        answer = await request(hass, card, pin, **extra)
        assert answer["reason"] == reason  # staff automations see the detail
    else:
        key = await reader_key(hass)
        client = await hass_client_no_auth()
        response = await client.post(
            "/api/smart_library/access",
            json={"card": card, "pin": pin, "door": "entrance"} | extra,
            headers=key,
        )
        assert response.status == HTTPStatus.OK
        answer = await response.json()
        assert answer["reason"] == public_reason(reason)  # a reader is told less
    granted = reason in ("granted", "staff")
    assert answer["granted"] is granted
    assert releases(building) - before == (1 if granted else 0)


@pytest.mark.usefixtures("members")
async def test_an_imported_member_with_no_pin_reads_no_pin_set_at_the_door_event(
    hass: HomeAssistant,
    building: SimulatedBuilding,
    hass_client_no_auth: Callable[[], Awaitable[TestClient]],
) -> None:
    """Staff see "No PIN set yet" on the door's event; the reader is told `not_recognised`.

    An imported member has no PIN until an administrator sets one (the CSV has none): before,
    they read "Wrong PIN" to staff, which sent nobody to set the PIN.
    """
    await call(
        hass,
        "import_members",
        {
            "csv": f"card,birth_date,card_expiry,induction_date\n{NO_PIN},1980-01-01,2099-01-01,2026-01-01\n"
        },
    )
    client = await hass_client_no_auth()
    response = await client.post(
        "/api/smart_library/access",
        json={"card": NO_PIN, "pin": PIN, "door": "entrance"},
        headers=await reader_key(hass),
    )
    assert (await response.json())["reason"] == "not_recognised"
    await hass.async_block_till_done()
    state = hass.states.get(ENTRANCE_EVENTS)
    assert state is not None
    assert state.attributes["event_type"] == "denied"
    assert state.attributes["reason"] == "no_pin_set"
    assert NO_PIN not in str(state.attributes)
    translations = json.loads(
        (ROOT / "custom_components/smart_library/translations/en.json").read_text()
    )
    for event in ("access_entrance", "access_meeting_room"):
        reasons = translations["entity"]["event"][event]["state_attributes"]["reason"]
        assert reasons["state"]["no_pin_set"] == "No PIN set yet"
    assert releases(building) == 0
    # With a PIN set by an administrator, the same member comes in.
    await call(hass, "set_pin", {"card": NO_PIN, "pin": PIN})
    assert (await request(hass, NO_PIN))["reason"] == "granted"
