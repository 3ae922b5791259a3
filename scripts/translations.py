"""The integration's translations beside English: what is missing, and merging what was filled.

Sets of text files, English first in each:
- `integration`: custom_components/smart_library/translations/<language>.json — Home Assistant's
  own format (config flow, entities, actions, repairs, errors). Home Assistant picks the file by
  the user's language.
- `tablet`: custom_components/smart_library/frontend/tablet/messages/<language>.json — the door
  tablet's screens and the reader's replies. Its `language` key is the file's own code and `name`
  the language's own name; every other key is a text.
- `dashboard`, `panel`, `staff`, `public`: custom_components/smart_library/texts/<set>/
  <language>.json — what the integration writes itself (helpers/texts.py says who reads which,
  in whose language): the dashboard's layout, the administrator's panel, staff alerts, spoken
  answers and logbook lines, the members' pages. Texts use Python's `{placeholder}`s; a count
  has `one` and `other` forms under one key.

A translation has every key of English and no other, no empty text, the same placeholders
(`{branch}`, `{service}` ...), no leading or trailing space, and no apostrophe right before a
brace or an angle bracket (Home Assistant's frontend reads its texts as ICU messages: `'{` starts
a quoted literal there and the placeholder would be printed as it is).

Command line (scripts/translations_missing runs this with any Python 3.11+, nothing to install):

  scripts/translations_missing
      Per set and language: the English keys missing, the keys English no longer has, the texts
      whose placeholders differ, and the texts still the same as English (a reviewer's list:
      names and codes such as SIP2 or Modbus rightly stay). Exit 1 when any of these but the
      last is found. Also, from git: the keys whose English changed since their translation was
      written (`git blame` on the language file, English read at that commit), old and new
      English side by side — a review list, not an error (a typo fixed in English may leave the
      translation right); --no-history leaves git out.
  scripts/translations_missing --todo DIR
      Also write DIR/<set>.<language>.json: {dotted key: text} for every key to fill or review —
      the translation to revise where only the English wording changed, this language's text for
      the same English elsewhere in the file when there is one, else the English — and beside it
      DIR/<set>.<language>.english.json with each key's English now (and before). Translate the
      values and keep the keys.
  scripts/translations_missing --merge FILE [FILE ...]
      Put filled todo files back into the language files (in English's order, keys English no
      longer has dropped). A text with other placeholders than English is refused.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from dataclasses import dataclass, field
import json
from pathlib import Path
import re
import string
import subprocess
import sys
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "custom_components" / "smart_library"
SETS: dict[str, Path] = {
    "integration": PACKAGE / "translations",
    "tablet": PACKAGE / "frontend" / "tablet" / "messages",
    # The integration's own texts (helpers/texts.py): what it writes itself, per audience.
    "dashboard": PACKAGE / "texts" / "dashboard",
    "panel": PACKAGE / "texts" / "panel",
    "staff": PACKAGE / "texts" / "staff",
    "public": PACKAGE / "texts" / "public",
}
ENGLISH = "en"
# The tablet's file names itself: these keys are not texts to translate.
METADATA_KEYS = frozenset({"language", "name"})
# An ICU apostrophe quotes what follows when it is one of these (intl-messageformat's parser).
ICU_QUOTE = re.compile(r"'[{}<>]")
SEPARATOR = "."


class TranslationFileError(ValueError):
    """A language file that is not a tree of texts: bad JSON, a repeated key, a non-text leaf."""


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise TranslationFileError(f"key {key!r} appears twice")
        seen[key] = value
    return seen


def load(path: Path) -> dict[str, Any]:
    """Read a language file; a repeated key (which JSON readers silently drop) is an error."""
    try:
        data = json.loads(
            path.read_text(encoding="utf-8"), object_pairs_hook=_no_duplicates
        )
    except json.JSONDecodeError as err:
        raise TranslationFileError(f"{path.name}: not valid JSON ({err})") from err
    except TranslationFileError as err:
        raise TranslationFileError(f"{path.name}: {err}") from err
    if not isinstance(data, dict):
        raise TranslationFileError(f"{path.name}: not a JSON object")
    return data


def flatten(tree: dict[str, Any], prefix: str = "") -> dict[str, str]:
    """Return {dotted key: text} in the file's order."""
    flat: dict[str, str] = {}
    for key, value in tree.items():
        if SEPARATOR in key or not key:
            raise TranslationFileError(f"key {prefix}{key!r} is empty or holds a dot")
        dotted = f"{prefix}{key}"
        if isinstance(value, dict):
            flat |= flatten(value, dotted + SEPARATOR)
        elif isinstance(value, str):
            flat[dotted] = value
        else:
            raise TranslationFileError(
                f"{dotted} is {type(value).__name__}, not a text"
            )
    return flat


