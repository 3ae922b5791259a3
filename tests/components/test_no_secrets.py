"""No PIN and no full card number in a log line, an event, a state, diagnostics or an error.

Every access path is driven with distinctive secrets, given as strings and as numbers (a JSON
number, a template rendering an integer), with every logger at DEBUG and the recorder on; then
the log, every event fired on the bus (including Home Assistant's own `call_service`), every state
and attribute, a script's trace, the diagnostics, every error message and every table of the
recorder's database are searched.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date, timedelta
import json
import logging
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient
from homeassistant.components.recorder import Recorder, get_instance
from homeassistant.components.recorder.util import session_scope
from homeassistant.const import ATTR_ENTITY_ID, ATTR_OPTION, MATCH_ALL
from homeassistant.core import Event, HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import device_registry as dr
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
)
from pytest_homeassistant_custom_component.typing import (
    MockHAClientWebSocket,
    RecorderInstanceContextManager,
    WebSocketGenerator,
)
from sqlalchemy import text

from custom_components.smart_library.access.decisions import store_path
from custom_components.smart_library.const import DOMAIN, EVENT_ACCESS
from simulator.building import SimulatedBuilding
from tests.components.conftest import years_before

CARD = "29876543210123"
CHILD = "29876543210456"
STAFF = "CLEANER77331"
UNKNOWN = "29999999999999"
IMPORTED = "29876500011122"
PINS = ("73914682", "51739264", "86203157", "93715")
# Given as numbers: a card and PINs as a JSON number or a template's integer would arrive.
NUMBER_CARD, NUMBER_CHILD = 29876543219876, 29876543214321
NUMBER_PINS = (64827139, 58203746)
SECRETS = (
    CARD,
    CHILD,
    STAFF,
    UNKNOWN,
    IMPORTED,
    *PINS,
    *(str(n) for n in (NUMBER_CARD, NUMBER_CHILD, *NUMBER_PINS)),
)


@pytest.fixture
def mock_recorder_before_hass(
    async_setup_recorder_instance: RecorderInstanceContextManager,
) -> None:
    """Have the recorder ready before Home Assistant starts: its database is searched."""


async def recorded(hass: HomeAssistant) -> str:
    """Return every row of every table of the recorder's database, as text."""
    await async_wait_recording_done(hass)

    def dump() -> str:
        with session_scope(hass=hass, read_only=True) as session:
            tables = [
                row[0]
                for row in session.execute(
                    text("SELECT name FROM sqlite_master WHERE type = 'table'")
                )
            ]
            return "\n".join(
                str(row)
                for table in tables
                for row in session.execute(text(f'SELECT * FROM "{table}"'))  # noqa: S608 - names from sqlite_master
            )

    return await get_instance(hass).async_add_executor_job(dump)


async def script_traces(client: MockHAClientWebSocket) -> str:
    """Return the traces of every script run, as Home Assistant's UI would fetch them."""
    await client.send_json_auto_id({"type": "trace/list", "domain": "script"})
    listed = (await client.receive_json())["result"]
    traces = []
    for summary in listed:
        await client.send_json_auto_id(
            {
                "type": "trace/get",
                "domain": "script",
                "item_id": summary["item_id"],
                "run_id": summary["run_id"],
            }
        )
        traces.append(json.dumps((await client.receive_json())["result"]))
    assert traces
    return "\n".join(traces)


