"""What the administrator's panel reads: one websocket command per section, administrators only.

The panel's words come from `texts/panel/<language>.json` in the language of the user's profile
(`smart_library/panel/texts`); what an answer holds in words for people (the usage CSV's county
line, a refused period) is in the language the panel sends with the command.

Each command is read-only and admin-only (`websocket_api.require_admin`): a read-only user or a
non-admin member of staff is refused before anything is read. No answer holds a full card
number or a PIN (incidents name a member by masked card only; members and staff cards are
listed by the `list_members` and `list_staff_cards` actions, masked). Changes are never made
here: the panel calls the integration's admin actions through `call_service`.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any, Final

from homeassistant.components import websocket_api
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import config_validation as cv, device_registry as dr
from homeassistant.util import dt as dt_util
import probatio

from ..access.library_system import is_sip2
from ..branch import Branch
from ..building.cover import cover_tracker
from ..const import CONF_STAFFED_FREE_ENTRY, DOMAIN
from ..engine.building.schedule import WEEKDAYS, format_time
from ..engine.safety.alerts import MAX_ESCALATION_MINUTES, MIN_ESCALATION_MINUTES
from ..engine.safety.incidents import Incident, Status
from ..helpers.texts import Catalogue, TextSet
from ..runtime import SmartLibraryConfigEntry, loaded_entries
from ..safety.alerts import MOBILE_APP, notify_target
from ..services.members import STAFF_ROLES
from .usage import MAX_PERIOD_DAYS, async_usage_period

WS_OVERVIEW: Final = f"{DOMAIN}/panel/overview"
WS_PHONES: Final = f"{DOMAIN}/panel/phones"
WS_HOURS: Final = f"{DOMAIN}/panel/hours"
WS_INCIDENTS: Final = f"{DOMAIN}/panel/incidents"
WS_USAGE: Final = f"{DOMAIN}/panel/usage"
WS_TEXTS: Final = f"{DOMAIN}/panel/texts"
MAX_INCIDENTS: Final = 500
# The panel's words in every language the integration ships (read once, at import).
TEXTS: Final = TextSet("panel")
# Texts only the server writes (the panel is not sent them).
SERVER_TEXTS: Final = "server."
# A language as a profile or a browser names one ("cy", "nb-NO", "zh-Hant-TW"): any text, none
# longer than a language tag gets; one the integration does not ship reads English.
LANGUAGE: Final = probatio.All(str, probatio.Length(max=35))


@callback
def async_register_commands(hass: HomeAssistant) -> None:
    """Register the panel's commands (once, from the panel's set-up)."""
    for command in (ws_texts, ws_overview, ws_phones, ws_hours, ws_incidents, ws_usage):
        websocket_api.async_register_command(hass, command)


def _entries(
    hass: HomeAssistant, entry_id: str | None
) -> list[SmartLibraryConfigEntry]:
    """Return the loaded library services, or the one asked for (none if it is not loaded)."""
    return [e for e in loaded_entries(hass) if entry_id in (None, e.entry_id)]


def _device_id(hass: HomeAssistant, branch: Branch) -> str | None:
    device = dr.async_get(hass).async_get_device(identifiers={(DOMAIN, branch.id)})
    return device.id if device else None


def _iso(value: datetime | date | None) -> str | None:
    return value.isoformat() if value is not None else None


# -- the panel's words -----------------------------------------------------------------------------


def panel_texts(catalogue: Catalogue) -> dict[str, str]:
    """Return every text the panel shows, flat by key, in the catalogue's language over English."""
    words = {
        key: text
        for key, text in catalogue.english.items()
        if not key.startswith(SERVER_TEXTS)
    }
    words.update(
        (key, text) for key, text in catalogue.texts.items() if text and key in words
    )
    return words


@websocket_api.require_admin
@websocket_api.websocket_command(
    {probatio.Required("type"): WS_TEXTS, probatio.Required("language"): LANGUAGE}
)
@callback
def ws_texts(
    hass: HomeAssistant, connection: websocket_api.ActiveConnection, msg: dict[str, Any]
) -> None:
    """Answer the panel's words in the user's language (English for one not shipped)."""
    catalogue = TEXTS(msg["language"])
    connection.send_result(
        msg["id"], {"language": catalogue.language, "texts": panel_texts(catalogue)}
    )


# -- services and branches -------------------------------------------------------------------------


