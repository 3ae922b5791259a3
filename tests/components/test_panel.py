"""The administrator's panel: for administrators only, masked, through the admin actions.

Offered in the sidebar to administrators only; its commands refuse everybody else; no answer
holds a full card number or a PIN; every change it makes is one of the admin actions.
"""

from __future__ import annotations

from datetime import date, timedelta
from http import HTTPStatus
import json
from typing import Any

from homeassistant.auth.const import GROUP_ID_USER
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    CLIENT_ID,
    MockConfigEntry,
    MockUser,
    async_capture_events,
)
from pytest_homeassistant_custom_component.typing import (
    ClientSessionGenerator,
    WebSocketGenerator,
)

from custom_components.smart_library.const import DOMAIN
from custom_components.smart_library.panel.registration import (
    PANEL_ELEMENT,
    PANEL_FILE,
    PANEL_PATH,
    PANEL_URL,
)
from custom_components.smart_library.panel.websocket import (
    WS_HOURS,
    WS_INCIDENTS,
    WS_OVERVIEW,
    WS_PHONES,
    WS_USAGE,
)
from simulator.building import SimulatedBuilding
from tests.components.safety_common import add_phone, setup_branch

ADULT, NEW, STAFF = "21234000000001", "21234000009876", "STAFF0042"
PIN, NEW_PIN, STAFF_PIN = "80417263", "51736294", "97531"
SECRETS = (ADULT, NEW, STAFF, PIN, NEW_PIN, STAFF_PIN)

# Every read-only command of the panel, with a message it accepts.
COMMANDS: dict[str, dict[str, Any]] = {
    WS_OVERVIEW: {},
    WS_PHONES: {},
    WS_HOURS: {},
    WS_INCIDENTS: {"status": "open"},
    WS_USAGE: {"start": "2026-11-01", "end": "2026-11-30"},
}
# The listing actions it calls (admin actions, answering only).
LISTINGS: dict[str, dict[str, Any]] = {
    "list_members": {},
    "list_staff_cards": {},
    "list_reader_keys": {},
}


async def _token(hass: HomeAssistant, user: MockUser) -> str:
    refresh = await hass.auth.async_create_refresh_token(user, CLIENT_ID)
    return hass.auth.async_create_access_token(refresh)


async def _staff_token(hass: HomeAssistant) -> str:
    """Return the token of a non-admin member of staff (may control every entity)."""
    user = MockUser(groups=[await hass.auth.async_get_group(GROUP_ID_USER)])
    user.add_to_hass(hass)
    return await _token(hass, user)


class Panel:
    """A websocket connection as the panel has one: its commands and `call_service`."""

    def __init__(self, ws: Any) -> None:
        """Use an authenticated websocket client."""
        self.ws = ws

    async def command(self, kind: str, **data: Any) -> dict[str, Any]:
        """Send one command; return the whole answer (success or error)."""
        await self.ws.send_json_auto_id({"type": kind} | data)
        answer: dict[str, Any] = await self.ws.receive_json()
        return answer

    async def action(self, service: str, data: dict[str, Any]) -> dict[str, Any]:
        """Call one of the integration's actions with its response, as the panel does."""
        return await self.command(
            "call_service",
            domain=DOMAIN,
            service=service,
            service_data=data,
            return_response=True,
        )


@pytest.fixture
async def library(
    hass: HomeAssistant, building: SimulatedBuilding, mock_config_entry: MockConfigEntry
) -> str:
    """Set up a service with an on-call phone, a member, a staff card and an incident."""
    phone = await add_phone(hass, "duty")
    branch = await setup_branch(hass, mock_config_entry, on_call=[phone])
    today = dt_util.now().date()
    for service, data in (
        (
            "enroll_member",
            {
                "card": ADULT,
                "name": "Ann Reader",
                "birth_date": date(1970, 1, 1),
                "card_expiry": today + timedelta(days=365),
                "induction_date": today,
                "pin": PIN,
            },
        ),
        (
            "add_staff_card",
            {
                "card": STAFF,
                "name": "Cleaner",
                "role": "cleaner",
                "windows": "mon-fri 06:00-08:00",
                "pin": STAFF_PIN,
            },
        ),
        (
            "record_incident",
            {
                "branch": branch,
                "category": "antisocial_behaviour",
                "description": "Shouting",
                "card": ADULT,
            },
        ),
        ("add_exception", {"branch": branch, "date": today + timedelta(days=3)}),
    ):
        await hass.services.async_call(DOMAIN, service, data, blocking=True)
    return branch


