"""Attacks on the PIN lock-out through Home Assistant's request_access action.

Findings of the issue, each tried again: 200 guesses at once with the right PIN 16th (was:
granted, door pulsed); 4 wrong PINs, a reload, 4 more and the right one (was: granted);
`lift_restriction` answering "granted" while the card stayed locked out.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from datetime import date, timedelta
import threading
import time
from typing import Any

from homeassistant.const import ATTR_ENTITY_ID, ATTR_OPTION
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.smart_library.const import DOMAIN
from custom_components.smart_library.engine.members import access as engine_access
from simulator.building import SimulatedBuilding

ADULT = "21234000000001"
PIN = "80417263"
GUESSES = 200
GUARD = 60.0  # seconds: only to fail rather than hang should the rule break


async def call(hass: HomeAssistant, service: str, data: dict[str, Any]) -> Any:
    """Call one of the integration's actions as an admin; return its response."""
    return await hass.services.async_call(
        DOMAIN, service, data, blocking=True, return_response=True
    )


async def open_smart(hass: HomeAssistant) -> None:
    """Put the branch in smart mode."""
    await hass.services.async_call(
        "select",
        "select_option",
        {ATTR_ENTITY_ID: "select.oadby_library_mode_override", ATTR_OPTION: "smart"},
        blocking=True,
    )


@pytest.fixture
async def member(hass: HomeAssistant, init_integration: MockConfigEntry) -> None:
    """Enroll an inducted adult with PIN `PIN`; open the branch to members."""
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
    await open_smart(hass)


async def ask(hass: HomeAssistant, pin: str, card: str = ADULT) -> str:
    """Ask for the entrance with the card and a PIN; return the reason."""
    entry = hass.config_entries.async_entries(DOMAIN)[0]
    device = dr.async_get(hass).async_get_device_by_identifier(
        (DOMAIN, "branch_oadby"), entry.entry_id
    )
    assert device is not None
    answer = await call(
        hass, "request_access", {"branch": device.id, "card": card, "pin": pin}
    )
    return str(answer["reason"])


def releases(building: SimulatedBuilding) -> int:
    """Return how many timed releases the controller was given for the entrance."""
    return sum(1 for k, v in building.writes if k == "door.entrance.pulse" and v)


class Gate:
    """Stands in for the key derivation: counts each PIN evaluated, holds it until opened."""

    def __init__(self) -> None:
        """Start closed."""
        self.evaluated = 0
        self.answered = 0
        self.opened = threading.Event()
        self._lock = threading.Lock()
        self._real = engine_access.verify_pin

    def verify(self, pin: str, stored: str | None, pepper: bytes) -> bool:
        """Count, wait for the gate (in an executor thread), then evaluate for real."""
        with self._lock:
            self.evaluated += 1
        self.opened.wait(GUARD)
        return self._real(pin, stored, pepper)

    async def until(self, condition: Callable[[], bool]) -> None:
        """Wait on the event loop until `condition` holds (or the guard time passes)."""
        deadline = time.monotonic() + GUARD
        while not condition() and time.monotonic() < deadline:
            await asyncio.sleep(0.005)


@pytest.mark.usefixtures("member")
async def test_two_hundred_guesses_at_once_with_the_right_pin_sixteenth(
    hass: HomeAssistant, building: SimulatedBuilding, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At most 5 PINs are evaluated; the right one, 16th, is refused unread; no door opens.

    The first 15 guesses go out and their derivations are held until all 200 are either held
    or answered: every guess is in flight at once, as in the attack. Before the fix all 200
    passed the lock-out check before any wrong PIN was counted.
    """
    gate = Gate()
    monkeypatch.setattr(engine_access, "verify_pin", gate.verify)

    async def guess(number: int) -> str:
        try:
            return await ask(hass, PIN if number == 15 else f"{10_000_000 + number}")
        finally:
            gate.answered += 1

    first = [asyncio.create_task(guess(n)) for n in range(15)]
    await gate.until(lambda: gate.evaluated >= 5)
    rest = [asyncio.create_task(guess(n)) for n in range(15, GUESSES)]
    await gate.until(lambda: gate.evaluated + gate.answered >= GUESSES)
    gate.opened.set()
    answers = await asyncio.gather(*first, *rest)

    assert gate.evaluated <= 5
    assert answers[15] == "locked_out"
    assert Counter(answers) == {"wrong_pin": 5, "locked_out": 195}
    assert releases(building) == 0
    assert await ask(hass, PIN) == "locked_out"
    assert releases(building) == 0


@pytest.mark.usefixtures("member")
async def test_a_reload_between_guesses_forgets_nothing(
    hass: HomeAssistant, init_integration: MockConfigEntry, building: SimulatedBuilding
) -> None:
    """4 wrong, reload, 4 wrong, right PIN: the 5th wrong PIN locks the card (was: granted)."""
    assert [await ask(hass, "0000") for _ in range(4)] == ["wrong_pin"] * 4
    assert await hass.config_entries.async_reload(init_integration.entry_id)
    await hass.async_block_till_done()
    await open_smart(hass)
    assert [await ask(hass, "0000") for _ in range(4)] == ["wrong_pin"] + [
        "locked_out"
    ] * 3
    assert await ask(hass, PIN) == "locked_out"
    assert releases(building) == 0


@pytest.mark.usefixtures("member")
async def test_lifting_a_restriction_does_not_claim_to_unlock_the_card(
    hass: HomeAssistant, building: SimulatedBuilding
) -> None:
    """lift_restriction says the card is still locked out; unlock_card lifts the lock-out."""
    today = dt_util.now().date()
    await call(
        hass,
        "bar_member",
        {"card": ADULT, "reason": "x", "review_date": today + timedelta(days=30)},
    )
    for _ in range(5):
        await ask(hass, "0000")
    answer = await call(hass, "lift_restriction", {"card": ADULT})
    assert answer["eligibility"] == "locked_out"
    assert dt_util.parse_datetime(answer["locked_until"]) > dt_util.now()
    assert await ask(hass, PIN) == "locked_out"

    assert await call(hass, "unlock_card", {"card": ADULT}) == {
        "card": "••••0001",
        "was_locked_out": True,
    }
    assert await ask(hass, PIN) == "granted"
    assert releases(building) == 1
    answer = await call(hass, "lift_restriction", {"card": ADULT})
    assert answer == {"card": "••••0001", "eligibility": "granted"}
    assert (await call(hass, "unlock_card", {"card": ADULT}))["was_locked_out"] is False


@pytest.mark.usefixtures("member")
async def test_a_strangers_card_is_counted_like_a_members(hass: HomeAssistant) -> None:
    """Guessing on an unknown card also ends in a lock-out, as it does for a member's card."""
    stranger = "21239999000000"
    reasons = [await ask(hass, "0000", stranger) for _ in range(6)]
    assert reasons == ["unknown_card"] * 5 + ["locked_out"]
    assert (await call(hass, "unlock_card", {"card": stranger}))["was_locked_out"]
