"""The second perimeter: what a reader, a staff login or a read-only login can do or learn.

Each test is an attack a real person could make — with a reader key, a staff account or a
read-only account — written to get in on the code before the fix; each must now fail to.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
import sqlite3
from typing import Any

from aiohttp.test_utils import TestClient
from homeassistant.auth.const import GROUP_ID_USER
from homeassistant.components.select import ATTR_OPTION
from homeassistant.const import ATTR_ENTITY_ID
from homeassistant.core import Context, HomeAssistant
from homeassistant.exceptions import (
    HomeAssistantError,
    ServiceValidationError,
    Unauthorized,
)
from homeassistant.helpers import issue_registry as ir
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    MockUser,
    async_capture_events,
)

from custom_components.smart_library.access.reader_keys import async_get_reader_keys
from custom_components.smart_library.const import DOMAIN, EVENT_ACCESS
from custom_components.smart_library.engine.database import storage_error
from custom_components.smart_library.engine.members.access import AccessDecider
from custom_components.smart_library.engine.members.store import MembershipStore
from simulator.building import SimulatedBuilding
from tests.components.test_reader_keys import (  # noqa: F401  # fixtures
    ADULT,
    PIN,
    ask,
    call,
    device_of,
    library,
    make_key,
    mock_config_entry,
    releases,
)

OVERRIDE = "select.oadby_library_mode_override"
type ClientFactory = Callable[[], Awaitable[TestClient]]


async def _select(hass: HomeAssistant, option: str, context: Context | None) -> None:
    await hass.services.async_call(
        "select",
        "select_option",
        {ATTR_ENTITY_ID: OVERRIDE, ATTR_OPTION: option},
        blocking=True,
        context=context,
    )


async def test_staff_may_narrow_the_mode_never_widen_it(
    hass: HomeAssistant, init_integration: MockConfigEntry, building: SimulatedBuilding
) -> None:
    """Closed by the plan: staff cannot open the branch (staffed, event, smart); admins can."""
    staff = MockUser(groups=[await hass.auth.async_get_group(GROUP_ID_USER)])
    staff.add_to_hass(hass)
    assert not staff.is_admin
    as_staff = Context(user_id=staff.id)
    hours = init_integration.runtime_data.branches["branch_oadby"].hours
    assert hours.mode.value == "closed"
    for option in ("staffed", "event", "smart"):
        with pytest.raises(Unauthorized):
            await _select(hass, option, as_staff)
        assert hass.states.get(OVERRIDE).state == "automatic"
        assert hours.mode.value == "closed"
    assert not any(building.get(f"door.{d}.hold") for d in ("entrance",))
    # Narrowing (or going back to the plan) is a staff member's call.
    await _select(hass, "closed", as_staff)
    assert hass.states.get(OVERRIDE).state == "closed"
    await _select(hass, "automatic", as_staff)
    # An administrator may open it (an event tonight, say).
    await _select(hass, "event", None)
    assert hours.mode.value == "event"


@pytest.mark.usefixtures("library")
async def test_closed_hours_answer_alike_whatever_the_pin(
    hass: HomeAssistant,
    hass_client_no_auth: ClientFactory,
    building: SimulatedBuilding,
) -> None:
    """A reader at a closed branch learns nothing of the PIN: right and wrong read the same."""
    key = await make_key(hass)
    await _select(hass, "closed", None)
    client = await hass_client_no_auth()
    right = await ask(client, key, pin=PIN)
    wrong = await ask(client, key, pin="11112222")
    stranger = await ask(client, key, card="21239999000000", pin="11112222")
    assert right == wrong == stranger
    assert right[0] == 200 and right[1]["reason"] == "not_open"
    # Nothing counted: the member's own PIN opens once the branch is open again.
    for _ in range(6):
        await ask(client, key, pin="11112222")
    await _select(hass, "smart", None)
    status, answer = await ask(client, key, pin=PIN)
    assert (status, answer["granted"]) == (200, True)


@pytest.mark.usefixtures("library")
async def test_a_key_revoked_during_the_decision_releases_nothing(
    hass: HomeAssistant,
    hass_client_no_auth: ClientFactory,
    building: SimulatedBuilding,
) -> None:
    """The key goes while the PIN is being checked: 401, no release."""
    access_events = async_capture_events(hass, EVENT_ACCESS)
    key = await make_key(hass)
    keys = await async_get_reader_keys(hass)
    original = AccessDecider.decide
    loop = asyncio.get_running_loop()

    def decide_then_revoke(self: AccessDecider, request: Any) -> Any:
        decision = original(self, request)
        # An administrator revokes the key now, before the door would be released.
        asyncio.run_coroutine_threadsafe(
            keys.async_revoke(key.partition(".")[0], None), loop
        ).result(timeout=10)
        return decision

    before = releases(building)
    client = await hass_client_no_auth()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(AccessDecider, "decide", decide_then_revoke)
        status, answer = await ask(client, key)
    assert (status, answer["code"]) == (401, "invalid_reader_key")
    assert releases(building) == before
    assert access_events[-1].data["reason"] == "reader_key_revoked"


@pytest.mark.usefixtures("library")
async def test_input_no_library_system_can_carry_is_refused_first(
    hass: HomeAssistant,
    hass_client_no_auth: ClientFactory,
    building: SimulatedBuilding,
) -> None:
    """Control characters in a card or PIN: 400, counted by the reader's throttle, no card."""
    key = await make_key(hass)
    client = await hass_client_no_auth()
    statuses = []
    for n in range(14):
        status, answer = await ask(client, key, pin=f"8041\r{n:03d}")
        statuses.append(status)
        assert status == 429 or answer["code"] == "invalid_request"
    assert statuses[0] == 400
    assert 429 in statuses  # the reader is stopped like any that keeps being refused
    assert releases(building) == 0
    # The member's card was never counted: once the reader may ask again, the PIN opens.
    keys = await async_get_reader_keys(hass)
    keys.throttle.lift(key.partition(".")[0])
    status, answer = await ask(client, key)
    assert (status, answer["granted"]) == (200, True)
    # The action says so in words, never with a traceback.
    with pytest.raises(ServiceValidationError) as err:
        await call(
            hass,
            "request_access",
            {
                "branch": device_of(hass, "branch_oadby"),
                "door": "entrance",
                "card": ADULT,
                "pin": "8041\x00263",
            },
        )
    assert err.value.translation_key == "invalid_request"


