"""Every language the integration ships says everything English says, with the same placeholders.

Sets of texts (scripts/translations.py names them), among them the integration's own
(translations/<language>.json, which Home Assistant picks by the user's language) and the door
tablet's (frontend/tablet/messages/<language>.json, chosen by the language the reader endpoint
names). For each language of each set: valid JSON with no repeated key, every key of English and
no other, no empty text, the same placeholders, no stray space, no apostrophe that would make
Home Assistant's frontend print a placeholder as it is, and no text left in English but names and
codes. scripts/translations_missing, which the integrator runs when English grows, is tested here
too: it finds what a file lacks, prefills what the language already says, and merges a filled
file back without letting a placeholder go missing.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
import sys
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers.translation import async_get_translations
import pytest

SCRIPT = Path(__file__).parent.parent / "scripts" / "translations.py"
_spec = importlib.util.spec_from_file_location("translations_tool", SCRIPT)
assert _spec and _spec.loader
tool = importlib.util.module_from_spec(_spec)
sys.modules["translations_tool"] = tool  # dataclasses look their module up by name
_spec.loader.exec_module(tool)

DOMAIN = "smart_library"
# The languages the project ships beside English, in both sets.
LANGUAGES = ("cy", "da", "nb", "sv")
CASES = [(name, language) for name in tool.SETS for language in LANGUAGES]

# English texts a translation may keep as they are: names, codes, and words the language spells
# the same way. Anything else identical to English is a text nobody translated.
SAME_EVERYWHERE = {
    "{name} ({host})",
    "Moxa ioLogik E1214 + E1212",
    "Advantech ADAM-6050",
    "UTF-8",
    "CSV",
    "Smart Library",
    "{name} — {branch}",
    "{branch}: {name}?",
    # Date patterns (the members' texts): day and month in the language's own order.
    "{day} {month}",
    "{day} {month} {year}",
    "{weekday} {day} {month}",
    # Formats (staff texts): only placeholders and punctuation.
    "{what} — {branch}",
    "{day} {month} {time}",
}
SAME_IN: dict[str, set[str]] = {
    "cy": {"PIN", "Staff", "Label", "{count} person"},
    "da": {
        "Port", "Start", "Institution (AO)", "Urdu", "Punjabi", "Gujarati", "Bengali",
        "Somali", "{count} person", "controller", "controller {module}",
    },
    "nb": {
        "Port", "Start", "Urdu", "Punjabi", "Gujarati", "Bengali", "Somali", "{count} person",
    },
    "sv": {
        "Port", "Start", "Institution (AO)", "Urdu", "Punjabi", "Gujarati", "Bengali",
        "Text", "Incident", "Incident {id}", "{count} person", "{count} incident.",
    },
}  # fmt: skip


def _texts(name: str, language: str) -> dict[str, str]:
    return tool.flatten(tool.load(tool.SETS[name] / f"{language}.json"))


def _english(name: str) -> dict[str, str]:
    return _texts(name, tool.ENGLISH)


def test_every_language_is_shipped() -> None:
    """Both sets have a file for each of the languages, and no other file slips in unchecked."""
    for name, folder in tool.SETS.items():
        assert tool.languages(folder) == sorted(LANGUAGES), name


@pytest.mark.parametrize(("name", "language"), CASES)
def test_same_keys_as_english(name: str, language: str) -> None:
    """Every key of English is there and no other: a missing one shows its raw key to the user."""
    english, texts = _english(name), _texts(name, language)
    report = tool.compare(english, texts, language)
    assert report.missing == []
    assert report.extra == []
    assert report.metadata == []


@pytest.mark.parametrize(("name", "language"), CASES)
def test_same_placeholders_and_no_empty_text(name: str, language: str) -> None:
    """A placeholder lost or misspelt prints nothing (or its braces); an empty text shows nothing."""
    english, texts = _english(name), _texts(name, language)
    report = tool.compare(english, texts, language)
    assert {k: (english[k], texts[k]) for k in report.placeholders} == {}
    assert report.empty == []
    assert report.spacing == []
    assert all(text.strip() for text in texts.values())


@pytest.mark.parametrize(("name", "language"), CASES)
def test_no_icu_quoting(name: str, language: str) -> None:
    """`'{` starts an ICU quote in Home Assistant's frontend: Welsh `i'r`, `a'u` must not meet a brace."""
    english, texts = _english(name), _texts(name, language)
    assert tool.compare(english, texts, language).icu_quotes == []


