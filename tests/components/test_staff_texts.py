"""Staff alerts, spoken answers and logbook lines in the staff's language (texts/staff).

Alerts and logbook lines follow Home Assistant's language, spoken answers the conversation's;
English stays as it was, a language the integration does not ship answers in English, and the
buttons of an alert keep their action ids in every language.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
import json
from pathlib import Path
from typing import Any

from homeassistant.core import Context, Event, HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import intent
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.smart_library import logbook
from custom_components.smart_library.const import DOMAIN
from custom_components.smart_library.engine.lms.gateway import LmsReason
from custom_components.smart_library.engine.members.membership import Reason
from custom_components.smart_library.engine.safety.alerts import parse_action
from custom_components.smart_library.intent import _error_text
from custom_components.smart_library.logbook import INDUCTION_OUTCOMES
from simulator.building import SimulatedBuilding

from .safety_common import (
    TODO,
    add_phone,
    answer,
    clock_at,
    incidents,
    notify_calls,
    panic_pressed,
    settle,
    setup_branch,
)

STAFF = (
    Path(__file__).resolve().parents[2]
    / "custom_components"
    / "smart_library"
    / "texts"
    / "staff"
)


@pytest.fixture
def clock() -> Iterator[Any]:
    """Tuesday 24 November 2026, 20:00 in London: smart hours 18:00-21:00."""
    yield from clock_at("2026-11-24 20:00:00+00:00")


async def _panic_alert(
    hass: HomeAssistant,
    building: SimulatedBuilding,
    entry: MockConfigEntry,
    language: str,
) -> dict[str, Any]:
    """Press the panic button with Home Assistant in `language`; return what the phone got."""
    phone = await add_phone(hass, "duty")
    calls = notify_calls(hass, "duty")
    await setup_branch(hass, entry, on_call=[phone])
    hass.config.language = language
    await panic_pressed(hass, building)
    (alert,) = calls
    return dict(alert.data)


def _buttons(alert: dict[str, Any]) -> list[tuple[str, str]]:
    """Return each button as (answer it stands for, title)."""
    found = []
    for action in alert["data"]["actions"]:
        parsed = parse_action(action["action"])
        assert parsed is not None
        found.append((parsed[0].value, action["title"]))
    return found


@pytest.mark.usefixtures("clock")
@pytest.mark.parametrize(
    ("language", "title", "what", "buttons"),
    [
        (
            "en",
            "Panic alarm — Oadby Library",
            "Panic button pressed, panic button counter, 20:00, smart hours",
            ["Acknowledge", "Lock down", "I'm on my way"],
        ),
        (
            "da",
            "Overfaldsalarm — Oadby Library",
            "Overfaldsknap trykket, overfaldsknappen ved skranken, 20:00, åbent bibliotek",
            ["Kvittér", "Luk ned", "Jeg er på vej"],
        ),
        (
            "cy",
            "Larwm panig — Oadby Library",
            "Botwm panig wedi'i wasgu, botwm panig y cownter, 20:00, oriau hunanwasanaeth",
            ["Cydnabod", "Cloi i lawr", "Rwy ar fy ffordd"],
        ),
    ],
)
async def test_a_panic_alert_reaches_the_phone_in_home_assistants_language(  # noqa: PLR0917
    hass: HomeAssistant,
    building: SimulatedBuilding,
    mock_config_entry: MockConfigEntry,
    language: str,
    title: str,
    what: str,
    buttons: list[str],
) -> None:
    """Title, message and buttons' titles translated; the same answers, critical as ever."""
    alert = await _panic_alert(hass, building, mock_config_entry, language)
    assert alert["title"] == title
    assert alert["message"].startswith(what)
    assert _buttons(alert) == list(
        zip(("ACK", "LOCKDOWN", "ONMYWAY"), buttons, strict=True)
    )
    assert alert["data"]["channel"] == "alarm_stream"
    assert alert["data"]["push"]["sound"]["critical"] == 1


