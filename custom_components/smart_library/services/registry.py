"""Every Smart Library action, registered in one place (`ACTIONS`, `async_setup_services`).

Who may call what (DESIGN.md, "Who may do what"):

Admin only (`async_register_admin_service`): everything that changes who may enter or when, or
reads member data —
- opening hours: add_exception, remove_exception, add_event, remove_event, extend_today,
  close_early (an event or an exception can hold the entrance open: free entry);
- members: enroll_member, record_induction, set_pin, renew_card, bar_member,
  issue_final_warning, lift_restriction, unlock_card, remove_member, import_members,
  export_members (the export holds every card number), list_members (the panel's search:
  cards masked, each with a reference the member actions take in place of the number);
- staff and contractor cards: add_staff_card, remove_staff_card, list_staff_cards;
- meeting rooms: book_room (a booking opens a door for a card);
- reader keys: create_reader_key, revoke_reader_key, list_reader_keys (a key opens doors;
  their handlers and schemas are in reader_keys.py, registered from here too);
- the online induction and the public pages: publish_induction, get_induction,
  upload_induction_video, set_public_info, set_branch_page, upload_floor_plan,
  set_floor_plan_markers, remove_floor_plan (pages.py: the induction decides who may enter,
  the public pages speak for the library).

Admin only, too: reset_evacuation (it re-opens a branch to card entry after a fire alarm).

Staff (any user who may control the branch's entities; read-only users refused, in safety.py):
acknowledge_alarm, building_empty.

Any user: request_access. It changes nothing about who may enter: it asks for one decision with
a card and a PIN, which the door would ask anyway; every attempt counts against the card's
lock-out, so a caller can guess no faster than a person at the door. Door readers use reader keys
over HTTP (http.py), not this action.

Every action's data goes through `masking.redacting`: PINs and card numbers (strings or numbers)
are masked before Home Assistant records the call; text no storage can keep is refused.
Handlers are thin: validate, call the engine, translate its errors. Member and booking handlers
are in members.py, the usage export in usage.py; the opening-hours handlers are below.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import datetime, time
from typing import Any
import uuid

from homeassistant.core import (
    HomeAssistant,
    ServiceCall,
    ServiceResponse,
    SupportsResponse,
    callback,
)
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers.service import async_register_admin_service
from homeassistant.util import dt as dt_util
import probatio

from ..building.hours import BranchHours
from ..const import DOMAIN
from ..engine.building.schedule import (
    DayException,
    Event,
    Mode,
    ScheduleError,
    parse_periods,
)
from ..helpers.errors import translated
from ..helpers.masking import redacting
from ..runtime import branch_for_device
from . import alarms as safety, members, pages, reader_keys, usage
from .safety import SAFETY_ACTIONS, SCHEMAS as SAFETY_SCHEMAS

ATTR_BRANCH = "branch"
ATTR_DATE = "date"
ATTR_LABEL = "label"
ATTR_STAFFED = "staffed"
ATTR_SMART = "smart"
ATTR_TITLE = "title"
ATTR_START = "start"
ATTR_END = "end"
ATTR_EVENT_ID = "event_id"
ATTR_UNTIL = "until"
ATTR_AT = "at"

BRANCH = {probatio.Required(ATTR_BRANCH): cv.string}

type Handler = Callable[[ServiceCall], Coroutine[Any, Any, ServiceResponse]]

SCHEDULE_SCHEMAS: dict[str, probatio.Schema] = {
    "add_exception": probatio.Schema(
        BRANCH
        | {
            probatio.Required(ATTR_DATE): cv.date,
            probatio.Optional(ATTR_LABEL, default=""): cv.string,
            probatio.Optional(ATTR_STAFFED, default=""): cv.string,
            probatio.Optional(ATTR_SMART, default=""): cv.string,
        }
    ),
    "remove_exception": probatio.Schema(
        BRANCH | {probatio.Required(ATTR_DATE): cv.date}
    ),
    "add_event": probatio.Schema(
        BRANCH
        | {
            probatio.Required(ATTR_TITLE): cv.string,
            probatio.Required(ATTR_START): cv.datetime,
            probatio.Required(ATTR_END): cv.datetime,
        }
    ),
    "remove_event": probatio.Schema(
        BRANCH | {probatio.Required(ATTR_EVENT_ID): cv.string}
    ),
    "extend_today": probatio.Schema(BRANCH | {probatio.Required(ATTR_UNTIL): cv.time}),
    "close_early": probatio.Schema(BRANCH | {probatio.Required(ATTR_AT): cv.time}),
}


def _local(value: datetime) -> datetime:
    """Read a naive date-time from a form as Home Assistant's local time."""
    return (
        value if value.tzinfo else value.replace(tzinfo=dt_util.get_default_time_zone())
    )