async def test_the_panel_is_in_the_sidebar_for_administrators_only(
    hass: HomeAssistant,
    library: str,
    hass_ws_client: WebSocketGenerator,
    hass_read_only_access_token: str,
    hass_client: ClientSessionGenerator,
) -> None:
    """The frontend lists the panel to an administrator, never to staff or a read-only user."""
    assert await async_setup_component(hass, "frontend", {})
    await hass.async_block_till_done()
    seen: dict[str, bool] = {}
    for who, token in (
        ("admin", None),
        ("staff", await _staff_token(hass)),
        ("read-only", hass_read_only_access_token),
    ):
        ws = await hass_ws_client(hass, token) if token else await hass_ws_client(hass)
        answer = await Panel(ws).command("get_panels")
        assert answer["success"]
        seen[who] = PANEL_PATH in answer["result"]
        if who == "admin":
            panel = answer["result"][PANEL_PATH]
            assert panel["require_admin"] is True
            assert panel["component_name"] == "custom"
            custom = panel["config"]["_panel_custom"]
            assert custom["name"] == PANEL_ELEMENT
            assert custom["module_url"].startswith(f"{PANEL_URL}?v=")
            assert custom["embed_iframe"] is False
    assert seen == {"admin": True, "staff": False, "read-only": False}
    # The module is served as shipped, and defines the element the panel names.
    response = await (await hass_client()).get(PANEL_URL)
    assert response.status == HTTPStatus.OK
    source = await response.text()
    assert source == PANEL_FILE.read_text()
    assert f'const ELEMENT = "{PANEL_ELEMENT}";' in source
    assert "customElements.define(ELEMENT" in source


async def test_every_command_refuses_read_only_users_and_staff_and_answers_an_admin(
    hass: HomeAssistant,
    library: str,
    hass_ws_client: WebSocketGenerator,
    hass_read_only_access_token: str,
) -> None:
    """Each read-only command and each listing action: refused unless the user is an admin."""
    for token in (hass_read_only_access_token, await _staff_token(hass)):
        panel = Panel(await hass_ws_client(hass, token))
        for kind, data in COMMANDS.items():
            answer = await panel.command(kind, **data)
            assert not answer["success"], kind
            assert answer["error"]["code"] == "unauthorized", kind
        for service, data in LISTINGS.items():
            answer = await panel.action(service, data)
            assert not answer["success"], service
            assert answer["error"]["message"] == "Unauthorized", service
    panel = Panel(await hass_ws_client(hass))
    for kind, data in COMMANDS.items():
        answer = await panel.command(kind, **data)
        assert answer["success"], (kind, answer)
    for service, data in LISTINGS.items():
        answer = await panel.action(service, data)
        assert answer["success"], (service, answer)


async def test_no_answer_holds_a_full_card_or_a_pin(
    hass: HomeAssistant,
    library: str,
    hass_ws_client: WebSocketGenerator,
) -> None:
    """Members, staff cards, incidents, keys, hours, phones, usage: masked cards, no PIN."""
    panel = Panel(await hass_ws_client(hass))
    made = await panel.action(
        "create_reader_key",
        {"branch": library, "doors": ["entrance"], "name": "Porch reader"},
    )
    secret = made["result"]["response"]["key"]
    answers = [await panel.command(kind, **data) for kind, data in COMMANDS.items()]
    answers += [await panel.action(s, d) for s, d in LISTINGS.items()]
    answers.append(await panel.action("list_members", {"card": ADULT}))
    answers.append(await panel.action("list_members", {"name": "ann"}))
    assert all(a["success"] for a in answers), answers
    text = json.dumps(answers, ensure_ascii=False)
    for value in (*SECRETS, secret, secret.partition(".")[2]):
        assert value not in text, value
    # What a person would look for is there, masked.
    (member,) = answers[-1]["result"]["response"]["members"]
    assert member["card"] == "••••0001" and member["name"] == "Ann Reader"
    assert member["pin_set"] is True and member["door"] == "granted"
    assert member["ref"].startswith("ref-") and ADULT not in member["ref"]
    (staff,) = answers[6]["result"]["response"]["staff_cards"]
    assert (staff["card"], staff["windows"]) == (
        "••••0042",
        ["mon,tue,wed,thu,fri 06:00-08:00"],
    )
    (incident,) = answers[3]["result"]["incidents"]
    assert incident["member_card"] == "••••0001"
    phones = answers[1]["result"]
    assert phones["services"][0]["on_call"] == [phones["phones"][0]["device_id"]]
    (branch,) = answers[2]["result"]["branches"]
    assert branch["title"] == "Oadby Library" and len(branch["exceptions"]) == 1
    assert branch["staffed_free_entry"] == ["entrance"]  # the building's default, shown
    assert answers[4]["result"] == {"recorder": False}


