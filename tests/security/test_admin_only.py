"""Who may change who enters, or when: administrators only, by every way in.

Finding of the issue, tried again for every member and opening-hours action: a read-only user
added an event (now to +3 h) and the entrance was held open. Each action is called by a
read-only user and by a non-admin user (staff, or the account a door reader used to have),
through the action, over the websocket and over REST: each is refused and nothing changes. The
same call by an administrator then goes through, so the refusal was about the caller alone.
"""

from __future__ import annotations

from datetime import date, timedelta
from http import HTTPStatus
from typing import Any

from homeassistant.auth.models import User
from homeassistant.core import Context, HomeAssistant, SupportsResponse
from homeassistant.exceptions import Unauthorized
from homeassistant.helpers import device_registry as dr
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    CLIENT_ID,
    MockConfigEntry,
    MockUser,
)
from pytest_homeassistant_custom_component.typing import (
    ClientSessionGenerator,
    WebSocketGenerator,
)

from custom_components.smart_library.const import DOMAIN
from custom_components.smart_library.services.registry import ACTIONS
from simulator.building import SimulatedBuilding

ADULT = "21234000000001"
STAFF = "STAFF0001"
PIN = "80417263"
RESPONSE = {a.name: a.response for a in ACTIONS}
# The rule, written out (not read from the code under test): every change of who may enter or
# when, and the member export.
ADMIN_ONLY = [
    "add_exception",
    "remove_exception",
    "add_event",
    "remove_event",
    "extend_today",
    "close_early",
    "enroll_member",
    "record_induction",
    "set_pin",
    "renew_card",
    "bar_member",
    "issue_final_warning",
    "lift_restriction",
    "unlock_card",
    "remove_member",
    "import_members",
    "export_members",
    "add_staff_card",
    "remove_staff_card",
    "book_room",
]


def branch_device(hass: HomeAssistant) -> str:
    """Return the device id of the Oadby branch."""
    entry = hass.config_entries.async_entries(DOMAIN)[0]
    device = dr.async_get(hass).async_get_device_by_identifier(
        (DOMAIN, "branch_oadby"), entry.entry_id
    )
    assert device is not None
    return device.id


def attempts(hass: HomeAssistant, event_id: str) -> dict[str, dict[str, Any]]:
    """Return, for each admin-only action, data an administrator's call would succeed with."""
    today = dt_util.now().date()
    now = dt_util.now().replace(microsecond=0)
    branch = {"branch": branch_device(hass)}
    card = {"card": ADULT}
    return {
        "add_exception": branch | {"date": str(today), "staffed": "00:00-23:59"},
        "remove_exception": branch | {"date": str(today + timedelta(days=7))},
        "add_event": branch
        | {
            "title": "Free entry",
            "start": now.isoformat(),
            "end": (now + timedelta(hours=3)).isoformat(),
        },
        "remove_event": branch | {"event_id": event_id},
        "extend_today": branch | {"until": "21:00"},
        "close_early": branch | {"at": "12:00"},
        "enroll_member": {
            "card": "21234000000099",
            "birth_date": "1980-01-01",
            "card_expiry": str(today + timedelta(days=99)),
            "induction_date": str(today),
            "pin": "13572468",
        },
        "record_induction": card | {"date": str(today)},
        "set_pin": card | {"pin": "13572468"},
        "renew_card": card | {"card_expiry": str(today + timedelta(days=900))},
        "bar_member": card
        | {"reason": "x", "review_date": str(today + timedelta(days=9))},
        "issue_final_warning": card | {"reason": "y"},
        "lift_restriction": card,
        "unlock_card": card,
        "remove_member": card,
        "import_members": {
            "csv": "card,birth_date,card_expiry\n21234000000098,1980-01-01,2030-01-01\n"
        },
        "export_members": {},
        "add_staff_card": {
            "card": "STAFF0002",
            "name": "Cleaner",
            "role": "cleaner",
            "windows": "00:00-23:59",
            "pin": "97531",
        },
        "remove_staff_card": {"card": STAFF},
        "book_room": branch
        | card
        | {
            "start": (now + timedelta(hours=1)).isoformat(),
            "end": (now + timedelta(hours=2)).isoformat(),
        },
    }


@pytest.fixture
async def library(hass: HomeAssistant, init_integration: MockConfigEntry) -> str:
    """Give a member (locked out), a staff card, exceptions (today open 09-17) and an event.

    Return the event's id.
    """
    today = dt_util.now().date()

    async def admin(service: str, data: dict[str, Any]) -> Any:
        return await hass.services.async_call(
            DOMAIN,
            service,
            data,
            blocking=True,
            return_response=RESPONSE[service] is not SupportsResponse.NONE,
        )

    await admin(
        "enroll_member",
        {
            "card": ADULT,
            "birth_date": date(1970, 1, 1),
            "card_expiry": today + timedelta(days=365),
            "induction_date": today - timedelta(days=1),
            "pin": PIN,
        },
    )
    await admin(
        "add_staff_card",
        {
            "card": STAFF,
            "name": "Security",
            "role": "security",
            "windows": "00:00-23:59",
            "pin": "97531",
        },
    )
    branch = {"branch": branch_device(hass)}
    await admin("add_exception", branch | {"date": today, "staffed": "09:00-17:00"})
    await admin("add_exception", branch | {"date": today + timedelta(days=7)})
    event = await admin(
        "add_event",
        branch
        | {
            "title": "Author talk",
            "start": dt_util.now() + timedelta(days=2),
            "end": dt_util.now() + timedelta(days=2, hours=1),
        },
    )
    for _ in range(5):  # lock the card out, so that unlock_card has something to lift
        await hass.services.async_call(
            DOMAIN,
            "request_access",
            branch | {"card": ADULT, "pin": "0000"},
            blocking=True,
        )
    return str(event["event_id"])