@pytest.mark.usefixtures("clock")
async def test_a_danish_button_answers_like_an_english_one_and_the_record_stays_danish(
    hass: HomeAssistant,
    building: SimulatedBuilding,
    mock_config_entry: MockConfigEntry,
) -> None:
    """The Danish "Jeg er på vej" is the same answer; the timeline keeps its Danish lines.

    Stored records stay in the language they were written in: after Home Assistant goes back
    to English, the incident's lines are still Danish, while the to-do item (composed when read)
    is English again.
    """
    bea = await hass.auth.async_create_user("Bea", group_ids=["system-users"])
    phone = await add_phone(hass, "bea", bea)
    calls = notify_calls(hass, "bea")
    await setup_branch(hass, mock_config_entry, on_call=[phone])
    hass.config.language = "da"
    await panic_pressed(hass, building)
    buttons = {a["title"]: a["action"] for a in calls[0].data["data"]["actions"]}
    answer(hass, buttons["Jeg er på vej"], bea)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert calls[-1].data["message"].startswith("Bea er på vej (")
    (panic,) = await incidents(hass)
    assert ("På vej", "Bea") in [(e.text, e.by) for e in panic.log]
    assert panic.log[0].text == "Registreret"
    assert panic.location == "overfaldsknappen ved skranken"

    hass.config.language = "en"
    (panic,) = await incidents(hass)
    assert panic.log[0].text == "Registreret"  # as written, never translated again
    await settle(hass)
    items = await _todo_items(hass)
    assert [i["summary"] for i in items] == [
        "Panic alarm at Oadby Library, overfaldsknappen ved skranken (24 Nov 20:00)"
    ]


async def _todo_items(hass: HomeAssistant) -> list[dict[str, Any]]:
    entity = hass.data["entity_components"]["todo"].get_entity(TODO)
    await entity.async_update_ha_state(force_refresh=True)
    return [
        {"summary": i.summary, "description": i.description}
        for i in entity.todo_items or []
    ]


@pytest.mark.usefixtures("clock")
async def test_the_to_do_list_reads_in_welsh_and_takes_a_welsh_category(
    hass: HomeAssistant,
    building: SimulatedBuilding,
    mock_config_entry: MockConfigEntry,
) -> None:
    """Summary and description in Welsh; "Difrod: …" records a damage incident."""
    await setup_branch(hass, mock_config_entry)
    hass.config.language = "cy"
    await hass.services.async_call(
        "todo",
        "add_item",
        {"item": "Difrod: ffenest yn llyfrgell y plant"},
        target={"entity_id": TODO},
        blocking=True,
    )
    (damage,) = await incidents(hass)
    assert damage.category.value == "damage"
    assert damage.description == "ffenest yn llyfrgell y plant"
    (item,) = await _todo_items(hass)
    assert item["summary"] == "Difrod yn Oadby Library (24 Tach 20:00)"
    assert item["description"] == f"Digwyddiad {damage.id} (agored)"


@pytest.fixture
async def branch(
    hass: HomeAssistant,
    clock: Any,
    building: SimulatedBuilding,
    mock_config_entry: MockConfigEntry,
) -> str:
    """Set up the branch in smart hours with the intents registered."""
    device = await setup_branch(hass, mock_config_entry)
    assert await async_setup_component(hass, "intent", {})
    await hass.async_block_till_done(wait_background_tasks=True)  # the intent platforms
    return device


async def _ask(
    hass: HomeAssistant, intent_type: str, language: str, **slots: Any
) -> str:
    response = await intent.async_handle(
        hass,
        "test",
        intent_type,
        {k: {"value": v} for k, v in slots.items()},
        context=Context(),
        language=language,
    )
    await hass.async_block_till_done(wait_background_tasks=True)
    return str(response.speech["plain"]["speech"])


