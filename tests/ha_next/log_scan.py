"""Read a Home Assistant log: its warnings, and those that are about Smart Library.

Pure Python (no Home Assistant import): scripts/ha_next_check runs it in the next release's
environment, the test suite (tests/ha_next/test_log_scan.py) in the harness's.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
import re

# "2026-11-25 10:00:00.123+00:00 WARNING (MainThread) [homeassistant.loader] We found ..."
_RECORD = re.compile(
    r"^\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(?:[.,]\d+)?(?:[+-]\d\d:?\d\d|Z)? +"
    r"(?P<level>DEBUG|INFO|WARNING|ERROR|CRITICAL) +\((?P<thread>[^)]*)\) +"
    r"\[(?P<logger>[^\]]+)\] (?P<message>.*)$"
)
# Python's own warnings printed to stderr (PYTHONWARNINGS): "path.py:12: DeprecationWarning: ..."
_PY_WARNING = re.compile(
    r"^(?P<where>\S+?):\d+: (?P<category>\w*Warning): (?P<message>.*)$"
)
_LEVELS = ("WARNING", "ERROR", "CRITICAL")
OURS = ("smart_library", "smart-library")
# Home Assistant says this of every custom integration, at every start: not a finding.
NOT_A_FINDING = (
    re.compile(
        r"^We found a custom integration smart_library which has not been tested by "
        r"Home Assistant"
    ),
)


@dataclass(frozen=True, slots=True)
class LogWarning:
    """One warning (or worse) in the log: its first line and what followed it (a traceback)."""

    level: str
    source: str  # the logger's name, or the file a Python warning points at
    text: str  # the whole record, continuation lines included

    @property
    def ours(self) -> bool:
        """Return True when it names Smart Library and is not the custom-integration notice."""
        if not any(word in self.text for word in OURS):
            return False
        message = self.text.split("] ", 1)[-1] if self.level != "PYTHON" else self.text
        return not any(pattern.search(message) for pattern in NOT_A_FINDING)

    @property
    def first_line(self) -> str:
        """Return the record's first line."""
        return self.text.splitlines()[0]


def warnings(lines: Iterable[str]) -> Iterator[LogWarning]:
    """Yield every warning, error or critical record, and every Python warning, in the log."""
    current: list[str] | None = None
    level = source = ""
    for raw in lines:
        line = raw.rstrip("\n")
        if match := _RECORD.match(line):
            if current is not None:
                yield LogWarning(level, source, "\n".join(current))
            if match["level"] in _LEVELS:
                current, level, source = [line], match["level"], match["logger"]
            else:
                current = None
            continue
        if match := _PY_WARNING.match(line):
            if current is not None:
                yield LogWarning(level, source, "\n".join(current))
            current, level, source = [line], "PYTHON", match["where"]
            continue
        if current is not None and line.strip():
            current.append(line)
    if current is not None:
        yield LogWarning(level, source, "\n".join(current))