async def world(hass: HomeAssistant) -> dict[str, Any]:
    """Return everything an action could change: members, staff, bookings, lock-outs, hours."""
    entry = hass.config_entries.async_entries(DOMAIN)[0]
    access = entry.runtime_data.access
    hours = entry.runtime_data.branches["branch_oadby"].hours
    today = dt_util.now().date()
    return {
        "members": await access.async_run(access.store.export_csv),
        "member": await access.async_run(lambda: access.store.member(ADULT)),
        "counts": await access.async_run(lambda: access.store.counts(today)),
        "staff": await access.async_run(lambda: access.store.staff(STAFF)),
        "lockouts": await access.async_run(access.decider.lockout.snapshot),
        "bookings": await access.async_run(
            lambda: access.store.bookings("branch_oadby")
        ),
        "schedule": hours.schedule.to_dict(),
    }


async def token_of(hass: HomeAssistant, user: User) -> str:
    """Return an access token of the user, as the UI or a script would hold one."""
    refresh = await hass.auth.async_create_refresh_token(user, CLIENT_ID)
    return hass.auth.async_create_access_token(refresh)


@pytest.mark.parametrize("service", ADMIN_ONLY)
async def test_only_an_admin_may_change_who_enters_or_when(
    hass: HomeAssistant,
    library: str,
    hass_read_only_user: MockUser,
    *,
    hass_ws_client: WebSocketGenerator,
    hass_client: ClientSessionGenerator,
    service: str,
) -> None:
    """Read-only and non-admin users are refused by every way in; nothing changes."""
    assert await async_setup_component(hass, "api", {})
    staff = await hass.auth.async_create_user("staff", group_ids=["system-users"])
    users: list[User] = [hass_read_only_user, staff]
    data = attempts(hass, library)[service]
    wants_response = RESPONSE[service] is not SupportsResponse.NONE
    before = await world(hass)

    for user in users:
        with pytest.raises(Unauthorized):
            await hass.services.async_call(
                DOMAIN,
                service,
                dict(data),
                blocking=True,
                return_response=wants_response,
                context=Context(user_id=user.id),
            )
    tokens = [await token_of(hass, user) for user in users]
    for token in tokens:
        ws = await hass_ws_client(hass, token)
        await ws.send_json_auto_id(
            {
                "type": "call_service",
                "domain": DOMAIN,
                "service": service,
                "service_data": data,
                "return_response": wants_response,
            }
        )
        reply = await ws.receive_json()
        assert not reply["success"]
        # Home Assistant 2026.10 reports it as a home_assistant_error saying "Unauthorized".
        error = reply["error"]
        assert "unauthorized" in f"{error['code']} {error['message']}".lower()
    for token in tokens:
        rest = await hass_client(token)
        response = await rest.post(
            f"/api/services/{DOMAIN}/{service}"
            + ("?return_response" if wants_response else ""),
            json=data,
        )
        assert response.status == HTTPStatus.UNAUTHORIZED
    assert await world(hass) == before

    # The same call by an administrator goes through: only the caller was wrong.
    await hass.services.async_call(
        DOMAIN, service, dict(data), blocking=True, return_response=wants_response
    )


async def test_asking_for_a_decision_is_for_staff_never_read_only(
    hass: HomeAssistant,
    library: str,
    hass_read_only_user: MockUser,
    *,
    hass_ws_client: WebSocketGenerator,
    hass_client: ClientSessionGenerator,
    building: SimulatedBuilding,
) -> None:
    """request_access is a staff action: a read-only user is refused by every way in.

    One answer per card would tell a member (wrong PIN) from a stranger, and with a card and
    PIN it would release the entrance, while `lock.open` is refused to the same user. Staff
    operate the building (acknowledge alarms, say it is empty, lock it down, alert silently,
    announce, ask for a decision): none changes who may enter or when.
    """
    assert {a.name for a in ACTIONS if not a.admin} <= {
        "request_access",
        "acknowledge_alarm",
        "building_empty",
        "lockdown",
        "silent_alert",
        "announce",
        "say",
    }
    assert await async_setup_component(hass, "api", {})
    data = {"branch": branch_device(hass), "card": STAFF, "pin": "97531"}
    pulses = [w for w in building.writes if w[0].endswith(".pulse")]
    with pytest.raises(Unauthorized):
        await hass.services.async_call(
            DOMAIN,
            "request_access",
            dict(data),
            blocking=True,
            return_response=True,
            context=Context(user_id=hass_read_only_user.id),
        )
    token = await token_of(hass, hass_read_only_user)
    ws = await hass_ws_client(hass, token)
    await ws.send_json_auto_id(
        {
            "type": "call_service",
            "domain": DOMAIN,
            "service": "request_access",
            "service_data": data,
            "return_response": True,
        }
    )
    reply = await ws.receive_json()
    assert not reply["success"]
    assert "unauthorized" in str(reply["error"]).lower()
    rest = await hass_client(token)
    response = await rest.post(
        f"/api/services/{DOMAIN}/request_access?return_response", json=data
    )
    assert response.status == HTTPStatus.UNAUTHORIZED
    assert [w for w in building.writes if w[0].endswith(".pulse")] == pulses
    staff = await hass.auth.async_create_user("staff", group_ids=["system-users"])
    answer = await hass.services.async_call(
        DOMAIN,
        "request_access",
        dict(data),
        blocking=True,
        return_response=True,
        context=Context(user_id=staff.id),
    )
    assert answer is not None and answer["reason"] == "staff"
