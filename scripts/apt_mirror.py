"""Print the Debian mirror named by apt source files (classic one-line or deb822), or nothing.

A mirror is the URI of a `deb` source whose suite is a Debian release (not -security, not a
third-party repository: its suites must be Debian's and it must carry the `main` component).
Runs on the host's own Python (3.11 on Debian 12): standard library only.
"""

from __future__ import annotations

from pathlib import Path
import sys

DEBIAN_SUITES = {
    "bookworm", "trixie", "forky", "duke", "sid", "unstable", "testing", "stable",
    "oldstable", "bullseye", "buster",
}  # fmt: skip


def _is_debian_suite(suite: str) -> bool:
    base, _, suffix = suite.partition("-")
    return base in DEBIAN_SUITES and suffix in ("", "updates", "backports")


def _classic(text: str) -> list[tuple[str, list[str], list[str]]]:
    found = []
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line.startswith("deb "):
            continue
        words = line.split()[1:]
        if words and words[0].startswith(
            "["
        ):  # options such as [arch=amd64 signed-by=…]
            while words and not words[0].endswith("]"):
                words.pop(0)
            words = words[1:]
        if len(words) >= 2:
            found.append((words[0], [words[1]], words[2:]))
    return found


def _deb822(text: str) -> list[tuple[str, list[str], list[str]]]:
    found = []
    for stanza in text.split("\n\n"):
        fields: dict[str, str] = {}
        key = None
        for raw in stanza.splitlines():
            if raw.startswith("#") or not raw.strip():
                continue
            if raw[0] in " \t" and key:
                fields[key] += " " + raw.strip()
                continue
            key, _, value = raw.partition(":")
            key = key.strip().lower()
            fields[key] = value.strip()
        if fields.get("enabled", "yes").lower() == "no":
            continue
        if "deb" not in fields.get("types", "").split():
            continue
        suites = fields.get("suites", "").split()
        components = fields.get("components", "").split()
        found.extend(
            (uri, suites, components) for uri in fields.get("uris", "").split()
        )
    return found


def mirror(paths: list[str]) -> str | None:
    """Return the first Debian mirror found in these files."""
    for path in paths:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
        entries = _deb822(text) if path.endswith(".sources") else _classic(text)
        for uri, suites, components in entries:
            if "main" in components and any(_is_debian_suite(s) for s in suites):
                return uri.rstrip("/")
    return None


if __name__ == "__main__":
    found = mirror(sys.argv[1:])
    if found:
        print(found)