@websocket_api.require_admin
@websocket_api.websocket_command({probatio.Required("type"): WS_OVERVIEW})
@callback
def ws_overview(
    hass: HomeAssistant, connection: websocket_api.ActiveConnection, msg: dict[str, Any]
) -> None:
    """Answer the library services, their branches and doors (what the panel's pickers offer)."""
    services = []
    for entry in loaded_entries(hass):
        branches = [
            {
                "id": branch.id,
                "title": branch.title,
                "device_id": _device_id(hass, branch),
                "mode": branch.hours.mode.value,
                "doors": [
                    {"id": d.id, "kind": d.kind.value}
                    for d in branch.coordinator.point_map.doors
                ],
            }
            for branch in entry.runtime_data.branches.values()
        ]
        services.append(
            {
                "entry_id": entry.entry_id,
                "title": entry.title,
                "backend": "sip2" if is_sip2(entry) else "local",
                "branches": sorted(branches, key=lambda b: str(b["title"])),
            }
        )
    connection.send_result(
        msg["id"],
        {
            "services": sorted(services, key=lambda s: str(s["title"])),
            "roles": STAFF_ROLES,
            "recorder": "recorder" in hass.config.components,
        },
    )


# -- on-call phones --------------------------------------------------------------------------------


@websocket_api.require_admin
@websocket_api.websocket_command({probatio.Required("type"): WS_PHONES})
@callback
def ws_phones(
    hass: HomeAssistant, connection: websocket_api.ActiveConnection, msg: dict[str, Any]
) -> None:
    """Answer the companion-app phones there are and each service's on-call settings."""
    registry = dr.async_get(hass)
    phones = [
        {"device_id": device.id, "name": target[1]}
        for app in hass.config_entries.async_entries(MOBILE_APP)
        for device in dr.async_entries_for_config_entry(registry, app.entry_id)
        if (target := notify_target(hass, device.id)) is not None
    ]
    services = []
    for entry in loaded_entries(hass):
        settings = entry.runtime_data.safety.settings
        services.append(
            {
                "entry_id": entry.entry_id,
                "title": entry.title,
                "on_call": list(settings.on_call),
                "escalation": list(settings.escalation),
                "escalation_minutes": settings.escalation_minutes,
            }
        )
    connection.send_result(
        msg["id"],
        {
            "phones": sorted(
                phones, key=lambda p: (str(p["name"]), str(p["device_id"]))
            ),
            "services": sorted(services, key=lambda s: str(s["title"])),
            "escalation_range": [MIN_ESCALATION_MINUTES, MAX_ESCALATION_MINUTES],
        },
    )


# -- opening hours ---------------------------------------------------------------------------------


def _hours(
    hass: HomeAssistant, entry: SmartLibraryConfigEntry, branch: Branch
) -> dict[str, Any]:
    """Return a branch's plan, its exceptions and events to come, and where it stands now."""
    hours = branch.hours
    schedule = hours.schedule
    today = dt_util.now().date()
    now = dt_util.utcnow()
    next_change = hours.next_change
    return {
        "entry_id": entry.entry_id,
        "service": entry.title,
        "id": branch.id,
        "title": branch.title,
        "device_id": _device_id(hass, branch),
        "doors": [d.id for d in branch.coordinator.point_map.doors],
        "week": {
            day: [p.as_dict() for p in schedule.week[n]]
            for n, day in enumerate(WEEKDAYS)
        },
        "latest_smart_end": format_time(schedule.latest_smart_end),
        "clearance_minutes": schedule.clearance_minutes,
        # The doors held open in staffed hours now (the building's rules default to the entrance).
        "staffed_free_entry": list(
            branch.subentry.data.get(CONF_STAFFED_FREE_ENTRY, ["entrance"])
        ),
        "exceptions": [
            {
                "date": e.day.isoformat(),
                "label": e.label,
                "periods": [p.as_dict() for p in e.periods],
            }
            for e in sorted(schedule.exceptions, key=lambda e: e.day)
            if e.day >= today
        ],
        "events": [
            {
                "id": e.id,
                "title": e.title,
                "start": e.start.isoformat(),
                "end": e.end.isoformat(),
            }
            for e in sorted(schedule.events, key=lambda e: e.start)
            if e.end > now
        ],
        # Staffed cover nearby: the neighbours named, those that may be, the smart periods of the
        # weeks ahead with none of them staffed.
        "cover": cover_tracker(hass).branch_status(branch.id),
        "mode": hours.mode.value,
        "override": hours.override,
        "closes_at": _iso(hours.closes_at),
        "next_change": (
            {"at": next_change[0].isoformat(), "mode": next_change[1].value}
            if next_change
            else None
        ),
    }


