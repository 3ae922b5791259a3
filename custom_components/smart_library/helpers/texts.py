"""The integration's own texts beyond Home Assistant's translations, in every language it ships.

Home Assistant translates what it draws itself (config flow, entity names, actions, repairs,
errors: translations/<language>.json). What the integration writes itself — the dashboard's
layout, the administrator's panel, staff alerts, spoken answers, logbook lines, the members'
pages — comes from `texts/<set>/<language>.json` (sets: `dashboard`, `panel`, `staff`,
`public`), the same kind of file (a tree of texts with `{placeholder}`s), checked by
tests/test_translations.py and kept up to date with scripts/translations_missing like the rest.

Whose language:
- a person at a screen (dashboard, panel): the language their Home Assistant profile uses (the
  frontend sends `hass.locale.language`);
- a spoken answer: the language the conversation was in;
- staff alerts and logbook lines: Home Assistant's own language (Settings › System › General);
- members (their pages, the door's display, the PA): the library service's languages, the first
  one by default.

A language the integration does not ship falls back to English; so does a key a language lacks
(the test forbids that, but a newer English must never show a raw key). Files are read once,
when the module that names a set is imported (Home Assistant imports integrations in its
executor, so no file is read in the event loop).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
import json
from pathlib import Path
from typing import Any, Final

TEXTS_DIR: Final = Path(__file__).parent.parent / "texts"
ENGLISH: Final = "en"
# The languages shipped beside English, in the order a language picker lists them.
LANGUAGES: Final = ("en", "cy", "da", "nb", "sv")
# Language codes a device or a browser may send that mean a language shipped under another code.
_ALIASES: Final = {
    "no": "nb",
    "nn": "nb",
    "nob": "nb",
    "cym": "cy",
    "dan": "da",
    "swe": "sv",
}


def _base(tag: str) -> str:
    base = tag.strip().replace("_", "-").split("-", 1)[0].lower()
    return _ALIASES.get(base, base)


def pick_language(requested: str | None, offered: Iterable[str] = LANGUAGES) -> str:
    """Return the shipped language for a requested one ("nb-NO" → "nb", "fr" → English).

    `offered` narrows the choice (a library service's languages); when the requested language is
    not among them, the first offered one is chosen (English when none is).
    """
    choices = [code for code in offered if code in LANGUAGES] or [ENGLISH]
    if requested and _base(requested) in choices:
        return _base(requested)
    return choices[0]


def member_languages(configured: Iterable[str] | None) -> tuple[str, ...]:
    """Return the shipped languages among a library service's, in its order (English if none).

    `configured` is the service's option (`const.CONF_LANGUAGES`, the PA's languages): members'
    pages and the doors' displays offer these, the first by default.
    """
    chosen = tuple(
        dict.fromkeys(code for code in configured or () if code in LANGUAGES)
    )
    return chosen or (ENGLISH,)


def offered_language(requested: str | None, offered: Iterable[str]) -> str | None:
    """Return the offered language a code names ("da-DK" → "da"), or None if it names none."""
    if not requested:
        return None
    base = _base(requested[:35])
    return base if base in offered and base in LANGUAGES else None


def accepted_language(header: str | None, offered: Iterable[str]) -> str:
    """Return the offered language a browser's Accept-Language header prefers most.

    Only the header's first 20 entries count (a header is the sender's to make as long as it
    likes); an entry with a weight that is not a number is skipped.
    """
    choices = [code for code in offered if code in LANGUAGES] or [ENGLISH]
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate((header or "")[:500].split(",")[:20]):
        tag, _, params = part.strip().partition(";")
        weight = 1.0
        if params.strip().startswith("q="):
            try:
                weight = float(params.strip()[2:])
            except ValueError:
                continue
        if tag and weight > 0:
            ranked.append((-weight, position, tag))
    for _, _, tag in sorted(ranked):
        if _base(tag) in choices:
            return _base(tag)
    return choices[0]


def _flatten(tree: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    flat: dict[str, str] = {}
    for key, value in tree.items():
        if isinstance(value, Mapping):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = str(value)
    return flat


@dataclass(frozen=True, slots=True)
class Catalogue:
    """One set's texts in one language, English beneath for any key the language lacks."""

    language: str
    texts: Mapping[str, str]
    english: Mapping[str, str]

    def __call__(self, key: str, /, **placeholders: object) -> str:
        """Return a text with its placeholders filled (a missing key reads as the key)."""
        text = self.texts.get(key) or self.english.get(key)
        if text is None:
            return key
        return text.format(**placeholders) if placeholders else text

    def count(self, key: str, count: int, /, **placeholders: object) -> str:
        """Return `key.one` for one and `key.other` otherwise, with `{count}` filled in."""
        form = "one" if count == 1 else "other"
        return self(f"{key}.{form}", count=count, **placeholders)

    def section(self, prefix: str) -> dict[str, str]:
        """Return a section's texts (`prefix.` removed), English beneath: for a frontend."""
        start = f"{prefix}."
        merged = {
            key[len(start) :]: text
            for key, text in self.english.items()
            if key.startswith(start)
        }
        merged.update(
            (key[len(start) :], text)
            for key, text in self.texts.items()
            if key.startswith(start) and text
        )
        return merged


class TextSet:
    """A set of texts (`texts/<name>/<language>.json`), every language read at once."""

    def __init__(self, name: str, folder: Path | None = None) -> None:
        """Read every language's file of the set (blocking: at import time or in an executor)."""
        folder = folder or TEXTS_DIR / name
        self.name = name
        self._texts: dict[str, dict[str, str]] = {}
        for language in LANGUAGES:
            path = folder / f"{language}.json"
            if path.is_file():
                self._texts[language] = _flatten(
                    json.loads(path.read_text(encoding="utf-8"))
                )
        self._english = self._texts.get(ENGLISH, {})

    def __call__(self, language: str | None) -> Catalogue:
        """Return the catalogue for a language (any code; unknown ones read English)."""
        chosen = pick_language(language)
        return Catalogue(chosen, self._texts.get(chosen, {}), self._english)
