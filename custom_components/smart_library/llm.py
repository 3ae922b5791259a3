"""LLM tools: the integration's Assist intents, offered to LLM agents (Home Assistant 2026.10).

An integration's intents reach an LLM agent only through its `llm` platform. Each tool is
named `smart_library__<intent>` and annotated with how it behaves, so an agent (and the person
confirming its actions) knows which tools only read and which change the building.

The tools' titles, like the intents' descriptions and slots, stay in English: they are written
for the LLM agent, which works in any language; what the tools answer is spoken in the
conversation's language (intent.py, texts/staff).
"""

from __future__ import annotations

from homeassistant.components.llm import LLMTools
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import intent
from homeassistant.helpers.llm import (
    LLM_API_ASSIST,
    IntentTool,
    LLMContext,
    Tool,
    ToolAnnotations,
)

from .const import DOMAIN
from .intent import (
    INTENT_ANNOUNCE,
    INTENT_CLOSING_TIME,
    INTENT_EXTEND_TODAY,
    INTENT_LOCKDOWN,
    INTENT_OCCUPANCY,
    INTENT_SILENT_ALERT,
)

READS = ToolAnnotations(
    read_only=True, destructive=False, idempotent=True, open_world=False
)
# Intent -> (title, how it behaves).
LLM_INTENTS: dict[str, tuple[str, ToolAnnotations]] = {
    INTENT_OCCUPANCY: ("People in a library branch", READS),
    INTENT_CLOSING_TIME: ("When a library branch closes", READS),
    INTENT_ANNOUNCE: (
        "Play a stored PA message at a library branch",
        ToolAnnotations(destructive=False, idempotent=False, open_world=False),
    ),
    INTENT_EXTEND_TODAY: (
        "Keep a library branch open later today",
        ToolAnnotations(destructive=False, idempotent=False, open_world=False),
    ),
    INTENT_LOCKDOWN: (
        "Lock a library branch down",
        ToolAnnotations(destructive=True, idempotent=True, open_world=True),
    ),
    INTENT_SILENT_ALERT: (
        "Raise a silent staff alert at a library branch",
        ToolAnnotations(destructive=False, idempotent=False, open_world=True),
    ),
}


@callback
def async_get_tools(
    hass: HomeAssistant, llm_context: LLMContext, api_id: str
) -> LLMTools | None:
    """Return the library's tools for the Assist API while a library service is loaded."""
    if api_id != LLM_API_ASSIST or not hass.config_entries.async_loaded_entries(DOMAIN):
        return None
    tools: list[Tool] = [
        IntentTool(
            f"{DOMAIN}__{handler.intent_type}",
            handler,
            title=LLM_INTENTS[handler.intent_type][0],
            integration=DOMAIN,
            annotations=LLM_INTENTS[handler.intent_type][1],
        )
        for handler in intent.async_get(hass)
        if handler.intent_type in LLM_INTENTS
    ]
    return LLMTools(tools=tools) if tools else None
