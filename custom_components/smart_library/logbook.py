"""Logbook lines a duty manager can read at a glance.

Access, tailgating, alarms, evacuation, people counts, reader throttles, lockdowns, incidents
and help buttons, in Home Assistant's language (texts/staff `logbook.*`), read each time a line
is described: the logbook keeps the events, not the lines, so a change of language applies to
lines already in it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from homeassistant.components.logbook import LOGBOOK_ENTRY_MESSAGE, LOGBOOK_ENTRY_NAME
from homeassistant.core import Event, HomeAssistant, callback

from .access.reader_keys import EVENT_READER_THROTTLED
from .building.coordinator import (
    EVENT_ALARM,
    EVENT_ALARMS_ACKNOWLEDGED,
    EVENT_EVACUATION,
    EVENT_OCCUPANCY_RESET,
)
from .const import DOMAIN, EVENT_ACCESS, EVENT_TAILGATING
from .engine.safety.incidents import Category
from .helpers.staff_texts import STAFF, category_title, place
from .helpers.texts import Catalogue
from .pages.induction import EVENT_INDUCTION
from .safety.common import EVENT_HELP, EVENT_INCIDENT, EVENT_LOCKDOWN

ALARM_KINDS = frozenset(
    {"door_forced", "door_held_open", "panic", "fire_fault", "controller_lost"}
)
INDUCTION_OUTCOMES = frozenset(
    {
        "signed_in",
        "not_recognised",
        "locked_out",
        "throttled",
        "unavailable",
        "staff_card",
        "contact_library",
        "under_16",
        "card_expired",
        "changed",
        "completed",
    }
)


def _language(hass: HomeAssistant) -> str | None:
    """Return Home Assistant's language now (English when described without it, as in a test)."""
    config = getattr(hass, "config", None)
    return getattr(config, "language", None)


def _reason(cat: Catalogue, reason: object) -> str:
    key = f"logbook.reasons.{reason}"
    text = cat(key)
    return str(reason) if text == key else text


def _door(cat: Catalogue, data: Mapping[str, Any]) -> str:
    door = str(data.get("door") or "").strip()
    return place(cat, door) if door else cat("logbook.door")


def _line(data: Mapping[str, Any], message: str) -> dict[str, str]:
    return {
        LOGBOOK_ENTRY_NAME: str(data.get("branch", "Smart Library")),
        LOGBOOK_ENTRY_MESSAGE: message,
    }


def _alarm(cat: Catalogue, data: Mapping[str, Any]) -> str:
    kind = str(data.get("kind"))
    words = {k: place(cat, str(data.get(k, ""))) for k in ("door", "button")}
    words["module"] = str(data.get("module", "")).replace("_", " ")
    what = cat(f"logbook.alarms.{kind}", **words) if kind in ALARM_KINDS else kind
    return cat("logbook.alarm", what=what)


def _evacuation(cat: Catalogue, data: Mapping[str, Any]) -> str:
    state = data.get("state")
    inside = data.get("inside_at_alarm")
    if state == "evacuation":
        if inside is None:
            return cat("logbook.evacuation")
        return cat("logbook.evacuation_counted", count=inside)
    if state == "evacuation_reset_needed":
        return cat("logbook.evacuation_reset_needed")
    return cat("logbook.evacuation_reset", who=data.get("by") or cat("logbook.someone"))


def _occupancy_reset(cat: Catalogue, data: Mapping[str, Any]) -> str:
    was = data.get("was_inside")
    if data.get("why") == "rule":
        return cat("logbook.occupancy_rule", was=was)
    return cat("logbook.occupancy_checked", was=was, who=data.get("by"))


def _lockdown(cat: Catalogue, data: Mapping[str, Any]) -> str:
    by = data.get("by") or cat("logbook.someone")
    if data.get("active"):
        return cat("logbook.locked_down", who=by)
    return cat("logbook.lockdown_ended", who=by)


