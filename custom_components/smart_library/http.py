"""The access decision over HTTP, for door readers and kiosks.

POST /api/smart_library/access with a Home Assistant access token (a long-lived token of a
dedicated, non-admin user is enough) and a JSON body:
`{"branch": <device id>, "door": "entrance", "card": "...", "pin": "...", "minors": 0}`.
The answer is the same as the `request_access` action's. Without a valid token: 401 and nothing
happens.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from aiohttp import web
from homeassistant.components.http import KEY_HASS, HomeAssistantView
from homeassistant.exceptions import HomeAssistantError
import probatio

from .member_services import REQUEST_ACCESS_SCHEMA, async_request_access


class AccessView(HomeAssistantView):
    """Card + PIN at a door, decided by Home Assistant."""

    url = "/api/smart_library/access"
    name = "api:smart_library:access"
    requires_auth = True

    async def post(self, request: web.Request) -> web.Response:
        """Decide one attempt."""
        hass = request.app[KEY_HASS]
        try:
            body: Any = await request.json()
        except ValueError:
            return self.json_message("Body must be JSON", HTTPStatus.BAD_REQUEST)
        if not isinstance(body, dict):
            return self.json_message(
                "Body must be a JSON object", HTTPStatus.BAD_REQUEST
            )
        try:
            data = REQUEST_ACCESS_SCHEMA(body)
        except probatio.Invalid as err:
            # The message names the field, never its value (which could be a PIN).
            path = ".".join(str(p) for p in err.path) or "body"
            return self.json_message(
                f"Invalid request: {path}", HTTPStatus.BAD_REQUEST, "invalid_request"
            )
        try:
            result = await async_request_access(hass, data)
        except HomeAssistantError as err:
            return self.json_message(
                str(err) or "Request refused",
                HTTPStatus.BAD_REQUEST,
                err.translation_key,
            )
        return self.json(result)
