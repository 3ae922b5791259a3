"""Logbook lines for access attempts and tailgating that a duty manager can read at a glance."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from homeassistant.components.logbook import LOGBOOK_ENTRY_MESSAGE, LOGBOOK_ENTRY_NAME
from homeassistant.core import Event, HomeAssistant, callback

from .const import DOMAIN, EVENT_ACCESS, EVENT_TAILGATING
from .reader_keys import EVENT_READER_THROTTLED

REASONS = {
    "granted": "member",
    "staff": "staff card",
    "unknown_card": "unknown card",
    "wrong_pin": "wrong PIN",
    "locked_out": "card locked out after wrong PINs",
    "under_16": "under 16 without an adult",
    "induction_needed": "induction not done",
    "card_expired": "card expired",
    "induction_outdated": "new induction needed after card renewal",
    "barred": "member barred",
    "final_warning": "member on final warning",
    "not_open": "branch not open to members now",
    "room_not_booked": "room not booked for this card now",
    "adult_under_18": "accompanying adult under 18",
    "adult_not_member": "accompanying adult's card is not a member's",
    "outside_window": "staff card outside its hours",
    "fire_alarm": "fire alarm: entry suspended",
    "controller_unreachable": "door controller not answering",
}


def _door(data: Mapping[str, Any]) -> str:
    return str(data.get("door", "door")).replace("_", " ")


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

    async_describe_event(DOMAIN, EVENT_ACCESS, describe_access)
    async_describe_event(DOMAIN, EVENT_TAILGATING, describe_tailgating)
    async_describe_event(DOMAIN, EVENT_READER_THROTTLED, describe_throttled)