@pytest.mark.parametrize(("name", "language"), CASES)
def test_nothing_left_in_english(name: str, language: str) -> None:
    """A text still in English is one a translator missed (names and codes excepted)."""
    english, texts = _english(name), _texts(name, language)
    allowed = SAME_EVERYWHERE | SAME_IN[language]
    left = {
        key: english[key]
        for key in tool.compare(english, texts, language).same_as_english
        if english[key] not in allowed
    }
    assert left == {}


@pytest.mark.parametrize("language", LANGUAGES)
def test_tablet_names_its_language(language: str) -> None:
    """The tablet's file says which language it is, in that language's own name."""
    data = tool.load(tool.SETS["tablet"] / f"{language}.json")
    assert data["language"] == language
    assert data["name"] not in {"", "English"}


def test_json_errors_are_reported(tmp_path: Path) -> None:
    """Bad JSON and a repeated key (which a JSON reader silently drops) are errors, not passes."""
    bad = tmp_path / "xx.json"
    bad.write_text('{"a": "x",}', encoding="utf-8")
    with pytest.raises(tool.TranslationFileError, match="not valid JSON"):
        tool.load(bad)
    bad.write_text('{"a": "x", "a": "y"}', encoding="utf-8")
    with pytest.raises(tool.TranslationFileError, match="appears twice"):
        tool.load(bad)
    bad.write_text('{"a": {"b": 1}}', encoding="utf-8")
    with pytest.raises(tool.TranslationFileError, match="not a text"):
        tool.flatten(tool.load(bad))


def test_compare_finds_each_fault() -> None:
    """Each kind of fault is found, on the key it is in."""
    english = {
        "a.title": "Branch {branch}",
        "a.gone": "Gone",
        "b": "Open",
        "c": "Closed",
        "d": "Text",
        "e": "Plain",
    }
    other = {
        "a.title": "Cangen {cangen}",
        "b": " Ar agor",
        "c": "",
        "d": "Text",
        "e": "a'{x}",
        "z": "extra",
    }
    report = tool.compare(english, other, "cy")
    assert report.missing == ["a.gone"]
    assert report.extra == ["z"]
    assert report.placeholders == ["a.title", "e"]
    assert report.spacing == ["b"]
    assert report.empty == ["c"]
    assert report.same_as_english == ["d"]
    assert report.icu_quotes == ["e"]
    assert report.problems == 7
    # A brace that is not a placeholder: Home Assistant's parser fails on it.
    assert tool.compare({"x": "Open"}, {"x": "Åben {"}, "da").placeholders == ["x"]


def test_todo_and_merge_fill_what_english_added() -> None:
    """The integrator's round: keys English gained are listed, then merged in English's order."""
    english = {
        "s.one": "Branch",
        "s.two": "Door {door}",
        "t.new": "Branch",
        "t.other": "Open",
    }
    danish = {"s.one": "Filial", "s.two": "Dør {door}", "old": "forældet"}
    report = tool.compare(english, danish, "da")
    assert report.missing == ["t.new", "t.other"]
    texts, prefilled = tool.todo(english, danish, report)
    # The same English elsewhere in the file gives its translation; the rest comes in English.
    assert texts == {"t.new": "Filial", "t.other": "Open"}
    assert prefilled == {"t.new"}

    merged, refused = tool.merge(
        english, danish, {"t.new": "Filial", "t.other": "Åben"}
    )
    assert refused == []
    assert list(merged) == [
        "s.one",
        "s.two",
        "t.new",
        "t.other",
    ]  # English's order, "old" gone
    assert tool.compare(english, merged, "da").problems == 0

    # A filled text that lost a placeholder, or a key English lacks, is refused: nothing merged.
    merged, refused = tool.merge(english, danish, {"s.two": "Dør", "nope": "x"})
    assert merged == danish
    assert len(refused) == 2


