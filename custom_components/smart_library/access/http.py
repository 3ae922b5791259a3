"""The access decision over HTTP, for door readers and kiosks, authenticated by a reader key.

POST /api/smart_library/access with the header `X-Reader-Key: <id>.<secret>` (a key an admin
made with `smart_library.create_reader_key`) and a JSON body
`{"card": "...", "pin": "...", "door": "entrance", "minors": 0}` (`door` may be left out when
the key has one door; `branch`, the branch's device id, may be given and must be the key's).

Replies (always JSON):
- 200 `{"granted", "reason", "door", "release_seconds", "party", "message_key", "text"}`: a
  decision was taken. The reason is the public one: an unknown card and a wrong PIN both read
  `not_recognised`, so a reader cannot tell a member's card from a stranger's (staff-facing
  events keep the detail). `message_key` and `text` are what a display shows (replies.py);
  `not_open` adds `next_opening`, `locked_out` adds `locked_minutes`; `message` is the library
  system's own words, only after the right PIN. Never the card or the PIN.
- 401 `invalid_reader_key`: no key, or a key that is malformed, unknown or revoked. Nothing is
  decided or counted against a card; Home Assistant counts it as a failed login of the caller's
  address (see `_refuse_key`). A Home Assistant access token is not a reader key: alone it gets 401.
- 403 `branch_not_allowed` / `door_not_allowed`: a good key asking outside its scope. Nothing
  is decided.
- 429 `reader_throttled`: the reader had too many refusals in a minute (or too many requests in
  flight at once); nothing is decided until `retry_after` seconds have passed (also in the
  `Retry-After` header; `message_key` and `text` as above).
- 400 `invalid_request`, 503 `branch_unavailable`.

GET with the same header answers what the key is for (a door tablet checks its key when it is
paired): `{"branch", "doors", "language", "time_zone"}`, or 401 as above. Nothing is decided
or counted. `language` (and the language of every reply's `text`) is the library service's
first shipped language (its option `CONF_LANGUAGES`; English when it names none we ship).

Why this header: Home Assistant's HTTP auth middleware (2026.10, components/http/auth.py) reads
only `Authorization` (and a signed `authSig` query on GET); any other header passes through it
untouched, so the view sets `requires_auth = False` and checks `X-Reader-Key` itself. A reader's
key in `Authorization: Bearer` would be tried as a Home Assistant token first.
"""

from __future__ import annotations

from http import HTTPStatus
import math
from typing import Any

from aiohttp import web
from homeassistant.components.http import KEY_HASS, HomeAssistantView
from homeassistant.components.http.ban import process_wrong_login
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import config_validation as cv
from homeassistant.util import dt as dt_util
import probatio

from ..const import CONF_LANGUAGES, LOGGER
from ..engine.members.membership import Reason, public_reason
from ..engine.members.readers import REASON_THROTTLED
from ..helpers.texts import member_languages
from .decisions import REASON_KEY_REVOKED
from .reader_keys import READER_KEY_HEADER, async_get_reader_keys, resolve_branch
from .replies import DEFAULT_LANGUAGE, LANGUAGES, decision_fields, throttled_fields

REASON_NOT_OPEN = Reason.NOT_OPEN.value

REASON_INVALID_REQUEST = "invalid_request"

ACCESS_SCHEMA = probatio.Schema(
    {
        probatio.Optional("branch"): cv.string,
        probatio.Optional("door"): cv.string,
        probatio.Required("card"): cv.string,
        probatio.Required("pin"): cv.string,
        probatio.Optional("minors", default=0): probatio.All(
            probatio.Coerce(int), probatio.Range(min=0, max=10)
        ),
        probatio.Optional("adult_card"): cv.string,
        probatio.Optional("adult_pin"): cv.string,
    }
)


def display_language(hass: HomeAssistant, entry_id: str) -> str:
    """Return the language a door's display uses: the service's first shipped one."""
    entry = hass.config_entries.async_get_entry(entry_id)
    language = member_languages(entry.options.get(CONF_LANGUAGES) if entry else None)[0]
    return language if language in LANGUAGES else DEFAULT_LANGUAGE


