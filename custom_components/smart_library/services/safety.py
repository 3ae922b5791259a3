"""The safety tools' actions: incidents, lockdown, alerts, announcements, bars, settings.

Who may call what (DESIGN.md, "Who may do what"):

Admin only (`async_register_admin_service`):
- record_incident, complete_incident, export_incidents (incidents are personal data; staff
  record and complete them through the to-do list of their branch instead, which Home Assistant
  refuses to read-only users);
- end_lockdown (a lockdown is ended only by an administrator);
- lift_ban, keep_ban, member_history (who may enter; a member's history);
- set_on_call, configure_safety, set_branch_safety (the settings).

Staff (any user who may control entities; read-only users are refused; automations and voice
satellites, which have no user, may call them):
- lockdown (a person on site, or an on-call phone, must be able to lock the doors to outsiders;
  nobody is trapped: leaving is never prevented);
- silent_alert (a codeword: staff alerted, nothing said aloud);
- announce (a stored message on the PA, in the service's languages), say (spoken text).

Every action's data goes through `masking.redacting`: a member's card is masked before Home
Assistant records the call.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import datetime, time
from functools import partial
from typing import Any

from homeassistant.const import ATTR_CONFIG_ENTRY_ID
from homeassistant.core import ServiceCall, ServiceResponse, SupportsResponse
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers.service import async_get_config_entry
from homeassistant.util import dt as dt_util
from homeassistant.util.json import JsonValueType
import probatio

from ..branch import Branch
from ..const import DOMAIN
from ..engine.building.announcements import LANGUAGE_BANKS
from ..engine.members import bans
from ..engine.members.membership import MemberError
from ..engine.safety import incidents as rules
from ..engine.safety.alerts import MAX_ESCALATION_MINUTES, MIN_ESCALATION_MINUTES
from ..engine.safety.incidents import Category, IncidentError, MemberLink, Source
from ..helpers.errors import refused, translated
from ..helpers.permissions import async_actor
from ..runtime import branch_for_device, loaded_entries, safety_of, safety_of_branch
from ..safety.alerts import async_sync_no_phone_issue, is_phone
from ..safety.common import (
    CONF_CAMERAS,
    CONF_ESCALATION_MINUTES,
    CONF_ESCALATION_PHONES,
    CONF_LANGUAGES,
    CONF_ON_CALL,
    CONF_RETENTION_DAYS,
    CONF_SPEAKERS,
    CONF_TTS_ENGINE,
)
from ..safety.runtime import SafetyRuntime

type Handler = Callable[[ServiceCall], Coroutine[Any, Any, ServiceResponse]]

ATTR_BRANCH = "branch"
ATTR_CATEGORY = "category"
ATTR_DESCRIPTION = "description"
ATTR_LOCATION = "location"
ATTR_OCCURRED_AT = "occurred_at"
ATTR_ACTIONS_TAKEN = "actions_taken"
ATTR_CARD = "card"
ATTR_POLICE_REFERENCE = "police_reference"
ATTR_INCIDENT = "incident"
ATTR_SINCE = "since"
ATTR_UNTIL = "until"
ATTR_REASON = "reason"
ATTR_MESSAGE = "message"
ATTR_LANGUAGE = "language"
ATTR_PHONES = "phones"
ATTR_ESCALATION_PHONES = "escalation_phones"
ATTR_ESCALATION_MINUTES = "escalation_minutes"
ATTR_RETENTION_DAYS = "retention_days"
ATTR_LANGUAGES = "languages"
ATTR_CAMERAS = "cameras"
ATTR_SPEAKERS = "speakers"
ATTR_TTS_ENGINE = "tts_engine"
ATTR_AGREEMENT_DATE = "agreement_date"
ATTR_REVIEW_DATE = "review_date"

BRANCH = {probatio.Required(ATTR_BRANCH): cv.string}
ENTRY = {probatio.Optional(ATTR_CONFIG_ENTRY_ID): cv.string}
CARD = ENTRY | {probatio.Required(ATTR_CARD): cv.string}

SCHEMAS: dict[str, probatio.Schema] = {
    "record_incident": probatio.Schema(
        BRANCH
        | {
            probatio.Required(ATTR_CATEGORY): cv.string,
            probatio.Optional(ATTR_DESCRIPTION, default=""): cv.string,
            probatio.Optional(ATTR_LOCATION, default=""): cv.string,
            probatio.Optional(ATTR_OCCURRED_AT): cv.datetime,
            probatio.Optional(ATTR_ACTIONS_TAKEN, default=""): cv.string,
            probatio.Optional(ATTR_CARD): cv.string,
            probatio.Optional(ATTR_POLICE_REFERENCE, default=""): cv.string,
        }
    ),
    "complete_incident": probatio.Schema(
        ENTRY
        | {
            probatio.Required(ATTR_INCIDENT): cv.string,
            probatio.Optional(ATTR_ACTIONS_TAKEN): cv.string,
            probatio.Optional(ATTR_POLICE_REFERENCE): cv.string,
            probatio.Optional(ATTR_CARD): cv.string,
        }
    ),
    "export_incidents": probatio.Schema(
        ENTRY
        | {
            probatio.Optional(ATTR_BRANCH): cv.string,
            probatio.Optional(ATTR_SINCE): cv.date,
            probatio.Optional(ATTR_UNTIL): cv.date,
        }
    ),
    "lockdown": probatio.Schema(
        BRANCH | {probatio.Optional(ATTR_REASON, default=""): cv.string}
    ),
    "end_lockdown": probatio.Schema(BRANCH),
    "silent_alert": probatio.Schema(
        BRANCH | {probatio.Optional(ATTR_DESCRIPTION, default=""): cv.string}
    ),
    "announce": probatio.Schema(BRANCH | {probatio.Required(ATTR_MESSAGE): cv.string}),
    "say": probatio.Schema(
        BRANCH
        | {
            probatio.Required(ATTR_MESSAGE): probatio.All(
                cv.string, probatio.Length(min=1, max=500)
            ),
            probatio.Optional(ATTR_LANGUAGE): cv.string,
        }
    ),
    "set_on_call": probatio.Schema(
        ENTRY
        | {
            probatio.Required(ATTR_PHONES): probatio.All(cv.ensure_list, [cv.string]),
            probatio.Optional(ATTR_ESCALATION_PHONES, default=list): probatio.All(
                cv.ensure_list, [cv.string]
            ),
            probatio.Optional(ATTR_ESCALATION_MINUTES): probatio.All(
                probatio.Coerce(int),
                probatio.Range(min=MIN_ESCALATION_MINUTES, max=MAX_ESCALATION_MINUTES),
            ),
        }
    ),
    "configure_safety": probatio.Schema(
        ENTRY
        | {
            probatio.Optional(ATTR_RETENTION_DAYS): probatio.Coerce(int),
            probatio.Optional(ATTR_LANGUAGES): probatio.All(
                cv.ensure_list, [probatio.In(list(LANGUAGE_BANKS))]
            ),
        }
    ),
    "set_branch_safety": probatio.Schema(
        BRANCH
        | {
            probatio.Optional(ATTR_CAMERAS): probatio.All(
                cv.ensure_list, [cv.entity_domain("camera")]
            ),
            probatio.Optional(ATTR_SPEAKERS): probatio.All(
                cv.ensure_list, [cv.entity_domain("media_player")]
            ),
            probatio.Optional(ATTR_TTS_ENGINE): probatio.Any(
                None, "", cv.entity_domain("tts")
            ),
        }
    ),
    "lift_ban": probatio.Schema(
        CARD | {probatio.Required(ATTR_AGREEMENT_DATE): cv.date}
    ),
    "keep_ban": probatio.Schema(CARD | {probatio.Required(ATTR_REVIEW_DATE): cv.date}),
    "member_history": probatio.Schema(CARD),
}


def _branch(call: ServiceCall) -> tuple[Branch, SafetyRuntime]:
    branch = branch_for_device(call.hass, call.data[ATTR_BRANCH])
    return branch, safety_of_branch(call.hass, branch)


def _runtime(call: ServiceCall) -> SafetyRuntime:
    entry = async_get_config_entry(
        call.hass, DOMAIN, call.data.get(ATTR_CONFIG_ENTRY_ID)
    )
    runtime = safety_of(call.hass, entry.entry_id)
    if runtime is None:
        raise refused("safety_not_running", branch=entry.title)
    return runtime


def _member(runtime: SafetyRuntime, card: str | None) -> MemberLink | None:
    """Return how an incident names a member (digest, masked card), or None."""
    if not card:
        return None
    try:  # (a Masked card prints masked: pass the value itself, never str() of it)
        return bans.member_link(card, runtime.bans.access.pepper)
    except MemberError as err:
        raise translated(err) from None


def _local(value: datetime) -> datetime:
    return (
        value if value.tzinfo else value.replace(tzinfo=dt_util.get_default_time_zone())
    )


# -- incidents ------------------------------------------------------------------------------------


async def record_incident(call: ServiceCall) -> ServiceResponse:
    """Record an incident a person saw (admin); answer with its id."""
    branch, runtime = _branch(call)
    data = call.data
    by = await async_actor(call.hass, call.context, admin=True)
    try:
        category = rules.category(data[ATTR_CATEGORY])
    except IncidentError as err:
        raise translated(err) from None
    occurred = data.get(ATTR_OCCURRED_AT)
    incident = await runtime.log.async_record(
        branch,
        category,
        by=by,
        source=Source.STAFF,
        occurred_at=_local(occurred) if occurred else None,
        location=data[ATTR_LOCATION],
        description=data[ATTR_DESCRIPTION],
        actions_taken=data[ATTR_ACTIONS_TAKEN],
        member=_member(runtime, data.get(ATTR_CARD)),
        police_reference=data[ATTR_POLICE_REFERENCE],
        context=call.context,
    )
    return {"incident": incident.id}


async def _find(call: ServiceCall, incident_id: str) -> SafetyRuntime:
    """Return the library service holding an incident, or a translated error."""
    if call.data.get(ATTR_CONFIG_ENTRY_ID):
        return _runtime(call)
    for entry in loaded_entries(call.hass):
        runtime = entry.runtime_data.safety
        store = runtime.log.store
        if await runtime.log.async_run(partial(store.get, incident_id)) is not None:
            return runtime
    raise refused("incident_unknown", incident=incident_id[:40])


async def complete_incident(call: ServiceCall) -> ServiceResponse:
    """Complete an incident's review (admin): actions taken, police reference, member."""
    data = call.data
    runtime = await _find(call, data[ATTR_INCIDENT])
    by = await async_actor(call.hass, call.context, admin=True)
    incident = await runtime.log.async_complete(
        data[ATTR_INCIDENT],
        by=by,
        actions_taken=data.get(ATTR_ACTIONS_TAKEN),
        police_reference=data.get(ATTR_POLICE_REFERENCE),
        member=_member(runtime, data.get(ATTR_CARD)),
        context=call.context,
    )
    return {"incident": incident.id, "status": incident.status.value}


