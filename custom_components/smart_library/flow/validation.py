"""What the flows check before they save.

Host names, a controller that answers, an LMS that logs in, names nobody else uses, the opening
hours' text. Each check returns an error key of the forms (translated in en.json) or None; `form_errors` and
`sip2_errors` put a key on the field it is about.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import time
from ipaddress import ip_address
import re
from typing import Any

from homeassistant.const import (
    CONF_HOST,
    CONF_NAME,
    CONF_PASSWORD,
    CONF_PORT,
    CONF_USERNAME,
    CONF_VERIFY_SSL,
)
from homeassistant.core import HomeAssistant
from homeassistant.util import slugify

from ..access.library_system import (
    CONF_BIRTH_DATE_FIELD,
    CONF_CARD_CASE,
    CONF_CATEGORIES_ALLOWED,
    CONF_CATEGORIES_DENIED,
    CONF_CATEGORY_FIELD,
    CONF_DIALECT,
    CONF_ENCODING,
    CONF_EXPIRY_FIELD,
    CONF_INSTITUTION,
    CONF_LMS_TIMEOUT,
    CONF_LOCATION,
    CONF_OFFLINE_DAYS,
    CONF_REFUSING_FLAGS,
    CONF_REQUIRE_BIRTH_DATE,
    CONF_TLS,
    DEFAULT_SIP2_PORT,
    ENCODINGS,
    LMS_OPTIONS_DEFAULTS,
    async_try_lms,
    categories_text,
    lms_policy,
)
from ..building.coordinator import controller_for
from ..const import CONF_POINT_MAP, CONF_RELEASE_SECONDS, CONF_UNIT, DOMAIN, LOGGER
from ..engine.building.controller import ControllerError
from ..engine.building.pointmap import POINT_MAPS
from ..engine.building.schedule import (
    WEEKDAYS,
    Mode,
    Period,
    Schedule,
    ScheduleError,
    parse_periods,
    parse_time,
)
from .schemas import CONF_CLEARANCE, CONF_LATEST_SMART_END

# A host name label: letters, digits, hyphen (underscore tolerated), 1-63 long, no hyphen at an end.
_HOST_LABEL = re.compile(r"(?!-)[A-Za-z0-9_-]{1,63}(?<!-)")

_SIP2_TEXT = (CONF_USERNAME, CONF_INSTITUTION, CONF_LOCATION)
_SIP2_FIELD_ERRORS = {
    "invalid_host": CONF_HOST,
    "password_required": CONF_PASSWORD,
    "invalid_field_code": "base",
    "custom_needs_birth_date": CONF_BIRTH_DATE_FIELD,
}


def normal_host(host: str) -> str | None:
    """Return the host as it is stored, or None when it is no IP address or host name.

    An IP address (IPv6 with or without brackets), or a DNS name of at most 253 characters in
    labels of 1 to 63 letters, digits and hyphens (an international name is taken in its IDNA
    form). Spaces, NUL and other control characters never pass.
    """
    if not host or len(host) > 255:
        return None
    try:
        bracketed = host.startswith("[") and host.endswith("]")
        return str(ip_address(host[1:-1] if bracketed else host))
    except ValueError:
        pass
    if any(ch.isspace() or not ch.isprintable() for ch in host):
        return None
    try:
        ascii_host = host.encode("idna").decode("ascii")
    except UnicodeError:  # an empty or over-long label, a lone surrogate …
        return None
    name = ascii_host.removesuffix(".")
    if not name or len(name) > 253:
        return None
    if not all(_HOST_LABEL.fullmatch(label) for label in name.split(".")):
        return None
    return host


def branch_unique_id(data: Mapping[str, Any]) -> str:
    """Return a branch sub-entry's unique id: its first module's address."""
    return f"{data[CONF_HOST]}:{data[CONF_PORT]}:{data[CONF_UNIT]}"


async def probe(data: Mapping[str, Any], module: str | None = None) -> str | None:
    """Return "cannot_connect" unless the controller (or one of its modules) answers."""
    controller = controller_for(data)
    try:
        await controller.test_connection(module)
    except (ControllerError, OSError, ValueError) as err:
        LOGGER.debug("Cannot reach controller of %s: %s", data.get(CONF_NAME), err)
        return "cannot_connect"
    finally:
        await controller.close()
    return None


def form_errors(error: str) -> dict[str, str]:
    """Put an error on the field it is about (the whole form otherwise)."""
    field = {"invalid_host": CONF_HOST, "name_required": CONF_NAME}.get(error, "base")
    return {field: error}


def service_name_taken(hass: HomeAssistant, name: str) -> bool:
    """Return True when a library service of that name exists (case, spaces, punctuation aside).

    A library service has no identity in hardware: it is a membership store an administrator
    names. Its name is what tells two services apart, so two may not share one.
    """
    wanted = slugify(name)
    return any(
        wanted in (slugify(entry.title), slugify(str(entry.data.get(CONF_NAME, ""))))
        for entry in hass.config_entries.async_entries(DOMAIN, include_ignore=False)
    )


# -- a branch's controller -------------------------------------------------------------------------


def clean_branch(user_input: Mapping[str, Any]) -> dict[str, Any]:
    """Normalise a branch form: numbers to int, host stripped."""
    data = dict(user_input)
    data[CONF_NAME] = str(data[CONF_NAME]).strip()
    data[CONF_HOST] = str(data[CONF_HOST]).strip()
    for key in (CONF_PORT, CONF_UNIT, CONF_RELEASE_SECONDS):
        data[key] = int(data[key])
    return data


async def async_validate_branch(
    hass: HomeAssistant, data: dict[str, Any], ignore: str | None = None
) -> str | None:
    """Return an error key for a branch's first module, or None if it answers.

    The host is stored in its normal form (`data` is changed); `ignore` is the sub-entry being
    reconfigured, whose own address is no clash.
    """
    if not data[CONF_NAME]:
        return "name_required"
    if (host := normal_host(data[CONF_HOST])) is None:
        return "invalid_host"
    data[CONF_HOST] = host
    wanted = branch_unique_id(data)
    for entry in hass.config_entries.async_entries(DOMAIN):
        for subentry in entry.subentries.values():
            if subentry.subentry_id != ignore and subentry.unique_id == wanted:
                return "already_configured"
    return await probe(data, POINT_MAPS[data[CONF_POINT_MAP]].modules[0])


def schedule_from_form(
    user_input: Mapping[str, Any],
) -> tuple[Schedule | None, dict[str, str]]:
    """Return the weekly plan of the hours form, or the errors found, each on its own field.

    A day whose fields are empty or left out is closed. An error names the field it is in (a
    day's staffed or smart hours, the latest smart end, the clearance), so the form shows it
    beside that field; its sentence takes the form's placeholders ({latest}), never the text
    typed.
    """
    errors: dict[str, str] = {}
    fields: dict[str, list[Period]] = {}
    for day in WEEKDAYS:
        for mode in (Mode.STAFFED, Mode.SMART):
            key = f"{day}_{mode.value}"
            try:
                fields[key] = parse_periods(str(user_input.get(key) or ""), mode)
            except ScheduleError as err:
                errors[key] = f"schedule_{err.code}"
    latest: time | None = None
    try:
        latest = parse_time(user_input[CONF_LATEST_SMART_END])
    except ScheduleError as err:
        errors[CONF_LATEST_SMART_END] = f"schedule_{err.code}"
    clearance = int(user_input[CONF_CLEARANCE])
    if not 0 <= clearance <= 120:
        errors[CONF_CLEARANCE] = "schedule_invalid_clearance"
    for day in WEEKDAYS:
        periods = [
            (f"{day}_{p.mode.value}", p)
            for mode in (Mode.STAFFED, Mode.SMART)
            for p in fields.get(f"{day}_{mode.value}", [])
        ]
        for key, period in periods:
            if period.start >= period.end:
                errors.setdefault(key, "schedule_start_after_end")
            elif period.mode is Mode.SMART and latest and period.end > latest:
                errors.setdefault(key, "schedule_smart_ends_too_late")
        ordered = sorted(periods, key=lambda kp: kp[1].start)
        for (first, before), (second, after) in zip(ordered, ordered[1:], strict=False):
            if after.start < before.end:
                errors.setdefault(first, "schedule_overlapping_periods")
                errors.setdefault(second, "schedule_overlapping_periods")
    if errors or latest is None:
        return None, errors
    try:
        return Schedule(
            week=tuple(
                tuple(fields[f"{day}_staffed"] + fields[f"{day}_smart"])
                for day in WEEKDAYS
            ),
            latest_smart_end=latest,
            clearance_minutes=clearance,
        ), {}
    except ScheduleError as err:  # a rule the checks above do not know yet
        return None, {"base": f"schedule_{err.code}"}


# -- the library's system (SIP2) as the membership backend ---------------------------------------


async def async_try_sip2(
    user_input: Mapping[str, Any],
) -> tuple[dict[str, Any], str | None]:
    """Normalise the LMS connection form and try it (log-in + status); return it and an error."""
    data: dict[str, Any] = {
        CONF_HOST: str(user_input.get(CONF_HOST, "")).strip(),
        CONF_PORT: int(user_input.get(CONF_PORT, DEFAULT_SIP2_PORT)),
        CONF_TLS: bool(user_input.get(CONF_TLS, False)),
        CONF_VERIFY_SSL: bool(user_input.get(CONF_VERIFY_SSL, True)),
        CONF_PASSWORD: str(user_input.get(CONF_PASSWORD) or ""),
        CONF_ENCODING: str(user_input.get(CONF_ENCODING, ENCODINGS[0])),
    }
    for key in _SIP2_TEXT:
        data[key] = str(user_input.get(key) or "").strip()
    host = normal_host(data[CONF_HOST])
    if host is None:
        return data, "invalid_host"
    data[CONF_HOST] = host
    if data[CONF_USERNAME] and not data[CONF_PASSWORD]:
        return data, "password_required"
    return data, await async_try_lms(data)


def policy_options(user_input: Mapping[str, Any]) -> tuple[dict[str, Any], str | None]:
    """Normalise the policy form; return the options and an error key (or None)."""
    options: dict[str, Any] = {
        CONF_DIALECT: str(
            user_input.get(CONF_DIALECT, LMS_OPTIONS_DEFAULTS[CONF_DIALECT])
        ),
        CONF_REFUSING_FLAGS: sorted(
            {str(int(n)) for n in user_input.get(CONF_REFUSING_FLAGS, [])}, key=int
        ),
        CONF_CATEGORIES_ALLOWED: categories_text(
            user_input.get(CONF_CATEGORIES_ALLOWED)
        ),
        CONF_CATEGORIES_DENIED: categories_text(user_input.get(CONF_CATEGORIES_DENIED)),
        CONF_REQUIRE_BIRTH_DATE: bool(user_input.get(CONF_REQUIRE_BIRTH_DATE, True)),
        CONF_OFFLINE_DAYS: int(
            user_input.get(CONF_OFFLINE_DAYS, LMS_OPTIONS_DEFAULTS[CONF_OFFLINE_DAYS])
        ),
        CONF_CARD_CASE: str(
            user_input.get(CONF_CARD_CASE) or LMS_OPTIONS_DEFAULTS[CONF_CARD_CASE]
        ),
        CONF_LMS_TIMEOUT: float(user_input.get(CONF_LMS_TIMEOUT, 2.0)),
    }
    for key in (CONF_EXPIRY_FIELD, CONF_BIRTH_DATE_FIELD, CONF_CATEGORY_FIELD):
        options[key] = str(user_input.get(key) or "").strip().upper()
    try:
        policy = lms_policy(options)
    except ValueError:
        return options, "invalid_field_code"
    if policy.require_birth_date and policy.dialect.birth_date is None:
        return options, "custom_needs_birth_date"
    return options, None


def sip2_errors(error: str) -> dict[str, str]:
    """Put an LMS form's error on the field it is about (the whole form otherwise)."""
    return {_SIP2_FIELD_ERRORS.get(error, "base"): error}
