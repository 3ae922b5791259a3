"""Fifty PIN guesses sent at once through the reader endpoint, the right PIN the 21st.

Before: the check, the key derivation and the count were not one step, and a reader's token could
ask as often as it liked; 29 wrong guesses were evaluated, then the right one granted. Now at most
the lock-out's number of PINs is evaluated and the door never opens; with the reader's throttle
at its default the reader is stopped as well, and with the throttle out of the way (raised above
the burst) the lock-out alone holds.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import date, timedelta
from http import HTTPStatus

from aiohttp.test_utils import TestClient
from homeassistant.const import ATTR_ENTITY_ID, ATTR_OPTION
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
)

from custom_components.smart_library.access.reader_keys import (
    CONF_READER_REFUSALS,
    EVENT_READER_THROTTLED,
    READER_KEY_HEADER,
)
from custom_components.smart_library.const import (
    DEFAULT_LOCKOUT_ATTEMPTS,
    DOMAIN,
    EVENT_ACCESS,
)
from simulator.building import SimulatedBuilding
from tests.components.test_reader_keys import ACCESS, call, make_key, releases

CARD, PIN = "21234000000001", "80417263"
GUESSES, RIGHT = 50, 20  # the right PIN is the 21st sent


@pytest.fixture(params=["default throttle", "throttle above the burst"])
def mock_config_entry(
    request: pytest.FixtureRequest, mock_config_entry: MockConfigEntry
) -> MockConfigEntry:
    """Return the library service, with its readers' throttle as the test asks."""
    if request.param == "throttle above the burst":
        return MockConfigEntry(
            domain=mock_config_entry.domain,
            title=mock_config_entry.title,
            unique_id=mock_config_entry.unique_id,
            data=dict(mock_config_entry.data),
            options={CONF_READER_REFUSALS: GUESSES * 2},
            subentries_data=[
                {
                    "data": dict(s.data),
                    "subentry_id": s.subentry_id,
                    "subentry_type": s.subentry_type,
                    "title": s.title,
                    "unique_id": s.unique_id,
                }
                for s in mock_config_entry.subentries.values()
            ],
        )
    return mock_config_entry


@pytest.mark.usefixtures("init_integration")
async def test_fifty_guesses_at_once_never_open_the_door(
    hass: HomeAssistant,
    building: SimulatedBuilding,
    hass_client_no_auth: Callable[[], Awaitable[TestClient]],
) -> None:
    """Never granted; at most the lock-out's number of PINs evaluated; the door stays shut."""
    assert hass.services.has_service(DOMAIN, "create_reader_key")
    today = dt_util.now().date()
    await call(
        hass,
        "enroll_member",
        {
            "card": CARD,
            "birth_date": date(1970, 1, 1),
            "card_expiry": today + timedelta(days=365),
            "induction_date": today,
            "pin": PIN,
        },
    )
    await hass.services.async_call(
        "select",
        "select_option",
        {ATTR_ENTITY_ID: "select.oadby_library_mode_override", ATTR_OPTION: "smart"},
        blocking=True,
    )
    key = await make_key(hass)
    decisions = async_capture_events(hass, EVENT_ACCESS)
    throttled = async_capture_events(hass, EVENT_READER_THROTTLED)
    client = await hass_client_no_auth()

    async def guess(n: int) -> tuple[int, str]:
        pin = PIN if n == RIGHT else f"{10000000 + n}"
        response = await client.post(
            ACCESS, json={"card": CARD, "pin": pin}, headers={READER_KEY_HEADER: key}
        )
        return response.status, (await response.json())["reason"]

    replies = await asyncio.gather(*(guess(n) for n in range(GUESSES)))
    await hass.async_block_till_done()

    assert all(reason != "granted" for _, reason in replies), replies
    assert releases(building) == 0
    evaluated = Counter(e.data["reason"] for e in decisions)
    # A PIN evaluated comes back wrong_pin (or granted); beyond the lock-out: locked_out.
    assert evaluated["granted"] == 0
    assert evaluated["wrong_pin"] <= DEFAULT_LOCKOUT_ATTEMPTS, evaluated
    statuses = Counter(status for status, _ in replies)
    assert set(statuses) <= {HTTPStatus.OK, HTTPStatus.TOO_MANY_REQUESTS}
    entry = hass.config_entries.async_entries(DOMAIN)[0]
    if CONF_READER_REFUSALS not in entry.options:
        # The default throttle stopped the reader as well: 10 refusals allowed, the 11th trips
        # it, and no more than 11 were ever in flight at once.
        assert len(throttled) == 1
        assert statuses[HTTPStatus.OK] == 11
        assert len(decisions) == 11
    else:
        assert not throttled
        assert len(decisions) == GUESSES  # every guess reached the lock-out
