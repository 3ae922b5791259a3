"""What a door's display shows: a short message per answer, and the facts it needs.

The reader endpoint (http.py) adds to its reply, beside the public `reason`:
- `message_key`: which message to show (a key of `replies` in the tablet's message files,
  `frontend/tablet/messages/<language>.json`; the door tablet shows it in the language the
  endpoint names), and `text`: that message in the library service's first language (its
  option `CONF_LANGUAGES`, the shipped ones among them; English if none), with its facts
  filled in, for a display that has no message files (`message` stays the library system's
  own words);
- `next_opening` for `not_open`: when members may next come in, branch-local `"HH:MM"` when
  that is today, else an ISO date-time with the branch's offset (`"2026-12-07T09:00:00+00:00"`);
- `locked_minutes` for `locked_out`: whole minutes until the card's lock-out ends (rounded up);
- `retry_after` for `reader_throttled` (HTTP 429; with a `Retry-After` header).

Nothing here tells a reader more than the public reason already does: the next opening is the
branch's (the same for every card, and on its public page); a lock-out is counted for any
well-formed card number, a member's or a stranger's, with the same policy and duration
(engine/members/lockout.py), so its minutes do not confirm that a card is a member's. A refusal
the reader may not learn about (`unknown_card`, `wrong_pin`, ...) reaches this module already as
`not_recognised` (engine/members/membership.public_reason) and gets that message only.
"""

from __future__ import annotations

from datetime import datetime
import json
import math
from pathlib import Path
from typing import Any, Final

from ..engine.members.membership import NOT_RECOGNISED, Reason
from ..helpers.texts import TextSet

MESSAGES_DIR: Final = Path(__file__).parent.parent / "frontend" / "tablet" / "messages"
DEFAULT_LANGUAGE: Final = "en"

# Refusals that have a message of their own; any other refusal reads `ask_staff`. Bars, final
# warnings, the library system's flags and anything unknown are for staff to explain, not the
# door: the display asks the member to see staff (with the library system's `message`, if any).
_REFUSALS: Final[dict[str, str]] = {
    NOT_RECOGNISED: "not_recognised",
    Reason.UNDER_16: "under_16",
    Reason.ADULT_UNDER_18: "adult_under_18",
    Reason.ADULT_NOT_MEMBER: "adult_not_member",
    Reason.INDUCTION_NEEDED: "induction_needed",
    Reason.INDUCTION_OUTDATED: "induction_outdated",
    Reason.CARD_EXPIRED: "card_expired",
    Reason.ROOM_NOT_BOOKED: "room_not_booked",
    Reason.OUTSIDE_WINDOW: "outside_window",
    Reason.FIRE_ALARM: "fire_alarm",
    Reason.EVACUATION: "evacuation",
    Reason.LOCKDOWN: "lockdown",
    "controller_unreachable": "door_fault",
}
# A 429 with a wait this short is the "too many requests at once" pause, not a throttle.
BUSY_SECONDS: Final = 5

# Day and month names in each language (the members' texts).
_DATES: Final = TextSet("public")


def _load(language: str) -> dict[str, str]:
    data = json.loads((MESSAGES_DIR / f"{language}.json").read_text(encoding="utf-8"))
    replies: dict[str, str] = data["replies"]
    return replies


# The languages the tablet has messages in (their files' names).
LANGUAGES: Final = tuple(sorted(path.stem for path in MESSAGES_DIR.glob("*.json")))
# Read once, when the module is imported (Home Assistant imports integrations in its executor).
REPLIES: Final = {language: _load(language) for language in LANGUAGES}
ENGLISH: Final = REPLIES[DEFAULT_LANGUAGE]


def _text(language: str, key: str, **facts: str | int) -> str:
    replies = REPLIES.get(language, ENGLISH)
    text = replies.get(key) or ENGLISH.get(key) or ENGLISH["ask_staff"]
    return text.format(**facts)


def _day(language: str, day: datetime) -> str:
    """Return "Monday 7 December" in a language (as "opens on ..." says it)."""
    cat = _DATES(language)
    return cat(
        "date.on_day",
        weekday=cat(f"date.on_weekday.{day.weekday()}"),
        day=day.day,
        month=cat(f"date.month.{day.month}"),
    )


def minutes_until(until: datetime, now: datetime) -> int:
    """Return whole minutes from `now` to `until`, rounded up, at least 1."""
    return max(1, math.ceil((until - now).total_seconds() / 60))


def decision_fields(
    *,
    granted: bool,
    reason: str,
    now: datetime,
    next_opening: datetime | None = None,
    locked_until: datetime | None = None,
    language: str = DEFAULT_LANGUAGE,
) -> dict[str, Any]:
    """Return the display's fields of a 200 reply, `text` in `language`.

    `reason` is the public reason (already through `public_reason`); `now` and `next_opening`
    are aware, `next_opening` in the branch's local time. `next_opening` is used only for
    `not_open`, `locked_until` only for `locked_out`.
    """
    if granted:
        return {"message_key": "welcome", "text": _text(language, "welcome")}
    fields: dict[str, Any] = {}
    facts: dict[str, str | int]
    if reason == Reason.NOT_OPEN:
        if next_opening is None:
            key, facts = "closed", {}
        else:
            hhmm = f"{next_opening.hour:02d}:{next_opening.minute:02d}"
            days = (
                next_opening.date() - now.astimezone(next_opening.tzinfo).date()
            ).days
            if days == 0:
                fields["next_opening"] = hhmm
                key, facts = "closed_opens_today", {"time": hhmm}
            else:
                fields["next_opening"] = next_opening.replace(
                    second=0, microsecond=0
                ).isoformat()
                day = (
                    _DATES(language)("date.tomorrow")
                    if days == 1
                    else _day(language, next_opening)
                )
                key, facts = "closed_opens_later", {"day": day, "time": hhmm}
    elif reason == Reason.LOCKED_OUT:
        if locked_until is None:
            # Every attempt of the window is still being checked: no end to tell yet.
            key, facts = "locked_out_later", {}
        else:
            minutes = minutes_until(locked_until, now)
            fields["locked_minutes"] = minutes
            key, facts = "locked_out", {"minutes": minutes}
    else:
        key, facts = _REFUSALS.get(reason, "ask_staff"), {}
    return {"message_key": key, "text": _text(language, key, **facts)} | fields


def throttled_fields(
    retry_after: int, language: str = DEFAULT_LANGUAGE
) -> dict[str, Any]:
    """Return the display's fields of a 429 reply (`retry_after` in seconds)."""
    if retry_after <= BUSY_SECONDS:
        return {
            "retry_after": retry_after,
            "message_key": "reader_busy",
            "text": _text(language, "reader_busy"),
        }
    minutes = max(1, math.ceil(retry_after / 60))
    return {
        "retry_after": retry_after,
        "message_key": "reader_paused",
        "text": _text(language, "reader_paused", minutes=minutes),
    }