async def test_changes_are_the_same_admin_actions_and_are_recorded_redacted(
    hass: HomeAssistant,
    library: str,
    hass_ws_client: WebSocketGenerator,
) -> None:
    """Enroll, set a PIN, induct, bar, lift, unlock by reference: the admin actions, redacted.

    The `call_service` events Home Assistant records hold no card number, reference or PIN;
    a member with no PIN reads `no_pin_set`; a member of staff cannot use a reference either.
    """
    calls = async_capture_events(hass, "call_service")
    panel = Panel(await hass_ws_client(hass))
    today = dt_util.now().date()
    answer = await panel.action(
        "enroll_member",
        {
            "card": NEW,
            "name": "Ned New",
            "birth_date": "1990-05-05",
            "card_expiry": (today + timedelta(days=300)).isoformat(),
        },
    )
    assert answer["result"]["response"]["card"] == "••••9876"
    found = await panel.action("list_members", {"card": "9876"})
    (member,) = found["result"]["response"]["members"]
    assert (member["pin_set"], member["door"]) == (False, "no_pin_set")
    assert member["eligibility"] == "induction_needed"  # what else is in the way
    ref = member["ref"]
    # A reference outlives a restart of the service (the page may stay open across one).
    entry = hass.config_entries.async_entries(DOMAIN)[0]
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    for service, data, door in (
        ("set_pin", {"pin": NEW_PIN}, "induction_needed"),
        ("record_induction", {}, "granted"),
        (
            "bar_member",
            {"reason": "x", "review_date": str(today + timedelta(days=30))},
            "barred",
        ),
        ("lift_ban", {"agreement_date": str(today)}, "granted"),
        ("issue_final_warning", {"reason": "y"}, "final_warning"),
        ("lift_restriction", {}, "granted"),
        ("unlock_card", {}, "granted"),
    ):
        answer = await panel.action(service, {"card": ref} | data)
        assert answer["success"], (service, answer)
        listed = await panel.action("list_members", {"name": "ned"})
        (member,) = listed["result"]["response"]["members"]
        assert member["door"] == door, service
        assert member["pin_set"] is True
    recorded = json.dumps([e.data for e in calls], ensure_ascii=False)
    for value in (NEW, NEW_PIN, ref):
        assert value not in recorded, value
    assert "••••9876" in recorded and "********" in recorded
    # A reference is no key to anybody else: staff are refused, an unknown one is an error.
    staff = Panel(await hass_ws_client(hass, await _staff_token(hass)))
    answer = await staff.action("set_pin", {"card": ref, "pin": "1111"})
    assert answer["error"]["message"] == "Unauthorized"
    answer = await panel.action("set_pin", {"card": "ref-" + "0" * 24, "pin": "1111"})
    assert answer["error"]["code"] == "service_validation_error"
    assert answer["error"]["translation_key"] == "unknown_member"
    # The staff card is removed by its reference too.
    listed = await panel.action("list_staff_cards", {})
    (card,) = listed["result"]["response"]["staff_cards"]
    answer = await panel.action("remove_staff_card", {"card": card["ref"]})
    assert answer["result"]["response"] == {"card": "••••0042", "removed": True}


async def test_a_reader_key_is_shown_once_and_listed_revoked(
    hass: HomeAssistant, library: str, hass_ws_client: WebSocketGenerator
) -> None:
    """Made: the key in that answer only; revoked: listed with the time, never the key."""
    panel = Panel(await hass_ws_client(hass))
    made = (
        await panel.action(
            "create_reader_key",
            {"branch": library, "doors": ["entrance"], "name": "Porch reader"},
        )
    )["result"]["response"]
    listed = (await panel.action("list_reader_keys", {}))["result"]["response"]
    assert made["key"] not in json.dumps(listed)
    (key,) = listed["reader_keys"]
    assert key["name"] == "Porch reader" and key["revoked"] is None
    await panel.action("revoke_reader_key", {"reader_key": key["id"]})
    (key,) = (await panel.action("list_reader_keys", {}))["result"]["response"][
        "reader_keys"
    ]
    assert key["revoked"] is not None