def _incident(cat: Catalogue, data: Mapping[str, Any]) -> str:
    category = str(data.get("category", ""))
    title = (
        category_title(cat, Category(category)) if category in Category else category
    )
    key = (
        "logbook.incident_completed"
        if data.get("status") == "complete"
        else "logbook.incident_recorded"
    )
    return " ".join(
        cat(key, what=title, incident=str(data.get("incident", ""))).split()
    )


def _induction(cat: Catalogue, data: Mapping[str, Any]) -> str:
    outcome = str(data.get("outcome", ""))
    if outcome in INDUCTION_OUTCOMES:
        text = cat(f"logbook.induction.{outcome}")
    else:
        text = cat("logbook.induction.other", outcome=outcome)
    card = data.get("card", "")
    if outcome == "completed":
        return cat(
            "logbook.induction_card_version",
            what=text,
            card=card,
            version=data.get("version"),
        )
    return cat("logbook.induction_card", what=text, card=card)


def _help(cat: Catalogue, data: Mapping[str, Any]) -> str:
    point = str(data.get("point", "")).strip()
    return (
        cat("logbook.help_at", point=place(cat, point))
        if point
        else cat("logbook.help")
    )


@callback
def async_describe_events(
    hass: HomeAssistant,
    async_describe_event: Callable[[str, str, Callable[[Event], dict[str, str]]], None],
) -> None:
    """Describe the integration's logbook events (in Home Assistant's language when read)."""

    def describe(
        words: Callable[[Catalogue, Mapping[str, Any]], str],
    ) -> Callable[[Event], dict[str, str]]:
        @callback
        def line(event: Event) -> dict[str, str]:
            return _line(event.data, words(STAFF(_language(hass)), event.data))

        return line

    def access(cat: Catalogue, data: Mapping[str, Any]) -> str:
        reason = _reason(cat, data.get("reason"))
        card = data.get("card", "")
        if data.get("granted"):
            party = int(data.get("party", 1))
            who = cat("logbook.let_in_party", count=party) if party > 1 else reason
            return cat("logbook.let_in", door=_door(cat, data), who=who, card=card)
        return cat("logbook.refused", door=_door(cat, data), reason=reason, card=card)

    def tailgating(cat: Catalogue, data: Mapping[str, Any]) -> str:
        return cat(
            "logbook.tailgating",
            door=_door(cat, data),
            came_in=data.get("came_in"),
            admitted=data.get("admitted"),
        )

    def throttled(cat: Catalogue, data: Mapping[str, Any]) -> str:
        return cat(
            "logbook.reader_throttled",
            reader=data.get("reader"),
            minutes=data.get("throttle_minutes"),
            refusals=data.get("refusals"),
        )

    def acknowledged(cat: Catalogue, data: Mapping[str, Any]) -> str:
        count = int(data.get("count", 0))
        return cat.count("logbook.acknowledged", count, who=data.get("by"))

    @callback
    def induction(event: Event) -> dict[str, str]:
        return {
            LOGBOOK_ENTRY_NAME: str(event.data.get("service", "Smart Library")),
            LOGBOOK_ENTRY_MESSAGE: _induction(STAFF(_language(hass)), event.data),
        }

    async_describe_event(DOMAIN, EVENT_ACCESS, describe(access))
    async_describe_event(DOMAIN, EVENT_TAILGATING, describe(tailgating))
    async_describe_event(DOMAIN, EVENT_ALARM, describe(_alarm))
    async_describe_event(DOMAIN, EVENT_ALARMS_ACKNOWLEDGED, describe(acknowledged))
    async_describe_event(DOMAIN, EVENT_EVACUATION, describe(_evacuation))
    async_describe_event(DOMAIN, EVENT_OCCUPANCY_RESET, describe(_occupancy_reset))
    async_describe_event(DOMAIN, EVENT_READER_THROTTLED, describe(throttled))
    async_describe_event(DOMAIN, EVENT_LOCKDOWN, describe(_lockdown))
    async_describe_event(DOMAIN, EVENT_INCIDENT, describe(_incident))
    async_describe_event(DOMAIN, EVENT_HELP, describe(_help))
    async_describe_event(DOMAIN, EVENT_INDUCTION, induction)