def unflatten(flat: dict[str, str]) -> dict[str, Any]:
    """Return the tree of a {dotted key: text} (in its order)."""
    tree: dict[str, Any] = {}
    for dotted, text in flat.items():
        node = tree
        *parents, leaf = dotted.split(SEPARATOR)
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = text
    return tree


def placeholders(text: str) -> set[str]:
    """Return the names of the `{placeholder}`s in a text, read as Home Assistant reads them.

    Home Assistant parses a translation with `string.Formatter` and drops one whose
    placeholders are not English's; a stray brace it cannot parse counts as a placeholder of
    its own here, so it never equals English's.
    """
    try:
        return {name for _, name, _, _ in string.Formatter().parse(text) if name}
    except ValueError:
        return {"<a brace that is not a placeholder>"}


def languages(folder: Path) -> list[str]:
    """Return the language codes of a set's files, English left out."""
    return sorted(p.stem for p in folder.glob("*.json") if p.stem != ENGLISH)


@dataclass
class Report:
    """What one language file lacks against English."""

    missing: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    placeholders: list[str] = field(default_factory=list)
    empty: list[str] = field(default_factory=list)
    spacing: list[str] = field(default_factory=list)
    icu_quotes: list[str] = field(default_factory=list)
    metadata: list[str] = field(default_factory=list)
    same_as_english: list[str] = field(default_factory=list)
    # Keys whose English changed since their translation was written: {key: the English then}.
    changed: dict[str, str | None] = field(default_factory=dict)

    def to_fill(self) -> list[str]:
        """Return the keys a translator has to (re)write, in no particular order."""
        return [*self.missing, *self.placeholders, *self.empty, *self.changed]

    @property
    def problems(self) -> int:
        """Return how many findings there are that a correct file may not have."""
        return sum(
            len(found)
            for found in (
                self.missing,
                self.extra,
                self.placeholders,
                self.empty,
                self.spacing,
                self.icu_quotes,
                self.metadata,
            )
        )


def compare(english: dict[str, str], other: dict[str, str], language: str) -> Report:
    """Compare a language's texts with English."""
    report = Report()
    for key, source in english.items():
        if key in METADATA_KEYS:
            continue
        if key not in other:
            report.missing.append(key)
            continue
        text = other[key]
        if not text.strip():
            report.empty.append(key)
            continue
        if placeholders(text) != placeholders(source):
            report.placeholders.append(key)
        if text != text.strip():
            report.spacing.append(key)
        if ICU_QUOTE.search(text) and not ICU_QUOTE.search(source):
            report.icu_quotes.append(key)
        if text == source:
            report.same_as_english.append(key)
    report.extra = [key for key in other if key not in english]
    for key in METADATA_KEYS & english.keys():
        if key == "language" and other.get(key) != language:
            report.metadata.append(f"{key} (must be {language!r})")
        elif key != "language" and not other.get(key, "").strip():
            report.metadata.append(key)
    return report


def todo(
    english: dict[str, str], other: dict[str, str], report: Report
) -> tuple[dict[str, str], set[str]]:
    """Return the texts to fill (in English's order) and the keys prefilled from this language.

    A key whose English changed since it was translated keeps its translation, to revise; a key
    whose English text is translated elsewhere in the same file gets that translation (the same
    words in the same product read the same); every other key gets the English text.
    """
    known: dict[str, str] = {}
    for key, text in other.items():
        source = english.get(key)
        if (
            source is not None
            and text.strip()
            and placeholders(text) == placeholders(source)
        ):
            known.setdefault(source, text)
    wanted = set(report.to_fill())
    out: dict[str, str] = {}
    prefilled: set[str] = set()
    for key, source in english.items():
        if key not in wanted:
            continue
        if key in report.changed and key not in report.placeholders and other.get(key):
            out[key] = other[key]
            prefilled.add(key)
        elif source in known:
            out[key] = known[source]
            prefilled.add(key)
        else:
            out[key] = source
    return out, prefilled


