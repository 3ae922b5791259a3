"""Staff alerts that reach a lone worker: what a phone is sent, what it may answer.

Seed 003: trigger buttons and codewords that reach help discreetly, lone-working protocols, instant
communication during a live incident. An alert goes to the service's on-call phones (the Home
Assistant companion app); fire and panic as *critical* alerts, which sound through silent mode and
do-not-disturb (iOS: a critical sound; Android: the alarm stream, delivered at once), everything
else as a normal notification. Every alert can be answered from the notification itself:

- **Acknowledge**: someone has it; the latched alarm is acknowledged and escalation stops;
- **Lock down**: lock the branch down (see engine.lockdown);
- **I'm on my way**: recorded on the incident and told to the other phones.

Nobody answering within N minutes sends it on to the escalation phones. The action ids carry a
random alert id, so an answer names the one alert it answers.

Pure Python, no Home Assistant: the glue sends the payloads and feeds the answers back.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
import secrets
from typing import Any

ACTION_PREFIX = "SMART_LIBRARY_"
DEFAULT_ESCALATION_MINUTES = 5
MIN_ESCALATION_MINUTES = 1
MAX_ESCALATION_MINUTES = 60


class Answer(StrEnum):
    """What a phone may answer an alert with (the middle part of an action id)."""

    ACKNOWLEDGE = "ACK"
    LOCKDOWN = "LOCKDOWN"
    ON_MY_WAY = "ONMYWAY"


# The buttons' titles in English; the glue passes them in Home Assistant's language.
ANSWER_TITLES: Mapping[Answer, str] = {
    Answer.ACKNOWLEDGE: "Acknowledge",
    Answer.LOCKDOWN: "Lock down",
    Answer.ON_MY_WAY: "I'm on my way",
}


@dataclass(frozen=True, slots=True)
class Alert:
    """One alert sent to staff about one incident."""

    id: str
    branch: str  # the branch's id
    branch_name: str
    incident: str
    title: str
    message: str
    critical: bool
    sent_at: datetime
    alarm_kind: str | None = (
        None  # the building's alarm it is about (to acknowledge it)
    )
    answers: tuple[Answer, ...] = (
        Answer.ACKNOWLEDGE,
        Answer.LOCKDOWN,
        Answer.ON_MY_WAY,
    )
    acknowledged_at: datetime | None = None
    acknowledged_by: str = ""
    escalated_at: datetime | None = None
    on_the_way: tuple[str, ...] = field(default=())

    @property
    def acknowledged(self) -> bool:
        """Return True once somebody acknowledged it."""
        return self.acknowledged_at is not None

    def to_dict(self) -> dict[str, Any]:
        """Return the stored form (an alert waiting to escalate survives a restart)."""
        return {
            "id": self.id,
            "branch": self.branch,
            "branch_name": self.branch_name,
            "incident": self.incident,
            "title": self.title,
            "message": self.message,
            "critical": self.critical,
            "sent_at": self.sent_at.isoformat(),
            "alarm_kind": self.alarm_kind,
            "answers": [a.value for a in self.answers],
            "acknowledged_at": _iso(self.acknowledged_at),
            "acknowledged_by": self.acknowledged_by,
            "escalated_at": _iso(self.escalated_at),
            "on_the_way": list(self.on_the_way),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Alert:
        """Return an alert from its stored form (ValueError/KeyError/TypeError if damaged)."""
        return cls(
            id=str(data["id"]),
            branch=str(data["branch"]),
            branch_name=str(data["branch_name"]),
            incident=str(data["incident"]),
            title=str(data["title"]),
            message=str(data["message"]),
            critical=bool(data["critical"]),
            sent_at=datetime.fromisoformat(data["sent_at"]),
            alarm_kind=data.get("alarm_kind"),
            answers=tuple(Answer(a) for a in data.get("answers", ())),
            acknowledged_at=_from_iso(data.get("acknowledged_at")),
            acknowledged_by=str(data.get("acknowledged_by") or ""),
            escalated_at=_from_iso(data.get("escalated_at")),
            on_the_way=tuple(str(w) for w in data.get("on_the_way", ())),
        )

    @property
    def tag(self) -> str:
        """Return the notification tag: a later message with it replaces this one on a phone."""
        return f"smart_library_{self.id}"


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at else None


def _from_iso(text: object) -> datetime | None:
    return datetime.fromisoformat(text) if isinstance(text, str) and text else None


def escalation_deadline(alert: Alert, minutes: int) -> datetime:
    """Return when an unanswered alert escalates."""
    return alert.sent_at + timedelta(minutes=minutes)


def new_alert_id() -> str:
    """Return a new alert id: random, so an answer cannot be guessed for another alert."""
    return secrets.token_hex(8)


def action_id(answer: Answer, alert_id: str) -> str:
    """Return the notification action id of an answer to an alert."""
    return f"{ACTION_PREFIX}{answer.value}_{alert_id}"


def parse_action(action: object) -> tuple[Answer, str] | None:
    """Return (answer, alert id) from a notification action id, or None if it is not ours."""
    if not isinstance(action, str) or not action.startswith(ACTION_PREFIX):
        return None
    kind, _, alert_id = action.removeprefix(ACTION_PREFIX).rpartition("_")
    try:
        answer = Answer(kind)
    except ValueError:
        return None
    if not alert_id or not alert_id.isalnum():
        return None
    return answer, alert_id


def payload(
    alert: Alert, *, note: str = "", titles: Mapping[Answer, str] | None = None
) -> dict[str, Any]:
    """Return the notify action's data for a companion-app phone (iOS and Android alike).

    `titles` are the buttons' titles (English when not given); their action ids never change.

    Each platform ignores the other's keys. A critical alert sounds through silent mode: iOS
    `push.sound.critical`, Android `channel: alarm_stream` with `priority: high` and `ttl: 0`.
    """
    data: dict[str, Any] = {
        "tag": alert.tag,
        "group": f"smart_library_{alert.branch}",
        "actions": [
            {
                "action": action_id(answer, alert.id),
                "title": (titles or ANSWER_TITLES).get(answer, ANSWER_TITLES[answer]),
            }
            for answer in alert.answers
        ],
    }
    if alert.critical:
        data["push"] = {"sound": {"name": "default", "critical": 1, "volume": 1.0}}
        data |= {"ttl": 0, "priority": "high", "channel": "alarm_stream"}
    else:
        data["push"] = {"interruption-level": "time-sensitive"}
        data |= {"ttl": 0, "priority": "high"}
    message = f"{alert.message}\n{note}" if note else alert.message
    return {"title": alert.title, "message": message, "data": data}


def follow_up(alert: Alert, message: str) -> dict[str, Any]:
    """Return a plain notification about an alert (replacing it on a phone: same tag)."""
    return {
        "title": alert.title,
        "message": message,
        "data": {"tag": alert.tag, "group": f"smart_library_{alert.branch}"},
    }


def acknowledged(alert: Alert, by: str, at: datetime) -> Alert:
    """Return the alert acknowledged (the first acknowledgement counts)."""
    if alert.acknowledged:
        return alert
    return replace(alert, acknowledged_at=at, acknowledged_by=by)


def on_the_way(alert: Alert, who: str) -> Alert:
    """Return the alert with somebody on their way."""
    if who in alert.on_the_way:
        return alert
    return replace(alert, on_the_way=(*alert.on_the_way, who))


def escalation_due(alert: Alert, now: datetime, minutes: int) -> bool:
    """Return True when nobody acknowledged within `minutes` and it was not escalated yet."""
    return (
        not alert.acknowledged
        and alert.escalated_at is None
        and now - alert.sent_at >= timedelta(minutes=minutes)
    )


def check_escalation_minutes(minutes: int) -> int:
    """Return the escalation delay, or raise ValueError outside 1..60 minutes."""
    if not MIN_ESCALATION_MINUTES <= minutes <= MAX_ESCALATION_MINUTES:
        raise ValueError(minutes)
    return minutes