async def export_incidents(call: ServiceCall) -> ServiceResponse:
    """Export a service's incidents as spreadsheet-safe CSV (admin)."""
    runtime = _runtime(call)
    data = call.data
    branch = None
    if data.get(ATTR_BRANCH):
        branch = branch_for_device(call.hass, data[ATTR_BRANCH]).id
    zone = dt_util.get_default_time_zone()
    since = data.get(ATTR_SINCE)
    until = data.get(ATTR_UNTIL)
    text, count = await runtime.log.async_export(
        branch=branch,
        since=datetime.combine(since, time(), zone) if since else None,
        until=datetime.combine(until, time.max, zone) if until else None,
    )
    return {"incidents": count, "csv": text}


# -- lockdown, alerts, the PA -------------------------------------------------------------------------


async def lockdown(call: ServiceCall) -> ServiceResponse:
    """Lock a branch down (staff): entry for staff cards only; leaving always possible."""
    branch, runtime = _branch(call)
    by = await async_actor(call.hass, call.context)
    found, started = await runtime.lockdowns.async_start(
        branch, by=by, reason=call.data[ATTR_REASON], context=call.context
    )
    return {"incident": found.incident, "started": started}


async def end_lockdown(call: ServiceCall) -> ServiceResponse:
    """End a branch's lockdown (admin)."""
    branch, runtime = _branch(call)
    by = await async_actor(call.hass, call.context, admin=True)
    found = await runtime.lockdowns.async_end(branch, by=by, context=call.context)
    return {"incident": found.incident}