@pytest.mark.usefixtures("library")
async def test_a_member_store_that_cannot_be_written_is_no_way_in(
    hass: HomeAssistant, building: SimulatedBuilding
) -> None:
    """Disk full: no member's PIN is checked (it could not be counted), staff still open.

    Before, the answer was "cannot rollback - no transaction is active", staff were refused too,
    and nothing said the disk was full. Now: members `store_unavailable`, a repair issue naming
    the problem, a translated error from an admin action, and the right PIN works again once
    space returns.
    """
    await call(
        hass,
        "add_staff_card",
        {
            "card": "99000001",
            "name": "Cleaner",
            "role": "cleaner",
            "windows": "00:00-23:59",
            "pin": "97531",
        },
    )
    device = device_of(hass, "branch_oadby")
    entry = hass.config_entries.async_entries(DOMAIN)[0]

    def full(*_args: Any, **_kwargs: Any) -> Any:
        # What the store's own writes raise when SQLite says the disk is full.
        cause = sqlite3.OperationalError("database or disk is full")
        raise storage_error(cause) from cause

    with pytest.MonkeyPatch.context() as patch:
        for method in ("reserve_pin_attempt", "add", "change"):
            patch.setattr(MembershipStore, method, full)
        member = await call(
            hass, "request_access", {"branch": device, "card": ADULT, "pin": PIN}
        )
        assert (member["granted"], member["reason"]) == (False, "store_unavailable")
        wrong = await call(
            hass, "request_access", {"branch": device, "card": ADULT, "pin": "0000"}
        )
        assert wrong["reason"] == "store_unavailable"  # no PIN looked at
        issue = ir.async_get(hass).async_get_issue(
            DOMAIN, f"member_store_writes_{entry.entry_id}"
        )
        assert issue is not None
        staff = await call(
            hass,
            "request_access",
            {"branch": device, "card": "99000001", "pin": "97531"},
        )
        assert (staff["granted"], staff["reason"]) == (True, "staff")
        with pytest.raises(HomeAssistantError) as err:
            await call(
                hass,
                "enroll_member",
                {
                    "card": "21234000000009",
                    "birth_date": "1980-01-01",
                    "card_expiry": "2030-01-01",
                },
            )
        assert err.value.translation_key == "storage_full"
    answer = await call(
        hass, "request_access", {"branch": device, "card": ADULT, "pin": PIN}
    )
    assert answer["granted"] is True
    await hass.async_block_till_done()
    assert (
        ir.async_get(hass).async_get_issue(
            DOMAIN, f"member_store_writes_{entry.entry_id}"
        )
        is None
    )


@pytest.mark.usefixtures("library")
async def test_closed_hours_count_nothing_however_many_arrive_at_once(
    hass: HomeAssistant,
    hass_client_no_auth: ClientFactory,
    building: SimulatedBuilding,
) -> None:
    """Twenty guesses at once at a closed branch, the right PIN among them: all `not_open`."""
    key = await make_key(hass)
    await _select(hass, "closed", None)
    client = await hass_client_no_auth()
    pins = [f"{n:08d}" for n in range(19)] + [PIN]
    answers = await asyncio.gather(*(ask(client, key, pin=pin) for pin in pins))
    assert {(status, a["reason"]) for status, a in answers} <= {
        (200, "not_open"),
        (429, "reader_throttled"),
    }
    assert releases(building) == 0
    await _select(hass, "smart", None)
    keys = await async_get_reader_keys(hass)
    keys.throttle.lift(key.partition(".")[0])
    status, answer = await ask(client, key)
    assert (status, answer["granted"]) == (200, True)  # none of them was counted
