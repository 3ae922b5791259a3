"""The administrator's panel in the user's language: its words, and the words the server writes.

The panel asks for its words in the language of the user's profile; a language the integration
does not ship (or no language at all) reads English. Only an administrator is answered, as with
every other command of the panel.
"""

from __future__ import annotations

import json
from typing import Any

from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import WebSocketGenerator

from custom_components.smart_library.helpers.texts import TEXTS_DIR
from custom_components.smart_library.panel.websocket import WS_TEXTS, WS_USAGE
from tests.components.test_panel import _staff_token


def _english() -> dict[str, str]:
    """Return the panel's English texts, flat by key, as the panel reads them."""

    def flat(tree: dict[str, Any], prefix: str = "") -> dict[str, str]:
        out: dict[str, str] = {}
        for key, value in tree.items():
            if isinstance(value, dict):
                out |= flat(value, f"{prefix}{key}.")
            else:
                out[f"{prefix}{key}"] = value
        return out

    words = flat(json.loads((TEXTS_DIR / "panel" / "en.json").read_text("utf-8")))
    return {k: v for k, v in words.items() if not k.startswith("server.")}


async def _ask(ws: Any, **data: Any) -> dict[str, Any]:
    await ws.send_json_auto_id({"type": WS_TEXTS} | data)
    answer: dict[str, Any] = await ws.receive_json()
    return answer


async def test_the_panel_speaks_the_users_language(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    hass_ws_client: WebSocketGenerator,
) -> None:
    """Danish for "da", Welsh for "cy-GB"; English for French and for a made-up language."""
    english = _english()
    ws = await hass_ws_client(hass)
    seen: dict[str, dict[str, Any]] = {}
    for asked in ("da", "cy-GB", "nb-NO", "sv", "fr", "xx-bogus-value", ""):
        answer = await _ask(ws, language=asked)
        assert answer["success"], (asked, answer)
        seen[asked] = answer["result"]
    assert seen["da"]["language"] == "da"
    assert seen["da"]["texts"]["section.members"] == "Lånere"
    assert seen["da"]["texts"]["bar.title"] == "Biblioteksadministration"
    assert seen["cy-GB"]["language"] == "cy"
    assert seen["cy-GB"]["texts"]["section.members"] == "Aelodau"
    assert seen["cy-GB"]["texts"]["bar.title"] == "Gweinyddu'r llyfrgell"
    assert seen["nb-NO"]["texts"]["section.members"] == "Lånere"
    assert seen["sv"]["texts"]["section.members"] == "Låntagare"
    for asked in ("fr", "xx-bogus-value", ""):
        assert seen[asked]["language"] == "en", asked
        assert seen[asked]["texts"] == english, asked
    assert english["section.members"] == "Members"
    # Every language has every word the panel uses, and none the server keeps to itself.
    for asked, result in seen.items():
        assert result["texts"].keys() == english.keys(), asked
    # A plural has both its forms; the panel picks one by the count.
    assert seen["da"]["texts"]["members.count.one"] == "{count} låner."
    assert seen["da"]["texts"]["members.count.other"] == "{count} lånere."


async def test_a_language_that_is_no_language_is_refused_without_a_traceback(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    hass_ws_client: WebSocketGenerator,
) -> None:
    """A number or a megabyte of text is no language tag: a clear refusal; then it still works."""
    ws = await hass_ws_client(hass)
    for bad in ({"language": 5}, {"language": "da" * 5000}, {}):
        answer = await _ask(ws, **bad)
        assert not answer["success"], bad
        assert answer["error"]["code"] == "invalid_format", bad
    answer = await _ask(ws, language="da")
    assert answer["result"]["language"] == "da"


async def test_only_an_administrator_gets_the_panels_words(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    hass_ws_client: WebSocketGenerator,
    hass_read_only_access_token: str,
) -> None:
    """Staff and read-only users are refused, as by the panel's other commands."""
    for token in (hass_read_only_access_token, await _staff_token(hass)):
        answer = await _ask(await hass_ws_client(hass, token), language="da")
        assert not answer["success"]
        assert answer["error"]["code"] == "unauthorized"


async def test_a_refused_period_is_explained_in_the_users_language(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    hass_ws_client: WebSocketGenerator,
) -> None:
    """A period running backwards: Welsh for a Welsh user, English for one who sends none."""
    ws = await hass_ws_client(hass)
    backwards = {"type": WS_USAGE, "start": "2026-11-30", "end": "2026-11-01"}
    messages = {}
    for language in ("cy", None):
        await ws.send_json_auto_id(
            backwards | ({"language": language} if language else {})
        )
        answer = await ws.receive_json()
        assert not answer["success"]
        messages[language] = answer["error"]["message"]
    assert messages["cy"] == (
        "Rhaid i'r cyfnod redeg ymlaen a bod yn 366 diwrnod ar y mwyaf."
    )
    assert messages[None] == "The period must run forwards and be at most 366 days."