async def silent_alert(call: ServiceCall) -> ServiceResponse:
    """Raise a silent staff alert (a codeword): a critical alert, nothing said aloud."""
    branch, runtime = _branch(call)
    by = await async_actor(call.hass, call.context)
    incident = await runtime.async_report(
        branch,
        Category.PANIC,
        source=Source.VOICE,
        location="codeword",
        description=call.data[ATTR_DESCRIPTION] or "Silent alert (codeword)",
        by=by,
    )
    return {"incident": incident}


async def announce(call: ServiceCall) -> ServiceResponse:
    """Play a stored message on every zone of a branch, in the service's languages (staff)."""
    branch, runtime = _branch(call)
    await async_actor(call.hass, call.context)
    played = await runtime.pa.async_play(branch, call.data[ATTR_MESSAGE])
    return {"played": list[JsonValueType](played)}


async def say(call: ServiceCall) -> ServiceResponse:
    """Speak text on a branch's speakers (staff)."""
    branch, runtime = _branch(call)
    await async_actor(call.hass, call.context)
    speakers = await runtime.pa.async_say(
        branch, call.data[ATTR_MESSAGE], call.data.get(ATTR_LANGUAGE)
    )
    return {"speakers": list[JsonValueType](speakers)}


# -- bars ------------------------------------------------------------------------------------------


