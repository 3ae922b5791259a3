"""Assist intents, the LLM tools that offer them, and the voice blueprint's sentences.

Each intent runs with the speaker's context and is held to the rules of the action behind it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import freezegun
from homeassistant.components.automation import DOMAIN as AUTOMATION_DOMAIN
from homeassistant.components.blueprint import models
from homeassistant.components.blueprint.schemas import BLUEPRINT_SCHEMA
from homeassistant.core import Context, HomeAssistant
from homeassistant.exceptions import ServiceValidationError, Unauthorized
from homeassistant.helpers import intent, llm
from homeassistant.setup import async_setup_component
from homeassistant.util.yaml import load_yaml_dict
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    MockUser,
    async_mock_service,
)

from custom_components.smart_library.const import DOMAIN
from custom_components.smart_library.engine.safety.incidents import Category, Source
from custom_components.smart_library.runtime import lockdown_active
from simulator.building import SimulatedBuilding

from .safety_common import (
    add_phone,
    clock_at,
    incidents,
    notify_calls,
    runtime,
    settle,
    setup_branch,
)

BLUEPRINT = (
    Path(__file__).resolve().parents[2]
    / "blueprints"
    / "automation"
    / "smart_library"
    / "voice.yaml"
)
B = "oadby_library"


@pytest.fixture
def clock() -> Iterator[Any]:
    """Tuesday 24 November 2026, 20:00 in London: smart hours 18:00-21:00."""
    yield from clock_at("2026-11-24 20:00:00+00:00")


@pytest.fixture
async def branch(
    hass: HomeAssistant,
    clock: Any,
    building: SimulatedBuilding,
    mock_config_entry: MockConfigEntry,
) -> str:
    """Set up the branch in smart hours with the intents registered."""
    building.timing.message_seconds = 0.1
    device = await setup_branch(hass, mock_config_entry)
    assert await async_setup_component(hass, "intent", {})
    return device


async def _ask(
    hass: HomeAssistant,
    intent_type: str,
    user: MockUser | None = None,
    **slots: Any,
) -> str:
    response = await intent.async_handle(
        hass,
        "test",
        intent_type,
        {k: {"value": v} for k, v in slots.items()},
        context=Context(user_id=user.id if user else None),
    )
    await hass.async_block_till_done(wait_background_tasks=True)
    return str(response.speech["plain"]["speech"])


@pytest.mark.usefixtures("branch")
async def test_how_many_people_and_when_it_closes(
    hass: HomeAssistant, building: SimulatedBuilding
) -> None:
    """Anyone may ask; a short or misspelt branch name is understood."""
    coordinator = (
        hass.config_entries.async_entries(DOMAIN)[0]
        .runtime_data.branches["branch_oadby"]
        .coordinator
    )
    building.arrive(3)
    await coordinator.async_release_door("entrance")  # a card let them in together
    await asyncio.sleep(0.3)
    await settle(hass)
    assert (
        await _ask(hass, "SmartLibraryOccupancy", branch="oadby")
        == "3 people counted inside Oadby Library."
    )
    assert (
        await _ask(hass, "SmartLibraryClosingTime") == "Oadby Library closes at 21:00."
    )
    with pytest.raises(intent.IntentHandleError):
        await _ask(hass, "SmartLibraryOccupancy", branch="Wigston")


async def test_closed_it_says_when_it_opens(
    hass: HomeAssistant,
    building: SimulatedBuilding,
    mock_config_entry: MockConfigEntry,
) -> None:
    """Before the evening opening: closed now, opens at 18:00."""
    with freezegun.freeze_time("2026-11-24 12:00:00+00:00", tick=True):
        await setup_branch(hass, mock_config_entry)
        assert await async_setup_component(hass, "intent", {})
        assert await _ask(hass, "SmartLibraryClosingTime") == (
            "Oadby Library is closed now; it opens at 18:00 on Tuesday."
        )


@pytest.mark.usefixtures("branch")
async def test_announcements_need_a_known_staff_user(
    hass: HomeAssistant,
    building: SimulatedBuilding,
    hass_read_only_user: MockUser,
) -> None:
    """A voice satellite (no user) or a read-only user cannot play the PA; staff can."""
    for user in (None, hass_read_only_user):
        with pytest.raises(intent.IntentHandleError):
            await _ask(hass, "SmartLibraryAnnounce", user, message="evacuate")
    assert building.get("pa.message") == 0
    staff = await hass.auth.async_create_user("Hal", group_ids=["system-users"])
    speech = await _ask(hass, "SmartLibraryAnnounce", staff, message="help_on_the_way")
    assert speech == "Playing “Help is on the way” at Oadby Library."
    assert building.get("pa.message") == 22
    with pytest.raises(intent.InvalidSlotInfo):
        await _ask(hass, "SmartLibraryAnnounce", staff, message="anything at all")


async def test_extending_today_is_for_administrators(
    hass: HomeAssistant,
    branch: str,
    hass_admin_user: MockUser,
) -> None:
    """Staff and a satellite are refused and nothing changes; an admin moves the close."""
    closes = f"sensor.{B}_closes_at"
    before = hass.states.get(closes).state
    staff = await hass.auth.async_create_user("Ida", group_ids=["system-users"])
    for user in (staff, None):
        with pytest.raises(intent.IntentHandleError):
            await _ask(hass, "SmartLibraryExtendToday", user, minutes=30)
    assert hass.states.get(closes).state == before
    speech = await _ask(hass, "SmartLibraryExtendToday", hass_admin_user, minutes=30)
    assert speech == "Oadby Library now closes at 21:30."
    assert hass.states.get(closes).state == "2026-11-24T21:30:00+00:00"
    with pytest.raises(intent.InvalidSlotInfo):
        await _ask(hass, "SmartLibraryExtendToday", hass_admin_user, minutes=600)


async def test_a_silent_alert_says_nothing_and_reaches_the_phone_critically(
    hass: HomeAssistant,
    clock: Any,
    building: SimulatedBuilding,
    mock_config_entry: MockConfigEntry,
) -> None:
    """Empty speech; a critical alert; a panic incident from a codeword."""
    phone = await add_phone(hass, "duty")
    calls = notify_calls(hass, "duty")
    await setup_branch(hass, mock_config_entry, on_call=[phone])
    assert await async_setup_component(hass, "intent", {})
    assert await _ask(hass, "SmartLibrarySilentAlert") == ""
    (alert,) = calls
    assert alert.data["data"]["channel"] == "alarm_stream"
    (incident,) = await incidents(hass)
    assert (incident.category, incident.source, incident.location) == (
        Category.PANIC,
        Source.VOICE,
        "codeword",
    )


@pytest.mark.usefixtures("branch")
async def test_a_lockdown_by_voice_needs_a_known_user(
    hass: HomeAssistant, hass_read_only_user: MockUser
) -> None:
    """No user and a read-only user are refused; staff lock the branch down."""
    for user in (None, hass_read_only_user):
        with pytest.raises(intent.IntentHandleError):
            await _ask(hass, "SmartLibraryLockdown", user)
    assert not lockdown_active(hass, "branch_oadby")
    staff = await hass.auth.async_create_user("Jo", group_ids=["system-users"])
    assert "locked down" in await _ask(hass, "SmartLibraryLockdown", staff)
    assert "already" in await _ask(hass, "SmartLibraryLockdown", staff)
    assert lockdown_active(hass, "branch_oadby")


@pytest.mark.usefixtures("branch")
async def test_the_intents_are_llm_tools_with_descriptions_and_slots(
    hass: HomeAssistant,
) -> None:
    """The Assist API offers each intent as a tool named after the integration."""
    assert await async_setup_component(hass, "llm", {})
    api = await llm.async_get_api(
        hass,
        llm.LLM_API_ASSIST,
        llm.LLMContext(
            platform="test",
            context=Context(),
            language="en",
            assistant="conversation",
            device_id=None,
        ),
    )
    tools = {t.name: t for t in api.tools if t.name.startswith(f"{DOMAIN}__")}
    assert set(tools) == {
        f"{DOMAIN}__SmartLibrary{name}"
        for name in (
            "Occupancy",
            "ClosingTime",
            "Announce",
            "ExtendToday",
            "Lockdown",
            "SilentAlert",
        )
    }
    occupancy = tools[f"{DOMAIN}__SmartLibraryOccupancy"]
    assert occupancy.annotations.read_only
    assert "people" in (occupancy.description or "")
    extend = tools[f"{DOMAIN}__SmartLibraryExtendToday"]
    assert "administrators" in (extend.description or "")
    assert "minutes" in {str(k) for k in extend.parameters.schema}


def test_the_voice_blueprint_is_a_blueprint() -> None:
    """It passes Home Assistant's blueprint schema, with a source URL to import it by."""
    blueprint = models.Blueprint(
        load_yaml_dict(BLUEPRINT), expected_domain="automation", schema=BLUEPRINT_SCHEMA
    )
    assert blueprint.metadata["source_url"].endswith("/voice.yaml")
    assert blueprint.name.startswith("Smart Library")


