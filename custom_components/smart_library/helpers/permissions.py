"""The one permission check of the integration: who acts, and whether they may.

DESIGN.md's trust model: administrators change who may enter or when; staff (any user who may
control entities) operate the building; read-only users act on nothing. Automations, scripts and
voice satellites act with no user: an administrator wrote them, so they pass unless the caller
asks for a person (`require_user`).
"""

from __future__ import annotations

from homeassistant.auth.permissions.const import POLICY_CONTROL
from homeassistant.core import Context, HomeAssistant
from homeassistant.exceptions import Unauthorized, UnknownUser

NO_USER = (
    "an automation"  # who acted when no user did (an automation, a script, a satellite)
)


async def async_actor(
    hass: HomeAssistant,
    context: Context | None,
    *,
    admin: bool = False,
    entity_id: str | None = None,
    require_user: bool = False,
) -> str:
    """Return the name of who acts, or refuse them.

    `admin`: administrators only. Otherwise the user must be allowed to control `entity_id`
    (any entity when None): a read-only user is refused. No user: allowed unless `require_user`.
    """
    if context is None or context.user_id is None:
        if require_user:
            raise Unauthorized(context=context, permission=POLICY_CONTROL)
        return NO_USER
    user = await hass.auth.async_get_user(context.user_id)
    if user is None:
        raise UnknownUser(context=context, permission=POLICY_CONTROL)
    if admin:
        allowed = user.is_admin
    elif entity_id is not None:
        allowed = user.permissions.check_entity(entity_id, POLICY_CONTROL)
    else:
        allowed = user.permissions.access_all_entities(POLICY_CONTROL)
    if not allowed:
        raise Unauthorized(
            context=context, entity_id=entity_id, permission=POLICY_CONTROL
        )
    return user.name or "a user"


async def async_is_staff(hass: HomeAssistant, context: Context | None) -> bool:
    """Return True for an automation, staff or an administrator (False: read-only)."""
    try:
        await async_actor(hass, context)
    except Unauthorized, UnknownUser:
        return False
    return True