async def lift_ban(call: ServiceCall) -> ServiceResponse:
    """Lift a bar on the member's acceptable-behaviour agreement (admin)."""
    runtime = _runtime(call)
    by = await async_actor(call.hass, call.context, admin=True)
    card = await runtime.bans.access.async_card(call.data[ATTR_CARD])
    member = await runtime.bans.async_lift(card, call.data[ATTR_AGREEMENT_DATE], by)
    return {"card": member.masked_card, "restriction": member.restriction.value}


async def keep_ban(call: ServiceCall) -> ServiceResponse:
    """Keep a bar after its review, until a later review date (admin)."""
    runtime = _runtime(call)
    by = await async_actor(call.hass, call.context, admin=True)
    card = await runtime.bans.access.async_card(call.data[ATTR_CARD])
    member = await runtime.bans.async_keep(card, call.data[ATTR_REVIEW_DATE], by)
    return {
        "card": member.masked_card,
        "review_date": member.review_date.isoformat() if member.review_date else None,
    }


async def member_history(call: ServiceCall) -> ServiceResponse:
    """Return a member's bar history and incidents (admin)."""
    runtime = _runtime(call)
    card = await runtime.bans.access.async_card(call.data[ATTR_CARD])
    return await runtime.bans.async_history(card)


# -- settings --------------------------------------------------------------------------------------