async def test_the_codeword_alerts_staff_and_the_assistant_says_nothing(
    hass: HomeAssistant,
    clock: Any,
    building: SimulatedBuilding,
    mock_config_entry: MockConfigEntry,
) -> None:
    """Through the default agent: the codeword sentence, the people count, no lockdown."""
    phone = await add_phone(hass, "duty")
    calls = notify_calls(hass, "duty")
    branch = await setup_branch(hass, mock_config_entry, on_call=[phone])
    target = Path(hass.config.path("blueprints/automation/smart_library"))
    target.mkdir(parents=True, exist_ok=True)
    (target / "voice.yaml").write_text(BLUEPRINT.read_text())
    assert await async_setup_component(hass, "homeassistant", {})
    assert await async_setup_component(hass, "conversation", {})
    assert await async_setup_component(
        hass,
        AUTOMATION_DOMAIN,
        {
            AUTOMATION_DOMAIN: {
                "alias": "Oadby voice",
                "use_blueprint": {
                    "path": "smart_library/voice.yaml",
                    "input": {
                        "branch": branch,
                        "codeword": "has the blue folder come back",
                    },
                },
            }
        },
    )

    async def say(text: str) -> str:
        result = await hass.services.async_call(
            "conversation",
            "process",
            {"text": text, "language": "en"},
            blocking=True,
            return_response=True,
        )
        await hass.async_block_till_done(wait_background_tasks=True)
        return str(result["response"]["speech"]["plain"]["speech"])

    assert await say("has the blue folder come back") == ""
    (alert,) = calls
    assert alert.data["data"]["channel"] == "alarm_stream"
    assert (await incidents(hass))[0].category is Category.PANIC
    assert await say("how many people are in the library") == (
        "0 people are counted inside."
    )
    assert await say("when does the library close") == "The library closes at 21:00."
    assert await say("lock down the library") == "A lockdown cannot be asked for here."
    assert not lockdown_active(hass, "branch_oadby")


