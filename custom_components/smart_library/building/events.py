"""The building's events, typed, handed in process from a branch's coordinator to its listeners.

Anyone logged in to Home Assistant can fire an event on its bus (a mobile-app webhook is
enough), so nothing in the integration acts on a `smart_library_*` bus event: those are a
read-only projection for automations and the logbook. What acts — the safety tools opening an
incident, alerting staff, playing "help is on the way" — listens here, on a hub each library
service builds before any of its branches polls, so an alarm already on at start-up reaches it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
import logging

from homeassistant.core import CALLBACK_TYPE, Context, callback

_LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True, kw_only=True)
class BranchEvent:
    """Something that happened at a branch building."""

    branch_id: str
    branch: str  # the branch's name, for words


@dataclass(frozen=True, slots=True, kw_only=True)
class AlarmRaised(BranchEvent):
    """An alarm latched: panic, door forced or held open, fire-panel fault, controller lost."""

    kind: str
    subject: str = ""  # the door, button or module


@dataclass(frozen=True, slots=True, kw_only=True)
class AlarmsAcknowledged(BranchEvent):
    """A person acknowledged the branch's latched alarms (in the building's one state)."""

    by: str
    kinds: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class EvacuationBegun(BranchEvent):
    """The fire alarm: the branch is being evacuated."""

    alarm_at: datetime
    inside_at_alarm: int | None


@dataclass(frozen=True, slots=True, kw_only=True)
class EvacuationResetNeeded(BranchEvent):
    """The fire panel reset; the branch stays evacuated until a person resets it."""


@dataclass(frozen=True, slots=True, kw_only=True)
class EvacuationEnded(BranchEvent):
    """A person reset the branch after the evacuation."""

    by: str


@dataclass(frozen=True, slots=True, kw_only=True)
class TailgatingDetected(BranchEvent):
    """More people came in on a card release than it admitted."""

    door: str
    admitted: int
    came_in: int


@dataclass(frozen=True, slots=True, kw_only=True)
class HelpPressed(BranchEvent):
    """A member pressed a help button."""

    point: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ReaderThrottled(BranchEvent):
    """A door reader was paused after too many refusals."""

    reader: str
    doors: tuple[str, ...]
    refusals: int
    minutes: int


type BuildingListener = Callable[[BranchEvent, Context | None], None]


class BuildingEvents:
    """One library service's hub: its coordinators and readers publish, its tools listen."""

    def __init__(self) -> None:
        """Start with nobody listening."""
        self._listeners: list[BuildingListener] = []

    @callback
    def subscribe(self, listener: BuildingListener) -> CALLBACK_TYPE:
        """Listen to every event of the service's branches; return the unsubscribe."""
        self._listeners.append(listener)

        @callback
        def unsubscribe() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return unsubscribe

    @callback
    def publish(self, event: BranchEvent, context: Context | None = None) -> None:
        """Hand an event to every listener; one that fails never stops the others or a poll."""
        for listener in list(self._listeners):
            try:
                listener(event, context)
            except Exception:
                _LOGGER.exception("A listener failed on %s", type(event).__name__)
