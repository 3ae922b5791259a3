"""What every part of a library service's safety tools shares: settings, names, the base.

Low in the safety package: the parts (incidents, alerts, PA, lockdown, bans) import this and
nothing above it; the composition root (`runtime.py`) builds them around one `SafetyBase`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from homeassistant.config_entries import ConfigEntry, ConfigSubentry
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.dispatcher import async_dispatcher_send

from ..branch import Branch
from ..const import CONF_LANGUAGES, DOMAIN
from ..engine.safety.alerts import DEFAULT_ESCALATION_MINUTES
from ..engine.safety.incidents import DEFAULT_RETENTION_DAYS
from ..helpers.permissions import NO_USER

__all__ = ["CONF_LANGUAGES", "NO_USER"]

# -- settings -------------------------------------------------------------------------------------

# The library service's options.
CONF_ON_CALL = "on_call_phones"  # mobile-app device ids, alerted at once
CONF_ESCALATION_PHONES = "escalation_phones"  # alerted when nobody acknowledges in time
CONF_ESCALATION_MINUTES = "escalation_minutes"
CONF_RETENTION_DAYS = "incident_retention_days"
# The options taken at once, without a reload (nothing pending is forgotten).
SAFETY_OPTIONS = frozenset(
    {
        CONF_ON_CALL,
        CONF_ESCALATION_PHONES,
        CONF_ESCALATION_MINUTES,
        CONF_RETENTION_DAYS,
        CONF_LANGUAGES,
    }
)
# A branch's sub-entry data.
CONF_CAMERAS = "cameras"  # camera entity ids: a snapshot of each is kept with an alarm
CONF_SPEAKERS = "speakers"  # media players that take text-to-speech
CONF_TTS_ENGINE = "tts_engine"  # the tts entity that speaks for the branch

# Events of the building this listens to (fired by the coordinator and the reader keys).
EVENT_ALARM = f"{DOMAIN}_alarm"
EVENT_ALARMS_ACKNOWLEDGED = f"{DOMAIN}_alarms_acknowledged"
EVENT_EVACUATION = f"{DOMAIN}_evacuation"
EVENT_TAILGATING = f"{DOMAIN}_tailgating"
EVENT_READER_THROTTLED = f"{DOMAIN}_reader_throttled"
# Events this fires.
EVENT_HELP = f"{DOMAIN}_help"  # a member's help button: branch, branch_id, point
EVENT_LOCKDOWN = f"{DOMAIN}_lockdown"  # branch, branch_id, active, by
EVENT_INCIDENT = f"{DOMAIN}_incident"  # branch, branch_id, incident, category, status

SYSTEM = "Smart Library"  # who recorded what the building reported by itself
DAILY_AT = {"hour": 3, "minute": 10, "second": 0}


def signal_incidents(entry_id: str) -> str:
    """Return the dispatcher signal telling a service's incident views that incidents changed."""
    return f"{DOMAIN}_{entry_id}_incidents"


def signal_lockdown(entry_id: str) -> str:
    """Return the dispatcher signal telling a service's entities a lockdown started or ended."""
    return f"{DOMAIN}_{entry_id}_lockdown"


def incidents_path(hass: HomeAssistant, entry_id: str) -> Path:
    """Return where a library service's incident store lives (beside its member store)."""
    return Path(hass.config.path(DOMAIN, f"{entry_id}.incidents.db"))


def snapshots_folder(hass: HomeAssistant, entry_id: str) -> Path:
    """Return the folder of a library service's incident snapshots."""
    return Path(hass.config.path(DOMAIN, "incidents", entry_id))


@dataclass(frozen=True, slots=True)
class SafetySettings:
    """A library service's safety settings (its entry's options)."""

    on_call: tuple[str, ...] = ()
    escalation: tuple[str, ...] = ()
    escalation_minutes: int = DEFAULT_ESCALATION_MINUTES
    retention_days: int = DEFAULT_RETENTION_DAYS
    languages: tuple[str, ...] = ("en",)

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> SafetySettings:
        """Read the settings from the entry's options (defaults where none are set)."""
        return cls(
            on_call=tuple(options.get(CONF_ON_CALL) or ()),
            escalation=tuple(options.get(CONF_ESCALATION_PHONES) or ()),
            escalation_minutes=int(
                options.get(CONF_ESCALATION_MINUTES, DEFAULT_ESCALATION_MINUTES)
            ),
            retention_days=int(
                options.get(CONF_RETENTION_DAYS, DEFAULT_RETENTION_DAYS)
            ),
            languages=tuple(options.get(CONF_LANGUAGES) or ("en",)),
        )


@dataclass(frozen=True, slots=True)
class BranchSafety:
    """A branch's safety settings (its sub-entry's data)."""

    cameras: tuple[str, ...] = ()
    speakers: tuple[str, ...] = ()
    tts_engine: str | None = None

    @classmethod
    def from_subentry(cls, subentry: ConfigSubentry) -> BranchSafety:
        """Read a branch's settings from its sub-entry."""
        data = subentry.data
        return cls(
            cameras=tuple(data.get(CONF_CAMERAS) or ()),
            speakers=tuple(data.get(CONF_SPEAKERS) or ()),
            tts_engine=data.get(CONF_TTS_ENGINE) or None,
        )


class SafetyBase:
    """The library service the safety parts work for: its entry, settings and branches."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry,
        branches: Mapping[str, Branch],
    ) -> None:
        """Take the service's entry and its branches (built before any branch polls)."""
        self.hass = hass
        self.entry = entry
        self.settings = SafetySettings.from_options(entry.options)
        self._branches = branches
        # What the service was set up from (options, branches): the entry's update listener
        # takes a change of safety options alone without a reload.
        self.applied: tuple[dict[str, Any], dict[str, Any]] = ({}, {})

    @property
    def branches(self) -> Mapping[str, Branch]:
        """Return the service's branches by id."""
        return self._branches

    def branch(self, branch_id: str) -> Branch | None:
        """Return a branch by id (None: not one of this service's)."""
        return self._branches.get(branch_id)

    def branch_settings(self, branch: Branch) -> BranchSafety:
        """Return a branch's cameras, speakers and text-to-speech engine."""
        return BranchSafety.from_subentry(branch.subentry)

    def device_id(self, branch: Branch) -> str | None:
        """Return the device id of a branch (what the actions' `branch` field takes)."""
        device = dr.async_get(self.hass).async_get_device_by_identifier(
            (DOMAIN, branch.id), self.entry.entry_id
        )
        return device.id if device else None

    def changed(self) -> None:
        """Tell the incident views (to-do lists, counts) that incidents changed."""
        async_dispatcher_send(self.hass, signal_incidents(self.entry.entry_id))
