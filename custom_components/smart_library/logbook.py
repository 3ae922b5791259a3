"""Logbook lines a duty manager can read at a glance.

Access, tailgating, alarms, evacuation, people counts, reader throttles, lockdowns, incidents
and help buttons.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from homeassistant.components.logbook import LOGBOOK_ENTRY_MESSAGE, LOGBOOK_ENTRY_NAME
from homeassistant.core import Event, HomeAssistant, callback

from .access.library_system import REASON_TEXTS as LMS_REASONS
from .access.reader_keys import EVENT_READER_THROTTLED
from .building.coordinator import (
    EVENT_ALARM,
    EVENT_ALARMS_ACKNOWLEDGED,
    EVENT_EVACUATION,
    EVENT_OCCUPANCY_RESET,
)
from .const import DOMAIN, EVENT_ACCESS, EVENT_TAILGATING
from .engine.safety.incidents import TITLES, Category
from .pages.induction import EVENT_INDUCTION
from .safety.common import EVENT_HELP, EVENT_INCIDENT, EVENT_LOCKDOWN

REASONS: dict[str, str] = {
    "granted": "member",
    "staff": "staff card",
    "unknown_card": "unknown card",
    "wrong_pin": "wrong PIN",
    "no_pin_set": "no PIN set yet (an administrator sets it)",
    "locked_out": "card locked out after wrong PINs",
    "under_16": "under 16 without an adult",
    "induction_needed": "induction not done",
    "card_expired": "card expired",
    "induction_outdated": "new induction needed after card renewal",
    "induction_revised": "new induction needed: a significant new version",
    "barred": "member barred",
    "final_warning": "member on final warning",
    "not_open": "branch not open to members now",
    "room_not_booked": "room not booked for this card now",
    "adult_under_18": "accompanying adult under 18",
    "adult_not_member": "accompanying adult's card is not a member's",
    "outside_window": "staff card outside its hours",
    "fire_alarm": "fire alarm: entry suspended",
    "evacuation": "evacuation: entry suspended until a person resets it",
    "lockdown": "branch locked down: staff cards only",
    "controller_unreachable": "door controller not answering",
    "store_unavailable": "member store unavailable: card entry refused",
    "invalid_request": "card or PIN the library system cannot read",
    "reader_key_revoked": "reader key revoked during the request",
} | {str(reason): text for reason, text in LMS_REASONS.items()}


ALARMS = {
    "door_forced": "{door} door forced",
    "door_held_open": "{door} door held open",
    "panic": "panic button ({button}) pressed",
    "fire_fault": "fire panel fault",
    "controller_lost": "controller ({module}) not answering",
}


def _door(data: Mapping[str, Any]) -> str:
    return str(data.get("door", "door")).replace("_", " ")


def _line(data: Mapping[str, Any], message: str) -> dict[str, str]:
    return {
        LOGBOOK_ENTRY_NAME: str(data.get("branch", "Smart Library")),
        LOGBOOK_ENTRY_MESSAGE: message,
    }


def _alarm(data: Mapping[str, Any]) -> str:
    template = ALARMS.get(str(data.get("kind")), str(data.get("kind")))
    words = {
        k: str(data.get(k, "")).replace("_", " ") for k in ("door", "button", "module")
    }
    return "alarm: " + template.format(**words) + " (on until acknowledged)"


def _evacuation(data: Mapping[str, Any]) -> str:
    state = data.get("state")
    inside = data.get("inside_at_alarm")
    counted = f"; {inside} counted inside" if inside is not None else ""
    if state == "evacuation":
        return (
            "fire alarm: evacuation — every door released, lights on, the evacuation "
            f"message on every zone{counted}"
        )
    if state == "evacuation_reset_needed":
        return (
            "fire panel reset: evacuation — reset needed; doors stay released and no "
            "card opens them until a person resets the branch"
        )
    return (
        f"reset after the evacuation by {data.get('by', 'someone')}; "
        "the opening hours apply again"
    )


def _occupancy_reset(data: Mapping[str, Any]) -> str:
    was = data.get("was_inside")
    if data.get("why") == "rule":
        return (
            f"people inside set from {was} to 0: closed, every door locked and the "
            "counter still for the set time"
        )
    return f"people inside set from {was} to 0: building empty, checked by {data.get('by')}"


def _lockdown(data: Mapping[str, Any]) -> str:
    by = data.get("by", "someone")
    if data.get("active"):
        return f"locked down by {by}: entry for staff cards only"
    return f"lockdown ended by {by}; the opening hours apply again"


def _incident(data: Mapping[str, Any]) -> str:
    category = str(data.get("category", ""))
    title = (
        TITLES.get(Category(category), category) if category in Category else category
    )
    what = f"{title} incident {data.get('incident', '')}".strip()
    if data.get("status") == "complete":
        return f"{what} reviewed and completed"
    return f"{what} recorded"


INDUCTION_OUTCOMES = {
    "signed_in": "signed in to the online induction",
    "not_recognised": "online induction: card or PIN not recognised",
    "locked_out": "online induction: card locked out after wrong PINs",
    "throttled": "online induction: too many attempts, paused",
    "unavailable": "online induction: the member store could not be used",
    "staff_card": "online induction: a staff card (no induction needed)",
    "contact_library": "online induction refused: asked to contact the library",
    "under_16": "online induction refused: under 16 (told about coming with an adult)",
    "card_expired": "online induction refused: card expired",
    "changed": "online induction not recorded: a significant new version came out meanwhile",
    "completed": "online induction completed",
}


def _induction(data: Mapping[str, Any]) -> str:
    outcome = str(data.get("outcome", ""))
    text = INDUCTION_OUTCOMES.get(outcome, f"online induction: {outcome}")
    version = f", version {data['version']}" if outcome == "completed" else ""
    return f"{text} (card {data.get('card', '')}{version})"


def _help(data: Mapping[str, Any]) -> str:
    point = str(data.get("point", "")).replace("_", " ")
    where = f" at help point {point}" if point else ""
    return f"help button pressed{where}"


@callback
def async_describe_events(
    hass: HomeAssistant,
    async_describe_event: Callable[[str, str, Callable[[Event], dict[str, str]]], None],
) -> None:
    """Describe the integration's logbook events."""

    @callback
    def describe_access(event: Event) -> dict[str, str]:
        data = event.data
        reason = REASONS.get(str(data.get("reason")), str(data.get("reason")))
        card = data.get("card", "")
        if data.get("granted"):
            party = int(data.get("party", 1))
            who = f"{party} people" if party > 1 else reason
            message = f"let in at the {_door(data)} ({who}, card {card})"
        else:
            message = f"refused at the {_door(data)}: {reason} (card {card})"
        return {
            LOGBOOK_ENTRY_NAME: str(data.get("branch", "Smart Library")),
            LOGBOOK_ENTRY_MESSAGE: message,
        }

    @callback
    def describe_tailgating(event: Event) -> dict[str, str]:
        data = event.data
        return {
            LOGBOOK_ENTRY_NAME: str(data.get("branch", "Smart Library")),
            LOGBOOK_ENTRY_MESSAGE: (
                f"tailgating at the {_door(data)}: {data.get('came_in')} came in "
                f"on a release for {data.get('admitted')}"
            ),
        }

    @callback
    def describe_throttled(event: Event) -> dict[str, str]:
        data = event.data
        return {
            LOGBOOK_ENTRY_NAME: str(data.get("branch", "Smart Library")),
            LOGBOOK_ENTRY_MESSAGE: (
                f"door reader {data.get('reader')} stopped for "
                f"{data.get('throttle_minutes')} minutes: {data.get('refusals')} "
                "refusals in a minute"
            ),
        }

    @callback
    def describe_acknowledged(event: Event) -> dict[str, str]:
        data = event.data
        count = int(data.get("count", 0))
        alarms = f"{count} alarm{'s' if count != 1 else ''}"
        return _line(data, f"{alarms} acknowledged by {data.get('by')}")

    async_describe_event(DOMAIN, EVENT_ACCESS, describe_access)
    async_describe_event(DOMAIN, EVENT_TAILGATING, describe_tailgating)
    async_describe_event(DOMAIN, EVENT_ALARM, lambda e: _line(e.data, _alarm(e.data)))
    async_describe_event(DOMAIN, EVENT_ALARMS_ACKNOWLEDGED, describe_acknowledged)
    async_describe_event(
        DOMAIN, EVENT_EVACUATION, lambda e: _line(e.data, _evacuation(e.data))
    )
    async_describe_event(
        DOMAIN,
        EVENT_OCCUPANCY_RESET,
        lambda e: _line(e.data, _occupancy_reset(e.data)),
    )
    async_describe_event(DOMAIN, EVENT_READER_THROTTLED, describe_throttled)
    async_describe_event(
        DOMAIN, EVENT_LOCKDOWN, lambda e: _line(e.data, _lockdown(e.data))
    )
    async_describe_event(
        DOMAIN, EVENT_INCIDENT, lambda e: _line(e.data, _incident(e.data))
    )
    async_describe_event(DOMAIN, EVENT_HELP, lambda e: _line(e.data, _help(e.data)))
    async_describe_event(
        DOMAIN,
        EVENT_INDUCTION,
        lambda e: {
            LOGBOOK_ENTRY_NAME: str(e.data.get("service", "Smart Library")),
            LOGBOOK_ENTRY_MESSAGE: _induction(e.data),
        },
    )