@websocket_api.require_admin
@websocket_api.websocket_command(
    {
        probatio.Required("type"): WS_HOURS,
        probatio.Optional("config_entry_id"): str,
    }
)
@callback
def ws_hours(
    hass: HomeAssistant, connection: websocket_api.ActiveConnection, msg: dict[str, Any]
) -> None:
    """Answer each branch's weekly plan, holidays and changed days, events, mode now."""
    branches = [
        _hours(hass, entry, branch)
        for entry in _entries(hass, msg.get("config_entry_id"))
        for branch in entry.runtime_data.branches.values()
    ]
    connection.send_result(
        msg["id"],
        {"branches": sorted(branches, key=lambda b: (b["service"], b["title"]))},
    )


# -- incidents -------------------------------------------------------------------------------------


def _incident(incident: Incident) -> dict[str, Any]:
    """Return what the panel shows of an incident: the member by masked card only."""
    zone = dt_util.get_default_time_zone()
    return {
        "id": incident.id,
        "branch": incident.branch_name,
        "category": incident.category.value,
        "title": incident.title,
        "summary": incident.summary(zone),
        "occurred_at": incident.occurred_at.isoformat(),
        "recorded_at": incident.recorded_at.isoformat(),
        "recorded_by": incident.recorded_by,
        "source": incident.source.value,
        "location": incident.location,
        "description": incident.description,
        "actions_taken": incident.actions_taken,
        "police_reference": incident.police_reference,
        "member_card": incident.member.card if incident.member else None,
        "status": incident.status.value,
        "completed_at": _iso(incident.completed_at),
        "completed_by": incident.completed_by,
        "timeline": incident.timeline(zone),
        "snapshots": len(incident.files),
    }


@websocket_api.require_admin
@websocket_api.websocket_command(
    {
        probatio.Required("type"): WS_INCIDENTS,
        probatio.Optional("config_entry_id"): str,
        probatio.Optional("status"): probatio.In([s.value for s in Status]),
        probatio.Optional("limit", default=100): probatio.All(
            int, probatio.Range(min=1, max=MAX_INCIDENTS)
        ),
    }
)
@websocket_api.async_response
async def ws_incidents(
    hass: HomeAssistant, connection: websocket_api.ActiveConnection, msg: dict[str, Any]
) -> None:
    """Answer the incidents of every service (or one), newest first."""
    status = Status(msg["status"]) if "status" in msg else None
    found: list[Incident] = []
    for entry in _entries(hass, msg.get("config_entry_id")):
        found += await entry.runtime_data.safety.log.async_incidents(status=status)
    found.sort(key=lambda i: (i.occurred_at, i.id), reverse=True)
    connection.send_result(
        msg["id"],
        {
            "incidents": [_incident(i) for i in found[: msg["limit"]]],
            "total": len(found),
        },
    )


# -- usage -----------------------------------------------------------------------------------------


@websocket_api.require_admin
@websocket_api.websocket_command(
    {
        probatio.Required("type"): WS_USAGE,
        probatio.Required("start"): cv.date,
        probatio.Required("end"): cv.date,
        probatio.Optional("language"): LANGUAGE,
    }
)
@websocket_api.async_response
async def ws_usage(
    hass: HomeAssistant, connection: websocket_api.ActiveConnection, msg: dict[str, Any]
) -> None:
    """Answer each branch's use over a period (first to last day), the county's, and a CSV."""
    start: date = msg["start"]
    end: date = msg["end"]
    words = TEXTS(msg.get("language"))
    if end < start or end - start > timedelta(days=MAX_PERIOD_DAYS - 1):
        connection.send_error(
            msg["id"],
            websocket_api.ERR_INVALID_FORMAT,
            words("server.usage_period", days=MAX_PERIOD_DAYS),
        )
        return
    if "recorder" not in hass.config.components:
        connection.send_result(msg["id"], {"recorder": False})
        return
    branches = {
        branch.id: (entry.title, branch.title)
        for entry in loaded_entries(hass)
        for branch in entry.runtime_data.branches.values()
    }
    connection.send_result(
        msg["id"],
        {"recorder": True}
        | await async_usage_period(
            hass, branches, start, end, county=words("server.csv_county")
        ),
    )
