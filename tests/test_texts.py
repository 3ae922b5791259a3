"""The integration's own texts: whose language is chosen, and what a missing text reads as."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from custom_components.smart_library.helpers.texts import (
    LANGUAGES,
    TextSet,
    accepted_language,
    offered_language,
    pick_language,
)


@pytest.mark.parametrize(
    ("requested", "expected"),
    [
        ("cy", "cy"),
        ("cy-GB", "cy"),
        ("da-DK", "da"),
        ("nb-NO", "nb"),
        ("no", "nb"),
        ("nn", "nb"),
        ("sv_SE", "sv"),
        ("en-GB", "en"),
        ("fr", "en"),
        ("", "en"),
        (None, "en"),
        ("DA", "da"),
    ],
)
def test_a_users_language_is_the_shipped_one_nearest(
    requested: str | None, expected: str
) -> None:
    """Regional and older codes find the shipped language; anything else reads English."""
    assert pick_language(requested) == expected


def test_a_service_offers_only_its_languages() -> None:
    """A member asking for a language the library does not offer gets the library's first."""
    assert pick_language("sv", ["cy", "en"]) == "cy"
    assert pick_language("en", ["cy", "en"]) == "en"
    assert pick_language("da", ["xx"]) == "en"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("da-DK,da;q=0.9,en;q=0.8", "da"),
        ("fr-FR,fr;q=0.9,en;q=0.5,da;q=0.8", "da"),
        ("fr-FR", "cy"),
        ("en;q=0.1, da;q=0.2", "da"),
        ("da;q=abc, en", "en"),
        ("da;q=0, en", "en"),
        ("*", "cy"),
        ("", "cy"),
        (None, "cy"),
        ("x," * 10_000 + "da", "cy"),
    ],
)
def test_a_browser_picks_among_the_offered(header: str | None, expected: str) -> None:
    """The highest-weighted offered language wins; a huge or odd header changes nothing."""
    assert accepted_language(header, ["cy", "da", "en"]) == expected


def test_a_missing_text_falls_back_to_english(tmp_path: Path) -> None:
    """A key a language lacks reads in English, an unknown key as itself, never an error."""
    (tmp_path / "en.json").write_text(
        json.dumps(
            {
                "a": {
                    "hello": "Hello {name}",
                    "n": {"one": "{count} door", "other": "{count} doors"},
                },
                "only_en": "Only",
            }
        ),
        encoding="utf-8",
    )
    (tmp_path / "da.json").write_text(
        json.dumps(
            {
                "a": {
                    "hello": "Hej {name}",
                    "n": {"one": "{count} dør", "other": "{count} døre"},
                }
            }
        ),
        encoding="utf-8",
    )
    texts = TextSet("test", tmp_path)
    danish = texts("da-DK")
    assert danish.language == "da"
    assert danish("a.hello", name="Ida") == "Hej Ida"
    assert danish("only_en") == "Only"
    assert danish("nowhere") == "nowhere"
    assert danish.count("a.n", 1) == "1 dør"
    assert danish.count("a.n", 3) == "3 døre"
    assert danish.section("a") == {
        "hello": "Hej {name}",
        "n.one": "{count} dør",
        "n.other": "{count} døre",
    }
    assert texts("cy")("a.hello", name="Ifan") == "Hello Ifan"


def test_every_shipped_set_reads() -> None:
    """Every set the integration ships loads in every language."""
    for name in ("dashboard", "panel", "staff", "public"):
        texts = TextSet(name)
        for language in LANGUAGES:
            assert texts(language).language == language


@pytest.mark.parametrize(
    ("requested", "expected"),
    [
        ("da", "da"),
        ("da-DK", "da"),
        ("CY", "cy"),
        ("nb", None),  # shipped, but this library does not offer it
        ("fr", None),
        ("", None),
        (None, None),
        ("<script>", None),
        ("d" * 5000, None),
    ],
)
def test_a_hand_typed_language_names_an_offered_one_or_none(
    requested: str | None, expected: str | None
) -> None:
    """A page's `?lang=` finds the offered language it names, never anything else."""
    assert offered_language(requested, ["cy", "da", "en"]) == expected