async def set_on_call(call: ServiceCall) -> ServiceResponse:
    """Choose the on-call and escalation phones (companion-app devices) and the delay (admin)."""
    hass = call.hass
    entry = async_get_config_entry(hass, DOMAIN, call.data.get(ATTR_CONFIG_ENTRY_ID))
    phones = list(dict.fromkeys(call.data[ATTR_PHONES]))
    escalation = list(dict.fromkeys(call.data[ATTR_ESCALATION_PHONES]))
    for device_id in (*phones, *escalation):
        if not is_phone(hass, device_id):
            raise refused("on_call_not_a_phone", device=device_id[:40])
    if not phones:
        raise refused("on_call_none")
    options = dict(entry.options) | {
        CONF_ON_CALL: phones,
        CONF_ESCALATION_PHONES: escalation,
    }
    if ATTR_ESCALATION_MINUTES in call.data:
        options[CONF_ESCALATION_MINUTES] = call.data[ATTR_ESCALATION_MINUTES]
    async_sync_no_phone_issue(hass, entry, True)
    hass.config_entries.async_update_entry(entry, options=options)
    return {"phones": len(phones), "escalation_phones": len(escalation)}


async def configure_safety(call: ServiceCall) -> ServiceResponse:
    """Set how long incidents are kept and the languages stored messages play in (admin)."""
    hass = call.hass
    entry = async_get_config_entry(hass, DOMAIN, call.data.get(ATTR_CONFIG_ENTRY_ID))
    options = dict(entry.options)
    if ATTR_RETENTION_DAYS in call.data:
        try:
            options[CONF_RETENTION_DAYS] = rules.check_retention(
                call.data[ATTR_RETENTION_DAYS]
            )
        except IncidentError as err:
            raise translated(err) from None
    if ATTR_LANGUAGES in call.data:
        languages = list(dict.fromkeys(call.data[ATTR_LANGUAGES]))
        if not languages:
            raise refused("languages_none")
        options[CONF_LANGUAGES] = languages
    hass.config_entries.async_update_entry(entry, options=options)
    return None


async def set_branch_safety(call: ServiceCall) -> ServiceResponse:
    """Name a branch's cameras, speakers and text-to-speech engine (admin)."""
    hass = call.hass
    branch = branch_for_device(hass, call.data[ATTR_BRANCH])
    entry = branch.coordinator.config_entry
    data = dict(branch.subentry.data)
    for field, key in (
        (ATTR_CAMERAS, CONF_CAMERAS),
        (ATTR_SPEAKERS, CONF_SPEAKERS),
        (ATTR_TTS_ENGINE, CONF_TTS_ENGINE),
    ):
        if field in call.data:
            data[key] = call.data[field] or (None if key == CONF_TTS_ENGINE else [])
    hass.config_entries.async_update_subentry(entry, branch.subentry, data=data)
    return None


# -- registration ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SafetyAction:
    """One action: its handler, whether only admins may call it, its response."""

    name: str
    handler: Handler
    admin: bool = True
    response: SupportsResponse = SupportsResponse.OPTIONAL


SAFETY_ACTIONS: tuple[SafetyAction, ...] = (
    SafetyAction("record_incident", record_incident),
    SafetyAction("complete_incident", complete_incident),
    SafetyAction("export_incidents", export_incidents, response=SupportsResponse.ONLY),
    SafetyAction("end_lockdown", end_lockdown),
    SafetyAction("lift_ban", lift_ban),
    SafetyAction("keep_ban", keep_ban),
    SafetyAction("member_history", member_history, response=SupportsResponse.ONLY),
    SafetyAction("set_on_call", set_on_call),
    SafetyAction("configure_safety", configure_safety, response=SupportsResponse.NONE),
    SafetyAction(
        "set_branch_safety", set_branch_safety, response=SupportsResponse.NONE
    ),
    # Staff: read-only users are refused in the handler (async_actor).
    SafetyAction("lockdown", lockdown, admin=False),
    SafetyAction("silent_alert", silent_alert, admin=False),
    SafetyAction("announce", announce, admin=False),
    SafetyAction("say", say, admin=False),
)