@pytest.mark.usefixtures("branch")
@pytest.mark.parametrize(
    ("language", "closes", "unknown"),
    [
        ("da", "Oadby Library lukker kl. 21:00.", "Der er intet bibliotek, der hedder Wigston."),
        ("cy", "Mae Oadby Library yn cau am 21:00.", "Does dim llyfrgell o'r enw Wigston."),
        ("nb-NO", "Oadby Library stenger kl. 21:00.", "Det finnes ikke noe bibliotek som heter Wigston."),
        ("sv", "Oadby Library stänger kl. 21:00.", "Det finns inget bibliotek som heter Wigston."),
        ("fr", "Oadby Library closes at 21:00.", "There is no library called Wigston."),
        ("en", "Oadby Library closes at 21:00.", "There is no library called Wigston."),
    ],
)  # fmt: skip
async def test_spoken_answers_in_the_conversations_language(
    hass: HomeAssistant, language: str, closes: str, unknown: str
) -> None:
    """The conversation's language, whatever Home Assistant's; French falls back to English."""
    hass.config.language = "cy" if language == "en" else "en"
    assert await _ask(hass, "SmartLibraryClosingTime", language) == closes
    with pytest.raises(intent.IntentHandleError) as err:
        await _ask(hass, "SmartLibraryOccupancy", language, branch="Wigston")
    assert str(err.value) == unknown


@pytest.mark.usefixtures("branch")
async def test_the_intents_own_refusal_is_spoken_in_the_conversations_language(
    hass: HomeAssistant, hass_admin_user: Any
) -> None:
    """Extending today past midnight is the intent's own answer, in Danish."""
    response = await intent.async_handle(
        hass,
        "test",
        "SmartLibraryExtendToday",
        {"minutes": {"value": 240}},
        context=Context(user_id=hass_admin_user.id),
        language="da",
    )
    assert response.speech["plain"]["speech"] == (
        "Oadby Library kan ikke holde åbent efter midnat."
    )


@pytest.mark.usefixtures("branch")
async def test_an_actions_translated_refusal_is_spoken_in_the_conversations_language(
    hass: HomeAssistant,
) -> None:
    """The integration's own error, worded from its translations for the conversation."""
    err = ServiceValidationError(
        translation_domain=DOMAIN,
        translation_key="lockdown_not_active",
        translation_placeholders={"branch": "Oadby Library"},
    )
    assert await _error_text(hass, err, "da") == "Oadby Library er ikke lukket ned."
    assert await _error_text(hass, err, "en") == "Oadby Library is not locked down."
    other = HomeAssistantError("Something else")
    assert await _error_text(hass, other, "da") == "Something else"


def _describe(hass: Any) -> dict[str, Callable[[Event], dict[str, str]]]:
    described: dict[str, Callable[[Event], dict[str, str]]] = {}
    logbook.async_describe_events(
        hass, lambda domain, name, describe: described.__setitem__(name, describe)
    )
    return described


async def test_the_logbook_describes_in_home_assistants_language_when_read(
    hass: HomeAssistant,
) -> None:
    """Registered once, described each time in the language of the moment."""
    described = _describe(hass)
    event = Event(
        "smart_library_lockdown",
        {
            "branch": "Oadby Library",
            "branch_id": "branch_oadby",
            "active": True,
            "by": "Ann",
        },
    )
    hass.config.language = "en"
    assert described[event.event_type](event)["message"] == (
        "locked down by Ann: entry for staff cards only"
    )
    hass.config.language = "cy"
    assert described[event.event_type](event)["message"] == (
        "wedi'i chloi i lawr gan Ann: mynediad i gardiau staff yn unig"
    )
    refused = Event(
        "smart_library_access",
        {"branch": "Oadby Library", "door": "entrance", "granted": False,
         "reason": "wrong_pin", "card": "****1234"},
    )  # fmt: skip
    assert described[refused.event_type](refused)["message"] == (
        "wedi'i wrthod wrth y fynedfa: PIN anghywir (cerdyn ****1234)"
    )
    hass.config.language = "da"
    alarm = Event(
        "smart_library_alarm",
        {"branch": "Oadby Library", "kind": "panic", "button": "counter"},
    )
    assert described[alarm.event_type](alarm)["message"] == (
        "alarm: overfaldsknappen ved skranken trykket (aktiv indtil kvittering)"
    )


def test_every_refusal_and_induction_outcome_has_a_logbook_text() -> None:
    """A reason the door or the library system gives never reads as a raw code."""
    english = json.loads((STAFF / "en.json").read_text(encoding="utf-8"))["logbook"]
    codes = {str(r) for r in Reason} | {str(r) for r in LmsReason}
    assert codes <= set(english["reasons"])
    assert set(INDUCTION_OUTCOMES) <= set(english["induction"])