def _hours(call: ServiceCall) -> BranchHours:
    """Return the opening hours of the branch the call names."""
    return branch_for_device(call.hass, call.data[ATTR_BRANCH]).hours


async def add_exception(call: ServiceCall) -> ServiceResponse:
    """Close a date (no hours given) or give it other staffed/smart hours."""
    hours = _hours(call)
    try:
        periods = parse_periods(call.data[ATTR_STAFFED], Mode.STAFFED)
        periods += parse_periods(call.data[ATTR_SMART], Mode.SMART)
    except ScheduleError as err:
        raise translated(err) from err
    exception = DayException(
        call.data[ATTR_DATE], tuple(periods), call.data[ATTR_LABEL]
    )
    await hours.async_set_schedule(hours.change(lambda s: s.with_exception(exception)))
    return None


async def remove_exception(call: ServiceCall) -> ServiceResponse:
    """Remove a date's exception."""
    hours = _hours(call)
    await hours.async_set_schedule(
        hours.change(lambda s: s.without_exception(call.data[ATTR_DATE]))
    )
    return None


async def add_event(call: ServiceCall) -> ServiceResponse:
    """Add an event (the branch is in event mode while it runs); answer with its id."""
    hours = _hours(call)
    event = Event(
        uuid.uuid4().hex[:12],
        call.data[ATTR_TITLE],
        _local(call.data[ATTR_START]),
        _local(call.data[ATTR_END]),
    )
    await hours.async_set_schedule(hours.change(lambda s: s.with_event(event)))
    return {"event_id": event.id}


async def remove_event(call: ServiceCall) -> ServiceResponse:
    """Remove an event."""
    hours = _hours(call)
    await hours.async_set_schedule(
        hours.change(lambda s: s.without_event(call.data[ATTR_EVENT_ID]))
    )
    return None


async def extend_today(call: ServiceCall) -> ServiceResponse:
    """Keep the branch open later today."""
    hours = _hours(call)
    until: time = call.data[ATTR_UNTIL]
    today = dt_util.now().date()
    await hours.async_set_schedule(hours.change(lambda s: s.extend_day(today, until)))
    return None


async def close_early(call: ServiceCall) -> ServiceResponse:
    """Close the branch earlier today."""
    hours = _hours(call)
    at: time = call.data[ATTR_AT]
    today = dt_util.now().date()
    await hours.async_set_schedule(hours.change(lambda s: s.close_early(today, at)))
    return None


@dataclass(frozen=True, slots=True)
class Action:
    """One action: its handler, its schema, whether only admins may call it, its response."""

    name: str
    handler: Handler
    schema: probatio.Schema
    admin: bool = True
    response: SupportsResponse = SupportsResponse.NONE


OPTIONAL, ONLY = SupportsResponse.OPTIONAL, SupportsResponse.ONLY
_M = members.MEMBER_SCHEMAS
_S = SCHEDULE_SCHEMAS

