"""Safety actions of people: reset after an evacuation, acknowledge alarms, building empty.

Who may do what (DESIGN.md, "Who may do what"):

- **Reset after an evacuation: admins.** It re-opens the building to card entry (the opening
  hours apply again), which is "changing who may enter or when" — and the design's trust model
  names "resets after an alarm" among the admins' acts. A duty manager who is not an
  administrator can still lock doors by hand and acknowledge the alarms meanwhile; the branch
  stays closed to cards until an administrator says it is safe. (Automations run with no user
  and may call it: an administrator wrote them.)
- **Acknowledge alarms, building empty: staff** (any user who may control the branch's
  entities). They change nothing about who may enter: they say a person has seen the alarms, or
  has walked the building and found it empty. Read-only users are refused, as Home Assistant
  refuses them any entity control.

Each act is recorded with who and when: an event (its context carries the user, so the logbook
names them too) and a log line.
"""

from __future__ import annotations

from homeassistant.const import Platform
from homeassistant.core import HomeAssistant, ServiceCall, ServiceResponse
from homeassistant.helpers import entity_registry as er

from ..branch import Branch
from ..const import DOMAIN
from ..helpers.permissions import async_actor
from ..runtime import branch_for_device

ATTR_BRANCH = "branch"

# The buttons whose control permission a staff action needs (their entity keys).
ACKNOWLEDGE_KEY = "acknowledge_alarms"
BUILDING_EMPTY_KEY = "building_empty"
RESET_KEY = "reset_evacuation"


def _button(hass: HomeAssistant, branch: Branch, key: str) -> str | None:
    """Return the entity id of one of the branch's safety buttons (None: not registered)."""
    return er.async_get(hass).async_get_entity_id(
        Platform.BUTTON, DOMAIN, f"{branch.id}_{key}"
    )


async def reset_evacuation(call: ServiceCall) -> ServiceResponse:
    """Reset a branch after an evacuation (admin: registered as an admin action)."""
    branch = branch_for_device(call.hass, call.data[ATTR_BRANCH])
    by = await async_actor(call.hass, call.context, admin=True)
    await branch.coordinator.async_reset_evacuation(by, call.context)
    return None


async def acknowledge_alarm(call: ServiceCall) -> ServiceResponse:
    """Acknowledge every latched alarm of a branch (staff); answer how many there were."""
    branch = branch_for_device(call.hass, call.data[ATTR_BRANCH])
    by = await async_actor(
        call.hass, call.context, entity_id=_button(call.hass, branch, ACKNOWLEDGE_KEY)
    )
    count = await branch.coordinator.async_acknowledge_alarms(by, call.context)
    return {"acknowledged": count}


async def building_empty(call: ServiceCall) -> ServiceResponse:
    """Count nobody inside a branch: staff checked it is empty; answer the count before."""
    branch = branch_for_device(call.hass, call.data[ATTR_BRANCH])
    by = await async_actor(
        call.hass,
        call.context,
        entity_id=_button(call.hass, branch, BUILDING_EMPTY_KEY),
    )
    was = await branch.coordinator.async_building_empty(by, call.context)
    return {"was_inside": was}
