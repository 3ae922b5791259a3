"""What staff read and hear from the integration, in their language (texts/staff/<language>.json).

- Staff alerts (the on-call phones' notifications and their buttons) and logbook lines: Home
  Assistant's language (`hass.config.language`, Settings › System › General), read each time a
  text is made, so a change of language applies to the next alert or logbook view. A phone's own
  user's language would be better, but Home Assistant keeps a user's language only in the
  frontend's per-user storage (`frontend/storage.py`, the frontend's private data, not an API of
  core's), so the integration does not read it.
- Spoken answers: the conversation's language (`intent.Intent.language`).
- Stored records (an incident's location, description and timeline, the text of a sent alert) are
  written in Home Assistant's language at the time of writing and kept as written: stored data is
  never translated again. What is composed each time it is shown (a category's title, the
  to-do item's summary and description, a logbook line) follows the language of the moment.

The action ids of a notification's buttons never change with the language; only their titles do.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Final

from homeassistant.core import HomeAssistant

from ..engine.building.schedule import WEEKDAYS
from ..engine.safety.alerts import Answer
from ..engine.safety.incidents import Category
from .texts import LANGUAGES, Catalogue, TextSet

STAFF: Final = TextSet("staff")

MONTHS: Final = (
    "jan",
    "feb",
    "mar",
    "apr",
    "may",
    "jun",
    "jul",
    "aug",
    "sep",
    "oct",
    "nov",
    "dec",
)
_ANSWER_KEYS: Final = {
    Answer.ACKNOWLEDGE: "answers.acknowledge",
    Answer.LOCKDOWN: "answers.lockdown",
    Answer.ON_MY_WAY: "answers.on_my_way",
}


def staff_texts(hass: HomeAssistant) -> Catalogue:
    """Return the staff texts in Home Assistant's language (read now, not cached)."""
    return STAFF(hass.config.language)


def place(cat: Catalogue, name: str) -> str:
    """Return a door's, panic button's or help point's place in words ("entrance" → "indgangen").

    The point map names places by id (`entrance`, `meeting_room`, `counter`); an id the texts do
    not know reads as itself with spaces ("staff_room" → "staff room").
    """
    key = f"places.{name.strip()}"
    text = cat(key)
    return name.replace("_", " ").strip() if text == key else text


def category_title(cat: Catalogue, category: Category) -> str:
    """Return an incident category's title ("Fire alarm", "Larwm tân")."""
    return cat(f"categories.{category.value}")


def answer_titles(cat: Catalogue) -> Mapping[Answer, str]:
    """Return the titles of an alert's buttons (their action ids stay as they are)."""
    return {answer: cat(key) for answer, key in _ANSWER_KEYS.items()}


def weekday(cat: Catalogue, at: datetime) -> str:
    """Return the day of the week of a moment ("Tuesday", "tirsdag")."""
    return cat(f"weekdays.{WEEKDAYS[at.weekday()]}")


def short_date(cat: Catalogue, at: datetime) -> str:
    """Return a day, month and time ("24 Nov 20:00"; the month's short name translated)."""
    return cat(
        "todo.date",
        day=f"{at.day:02d}",
        month=cat(f"months.{MONTHS[at.month - 1]}"),
        time=f"{at:%H:%M}",
    )


def category_from_title(text: str) -> Category | None:
    """Return the category a title names in any shipped language ("Damage", "Hærværk")."""
    wanted = text.strip().casefold()
    for category in Category:
        if wanted in (category.value, category.value.replace("_", " ")):
            return category
        for language in LANGUAGES:
            if wanted == category_title(STAFF(language), category).casefold():
                return category
    return None