async def test_bad_input_is_refused_with_a_message(
    hass: HomeAssistant, library: str, hass_ws_client: WebSocketGenerator
) -> None:
    """A period backwards or too long, a status that is none, a card fragment that is none."""
    panel = Panel(await hass_ws_client(hass))
    for kind, data in (
        (WS_USAGE, {"start": "2026-11-30", "end": "2026-11-01"}),
        (WS_USAGE, {"start": "2020-01-01", "end": "2026-01-01"}),
        (WS_INCIDENTS, {"status": "everything"}),
        (WS_INCIDENTS, {"limit": 100000}),
    ):
        answer = await panel.command(kind, **data)
        assert not answer["success"]
        assert answer["error"]["code"] == "invalid_format", (kind, data)
    answer = await panel.action("list_members", {"card": "12%"})
    assert answer["error"]["translation_key"] == "invalid_card"
    answer = await panel.action("list_members", {"name": "%"})
    assert answer["result"]["response"] == {"members": [], "total": 0}


async def test_the_week_editor_saves_through_the_branchs_own_hours_flow(
    hass: HomeAssistant,
    library: str,
    mock_config_entry: MockConfigEntry,
    hass_client: ClientSessionGenerator,
    hass_ws_client: WebSocketGenerator,
) -> None:
    """The panel posts the week to Reconfigure › Opening hours, as the form would be filled.

    The fields the panel fills are the form's own (a renamed field would be left out and the
    day closed); a plan the rules refuse comes back as the form's error, nothing saved.
    """
    assert await async_setup_component(
        hass, "config", {}
    )  # before any client: its views
    panel = Panel(await hass_ws_client(hass))
    source = PANEL_FILE.read_text()
    for field in (
        "${day}_${mode}",
        "latest_smart_end",
        "clearance_minutes",
        "neighbours:",
    ):
        assert field in source, field
    client = await hass_client()
    base = "/api/config/config_entries/subentries/flow"

    async def submit(week: dict[str, str]) -> dict[str, Any]:
        response = await client.post(
            base,
            json={
                "handler": [mock_config_entry.entry_id, "branch"],
                "subentry_id": "branch_oadby",
                "show_advanced_options": False,
            },
        )
        flow = await response.json()
        assert flow["type"] == "menu"
        response = await client.post(
            f"{base}/{flow['flow_id']}", json={"next_step_id": "hours"}
        )
        form = await response.json()
        names = {field["name"] for field in form["data_schema"]}
        panel_fields = {
            f"{day}_{mode}"
            for day in (
                "monday",
                "tuesday",
                "wednesday",
                "thursday",
                "friday",
                "saturday",
                "sunday",
            )
            for mode in ("staffed", "smart")
        } | {"latest_smart_end", "clearance_minutes", "staffed_free_entry"}
        assert panel_fields <= names, panel_fields - names
        data = {
            name: "" for name in panel_fields if name.endswith(("_staffed", "_smart"))
        }
        data |= week | {
            "latest_smart_end": "21:30",
            "clearance_minutes": 0,
            "staffed_free_entry": ["entrance"],
        }
        response = await client.post(f"{base}/{flow['flow_id']}", json=data)
        return dict(await response.json())

    answer = await submit(
        {"monday_staffed": "09:00-13:00", "monday_smart": "13:00-20:00"}
    )
    assert (answer["type"], answer["reason"]) == ("abort", "reconfigure_successful")
    await hass.async_block_till_done()
    (branch,) = (await panel.command(WS_HOURS))["result"]["branches"]
    assert branch["week"]["monday"] == [
        {"start": "09:00", "end": "13:00", "mode": "staffed"},
        {"start": "13:00", "end": "20:00", "mode": "smart"},
    ]
    assert branch["week"]["tuesday"] == []
    answer = await submit({"monday_smart": "13:00-23:00"})
    assert answer["type"] == "form" and answer["errors"]
    (branch,) = (await panel.command(WS_HOURS))["result"]["branches"]
    assert branch["week"]["monday"][1]["end"] == "20:00"  # nothing saved