class AccessView(HomeAssistantView):
    """Card + PIN at a door, decided by Home Assistant, asked by a reader with its key."""

    url = "/api/smart_library/access"
    name = "api:smart_library:access"
    # A reader has no Home Assistant user: the view checks the reader key itself.
    requires_auth = False

    async def _refuse_key(self, request: web.Request) -> web.Response:
        """Answer 401 to a missing or bad key, and count it as a failed login.

        Home Assistant counts failed logins per remote address (`http.ban.process_wrong_login`):
        a warning in the log, the "Login attempt failed" notification, and with `ip_ban_enabled`
        and `login_attempts_threshold` the address banned from all of Home Assistant. A bad
        reader key is a failed login like a bad token, so it is counted the same way; a 256-bit
        key cannot be guessed, so this is for the admin's eyes and for a scanning host, not for
        the key. A good key asking outside its scope (403) or a throttled reader (429) is not a
        failed login and is not counted.
        """
        await process_wrong_login(request)
        return self.json_message(
            f"A valid reader key is needed in the {READER_KEY_HEADER} header",
            HTTPStatus.UNAUTHORIZED,
            "invalid_reader_key",
        )

    async def get(self, request: web.Request) -> web.Response:
        """Tell a reader (a door tablet pairing) what its key is for: nothing is decided.

        200 `{"branch": <the branch's name>, "doors": [<the key's doors>], "language": ...,
        "time_zone": ...}` (the tablet's clock shows the branch's time);
        401 for a bad key (counted as a failed login, as for a decision); 503 while the key's
        branch is not loaded. `language` is the language a display should use: the library
        service's first language that the tablet has messages in, else English.
        """
        hass = request.app[KEY_HASS]
        keys = await async_get_reader_keys(hass)
        key = keys.authenticate(request.headers.get(READER_KEY_HEADER))
        if key is None:
            return await self._refuse_key(request)
        keys.touch(key)
        branch = resolve_branch(hass, key.entry_id, key.branch)
        if branch is None:
            return self.json_message(
                "The key's branch is not loaded",
                HTTPStatus.SERVICE_UNAVAILABLE,
                "branch_unavailable",
            )
        return self.json(
            {
                "branch": branch.title,
                "doors": list(key.doors),
                "language": display_language(hass, key.entry_id),
                "time_zone": hass.config.time_zone,
            },
            headers={"Cache-Control": "no-store"},
        )

    async def post(self, request: web.Request) -> web.Response:
        """Decide one attempt at a door of the key's branch."""
        hass = request.app[KEY_HASS]
        keys = await async_get_reader_keys(hass)
        key = keys.authenticate(request.headers.get(READER_KEY_HEADER))
        if key is None:
            return await self._refuse_key(request)
        keys.touch(key)
        try:
            body: Any = await request.json()
        except ValueError:
            return self.json_message(
                "Body must be JSON", HTTPStatus.BAD_REQUEST, "invalid_request"
            )
        if not isinstance(body, dict):
            return self.json_message(
                "Body must be a JSON object", HTTPStatus.BAD_REQUEST, "invalid_request"
            )
        try:
            data = ACCESS_SCHEMA(body)
        except probatio.Invalid as err:
            # The message names the field, never its value (which could be a PIN).
            path = ".".join(str(p) for p in err.path) or "body"
            return self.json_message(
                f"Invalid request: {path}", HTTPStatus.BAD_REQUEST, "invalid_request"
            )
        branch = resolve_branch(hass, key.entry_id, key.branch)
        if branch is None:
            return self.json_message(
                "The key's branch is not loaded",
                HTTPStatus.SERVICE_UNAVAILABLE,
                "branch_unavailable",
            )
        if "branch" in data and data["branch"] != branch.device_id:
            return self.json_message(
                "This reader key is for another branch",
                HTTPStatus.FORBIDDEN,
                "branch_not_allowed",
            )
        door = data.get("door") or (key.doors[0] if len(key.doors) == 1 else None)
        if door is None:
            return self.json_message(
                "Invalid request: door", HTTPStatus.BAD_REQUEST, "invalid_request"
            )
        if door not in key.doors:
            return self.json_message(
                "This reader key is not for that door",
                HTTPStatus.FORBIDDEN,
                "door_not_allowed",
            )
        if (until := keys.admit(key)) is not None:
            wait = max(1, math.ceil((until - dt_util.utcnow()).total_seconds()))
            return self.json(
                {
                    "granted": False,
                    "reason": REASON_THROTTLED,
                    "door": door,
                    "release_seconds": 0,
                    "party": 0,
                }
                | throttled_fields(wait, display_language(hass, key.entry_id)),
                HTTPStatus.TOO_MANY_REQUESTS,
                headers={"Retry-After": str(wait)},
            )
        refusal: str | None = None
        try:
            outcome = await branch.access.async_request(
                branch.branch.coordinator,
                open_to_members=branch.branch.hours.open_to_members,
                door_id=door,
                card=data["card"],
                pin=data["pin"],
                minors=data["minors"],
                adult_card=data.get("adult_card"),
                adult_pin=data.get("adult_pin"),
                # Asked again after the decision, before any release.
                still_allowed=lambda: keys.keyring.still_valid(key),
            )
        except HomeAssistantError as err:
            # Counted by the reader's throttle like any refusal: a reader that keeps sending
            # what cannot be decided is stopped too.
            refusal = err.translation_key or REASON_INVALID_REQUEST
            LOGGER.debug("Reader %s: no decision (%s)", key.name, err.translation_key)
            return self.json_message(
                str(err) or "Request refused",
                HTTPStatus.BAD_REQUEST,
                err.translation_key or REASON_INVALID_REQUEST,
            )
        else:
            refusal = None if outcome.granted else outcome.reason
            if outcome.reason == REASON_KEY_REVOKED:
                refusal = None  # not the reader's doing: its key went meanwhile
        finally:
            keys.settle(key, branch.title, refusal)
        if outcome.reason == REASON_KEY_REVOKED:
            return await self._refuse_key(request)
        if outcome.reason == REASON_INVALID_REQUEST:
            # A card or PIN the library system cannot carry: refused before anyone was asked.
            return self.json_message(
                "Invalid request: card or PIN",
                HTTPStatus.BAD_REQUEST,
                REASON_INVALID_REQUEST,
            )
        reason = outcome.reader_reason or public_reason(outcome.reason)
        reply: dict[str, Any] = {
            "granted": outcome.granted,
            "reason": reason,
            "door": outcome.door,
            "release_seconds": outcome.release_seconds,
            "party": outcome.party,
        }
        now = dt_util.now()
        reply |= decision_fields(
            granted=outcome.granted,
            reason=reason,
            now=now,
            next_opening=branch.branch.hours.opens_at(now)
            if reason == REASON_NOT_OPEN
            else None,
            locked_until=outcome.locked_until,
            language=display_language(hass, key.entry_id),
        )
        if outcome.message:  # the library system's own words, only after the right PIN
            reply["message"] = outcome.message
        return self.json(reply)
