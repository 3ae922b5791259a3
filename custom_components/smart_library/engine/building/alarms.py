"""Alarms that latch until a person acknowledges them, and the evacuation state of a branch.

Plain code, no Home Assistant. An alarm input that is on for three seconds (a door forced and
shut again) must not vanish before anybody saw it: its alarm *latches* on the rising edge and
stays on until acknowledged, even after the input returns to normal. Acknowledging an alarm whose
input is still on silences it (it is no longer counted as unacknowledged) and it goes off when the
input does; a new rising edge after that latches again.

The evacuation state: a fire alarm puts the branch in `evacuation`; when the panel is reset the
branch stays in `evacuation_reset_needed` until a person resets it. Both are stored (`to_dict`),
so a restart cannot quietly return a building to normal.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from ..errors import CodedError


class AlarmKind(StrEnum):
    """What raised an alarm (also its translation key and the `kind` of its event)."""

    DOOR_FORCED = "door_forced"
    DOOR_HELD_OPEN = "door_held_open"
    PANIC = "panic"
    FIRE_FAULT = "fire_fault"
    CONTROLLER_LOST = "controller_lost"


def alarm_key(kind: AlarmKind, subject: str) -> str:
    """Return the stable key of one alarm input: its kind and what it is about."""
    return f"{kind.value}:{subject}"


@dataclass(slots=True)
class Alarm:
    """One latched alarm.

    `subject` says what it is about: a door id, a panic button id, a module name ("" for the
    fire panel). `live` is its input now (None: unknown, its module did not answer).
    """

    kind: AlarmKind
    subject: str
    since: datetime  # when it latched (aware)
    live: bool | None = True
    acknowledged: bool = False
    acknowledged_at: datetime | None = None

    @property
    def key(self) -> str:
        """Return the alarm's key."""
        return alarm_key(self.kind, self.subject)

    @property
    def on(self) -> bool:
        """Return True while the input is on or nobody has acknowledged the alarm yet."""
        return self.live is True or not self.acknowledged

    def to_dict(self) -> dict[str, Any]:
        """Return the stored form (the live input is not stored: it is read again)."""
        return {
            "kind": self.kind.value,
            "subject": self.subject,
            "since": self.since.isoformat(),
            "acknowledged": self.acknowledged,
            "acknowledged_at": self.acknowledged_at.isoformat()
            if self.acknowledged_at
            else None,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Alarm:
        """Return an alarm from its stored form; its input is unknown until read."""
        at = data.get("acknowledged_at")
        return cls(
            kind=AlarmKind(data["kind"]),
            subject=str(data.get("subject", "")),
            since=datetime.fromisoformat(data["since"]),
            live=None,
            acknowledged=bool(data.get("acknowledged", False)),
            acknowledged_at=datetime.fromisoformat(at) if at else None,
        )


type AlarmInput = tuple[AlarmKind, str]


class AlarmLatch:
    """The latched alarms of one branch, fed the alarm inputs of each poll."""

    def __init__(self, alarms: Iterable[Alarm] = ()) -> None:
        """Start with the given (restored) alarms."""
        self.alarms: dict[str, Alarm] = {a.key: a for a in alarms}

    def get(self, kind: AlarmKind, subject: str) -> Alarm | None:
        """Return the latched alarm of one input, if any."""
        return self.alarms.get(alarm_key(kind, subject))

    def update(
        self, readings: Mapping[AlarmInput, bool | None], at: datetime
    ) -> list[Alarm]:
        """Take one poll's alarm inputs (None: unknown); return the alarms that latched now."""
        latched = []
        for (kind, subject), live in readings.items():
            key = alarm_key(kind, subject)
            alarm = self.alarms.get(key)
            if live is True:
                if alarm is None or (alarm.acknowledged and alarm.live is False):
                    # A new rising edge (the first, or one after an acknowledged alarm ended).
                    alarm = Alarm(kind, subject, at)
                    self.alarms[key] = alarm
                    latched.append(alarm)
                else:
                    alarm.live = True
            elif alarm is not None:
                alarm.live = live
                if live is False and alarm.acknowledged:
                    del self.alarms[key]  # seen by a person and over
        return latched

    @property
    def unacknowledged(self) -> list[Alarm]:
        """Return the alarms nobody has acknowledged yet, oldest first."""
        return sorted(
            (a for a in self.alarms.values() if not a.acknowledged),
            key=lambda a: (a.since, a.key),
        )

    def acknowledge(self, at: datetime) -> list[Alarm]:
        """Acknowledge every alarm; return those that were unacknowledged.

        An alarm whose input is off goes now; one still on stays on until its input goes off.
        """
        done = self.unacknowledged
        for alarm in done:
            alarm.acknowledged = True
            alarm.acknowledged_at = at
            if alarm.live is False:
                del self.alarms[alarm.key]
        return done

    def to_list(self) -> list[dict[str, Any]]:
        """Return the stored form of every alarm."""
        return [a.to_dict() for a in sorted(self.alarms.values(), key=lambda a: a.key)]


class EvacuationState(StrEnum):
    """The evacuation states of a branch (each also a state of its mode sensor)."""

    EVACUATION = "evacuation"  # the fire panel reports an alarm
    RESET_NEEDED = (
        "evacuation_reset_needed"  # the panel is reset; a person must reset the branch
    )


@dataclass(slots=True)
class Evacuation:
    """A branch's evacuation: since when, how many were counted inside when it began."""

    state: EvacuationState
    alarm_at: datetime  # when the fire alarm began (aware)
    inside_at_alarm: (
        int | None
    )  # the people count then (None: the branch counts nobody)
    cleared_at: datetime | None = None  # when the panel was reset

    def to_dict(self) -> dict[str, Any]:
        """Return the stored form."""
        return {
            "state": self.state.value,
            "alarm_at": self.alarm_at.isoformat(),
            "inside_at_alarm": self.inside_at_alarm,
            "cleared_at": self.cleared_at.isoformat() if self.cleared_at else None,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Evacuation:
        """Return an evacuation from its stored form."""
        cleared = data.get("cleared_at")
        inside = data.get("inside_at_alarm")
        return cls(
            state=EvacuationState(data["state"]),
            alarm_at=datetime.fromisoformat(data["alarm_at"]),
            inside_at_alarm=None if inside is None else int(inside),
            cleared_at=datetime.fromisoformat(cleared) if cleared else None,
        )


class SafetyError(CodedError):
    """A safety action that cannot be done now."""
