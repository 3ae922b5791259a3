"""Every word the administrator's panel shows is in texts/panel/en.json, and nothing else is.

The panel (frontend/smart-library-panel.js) writes its words as `t("section.key")`; a key missing
from the catalogue would show as the key itself, and a key no longer used is one a translator
translates for nothing. Read with regular expressions (the panel has no build step):
- a literal key: any "group.key" string whose group is one of the catalogue's top-level groups
  (passed to `t`, or picked by a `cond ? "a.b" : "c.d"` before it);
- a key built at run time from a value the integration sends: `t(`prefix.${…}`)`,
  `named("prefix", …)` or `TEXTS[`prefix.${…}`]` — every key under that prefix counts as used.
Keys under `server.` are the server's own (panel/websocket.py) and are checked there. And no
sentence may be written straight into the panel (an element's text, a label, a toast, an error):
it would stay English for everybody.
"""

from __future__ import annotations

import json
from pathlib import Path
import re
from typing import Any

from custom_components.smart_library.helpers.texts import TEXTS_DIR
from custom_components.smart_library.panel.registration import PANEL_FILE

SERVER = "server."
PLURAL = (".one", ".other")


def _flat(tree: dict[str, Any], prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            out |= _flat(value, f"{prefix}{key}.")
        else:
            out[f"{prefix}{key}"] = value
    return out


CATALOGUE = _flat(json.loads((TEXTS_DIR / "panel" / "en.json").read_text("utf-8")))
GROUPS = {key.split(".", 1)[0] for key in CATALOGUE}


def _source() -> str:
    """Return the panel's code without its whole-line comments (which name keys as examples)."""
    lines = PANEL_FILE.read_text("utf-8").splitlines()
    return "\n".join(line for line in lines if not line.lstrip().startswith("//"))


def _used(source: str) -> tuple[set[str], set[str]]:
    """Return the literal keys and the prefixes of the keys built at run time."""
    literal = {
        key
        for key in re.findall(r"""["']([a-z0-9_]+(?:\.[a-z0-9_]+)+)["']""", source)
        if key.split(".", 1)[0] in GROUPS
    }
    groups = set(re.findall(r"""\bnamed\("([a-z0-9_.]+)",""", source))
    prefixes = {f"{group}." for group in groups}
    prefixes |= set(re.findall(r"""\bt\(`([a-z0-9_.]+\.)\$\{""", source))
    prefixes |= set(re.findall(r"""TEXTS\[`([a-z0-9_.]+\.)\$\{""", source))
    return literal - groups, prefixes


def test_the_reader_finds_what_it_should() -> None:
    """The regular expressions see literal keys, ternaries, and each kind of built key."""
    literal, prefixes = _used(
        'x = t("members.title"); y = t(big ? "incidents.count_newest" : "incidents.count", {});\n'
        'z = t(`section.${id}`); w = named("hours.field", f); v = TEXTS[`category.${c}`];\n'
        'u = h("a", { href: "config/config_entries.flow" });'
    )
    assert literal == {"members.title", "incidents.count_newest", "incidents.count"}
    assert prefixes == {"section.", "hours.field.", "category."}


def test_every_key_the_panel_uses_is_in_the_catalogue() -> None:
    """A key the panel uses and English lacks would show as `members.titel` on screen."""
    literal, prefixes = _used(_source())
    assert literal, "no t(...) key found: has the panel's helper been renamed?"
    missing = sorted(
        key
        for key in literal
        if key not in CATALOGUE and not all(f"{key}{p}" in CATALOGUE for p in PLURAL)
    )
    assert missing == []
    empty = sorted(p for p in prefixes if not any(k.startswith(p) for k in CATALOGUE))
    assert empty == []


def test_every_key_in_the_catalogue_is_used() -> None:
    """A key nobody uses is a text translated for nothing (the server's own are read there)."""
    literal, prefixes = _used(_source())
    unused = sorted(
        key
        for key in CATALOGUE
        if not key.startswith(SERVER)
        and key not in literal
        and not (key.endswith(PLURAL) and key.rsplit(".", 1)[0] in literal)
        and not any(key.startswith(p) for p in prefixes)
    )
    assert unused == []
    server = Path(PANEL_FILE.parent.parent / "panel").glob("*.py")
    code = "\n".join(path.read_text("utf-8") for path in server)
    unused_server = sorted(
        key for key in CATALOGUE if key.startswith(SERVER) and f'"{key}"' not in code
    )
    assert unused_server == []


# Literals the panel may show as they are: the staff-card windows' syntax and the CSV's header
# line with an example row (formats, not words), and the one message shown when the panel's words themselves could not be loaded.
AS_THEY_ARE = {
    "mon-fri 06:00-08:00; sat 07:00-09:00",
    (
        r"barcode,name,date_of_birth,expiry,induction\n"
        "21234000000001,Ann Reader,1971-02-14,2028-01-31,2026-05-01"
    ),
    "Smart Library did not answer: ${errorText(err)}",
}
# Where a literal is text a person reads: an element's text, a field's label, placeholder, help
# or title, an error's message, a toast.
SHOWN = re.compile(
    r"""(?:\b(?:text|label|title|placeholder|help)|"aria-label")\s*:\s*"""
    r"""("(?:[^"\\]|\\.)*"|`[^`]*`)"""
    r"""|(?:new Error|_toast|_fatal)\(\s*("(?:[^"\\]|\\.)*"|`[^`]*`)"""
)


def test_no_words_outside_the_catalogue() -> None:
    """A sentence written straight into the panel would stay English for a Welsh user."""
    found = []
    for match in SHOWN.finditer(_source()):
        literal = (match.group(1) or match.group(2))[1:-1]
        words = re.sub(r"\$\{[^}]*\}", "", literal)
        if re.search(r"[A-Za-z]{2,}", words) and literal not in AS_THEY_ARE:
            found.append(literal)
    assert found == []
