"""What the log says about a module that stops and starts answering: at most one warning a while.

A module that flaps (a loose cable, a switch port renegotiating) must not fill the log with a
warning per flap, nor leave the log's last word at "answering again" while it is away. So, per
module: the first loss is a warning at once; a loss within `every` seconds of the last warning
is kept quiet (the caller logs it at debug), and if the module is still away once that time is
up, the warning comes then; the next warning says how many flaps (losses the log did not
warn about, each followed by a return) went unsaid. "Answering again" is said once after each
warning. The state shown to users (entities, the *Controller connected* sensor) is not this:
it follows every poll.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from time import monotonic
from typing import Final

# The least time between two warnings about one module, in seconds.
WARN_EVERY: Final = 300.0


class Say(StrEnum):
    """What to log about one module after a poll."""

    LOST = "lost"  # a warning (with `flaps`)
    BACK = "back"  # an info line: answering again, after a warning
    QUIET_LOST = "quiet_lost"  # a debug line: lost again, too soon after a warning
    QUIET_BACK = "quiet_back"  # a debug line: back after a quiet loss


@dataclass(frozen=True, slots=True)
class Line:
    """One line to log: what, and the flaps since the last warning (for LOST)."""

    say: Say
    flaps: int = 0


@dataclass(slots=True)
class _Module:
    ok: bool = True  # as the last poll saw it
    said_ok: bool = True  # as the log last said it
    warned_at: float | None = None
    losses: int = 0  # losses since the last warning, the current one included


class AvailabilityLog:
    """Decide, poll by poll, what the log says about each module's availability."""

    def __init__(self, every: float = WARN_EVERY) -> None:
        """Warn about one module at most once every `every` seconds."""
        self.every = every
        self._modules: dict[str, _Module] = {}

    def update(self, module: str, ok: bool, now: float | None = None) -> Line | None:
        """Take one poll's answer of a module; return what to log.

        `now` is a monotonic time in seconds (by default, this process's monotonic clock).
        """
        if now is None:
            now = monotonic()
        m = self._modules.setdefault(module, _Module())
        was_ok, m.ok = m.ok, ok
        if was_ok and not ok:
            m.losses += 1
        if not ok and m.said_ok:
            if m.warned_at is None or not 0 <= now - m.warned_at < self.every:
                line = Line(Say.LOST, flaps=m.losses - 1)
                m.warned_at, m.losses, m.said_ok = now, 0, False
                return line
            return Line(Say.QUIET_LOST) if was_ok else None
        if ok and not m.said_ok:
            m.said_ok = True
            return Line(Say.BACK)
        if ok and not was_ok:
            return Line(Say.QUIET_BACK)
        return None
