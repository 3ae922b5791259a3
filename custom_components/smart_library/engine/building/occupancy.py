"""People counting from a door counter's raw totals.

The counter gives two 16-bit totals (in, out) that wrap at 65536 and restart at 0 when the
controller reboots. From their changes between polls this keeps how many people are inside (never
below zero) and how many came in today.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

WRAP = 0x10000
# A jump larger than this between two polls (a second apart) is a counter restart, not people.
MAX_PLAUSIBLE_STEP = 1000


@dataclass
class Occupancy:
    """Running occupancy of one branch."""

    inside: int = 0
    entries_today: int = 0
    _last_in: int | None = None
    _last_out: int | None = None

    def update(self, raw_in: int, raw_out: int) -> int:
        """Take a new reading of the counter's totals; return how many came in since the last."""
        if self._last_in is None or self._last_out is None:
            self._last_in, self._last_out = raw_in, raw_out
            return 0
        came_in = (raw_in - self._last_in) % WRAP
        went_out = (raw_out - self._last_out) % WRAP
        self._last_in, self._last_out = raw_in, raw_out
        if came_in > MAX_PLAUSIBLE_STEP or went_out > MAX_PLAUSIBLE_STEP:
            return 0  # the controller restarted its counter: start again from here
        self.inside = max(0, self.inside + came_in - went_out)
        self.entries_today += came_in
        return came_in

    def reset_inside(self) -> None:
        """Start the count of people inside from zero (when the branch opens)."""
        self.inside = 0

    def new_day(self) -> None:
        """Start a new day's entry count."""
        self.entries_today = 0

    def to_dict(self, day: str) -> dict[str, Any]:
        """Return what survives a restart: the count inside, today's entries, the totals seen."""
        return {
            "inside": self.inside,
            "entries_today": self.entries_today,
            "day": day,
            "last_in": self._last_in,
            "last_out": self._last_out,
        }

    def restore(self, data: Mapping[str, Any], day: str) -> None:
        """Take a stored count back (before the first poll); another day's entries are not today's.

        The counter's totals seen last are taken back too, so people counted while Home
        Assistant was down are counted on the first reading (a restarted counter is caught by
        the plausibility check in `update`).
        """
        if not data:
            return
        self.inside = max(0, int(data.get("inside") or 0))
        if data.get("day") == day:
            self.entries_today = max(0, int(data.get("entries_today") or 0))
        last_in, last_out = data.get("last_in"), data.get("last_out")
        if isinstance(last_in, int) and isinstance(last_out, int):
            self._last_in, self._last_out = last_in, last_out


@dataclass
class EntryWatch:
    """Entries counted through a door while a card release is open, against the admitted party.

    More people through than were admitted (the member plus the minors they declared) is
    tailgating. Times are monotonic seconds.
    """

    party: int
    until: float
    came_in: int = 0
    reported: bool = False

    def admit(self, party: int, until: float) -> None:
        """Another grant at the same door while this watch runs."""
        self.party += party
        self.until = max(self.until, until)

    def count(self, came_in: int) -> int:
        """Count entries; return how many tailgaters to report now (0 when none or reported)."""
        self.came_in += came_in
        if self.reported or self.came_in <= self.party:
            return 0
        self.reported = True
        return self.came_in - self.party