ACTIONS: tuple[Action, ...] = (
    # Opening hours (admin: an event or exception can hold the entrance open).
    Action("add_exception", add_exception, _S["add_exception"]),
    Action("remove_exception", remove_exception, _S["remove_exception"]),
    Action("add_event", add_event, _S["add_event"], response=OPTIONAL),
    Action("remove_event", remove_event, _S["remove_event"]),
    Action("extend_today", extend_today, _S["extend_today"]),
    Action("close_early", close_early, _S["close_early"]),
    # Members (admin: who may enter; the export holds every card number).
    Action(
        "enroll_member", members.enroll_member, _M["enroll_member"], response=OPTIONAL
    ),
    Action(
        "record_induction",
        members.record_induction,
        _M["record_induction"],
        response=OPTIONAL,
    ),
    *(
        Action(name, members.change_member, _M[name], response=OPTIONAL)
        for name in members.MEMBER_CHANGES
    ),
    Action("set_pin", members.set_pin, _M["set_pin"], response=OPTIONAL),
    Action("unlock_card", members.unlock_card, _M["unlock_card"], response=OPTIONAL),
    Action(
        "remove_member", members.remove_member, _M["remove_member"], response=OPTIONAL
    ),
    Action(
        "import_members",
        members.import_members,
        _M["import_members"],
        response=OPTIONAL,
    ),
    Action(
        "export_members", members.export_members, _M["export_members"], response=ONLY
    ),
    # Listing for the administrator's panel (admin: member data; every card masked).
    Action("list_members", members.list_members, _M["list_members"], response=ONLY),
    Action(
        "list_staff_cards",
        members.list_staff_cards,
        _M["list_staff_cards"],
        response=ONLY,
    ),
    # Usage for planning staffed hours (admin, like every export).
    Action(
        "export_usage", usage.export_usage, usage.EXPORT_USAGE_SCHEMA, response=ONLY
    ),
    # Staff and contractor cards, meeting rooms (admin: each opens doors for a card).
    Action(
        "add_staff_card",
        members.add_staff_card,
        _M["add_staff_card"],
        response=OPTIONAL,
    ),
    Action(
        "remove_staff_card",
        members.remove_staff_card,
        _M["remove_staff_card"],
        response=OPTIONAL,
    ),
    Action("book_room", members.book_room, _M["book_room"], response=OPTIONAL),
    # Door readers' keys (admin: a key opens doors; the whole key is shown once, never recorded).
    Action(
        "create_reader_key",
        reader_keys.create_reader_key,
        reader_keys.CREATE_SCHEMA,
        response=ONLY,
    ),
    Action(
        "revoke_reader_key",
        reader_keys.revoke_reader_key,
        reader_keys.REVOKE_SCHEMA,
        response=OPTIONAL,
    ),
    Action(
        "list_reader_keys",
        reader_keys.list_reader_keys,
        reader_keys.LIST_SCHEMA,
        response=ONLY,
    ),
    # The online induction and the public pages (admin: the induction decides who may enter;
    # the pages speak for the library). Handlers in pages.py.
    *(
        Action(name, handler, pages.SCHEMAS[name], response=response)
        for name, handler, response in (
            ("publish_induction", pages.publish_induction, OPTIONAL),
            ("get_induction", pages.get_induction, ONLY),
            ("upload_induction_video", pages.upload_induction_video, OPTIONAL),
            ("set_public_info", pages.set_public_info, OPTIONAL),
            ("set_branch_page", pages.set_branch_page, OPTIONAL),
            ("upload_floor_plan", pages.upload_floor_plan, OPTIONAL),
            ("set_floor_plan_markers", pages.set_floor_plan_markers, OPTIONAL),
            ("remove_floor_plan", pages.remove_floor_plan, OPTIONAL),
        )
    ),
    # After an evacuation (admin: it re-opens the building to cards; see safety.py).
    Action("reset_evacuation", safety.reset_evacuation, probatio.Schema(BRANCH)),
    # Staff: alarms seen, the building checked empty (read-only users refused; see safety.py).
    Action(
        "acknowledge_alarm",
        safety.acknowledge_alarm,
        probatio.Schema(BRANCH),
        admin=False,
        response=OPTIONAL,
    ),
    Action(
        "building_empty",
        safety.building_empty,
        probatio.Schema(BRANCH),
        admin=False,
        response=OPTIONAL,
    ),
    # A decision at a door: any user (see the module's docstring).
    Action(
        "request_access",
        members.request_access,
        members.REQUEST_ACCESS_SCHEMA,
        admin=False,
        response=OPTIONAL,
    ),
)


def _answering(
    handler: Handler,
) -> Handler:
    """Return the handler answering only a caller that asked for the response."""

    async def handle(call: ServiceCall) -> ServiceResponse:
        result = await handler(call)
        return result if call.return_response else None

    return handle


@callback
def async_setup_services(hass: HomeAssistant) -> None:
    """Register every action of the integration (once, in async_setup)."""
    safety = [
        Action(a.name, a.handler, SAFETY_SCHEMAS[a.name], a.admin, a.response)
        for a in SAFETY_ACTIONS
    ]
    for action in (*ACTIONS, *safety):
        handler = _answering(action.handler)
        schema = redacting(action.schema)
        if action.admin:
            async_register_admin_service(
                hass,
                DOMAIN,
                action.name,
                handler,
                schema=schema,
                supports_response=action.response,
            )
        else:
            hass.services.async_register(
                DOMAIN,
                action.name,
                handler,
                schema=schema,
                supports_response=action.response,
            )