def merge(
    english: dict[str, str], other: dict[str, str], filled: dict[str, str]
) -> tuple[dict[str, str], list[str]]:
    """Return the language's texts with `filled` put in, in English's order, and refusals."""
    refused = [f"{key}: not a key of English" for key in filled if key not in english]
    for key, text in filled.items():
        if key in english and placeholders(text) != placeholders(english[key]):
            refused.append(
                f"{key}: placeholders {sorted(placeholders(text))} "
                f"!= English {sorted(placeholders(english[key]))}"
            )
    if refused:
        return other, refused
    combined = other | filled
    return {key: combined[key] for key in english if key in combined}, []


# -- what English said when a translation was written (git) ----------------------------------------

# One key per line, as `write` lays a file out: `<indent>"key": {` or `<indent>"key": "text",`.
_LINE = re.compile(r'^(?P<indent> *)"(?P<key>(?:[^"\\]|\\.)*)": (?P<rest>.*)$')
_BLAME_HEADER = re.compile(r"^(?P<sha>[0-9a-f]{40}) \d+ (?P<line>\d+)")
_UNCOMMITTED = "0" * 40


def key_lines(text: str) -> dict[int, str]:
    """Return {line number: dotted key} for the texts of a file laid out as `write` does."""
    stack: list[str] = []
    found: dict[int, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        match = _LINE.match(line)
        if match is None:
            continue
        depth = len(match["indent"]) // 2 - 1
        key = json.loads(f'"{match["key"]}"')
        del stack[depth:]
        if match["rest"] == "{":
            stack.append(key)
        else:
            found[number] = SEPARATOR.join([*stack, key])
    return found


def _git(*args: str) -> str | None:
    try:
        done = subprocess.run(  # noqa: S603 - git with our own arguments
            ["git", "-C", str(ROOT), *args],  # noqa: S607 - git from PATH
            capture_output=True,
            text=True,
            check=False,
        )
    except OSError:
        return None
    return done.stdout if done.returncode == 0 else None


def english_when_translated(
    folder: Path, language: str
) -> dict[str, str | None] | None:
    """Return {key: the English it had in the commit that last wrote its translation}.

    Read with `git blame` on the language file and `git show <commit>:<English file>`; a line
    not committed yet counts as written against today's English (left out). None when git or
    the history is not there (a tarball), so nothing is reported as changed.
    """
    path = folder / f"{language}.json"
    if not path.is_relative_to(ROOT):
        return None  # a copy outside the checkout has no history here
    relative = path.relative_to(ROOT).as_posix()
    english_path = (folder / f"{ENGLISH}.json").relative_to(ROOT).as_posix()
    blame = _git("blame", "--porcelain", "--", relative)
    if blame is None:
        return None
    commit_of_line: dict[int, str] = {}
    for line in blame.splitlines():
        if match := _BLAME_HEADER.match(line):
            commit_of_line[int(match["line"])] = match["sha"]
    lines = key_lines(path.read_text(encoding="utf-8"))
    english_at: dict[str, dict[str, str]] = {}
    result: dict[str, str | None] = {}
    for number, key in lines.items():
        sha = commit_of_line.get(number)
        if sha is None or sha == _UNCOMMITTED:
            continue
        if sha not in english_at:
            shown = _git("show", f"{sha}:{english_path}")
            try:
                english_at[sha] = flatten(json.loads(shown)) if shown else {}
            except ValueError:  # bad JSON or a repeated key (TranslationFileError)
                english_at[sha] = {}
        result[key] = english_at[sha].get(key)
    return result


def changed_since_translated(
    english: dict[str, str], when: dict[str, str | None] | None, other: dict[str, str]
) -> dict[str, str | None]:
    """Return {key: English then} for the translated keys whose English is not the same now."""
    if when is None:
        return {}
    return {
        key: when[key]
        for key in english
        if key in other
        and key in when
        and when[key] != english[key]
        and key not in METADATA_KEYS
    }


def write(path: Path, flat: dict[str, str]) -> None:
    """Write a language file as the project writes JSON: two spaces, UTF-8, a final newline."""
    path.write_text(
        json.dumps(unflatten(flat), ensure_ascii=False, indent=2) + "\n",
        encoding="utf-8",
    )


def each_language(
    only: list[str] | None,
) -> Iterator[tuple[str, Path, dict[str, str], str, dict[str, str]]]:
    """Yield (set, folder, English, language, its texts) for every language file."""
    for name, folder in SETS.items():
        english = flatten(load(folder / f"{ENGLISH}.json"))
        for language in languages(folder):
            if only and language not in only:
                continue
            yield (
                name,
                folder,
                english,
                language,
                flatten(load(folder / f"{language}.json")),
            )


def _print_keys(
    title: str, keys: list[str], english: dict[str, str], limit: int | None = None
) -> None:
    if not keys:
        return
    print(f"  {title}: {len(keys)}")
    for key in keys[:limit]:
        text = english.get(key, "")
        print(f"    {key}" + (f"  — {text[:70]!r}" if text else ""))
    if limit is not None and len(keys) > limit:
        print(f"    … and {len(keys) - limit} more")


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    parser = argparse.ArgumentParser(
        prog="scripts/translations_missing",
        description="What each language lacks against English, and merging what was filled.",
    )
    parser.add_argument(
        "--language", action="append", help="only this language (repeatable)"
    )
    parser.add_argument(
        "--todo", type=Path, metavar="DIR", help="write the keys to fill here"
    )
    parser.add_argument(
        "--merge", type=Path, nargs="+", metavar="FILE", help="filled todo files"
    )
    parser.add_argument(
        "--same", action="store_true", help="list every text still the same as English"
    )
    parser.add_argument(
        "--no-history",
        action="store_true",
        help="do not ask git which English each translation was written against",
    )
    args = parser.parse_args(argv)

    if args.merge:
        return _merge_files(args.merge)

    status = 0
    for name, folder, english, language, other in each_language(args.language):
        report = compare(english, other, language)
        if not args.no_history:
            report.changed = changed_since_translated(
                english, english_when_translated(folder, language), other
            )
        status |= 1 if report.problems else 0
        print(
            f"{name} {language}: {len(english)} keys in English, {report.problems} problems"
        )
        _print_keys("missing", report.missing, english)
        _print_keys("not in English (dropped by --merge)", report.extra, {})
        _print_keys("placeholders differ", report.placeholders, english)
        _print_keys("empty", report.empty, english)
        _print_keys("leading or trailing space", report.spacing, english)
        _print_keys(
            "apostrophe before a brace (ICU quoting)", report.icu_quotes, english
        )
        _print_keys("file metadata", report.metadata, {})
        if report.changed:
            print(f"  English changed since translated (review): {len(report.changed)}")
            for key, before in report.changed.items():
                print(f"    {key}\n      was {before!r}\n      now {english[key]!r}")
        _print_keys(
            "same as English (fine for names and codes)",
            report.same_as_english,
            english,
            None if args.same else 5,
        )
        if args.todo and report.to_fill():
            args.todo.mkdir(parents=True, exist_ok=True)
            texts, prefilled = todo(english, other, report)
            target = args.todo / f"{name}.{language}.json"
            target.write_text(
                json.dumps(texts, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
            )
            context = {
                key: {"english": english[key]}
                | (
                    {"english_before": report.changed[key]}
                    if key in report.changed
                    else {}
                )
                for key in texts
            }
            (args.todo / f"{name}.{language}.english.json").write_text(
                json.dumps(context, ensure_ascii=False, indent=2) + "\n",
                encoding="utf-8",
            )
            print(
                f"  wrote {target}: {len(texts)} to fill, {len(prefilled)} prefilled "
                "(this language's text for the same English, or the translation to revise); "
                f"the English beside each key in {name}.{language}.english.json"
            )
    return status


def _merge_files(files: list[Path]) -> int:
    status = 0
    for file in files:
        match = re.fullmatch(r"(\w+)\.([\w-]+)\.json", file.name)
        if not match or match.group(1) not in SETS:
            print(f"{file}: name it <set>.<language>.json (sets: {', '.join(SETS)})")
            status = 1
            continue
        name, language = match.groups()
        folder = SETS[name]
        filled = json.loads(file.read_text(encoding="utf-8"))
        english = flatten(load(folder / f"{ENGLISH}.json"))
        target = folder / f"{language}.json"
        other = flatten(load(target)) if target.exists() else {}
        merged, refused = merge(english, other, filled)
        if refused:
            print(f"{file}: nothing merged:")
            for line in refused:
                print(f"  {line}")
            status = 1
            continue
        write(target, merged)
        report = compare(english, merged, language)
        print(f"{target}: {len(filled)} merged, {report.problems} problems left")
    return status


if __name__ == "__main__":
    sys.exit(main())
