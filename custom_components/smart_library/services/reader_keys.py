"""The reader-key actions (admin only): make a key (shown once), revoke one, list them.

Registered from the one actions table (registry.py), so their data goes through the redaction
wrapper like every other action: a whole key pasted into `revoke_reader_key` is masked before
Home Assistant records the call.
"""

from __future__ import annotations

from homeassistant.const import ATTR_CONFIG_ENTRY_ID
from homeassistant.core import HomeAssistant, ServiceCall, ServiceResponse
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import config_validation as cv, device_registry as dr
from homeassistant.helpers.service import async_get_config_entry
import probatio

from ..access.reader_keys import (
    ATTR_BRANCH,
    ATTR_DOORS,
    ATTR_NAME,
    ATTR_READER_KEY,
    READER_KEY_HEADER,
    async_get_reader_keys,
    resolve_branch,
)
from ..const import DOMAIN

ENTRY = {probatio.Optional(ATTR_CONFIG_ENTRY_ID): cv.string}
CREATE_SCHEMA = probatio.Schema(
    ENTRY
    | {
        probatio.Required(ATTR_BRANCH): cv.string,
        probatio.Required(ATTR_DOORS): probatio.All(cv.ensure_list, [cv.string]),
        probatio.Required(ATTR_NAME): cv.string,
    }
)
REVOKE_SCHEMA = probatio.Schema(ENTRY | {probatio.Required(ATTR_READER_KEY): cv.string})
LIST_SCHEMA = probatio.Schema(ENTRY)


def _branch_of_device(hass: HomeAssistant, device_id: str) -> tuple[str, str]:
    """Return (config entry id, sub-entry id) of a branch's device, or a translated error."""
    device = dr.async_get(hass).async_get(device_id)
    if device is not None:
        for domain, identifier in device.identifiers:
            if domain == DOMAIN and resolve_branch(
                hass, device.config_entry_id, identifier
            ):
                return device.config_entry_id, identifier
    raise ServiceValidationError(
        translation_domain=DOMAIN,
        translation_key="unknown_branch",
        translation_placeholders={"branch": device_id},
    )


def _entry_id(call: ServiceCall) -> str | None:
    """Return the library service the call names (checked), or None for every service."""
    if (entry_id := call.data.get(ATTR_CONFIG_ENTRY_ID)) is None:
        return None
    return async_get_config_entry(call.hass, DOMAIN, entry_id).entry_id


async def create_reader_key(call: ServiceCall) -> ServiceResponse:
    """Make a key for doors of a branch; answer it once (it is never shown again)."""
    entry_id, subentry_id = _branch_of_device(call.hass, call.data[ATTR_BRANCH])
    if _entry_id(call) not in (None, entry_id):
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="unknown_branch",
            translation_placeholders={"branch": call.data[ATTR_BRANCH]},
        )
    keys = await async_get_reader_keys(call.hass)
    key, token = await keys.async_create(
        name=call.data[ATTR_NAME],
        entry_id=entry_id,
        subentry_id=subentry_id,
        doors=call.data[ATTR_DOORS],
    )
    return {"key": token, "header": READER_KEY_HEADER} | keys.describe(key)


async def revoke_reader_key(call: ServiceCall) -> ServiceResponse:
    """Revoke a key by id or name (a whole key pasted in is masked before it is recorded)."""
    keys = await async_get_reader_keys(call.hass)
    reference = str(call.data[ATTR_READER_KEY])
    # A whole key pasted in (id.secret) names its key by the id; the secret goes nowhere.
    reference = reference.partition(".")[0] if "." in reference else reference
    key = await keys.async_revoke(reference, _entry_id(call))
    return keys.describe(key) if call.return_response else None


async def list_reader_keys(call: ServiceCall) -> ServiceResponse:
    """List the keys (never a key itself)."""
    keys = await async_get_reader_keys(call.hass)
    return {
        "reader_keys": [
            keys.describe(key) for key in keys.keyring.listed(_entry_id(call))
        ]
    }
