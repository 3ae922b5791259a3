"""Incident texts are for staff and administrators; read-only users see counts.

The attack: a read-only user asks Home Assistant's to-do websocket (`todo/item/list`, which checks
no permission) for *Incidents to review* and reads every incident — what happened, a member's
masked card, police references, who recorded it — while `todo.get_items` and `export_incidents`
are refused to them.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, MockUser
from pytest_homeassistant_custom_component.typing import WebSocketGenerator

from custom_components.smart_library.const import DOMAIN
from simulator.building import SimulatedBuilding
from tests.components.safety_common import TODO, clock_at, setup_branch

SECRET_TEXT = "Shouting at Jane Doe of 12 High Street"
POLICE = "LE-2026-000123"


@pytest.fixture
def clock() -> Iterator[Any]:
    """Tuesday 24 November 2026, 19:59 in London (smart hours)."""
    yield from clock_at()


async def test_a_read_only_user_reads_no_incident_text(
    hass: HomeAssistant,
    *,
    clock: Any,
    building: SimulatedBuilding,
    mock_config_entry: MockConfigEntry,
    hass_read_only_user: MockUser,
    hass_admin_user: MockUser,
    hass_ws_client: WebSocketGenerator,
    hass_read_only_access_token: str,
) -> None:
    """The to-do list names each incident by category, place and time only; its text is staff's."""
    branch = await setup_branch(hass, mock_config_entry)
    answer = await hass.services.async_call(
        DOMAIN,
        "record_incident",
        {
            "branch": branch,
            "category": "antisocial_behaviour",
            "description": SECRET_TEXT,
            "location": "study area",
            "police_reference": POLICE,
            "card": "21234000000001",
        },
        blocking=True,
        return_response=True,
    )
    await hass.async_block_till_done()
    reader = await hass_ws_client(hass, hass_read_only_access_token)
    await reader.send_json_auto_id({"type": "todo/item/list", "entity_id": TODO})
    listed = await reader.receive_json()
    assert listed["success"]
    (item,) = listed["result"]["items"]
    text = str(item)
    assert answer["incident"] in text  # what it is, for the count and a reference
    for secret in (
        SECRET_TEXT,
        "Jane",
        POLICE,
        "0001",
        hass_admin_user.name or "admin",
    ):
        assert secret not in text
    await reader.send_json_auto_id({"type": "smart_library/incidents"})
    refused = await reader.receive_json()
    assert not refused["success"]
    assert refused["error"]["code"] == "unauthorized"
    # Staff (and administrators) read it in full.
    admin = await hass_ws_client(hass)
    await admin.send_json_auto_id({"type": "smart_library/incidents"})
    full = await admin.receive_json()
    assert full["success"]
    (incident,) = full["result"]["incidents"]
    assert incident["description"] == SECRET_TEXT
    assert incident["police_reference"] == POLICE
    assert incident["member_card"].endswith("0001") and "2123400" not in str(incident)
