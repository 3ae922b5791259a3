"""Actions: thin handlers that validate, call the engine and translate its errors."""

from __future__ import annotations

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
from homeassistant.util import dt as dt_util
import probatio

from .const import DOMAIN
from .engine.schedule import DayException, Event, Mode, ScheduleError, parse_periods
from .hours import BranchHours, schedule_error
from .member_services import async_setup_member_services
from .models import branch_for_device

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

SCHEMAS: dict[str, probatio.Schema] = {
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


async def _add_exception(hours: BranchHours, call: ServiceCall) -> ServiceResponse:
    """Close a date (no hours given) or give it other staffed/smart hours."""
    try:
        periods = parse_periods(call.data[ATTR_STAFFED], Mode.STAFFED)
        periods += parse_periods(call.data[ATTR_SMART], Mode.SMART)
    except ScheduleError as err:
        raise schedule_error(err) from err
    exception = DayException(
        call.data[ATTR_DATE], tuple(periods), call.data[ATTR_LABEL]
    )
    await hours.async_set_schedule(hours.change(lambda s: s.with_exception(exception)))
    return None


async def _remove_exception(hours: BranchHours, call: ServiceCall) -> ServiceResponse:
    await hours.async_set_schedule(
        hours.change(lambda s: s.without_exception(call.data[ATTR_DATE]))
    )
    return None


async def _add_event(hours: BranchHours, call: ServiceCall) -> ServiceResponse:
    event = Event(
        uuid.uuid4().hex[:12],
        call.data[ATTR_TITLE],
        _local(call.data[ATTR_START]),
        _local(call.data[ATTR_END]),
    )
    await hours.async_set_schedule(hours.change(lambda s: s.with_event(event)))
    return {"event_id": event.id}


async def _remove_event(hours: BranchHours, call: ServiceCall) -> ServiceResponse:
    await hours.async_set_schedule(
        hours.change(lambda s: s.without_event(call.data[ATTR_EVENT_ID]))
    )
    return None


async def _extend_today(hours: BranchHours, call: ServiceCall) -> ServiceResponse:
    until: time = call.data[ATTR_UNTIL]
    today = dt_util.now().date()
    await hours.async_set_schedule(hours.change(lambda s: s.extend_day(today, until)))
    return None


async def _close_early(hours: BranchHours, call: ServiceCall) -> ServiceResponse:
    at: time = call.data[ATTR_AT]
    today = dt_util.now().date()
    await hours.async_set_schedule(hours.change(lambda s: s.close_early(today, at)))
    return None


HANDLERS = {
    "add_exception": _add_exception,
    "remove_exception": _remove_exception,
    "add_event": _add_event,
    "remove_event": _remove_event,
    "extend_today": _extend_today,
    "close_early": _close_early,
}
RESPONDS = {"add_event": SupportsResponse.OPTIONAL}


@callback
def async_setup_services(hass: HomeAssistant) -> None:
    """Register the integration's actions (once, in async_setup)."""
    for name, handler in HANDLERS.items():

        async def handle(call: ServiceCall, handler: Any = handler) -> ServiceResponse:
            hours = branch_for_device(call.hass, call.data[ATTR_BRANCH]).hours
            result: ServiceResponse = await handler(hours, call)
            return result if call.return_response else None

        hass.services.async_register(
            DOMAIN,
            name,
            handle,
            schema=SCHEMAS[name],
            supports_response=RESPONDS.get(name, SupportsResponse.NONE),
        )
    async_setup_member_services(hass)
