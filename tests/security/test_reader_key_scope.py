"""A reader sits in a public porch: its key asks for decisions and is no key to the building."""

from __future__ import annotations

from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.smart_library.access.reader_keys import READER_KEY_HEADER
from simulator.building import SimulatedBuilding
from tests.components.test_reader_keys import (  # noqa: F401  # fixtures
    library,
    make_key,
    mock_config_entry,
    releases,
)

B = "oadby_library"
# What a reader's old Home Assistant user could do, and must not with a key.
DOOR_OPENERS = [
    ("lock", "open", {"entity_id": f"lock.{B}_entrance_door"}),
    ("lock", "unlock", {"entity_id": f"lock.{B}_entrance_door"}),
    (
        "select",
        "select_option",
        {"entity_id": f"select.{B}_mode_override", "option": "staffed"},
    ),
    (
        "calendar",
        "create_event",
        {
            "entity_id": f"calendar.{B}_room_bookings",
            "summary": "x",
            "start_date_time": "2026-11-25 10:00:00",
            "end_date_time": "9999-12-31 23:00:00",
        },
    ),
]


@pytest.mark.usefixtures("library")
@pytest.mark.parametrize(("domain", "service", "data"), DOOR_OPENERS)
async def test_a_reader_key_opens_nothing_through_home_assistant(  # noqa: PLR0917
    hass: HomeAssistant,
    hass_client_no_auth: ClientSessionGenerator,
    building: SimulatedBuilding,
    domain: str,
    service: str,
    data: dict[str, str],
) -> None:
    """The key as a bearer token or in its own header: 401 on every Home Assistant API."""
    assert await async_setup_component(hass, "api", {})
    key = await make_key(hass)
    client = await hass_client_no_auth()
    before = releases(building)
    held = building.get("door.entrance.hold")
    override = hass.states.get(f"select.{B}_mode_override").state
    for headers in ({"Authorization": f"Bearer {key}"}, {READER_KEY_HEADER: key}):
        response = await client.post(
            f"/api/services/{domain}/{service}", json=data, headers=headers
        )
        assert response.status == 401
        response = await client.get("/api/states", headers=headers)
        assert response.status == 401
    await hass.async_block_till_done()
    assert releases(building) == before
    assert building.get("door.entrance.hold") == held
    assert hass.states.get(f"select.{B}_mode_override").state == override