async def test_spoken_text_goes_to_the_branchs_speakers_and_languages_are_chosen(
    hass: HomeAssistant,
    branch: str,
    building: SimulatedBuilding,
    mock_config_entry: MockConfigEntry,
    hass_admin_user: MockUser,
) -> None:
    """`say` needs speakers set (admin); stored messages play in each chosen language."""
    admin = Context(user_id=hass_admin_user.id)
    staff = Context(
        user_id=(
            await hass.auth.async_create_user("Kit", group_ids=["system-users"])
        ).id
    )
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(
            DOMAIN,
            "say",
            {"branch": branch, "message": "Please keep the fire exit clear"},
            blocking=True,
            context=staff,
        )
    assert err.value.translation_key == "say_no_speakers"
    with pytest.raises(Unauthorized):
        await hass.services.async_call(
            DOMAIN,
            "set_branch_safety",
            {"branch": branch, "speakers": ["media_player.foyer"]},
            blocking=True,
            context=staff,
        )
    await hass.services.async_call(
        DOMAIN,
        "set_branch_safety",
        {
            "branch": branch,
            "speakers": ["media_player.foyer"],
            "tts_engine": "tts.piper",
            "cameras": ["camera.entrance"],
        },
        blocking=True,
        context=admin,
    )
    await hass.async_block_till_done(wait_background_tasks=True)
    spoken = async_mock_service(hass, "tts", "speak")
    await hass.services.async_call(
        DOMAIN,
        "say",
        {
            "branch": branch,
            "message": "Please keep the fire exit clear",
            "language": "cy",
        },
        blocking=True,
        context=staff,
    )
    (call,) = spoken
    assert call.data == {
        "entity_id": "tts.piper",
        "media_player_entity_id": ["media_player.foyer"],
        "message": "Please keep the fire exit clear",
        "language": "cy",
    }

    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(
            DOMAIN,
            "configure_safety",
            {"retention_days": 7},
            blocking=True,
            context=admin,
        )
    assert err.value.translation_key == "incident_retention_range"
    await hass.services.async_call(
        DOMAIN,
        "configure_safety",
        {"retention_days": 730, "languages": ["en", "pl"]},
        blocking=True,
        context=admin,
    )
    await hass.async_block_till_done(wait_background_tasks=True)
    answer = await hass.services.async_call(
        DOMAIN,
        "announce",
        {"branch": branch, "message": "closing_15"},
        blocking=True,
        return_response=True,
        context=staff,
    )
    assert answer == {"played": [2, 202]}
    assert [v for k, v in building.writes if k == "pa.message"][-2:] == [2, 202]
    # Cameras cleared: the branch has none (and the service still runs).
    await hass.services.async_call(
        DOMAIN,
        "set_branch_safety",
        {"branch": branch, "cameras": []},
        blocking=True,
        context=admin,
    )
    await hass.async_block_till_done(wait_background_tasks=True)
    entry = hass.config_entries.async_entries(DOMAIN)[0]
    found = runtime(hass)
    settings = found.branch_settings(entry.runtime_data.branches["branch_oadby"])
    assert settings.cameras == ()
    assert settings.speakers == ("media_player.foyer",)
