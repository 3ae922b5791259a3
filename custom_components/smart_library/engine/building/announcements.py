"""The PA player's stored messages: what a branch can announce without staff.

The message player in the building holds pre-recorded messages by number (the seeds: announcements
from 15 minutes before closing, last call, evacuation). The numbers are the ones the reference
controller and the simulator use; a branch whose player is loaded differently maps its own numbers.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Announcement:
    """One stored message."""

    number: int
    key: str  # stable id, also the translation key of its title
    title: str  # English title (the UI translates by key)
    category: str  # "closing", "safety", "information"


ANNOUNCEMENTS: tuple[Announcement, ...] = (
    Announcement(1, "welcome", "Welcome to the library", "information"),
    Announcement(2, "closing_15", "The library closes in 15 minutes", "closing"),
    Announcement(
        3,
        "closing_10",
        "The library closes in 10 minutes; public PCs switch off now",
        "closing",
    ),
    Announcement(4, "closing_5", "The library closes in 5 minutes", "closing"),
    Announcement(5, "last_call", "Last call: please leave the building now", "closing"),
    Announcement(6, "closed", "The library is now closed", "closing"),
    Announcement(
        7, "evacuate", "Fire alarm: leave the building by the nearest exit", "safety"
    ),
    Announcement(8, "all_clear", "The emergency is over", "safety"),
    Announcement(9, "staffed_soon", "Staff will be here shortly", "information"),
    Announcement(
        10, "event_starting", "The evening event is about to start", "information"
    ),
    # Safety messages of the incident tools (seed 003): a lockdown and a member's help button.
    Announcement(
        20,
        "lockdown",
        "Please stay inside, away from the doors, and follow staff instructions",
        "safety",
    ),
    Announcement(21, "lockdown_over", "The lockdown is over", "safety"),
    Announcement(22, "help_on_the_way", "Help is on the way", "information"),
)

# The player holds each message once per language, in a bank of its own: a message's recording
# in a language is at its number plus the language's bank (English is bank 0). The reference
# controller and the simulator are loaded this way; a library service chooses which languages
# its branches play, one after another (`recordings`).
LANGUAGE_BANKS: dict[str, int] = {
    "en": 0,
    "cy": 100,  # Welsh
    "pl": 200,  # Polish
    "ur": 300,  # Urdu
    "pa": 400,  # Punjabi
    "gu": 500,  # Gujarati
    "bn": 600,  # Bengali
    "ro": 700,  # Romanian
    "ar": 800,  # Arabic
    "so": 900,  # Somali
    "pt": 1000,  # Portuguese
    "es": 1100,  # Spanish
    "zh": 1200,  # Chinese
    "uk": 1300,  # Ukrainian
    "da": 1400,  # Danish
    "nb": 1500,  # Norwegian (Bokmål)
    "sv": 1600,  # Swedish
}

_BY_NUMBER = {a.number: a for a in ANNOUNCEMENTS}
_BY_KEY = {a.key: a for a in ANNOUNCEMENTS}


def announcement(ref: int | str) -> Announcement:
    """Return a stored message by number or key; KeyError if there is none."""
    if isinstance(ref, int):
        return _BY_NUMBER[ref]
    if ref.isascii() and ref.isdigit() and len(ref) <= 6:  # not "²", not 5,000 digits
        return _BY_NUMBER[int(ref)]
    return _BY_KEY[ref]


def recordings(message: Announcement, languages: Collection[str]) -> list[int]:
    """Return the player's numbers of a message in each language, in order, each once.

    No language given: English. An unknown language raises KeyError.
    """
    numbers: list[int] = []
    for language in languages or ("en",):
        number = message.number + LANGUAGE_BANKS[language]
        if number not in numbers:
            numbers.append(number)
    return numbers