def test_command_line_round(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The script on a copy: it exits 1 while a key is missing, writes the todo, merges it back."""
    sets = {"integration": tmp_path / "integration"}
    sets["integration"].mkdir()
    english = {
        "entity": {"sensor": {"a": {"name": "People inside"}, "b": {"name": "Mode"}}}
    }
    (sets["integration"] / "en.json").write_text(json.dumps(english), encoding="utf-8")
    (sets["integration"] / "da.json").write_text(
        json.dumps({"entity": {"sensor": {"a": {"name": "Personer inde"}}}}),
        encoding="utf-8",
    )
    saved = dict(tool.SETS)
    tool.SETS.clear()
    tool.SETS.update(sets)
    try:
        todo_dir = tmp_path / "todo"
        assert tool.main(["--todo", str(todo_dir)]) == 1
        assert "entity.sensor.b.name" in capsys.readouterr().out
        todo_file = todo_dir / "integration.da.json"
        assert json.loads(todo_file.read_text()) == {"entity.sensor.b.name": "Mode"}
        todo_file.write_text(
            json.dumps({"entity.sensor.b.name": "Tilstand"}), encoding="utf-8"
        )
        assert tool.main(["--merge", str(todo_file)]) == 0
        assert tool.main([]) == 0
    finally:
        tool.SETS.clear()
        tool.SETS.update(saved)
    written: dict[str, Any] = json.loads((sets["integration"] / "da.json").read_text())
    assert written == {
        "entity": {
            "sensor": {"a": {"name": "Personer inde"}, "b": {"name": "Tilstand"}}
        }
    }


def test_the_shipped_files_pass_the_script(capsys: pytest.CaptureFixture[str]) -> None:
    """What the integrator runs agrees with this test: nothing to fill today."""
    assert tool.main([]) == 0
    out = capsys.readouterr().out
    for language in LANGUAGES:
        assert f"integration {language}:" in out
        assert f"tablet {language}:" in out


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("cy", "Pobl y tu mewn"),
        ("da", "Personer inde"),
        ("nb", "Personer inne"),
        ("sv", "Personer inne"),
        ("en", "People inside"),
    ],
)
async def test_home_assistant_picks_the_users_language(
    hass: HomeAssistant, enable_custom_integrations: None, language: str, expected: str
) -> None:
    """Home Assistant's own loader reads our file for the user's language."""
    translations = await async_get_translations(hass, language, "entity", {DOMAIN})
    assert (
        translations[f"component.{DOMAIN}.entity.sensor.people_inside.name"] == expected
    )


@pytest.mark.parametrize(("name", "language"), CASES)
def test_every_text_has_its_own_line(name: str, language: str) -> None:
    """The history check reads one key per line: every key of a shipped file is found on one."""
    path = tool.SETS[name] / f"{language}.json"
    lines = tool.key_lines(path.read_text(encoding="utf-8"))
    assert list(lines.values()) == list(_texts(name, language))


def test_english_changed_since_translated() -> None:
    """A translation written against other English is listed with the English it had then."""
    english = {"a": "Open", "b": "Safety at {branch}", "c": "New", "language": "en"}
    other = {"a": "Åben", "b": "Sikkerhed", "language": "da"}
    when = {"a": "Open", "b": "Safety", "language": "en"}
    assert tool.changed_since_translated(english, when, other) == {"b": "Safety"}
    # Without a history (no git, a tarball) nothing is claimed to have changed.
    assert tool.changed_since_translated(english, None, other) == {}
    report = tool.compare(english, other, "da")
    report.changed = {"b": "Safety"}
    texts, prefilled = tool.todo(english, other, report)
    # The placeholder English gained makes the old translation unusable: English to translate.
    assert texts == {"b": "Safety at {branch}", "c": "New"}
    assert prefilled == set()
    english["b"] = "Safety first"
    report = tool.compare(english, other, "da")
    report.changed = {"b": "Safety"}
    texts, prefilled = tool.todo(english, other, report)
    # Same placeholders: the old translation is handed over to revise.
    assert texts == {"b": "Sikkerhed", "c": "New"}
    assert prefilled == {"b"}


def test_history_without_git(monkeypatch: pytest.MonkeyPatch) -> None:
    """Where git cannot run, the check says nothing rather than fail."""
    monkeypatch.setenv("PATH", "/nonexistent")
    assert tool.english_when_translated(tool.SETS["tablet"], "da") is None