async def test_no_secret_anywhere(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    building: SimulatedBuilding,
    *,
    caplog: pytest.LogCaptureFixture,
    hass_client: Callable[[], Awaitable[TestClient]],
    hass_ws_client: WebSocketGenerator,
) -> None:
    """Drive every path; find no PIN and no full card number anywhere, nor in the recorder."""
    assert await async_setup_component(hass, "diagnostics", {})
    ws = await hass_ws_client(hass)  # before any HTTP client: the router is frozen then
    caplog.set_level(logging.DEBUG)
    events: list[Event] = []
    hass.bus.async_listen(MATCH_ALL, events.append)
    errors: list[str] = []
    pin, other_pin, adult_pin, staff_pin = PINS
    entry = init_integration
    device = dr.async_get(hass).async_get_device_by_identifier(
        (DOMAIN, "branch_oadby"), entry.entry_id
    )
    assert device is not None
    today = dt_util.now().date()

    async def act(service: str, data: dict[str, Any]) -> Any:
        try:
            return await hass.services.async_call(
                DOMAIN, service, data, blocking=True, return_response=True
            )
        except HomeAssistantError as err:
            errors.append(str(err))
            return None

    await hass.services.async_call(
        "select",
        "select_option",
        {ATTR_ENTITY_ID: "select.oadby_library_mode_override", ATTR_OPTION: "smart"},
        blocking=True,
    )
    member = {"birth_date": date(1980, 1, 1), "card_expiry": today + timedelta(days=99)}
    await act(
        "enroll_member", {"card": CARD, "pin": pin, "induction_date": today} | member
    )
    await act("enroll_member", {"card": CARD, "pin": pin} | member)  # already enrolled
    await act(
        "enroll_member",
        {"card": CHILD, "pin": other_pin}
        | member
        | {"birth_date": years_before(today, 10)},
    )
    await act("enroll_member", {"card": UNKNOWN + "X", "pin": "12"} | member)  # bad PIN
    await act("set_pin", {"card": CARD, "pin": adult_pin})
    await act("set_pin", {"card": UNKNOWN, "pin": pin})
    await act(
        "import_members",
        {
            "csv": f"card,birth_date,card_expiry\n{IMPORTED},1990-01-01,2030-01-01\n{UNKNOWN},bad,2030-01-01\n"
        },
    )
    await act(
        "add_staff_card",
        {
            "card": STAFF,
            "name": "Cleaner",
            "role": "cleaner",
            "windows": "00:00-23:59",
            "pin": staff_pin,
        },
    )
    await act(
        "add_staff_card",
        {
            "card": CARD,
            "name": "x",
            "role": "staff",
            "windows": "00:00-23:59",
            "pin": staff_pin,
        },
    )
    for card, typed, extra in (
        (CARD, adult_pin, {}),
        (CARD, adult_pin, {"minors": 1}),
        (CHILD, other_pin, {"adult_card": CARD, "adult_pin": adult_pin}),
        (STAFF, staff_pin, {}),
        (UNKNOWN, pin, {}),
        (CARD, adult_pin, {"door": "meeting_room"}),
        (IMPORTED, pin, {}),
        *((CARD, pin, {}) for _ in range(6)),  # wrong PINs, then locked out
        (CARD, adult_pin, {"door": "no_such_door"}),
    ):
        await act(
            "request_access", {"branch": device.id, "card": card, "pin": typed} | extra
        )
    for card in (CARD, UNKNOWN):  # a booking, and one for a card that is no member's
        await act(
            "book_room",
            {
                "branch": device.id,
                "card": card,
                "start": dt_util.now(),
                "end": dt_util.now() + timedelta(hours=1),
            },
        )
    await act(
        "bar_member",
        {"card": CARD, "reason": "test", "review_date": today + timedelta(days=30)},
    )
    await act("remove_member", {"card": UNKNOWN})

    # The same secrets as numbers, in every field that carries one.
    number_pin, other_number_pin = NUMBER_PINS
    await act(
        "enroll_member",
        {"card": NUMBER_CARD, "pin": number_pin, "induction_date": today} | member,
    )
    await act(
        "enroll_member",
        {"card": NUMBER_CHILD, "pin": number_pin}
        | member
        | {"birth_date": years_before(today, 9)},
    )
    await act("set_pin", {"card": NUMBER_CARD, "pin": other_number_pin})
    for card, typed, extra in (
        (NUMBER_CARD, other_number_pin, {}),
        (NUMBER_CARD, number_pin, {}),  # a wrong PIN
        (
            NUMBER_CHILD,
            number_pin,
            {"adult_card": NUMBER_CARD, "adult_pin": other_number_pin},
        ),
    ):
        await act(
            "request_access", {"branch": device.id, "card": card, "pin": typed} | extra
        )
    await act(
        "book_room",
        {
            "branch": device.id,
            "card": NUMBER_CARD,
            "start": dt_util.now() + timedelta(hours=2),
            "end": dt_util.now() + timedelta(hours=3),
        },
    )
    await act("unlock_card", {"card": NUMBER_CARD})
    await act("lift_restriction", {"card": NUMBER_CARD})
    # A script whose templates render the card and PIN as integers; its trace is kept.
    assert await async_setup_component(
        hass,
        "script",
        {
            "script": {
                "porch": {
                    "sequence": [
                        {
                            "action": f"{DOMAIN}.request_access",
                            "data": {
                                "branch": device.id,
                                # Computed, so that only a rendered value could hold it
                                # (the script's own text is the author's, in the trace too).
                                "card": f"{{{{ {NUMBER_CARD // 2} * 2 }}}}",
                                "pin": f"{{{{ {other_number_pin // 2} * 2 }}}}",
                            },
                        }
                    ]
                }
            }
        },
    )
    await hass.services.async_call("script", "porch", blocking=True)
    exported = await act("export_members", {})
    assert (
        CARD in exported["csv"]
    )  # the export is the one place a card is whole (admin only)

    # A caller that does not wait for the action: Home Assistant logs the failing call itself.
    for service, data in (
        ("set_pin", {"card": UNKNOWN, "pin": other_pin}),
        ("request_access", {"branch": "nowhere", "card": CARD, "pin": pin}),
    ):
        await hass.services.async_call(DOMAIN, service, data)
        await hass.async_block_till_done()
    assert caplog.text.count("Error executing service") >= 2

    client = await hass_client()
    for body in (
        {"branch": device.id, "card": CARD, "pin": adult_pin},
        {"branch": device.id, "card": UNKNOWN, "pin": pin},
        {"branch": "nowhere", "card": CARD, "pin": pin},
        {"branch": device.id, "card": CARD, "pin": pin, "minors": "many"},
    ):
        response = await client.post("/api/smart_library/access", json=body)
        errors.append(await response.text())
    await hass.async_block_till_done()

    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    states = [json.dumps(s.as_dict(), default=str) for s in hass.states.async_all()]
    bus = [json.dumps(e.as_dict(), default=str) for e in events]
    database = await recorded(hass)
    places = {
        "log": caplog.text,
        "events": "\n".join(bus),
        "states": "\n".join(states),
        "diagnostics": json.dumps(diagnostics, default=str),
        "errors": "\n".join(errors),
        "script trace": await script_traces(ws),
        "recorder database": database,
    }
    assert len(errors) >= 8 and len(bus) > 20
    # The recorder did keep the calls (masked), so searching it can find something.
    assert "request_access" in database and "••••9876" in database
    reasons = {e.data["reason"] for e in events if e.event_type == EVENT_ACCESS}
    assert reasons >= {
        "granted",
        "staff",
        "unknown_card",
        "wrong_pin",
        "locked_out",
        "room_not_booked",
    }
    for where, found in places.items():
        for secret in SECRETS:
            assert secret not in found, f"{secret} found in {where}"
    # The store holds PINs only as salted, peppered hashes.
    raw = b"".join(
        p.read_bytes()
        for p in Path(store_path(hass, entry.entry_id)).parent.iterdir()
        if p.name.startswith(entry.entry_id)
    )
    for secret in PINS:
        assert secret.encode() not in raw
