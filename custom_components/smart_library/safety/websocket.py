"""Incidents in full, for staff and administrators only: one websocket command.

Incident texts are personal data (names, what happened, police references, a member's masked
card, who recorded them). Read-only users see counts only: the *Incidents to review* to-do list
shows each incident by category, place, time and id, and its text is read here, by a user who may
control entities (DESIGN.md: staff read incidents). Home Assistant's own `todo/item/list` checks
no permission at all, which is why the text is not in the to-do items.
"""

from __future__ import annotations

from typing import Any

from homeassistant.components import websocket_api
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError, Unauthorized
from homeassistant.util import dt as dt_util
import probatio

from ..engine.safety.incidents import Incident, Status
from ..helpers.permissions import async_actor
from .runtime import SafetyRuntime

COMMAND = "smart_library/incidents"


@callback
def async_register(hass: HomeAssistant, runtimes: Any) -> None:
    """Register the command; `runtimes(hass)` returns the loaded services' safety tools."""

    @websocket_api.websocket_command(
        {
            probatio.Required("type"): COMMAND,
            probatio.Optional("branch_id"): str,
            probatio.Optional("open_only", default=False): bool,
        }
    )
    @websocket_api.async_response
    async def incidents(
        hass: HomeAssistant,
        connection: websocket_api.ActiveConnection,
        msg: dict[str, Any],
    ) -> None:
        try:
            await async_actor(hass, connection.context(msg), require_user=True)
        except Unauthorized:
            connection.send_error(
                msg["id"],
                websocket_api.ERR_UNAUTHORIZED,
                "Incidents are for staff and administrators",
            )
            return
        found: list[dict[str, Any]] = []
        runtime: SafetyRuntime
        for runtime in runtimes(hass):
            try:
                listed = await runtime.log.async_incidents(
                    branch=msg.get("branch_id"),
                    status=Status.OPEN if msg["open_only"] else None,
                )
            except HomeAssistantError as err:
                connection.send_error(msg["id"], "incident_store_unavailable", str(err))
                return
            found += [_for_staff(i) for i in listed]
        connection.send_result(msg["id"], {"incidents": found})

    websocket_api.async_register_command(hass, incidents)


def _for_staff(incident: Incident) -> dict[str, Any]:
    """Return an incident as staff read it (a member only by masked card, as it is stored)."""
    zone = dt_util.get_default_time_zone()
    return {
        "id": incident.id,
        "branch_id": incident.branch,
        "branch": incident.branch_name,
        "category": incident.category.value,
        "title": incident.title,
        "status": incident.status.value,
        "occurred_at": incident.occurred_at.isoformat(),
        "location": incident.location,
        "description": incident.description,
        "actions_taken": incident.actions_taken,
        "police_reference": incident.police_reference,
        "member_card": incident.member.card if incident.member else None,
        "recorded_by": incident.recorded_by,
        "completed_at": incident.completed_at.isoformat()
        if incident.completed_at
        else None,
        "completed_by": incident.completed_by,
        "timeline": incident.timeline(zone),
    }
