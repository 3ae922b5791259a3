"""Config flow: a library service, then one sub-entry per branch building."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from ipaddress import ip_address
import re
from types import MappingProxyType
from typing import Any, override

from homeassistant.config_entries import (
    SOURCE_RECONFIGURE,
    ConfigEntry,
    ConfigEntryState,
    ConfigFlow,
    ConfigFlowResult,
    ConfigSubentry,
    ConfigSubentryFlow,
    OptionsFlow,
    SubentryFlowResult,
)
from homeassistant.const import (
    CONF_HOST,
    CONF_NAME,
    CONF_PASSWORD,
    CONF_PORT,
    CONF_USERNAME,
    CONF_VERIFY_SSL,
)
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.selector import (
    BooleanSelector,
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectOptionDict,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
    TimeSelector,
)
from homeassistant.helpers.service_info.zeroconf import ZeroconfServiceInfo
from homeassistant.util import slugify
import probatio

from .access.library_system import (
    BACKEND_SIP2,
    CONF_BIRTH_DATE_FIELD,
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
    DIALECTS,
    ENCODINGS,
    LMS_OPTIONS_DEFAULTS,
    async_try_lms,
    categories_text,
    is_sip2,
    lms_policy,
)
from .building.coordinator import controller_for
from .const import (
    BACKEND_LOCAL,
    CONF_BACKEND,
    CONF_CONTROLLER_ID,
    CONF_EMPTY_AFTER_HOURS,
    CONF_LOCKOUT_ATTEMPTS,
    CONF_LOCKOUT_MINUTES,
    CONF_LOCKOUT_WINDOW,
    CONF_MODULES,
    CONF_POINT_MAP,
    CONF_READER_REFUSALS,
    CONF_READER_THROTTLE_MINUTES,
    CONF_RELEASE_SECONDS,
    CONF_ROOM_GRACE,
    CONF_SCHEDULE,
    CONF_STAFFED_FREE_ENTRY,
    CONF_UNIT,
    DEFAULT_LOCKOUT_ATTEMPTS,
    DEFAULT_LOCKOUT_MINUTES,
    DEFAULT_LOCKOUT_WINDOW,
    DEFAULT_POINT_MAP,
    DEFAULT_PORT,
    DEFAULT_READER_REFUSALS,
    DEFAULT_READER_THROTTLE_MINUTES,
    DEFAULT_RELEASE_SECONDS,
    DEFAULT_ROOM_GRACE,
    DEFAULT_UNIT,
    DOMAIN,
    LOGGER,
    SUBENTRY_BRANCH,
)
from .engine.building.controller import ControllerError
from .engine.building.pointmap import POINT_MAPS
from .engine.building.schedule import (
    WEEKDAYS,
    Mode,
    Schedule,
    ScheduleError,
    example_schedule,
    format_periods,
    format_time,
    parse_periods,
    parse_time,
)
from .flow.safety_options import (
    BRANCH_KEYS,
    branch_safety_data,
    branch_safety_schema,
    service_safety_options,
    service_safety_schema,
)

CONF_SERVICE = "service"
# The longest a closed, locked, still branch may wait before it counts nobody inside (a week).
MAX_EMPTY_AFTER_HOURS = 168
CONF_LATEST_SMART_END = "latest_smart_end"
CONF_CLEARANCE = "clearance_minutes"

# A host name label: letters, digits, hyphen (underscore tolerated), 1-63 long, no hyphen at an end.
_HOST_LABEL = re.compile(r"(?!-)[A-Za-z0-9_-]{1,63}(?<!-)")
# What a controller may call itself in its advertisement.
_CONTROLLER_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")
_ADVERT_NAME_MAX = 64

ISSUE_CONTROLLER_MOVED = "controller_moved"


def _number(minimum: int, maximum: int) -> NumberSelector:
    return NumberSelector(
        NumberSelectorConfig(
            min=minimum, max=maximum, step=1, mode=NumberSelectorMode.BOX
        )
    )


def _branch_schema(defaults: dict[str, Any]) -> probatio.Schema:
    """Return the form for a branch's controller."""
    return probatio.Schema(
        {
            probatio.Required(
                CONF_NAME, default=defaults.get(CONF_NAME, "")
            ): TextSelector(),
            probatio.Required(
                CONF_HOST, default=defaults.get(CONF_HOST, "")
            ): TextSelector(),
            probatio.Required(
                CONF_PORT, default=defaults.get(CONF_PORT, DEFAULT_PORT)
            ): _number(1, 65535),
            probatio.Required(
                CONF_UNIT, default=defaults.get(CONF_UNIT, DEFAULT_UNIT)
            ): _number(0, 247),
            probatio.Required(
                CONF_POINT_MAP, default=defaults.get(CONF_POINT_MAP, DEFAULT_POINT_MAP)
            ): SelectSelector(
                SelectSelectorConfig(
                    options=list(POINT_MAPS),
                    translation_key=CONF_POINT_MAP,
                    mode=SelectSelectorMode.DROPDOWN,
                )
            ),
            probatio.Required(
                CONF_RELEASE_SECONDS,
                default=defaults.get(CONF_RELEASE_SECONDS, DEFAULT_RELEASE_SECONDS),
            ): _number(1, 30),
        }
    )


def _clean(user_input: dict[str, Any]) -> dict[str, Any]:
    """Normalise a branch form: numbers to int, host stripped."""
    data = dict(user_input)
    data[CONF_NAME] = str(data[CONF_NAME]).strip()
    data[CONF_HOST] = str(data[CONF_HOST]).strip()
    for key in (CONF_PORT, CONF_UNIT, CONF_RELEASE_SECONDS):
        data[key] = int(data[key])
    return data


def branch_unique_id(data: dict[str, Any]) -> str:
    """Return a branch sub-entry's unique id: its first module's address."""
    return f"{data[CONF_HOST]}:{data[CONF_PORT]}:{data[CONF_UNIT]}"


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


async def probe(data: dict[str, Any], module: str | None = None) -> str | None:
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


def _form_errors(error: str) -> dict[str, str]:
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


def moved_issue_id(subentry_id: str) -> str:
    """Return the repair issue id for a branch whose controller answers elsewhere."""
    return f"{ISSUE_CONTROLLER_MOVED}_{subentry_id}"


@callback
def async_delete_moved_issue(hass: HomeAssistant, subentry_id: str) -> None:
    """Forget a pending "controller at a new address" question for a branch."""
    ir.async_delete_issue(hass, DOMAIN, moved_issue_id(subentry_id))


@callback
def async_report_moved_controller(
    hass: HomeAssistant,
    entry: ConfigEntry,
    subentry: ConfigSubentry,
    *,
    controller_id: str,
    host: str,
    port: int,
) -> None:
    """Ask an administrator whether a branch may follow its controller to a new address.

    An advertisement proves nothing (anyone on the network can send one), so the branch stays
    where it is until an administrator accepts the repair issue. One info line per new address.
    """
    issue_id = moved_issue_id(subentry.subentry_id)
    known = ir.async_get(hass).async_get_issue(DOMAIN, issue_id)
    if (
        known is None
        or known.data is None
        or (known.data.get(CONF_HOST), known.data.get(CONF_PORT)) != (host, port)
    ):
        LOGGER.info(
            "Controller %s of branch %s is advertised at %s:%s (configured at %s:%s); "
            "the branch stays until an administrator accepts the move under Repairs",
            controller_id,
            subentry.title,
            host,
            port,
            subentry.data[CONF_HOST],
            subentry.data[CONF_PORT],
        )
    ir.async_create_issue(
        hass,
        DOMAIN,
        issue_id,
        is_fixable=True,
        severity=ir.IssueSeverity.WARNING,
        translation_key=ISSUE_CONTROLLER_MOVED,
        translation_placeholders={
            "controller": controller_id,
            "branch": subentry.title,
            "host": f"{host}:{port}",
            "old": f"{subentry.data[CONF_HOST]}:{subentry.data[CONF_PORT]}",
        },
        data={
            "entry_id": entry.entry_id,
            "subentry_id": subentry.subentry_id,
            CONF_CONTROLLER_ID: controller_id,
            CONF_HOST: host,
            CONF_PORT: port,
        },
    )


@callback
def async_prune_moved_issues(
    hass: HomeAssistant, entry_id: str, keep: Iterable[str] = ()
) -> None:
    """Drop "controller at a new address" questions of a service's branches not in `keep`.

    Meant for set-up, with the service's current branches (one may have been removed meanwhile),
    and for the service's removal, with none.
    """
    registry = ir.async_get(hass)
    kept = set(keep)
    for (domain, issue_id), issue in list(registry.issues.items()):
        if (
            domain == DOMAIN
            and issue_id.startswith(f"{ISSUE_CONTROLLER_MOVED}_")
            and issue.data is not None
            and issue.data.get("entry_id") == entry_id
            and issue.data.get("subentry_id") not in kept
        ):
            ir.async_delete_issue(hass, DOMAIN, issue_id)


def _advert_text(value: Any) -> str | None:
    """Return a property of an advertisement as text, or None when absent."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeError("not text")
    return value.strip()


def parse_advertisement(discovery_info: ZeroconfServiceInfo) -> dict[str, Any]:
    """Read a controller's advertisement; raise ValueError or TypeError when malformed."""
    props = discovery_info.properties
    controller_id = _advert_text(props.get("id")) or ""
    if controller_id and not _CONTROLLER_ID.fullmatch(controller_id):
        raise ValueError("id")
    unit_text = _advert_text(props.get("unit")) or str(DEFAULT_UNIT)
    if not unit_text.isascii() or not unit_text.isdigit() or int(unit_text) > 247:
        raise ValueError("unit")
    port = DEFAULT_PORT if discovery_info.port is None else discovery_info.port
    if not 1 <= port <= 65535:
        raise ValueError("port")
    point_map = _advert_text(props.get("map")) or DEFAULT_POINT_MAP
    name = _advert_text(props.get("branch")) or discovery_info.name.split(".")[0]
    name = "".join(ch for ch in name if ch.isprintable())[:_ADVERT_NAME_MAX].strip()
    return {
        CONF_CONTROLLER_ID: controller_id,
        CONF_NAME: name or controller_id,
        CONF_HOST: str(discovery_info.ip_address),
        CONF_PORT: port,
        CONF_UNIT: int(unit_text),
        CONF_POINT_MAP: point_map,
    }


async def _validate_branch(
    hass: HomeAssistant, data: dict[str, Any], ignore: str | None = None
) -> str | None:
    """Return an error key for a branch's first module, or None if it answers."""
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


# -- the library's system (SIP2) as the membership backend ---------------------------------------

_SIP2_TEXT = (CONF_USERNAME, CONF_INSTITUTION, CONF_LOCATION)
_SIP2_FIELD_ERRORS = {
    "invalid_host": CONF_HOST,
    "password_required": CONF_PASSWORD,
    "invalid_field_code": "base",
    "custom_needs_birth_date": CONF_BIRTH_DATE_FIELD,
}


def _sip2_schema(
    defaults: dict[str, Any], *, password_optional: bool = False
) -> probatio.Schema:
    """Return the form for the LMS connection. The password is never given back to a form."""

    def suggested(key: str) -> dict[str, Any]:
        return {"suggested_value": defaults.get(key, "")}

    return probatio.Schema(
        {
            probatio.Required(
                CONF_HOST, default=defaults.get(CONF_HOST, "")
            ): TextSelector(),
            probatio.Required(
                CONF_PORT, default=defaults.get(CONF_PORT, DEFAULT_SIP2_PORT)
            ): _number(1, 65535),
            probatio.Required(
                CONF_TLS, default=defaults.get(CONF_TLS, False)
            ): BooleanSelector(),
            probatio.Required(
                CONF_VERIFY_SSL, default=defaults.get(CONF_VERIFY_SSL, True)
            ): BooleanSelector(),
            probatio.Optional(
                CONF_USERNAME, description=suggested(CONF_USERNAME)
            ): TextSelector(),
            (
                probatio.Optional(CONF_PASSWORD)
                if password_optional
                else probatio.Required(CONF_PASSWORD)
            ): TextSelector(TextSelectorConfig(type=TextSelectorType.PASSWORD)),
            probatio.Optional(
                CONF_INSTITUTION, description=suggested(CONF_INSTITUTION)
            ): TextSelector(),
            probatio.Optional(
                CONF_LOCATION, description=suggested(CONF_LOCATION)
            ): TextSelector(),
            probatio.Required(
                CONF_ENCODING, default=defaults.get(CONF_ENCODING, ENCODINGS[0])
            ): SelectSelector(
                SelectSelectorConfig(
                    options=list(ENCODINGS), translation_key=CONF_ENCODING
                )
            ),
        }
    )


async def _try_sip2(user_input: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
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


def _policy_schema(defaults: dict[str, Any]) -> probatio.Schema:
    """Return the form for how the LMS's answers are read, and the offline cache."""

    def suggested(key: str) -> dict[str, Any]:
        return {"suggested_value": defaults.get(key, "")}

    return probatio.Schema(
        {
            probatio.Required(
                CONF_DIALECT, default=defaults[CONF_DIALECT]
            ): SelectSelector(
                SelectSelectorConfig(
                    options=list(DIALECTS),
                    translation_key=CONF_DIALECT,
                    mode=SelectSelectorMode.DROPDOWN,
                )
            ),
            probatio.Optional(
                CONF_EXPIRY_FIELD, description=suggested(CONF_EXPIRY_FIELD)
            ): TextSelector(),
            probatio.Optional(
                CONF_BIRTH_DATE_FIELD, description=suggested(CONF_BIRTH_DATE_FIELD)
            ): TextSelector(),
            probatio.Optional(
                CONF_CATEGORY_FIELD, description=suggested(CONF_CATEGORY_FIELD)
            ): TextSelector(),
            probatio.Required(
                CONF_REFUSING_FLAGS, default=list(defaults[CONF_REFUSING_FLAGS])
            ): SelectSelector(
                SelectSelectorConfig(
                    options=[str(n) for n in range(14)],
                    multiple=True,
                    translation_key=CONF_REFUSING_FLAGS,
                    mode=SelectSelectorMode.LIST,
                )
            ),
            probatio.Optional(
                CONF_CATEGORIES_ALLOWED, description=suggested(CONF_CATEGORIES_ALLOWED)
            ): TextSelector(),
            probatio.Optional(
                CONF_CATEGORIES_DENIED, description=suggested(CONF_CATEGORIES_DENIED)
            ): TextSelector(),
            probatio.Required(
                CONF_REQUIRE_BIRTH_DATE, default=defaults[CONF_REQUIRE_BIRTH_DATE]
            ): BooleanSelector(),
            probatio.Required(
                CONF_OFFLINE_DAYS, default=defaults[CONF_OFFLINE_DAYS]
            ): _number(0, 30),
            probatio.Required(
                CONF_LMS_TIMEOUT, default=defaults[CONF_LMS_TIMEOUT]
            ): NumberSelector(
                NumberSelectorConfig(
                    min=0.5,
                    max=10,
                    step=0.5,
                    mode=NumberSelectorMode.BOX,
                    unit_of_measurement="s",
                )
            ),
        }
    )


def _policy_options(user_input: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
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
        CONF_OFFLINE_DAYS: int(user_input.get(CONF_OFFLINE_DAYS, 7)),
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


def _sip2_errors(error: str) -> dict[str, str]:
    """Put an LMS form's error on the field it is about (the whole form otherwise)."""
    return {_SIP2_FIELD_ERRORS.get(error, "base"): error}


class SmartLibraryConfigFlow(ConfigFlow, domain=DOMAIN):
    """Set up a library service; discovered controllers become its branches."""

    VERSION = 1

    _discovered: dict[str, Any]
    _name: str
    _sip2: dict[str, Any]

    @classmethod
    @callback
    @override
    def async_get_supported_subentry_types(
        cls, config_entry: ConfigEntry
    ) -> dict[str, type[ConfigSubentryFlow]]:
        """Return the sub-entry types: branches."""
        return {SUBENTRY_BRANCH: BranchSubentryFlow}

    @staticmethod
    @callback
    def async_get_options_flow(config_entry: ConfigEntry) -> ServiceOptionsFlow:
        """Return the service's options flow: lock-out and meeting-room settings."""
        return ServiceOptionsFlow()

    @override
    async def async_step_user(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Create the library service (the membership backend lives here).

        A service has no identity of its own to take a unique id from (see
        `service_name_taken`): a second service may not take an existing one's name.
        """
        errors: dict[str, str] = {}
        if user_input is not None:
            name = str(user_input[CONF_NAME]).strip()
            if not slugify(name):
                errors[CONF_NAME] = "name_required"
            elif service_name_taken(self.hass, name):
                errors[CONF_NAME] = "service_name_taken"
            elif user_input.get(CONF_BACKEND) == BACKEND_SIP2:
                self._name = name
                return await self.async_step_sip2()
            else:
                return self.async_create_entry(
                    title=name, data={CONF_NAME: name, CONF_BACKEND: BACKEND_LOCAL}
                )
        return self.async_show_form(
            step_id="user",
            data_schema=probatio.Schema(
                {
                    probatio.Required(CONF_NAME): TextSelector(),
                    probatio.Required(
                        CONF_BACKEND, default=BACKEND_LOCAL
                    ): SelectSelector(
                        SelectSelectorConfig(
                            options=[BACKEND_LOCAL, BACKEND_SIP2],
                            translation_key=CONF_BACKEND,
                        )
                    ),
                }
            ),
            errors=errors,
        )

    async def async_step_sip2(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Connect the service to its library management system; the LMS is tried first."""
        errors: dict[str, str] = {}
        defaults: dict[str, Any] = {}
        if user_input is not None:
            data, error = await _try_sip2(user_input)
            if error is None:
                self._sip2 = data
                return await self.async_step_sip2_policy()
            errors, defaults = _sip2_errors(error), data
        return self.async_show_form(
            step_id="sip2", data_schema=_sip2_schema(defaults), errors=errors
        )

    async def async_step_sip2_policy(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Say how the LMS's answers are read (dialect, refusing flags, categories, cache)."""
        errors: dict[str, str] = {}
        defaults = dict(LMS_OPTIONS_DEFAULTS)
        if user_input is not None:
            options, error = _policy_options(user_input)
            if error is None:
                return self.async_create_entry(
                    title=self._name,
                    data={CONF_NAME: self._name, CONF_BACKEND: BACKEND_SIP2}
                    | self._sip2,
                    options=options,
                )
            errors, defaults = _sip2_errors(error), defaults | options
        return self.async_show_form(
            step_id="sip2_policy", data_schema=_policy_schema(defaults), errors=errors
        )

    async def async_step_reauth(
        self, entry_data: Mapping[str, Any]
    ) -> ConfigFlowResult:
        """Ask for the SIP account again: the LMS refused the service's login."""
        return await self.async_step_reauth_confirm()

    async def async_step_reauth_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Take the SIP login and password, try them, save them and restart the service."""
        entry = self._get_reauth_entry()
        errors: dict[str, str] = {}
        if user_input is not None:
            data = dict(entry.data) | {
                CONF_USERNAME: str(user_input.get(CONF_USERNAME) or "").strip(),
                CONF_PASSWORD: str(user_input.get(CONF_PASSWORD) or ""),
            }
            if data[CONF_USERNAME] and not data[CONF_PASSWORD]:
                error: str | None = "password_required"
            else:
                error = await async_try_lms(data)
            if error is None:
                return self._update_and_restart(entry, data)
            errors = _sip2_errors(error)
        return self.async_show_form(
            step_id="reauth_confirm",
            data_schema=probatio.Schema(
                {
                    probatio.Optional(
                        CONF_USERNAME,
                        description={
                            "suggested_value": entry.data.get(CONF_USERNAME, "")
                        },
                    ): TextSelector(),
                    probatio.Required(CONF_PASSWORD): TextSelector(
                        TextSelectorConfig(type=TextSelectorType.PASSWORD)
                    ),
                }
            ),
            description_placeholders={
                "host": f"{entry.data.get(CONF_HOST)}:{entry.data.get(CONF_PORT)}"
            },
            errors=errors,
        )

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Choose the service's membership backend: its LMS over SIP2, or the local store."""
        return self.async_show_menu(
            step_id="reconfigure",
            menu_options=["reconfigure_sip2", "reconfigure_local"],
        )

    async def async_step_reconfigure_sip2(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change the LMS connection (tried first); an empty password keeps the saved one."""
        entry = self._get_reconfigure_entry()
        current = dict(entry.data) if is_sip2(entry) else {}
        errors: dict[str, str] = {}
        defaults = current
        if user_input is not None:
            form = dict(user_input)
            if not form.get(CONF_PASSWORD) and current.get(CONF_PASSWORD):
                form[CONF_PASSWORD] = current[CONF_PASSWORD]
            data, error = await _try_sip2(form)
            if error is None:
                name = entry.data.get(CONF_NAME, entry.title)
                options = dict(LMS_OPTIONS_DEFAULTS) | dict(entry.options)
                return self._update_and_restart(
                    entry,
                    {CONF_NAME: name, CONF_BACKEND: BACKEND_SIP2} | data,
                    options,
                )
            errors, defaults = _sip2_errors(error), data
        return self.async_show_form(
            step_id="reconfigure_sip2",
            data_schema=_sip2_schema(
                defaults, password_optional=bool(current.get(CONF_PASSWORD))
            ),
            errors=errors,
        )

    async def async_step_reconfigure_local(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Decide with the local membership store (the LMS's settings are forgotten)."""
        entry = self._get_reconfigure_entry()
        name = entry.data.get(CONF_NAME, entry.title)
        options = {
            k: v for k, v in entry.options.items() if k not in LMS_OPTIONS_DEFAULTS
        }
        return self._update_and_restart(
            entry, {CONF_NAME: name, CONF_BACKEND: BACKEND_LOCAL}, options
        )

    def _update_and_restart(
        self,
        entry: ConfigEntry,
        data: dict[str, Any],
        options: dict[str, Any] | None = None,
    ) -> ConfigFlowResult:
        """Save the entry and restart the service with it.

        The service's update listener reloads it when something changed; when nothing did
        (the LMS's account was put right at the LMS), or the service is not loaded, the reload
        is asked for here.
        """
        new_options = dict(entry.options) if options is None else options
        changed = data != dict(entry.data) or new_options != dict(entry.options)
        result = self.async_update_and_abort(entry, data=data, options=new_options)
        if not changed or entry.state is not ConfigEntryState.LOADED:
            self.hass.config_entries.async_schedule_reload(entry.entry_id)
        return result

    @override
    async def async_step_zeroconf(
        self, discovery_info: ZeroconfServiceInfo
    ) -> ConfigFlowResult:
        """Handle a branch controller advertising itself on the network.

        An advertisement is a claim anyone on the network can make: it may offer a new branch
        (which an administrator confirms) but never changes a configured one by itself.
        """
        try:
            advert = parse_advertisement(discovery_info)
        except (ValueError, TypeError) as err:
            LOGGER.debug(
                "Ignoring a Smart Library advertisement from %s: malformed %s",
                discovery_info.ip_address,
                err,
            )
            return self.async_abort(reason="invalid_advertisement")
        controller_id = advert[CONF_CONTROLLER_ID]
        if not controller_id:
            LOGGER.debug(
                "Ignoring an advertisement from %s: no controller id",
                discovery_info.ip_address,
            )
            return self.async_abort(reason="not_smart_library")
        host, port = advert[CONF_HOST], advert[CONF_PORT]
        address_id = branch_unique_id(advert)
        for entry in self.hass.config_entries.async_entries(DOMAIN):
            for subentry in entry.subentries.values():
                known_id = subentry.data.get(CONF_CONTROLLER_ID)
                if known_id == controller_id:
                    # A controller we know: a new address is a question for an admin.
                    if (subentry.data[CONF_HOST], subentry.data[CONF_PORT]) != (
                        host,
                        port,
                    ):
                        async_report_moved_controller(
                            self.hass,
                            entry,
                            subentry,
                            controller_id=controller_id,
                            host=host,
                            port=port,
                        )
                    else:
                        async_delete_moved_issue(self.hass, subentry.subentry_id)
                    return self.async_abort(reason="already_configured")
                if known_id is None and subentry.unique_id == address_id:
                    # Added by hand at this very address: learn its id, so that a later
                    # advertisement from elsewhere is asked about rather than taken as new.
                    self.hass.config_entries.async_update_subentry(
                        entry,
                        subentry,
                        data=dict(subentry.data) | {CONF_CONTROLLER_ID: controller_id},
                    )
                    return self.async_abort(reason="already_configured")
        await self.async_set_unique_id(f"controller_{controller_id}")
        self._abort_if_unique_id_configured()  # an administrator chose to ignore it
        self._discovered = {
            CONF_NAME: advert[CONF_NAME],
            CONF_HOST: host,
            CONF_PORT: port,
            CONF_UNIT: advert[CONF_UNIT],
            CONF_POINT_MAP: advert[CONF_POINT_MAP],
            CONF_RELEASE_SECONDS: DEFAULT_RELEASE_SECONDS,
            CONF_CONTROLLER_ID: controller_id,
        }
        # Only a controller that carries the whole map on itself can be set up from its advertisement.
        point_map = POINT_MAPS.get(self._discovered[CONF_POINT_MAP])
        if point_map is None or len(point_map.modules) > 1:
            LOGGER.debug(
                "Not offering controller %s at %s: its map is unknown or spans several modules",
                controller_id,
                host,
            )
            return self.async_abort(reason="unknown_point_map")
        self.context["title_placeholders"] = {
            "name": self._discovered[CONF_NAME],
            "host": host,
        }
        return await self.async_step_zeroconf_confirm()

    async def async_step_zeroconf_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Offer the discovered controller as a branch of a library service."""
        # Services only: a controller an administrator chose to ignore is an entry too.
        entries = self.hass.config_entries.async_entries(DOMAIN, include_ignore=False)
        errors: dict[str, str] = {}
        if user_input is not None:
            data = _clean(self._discovered | {CONF_NAME: user_input[CONF_NAME]})
            error = await _validate_branch(self.hass, data)
            if error == "already_configured":
                return self.async_abort(reason="already_configured")
            if error:
                errors = _form_errors(error)
            else:
                data[CONF_SCHEDULE] = example_schedule().to_dict()
                title = data.pop(CONF_NAME)
                branch = {
                    "data": data,
                    "subentry_type": SUBENTRY_BRANCH,
                    "title": title,
                    "unique_id": branch_unique_id(data),
                }
                if entries:
                    entry = self.hass.config_entries.async_get_entry(
                        user_input[CONF_SERVICE]
                    )
                    if entry is None:
                        return self.async_abort(reason="service_not_found")
                    self.hass.config_entries.async_add_subentry(
                        entry,
                        ConfigSubentry(
                            data=MappingProxyType(data),
                            subentry_type=SUBENTRY_BRANCH,
                            title=title,
                            unique_id=branch["unique_id"],
                        ),
                    )
                    return self.async_abort(
                        reason="branch_added",
                        description_placeholders={
                            "name": title,
                            "service": entry.title,
                        },
                    )
                service = str(user_input.get(CONF_SERVICE, "")).strip()
                if not slugify(service):
                    errors[CONF_SERVICE] = "name_required"
                elif service_name_taken(self.hass, service):
                    errors[CONF_SERVICE] = "service_name_taken"
                else:
                    # The flow's id was the controller's; the service itself has none.
                    await self.async_set_unique_id(None)
                    return self.async_create_entry(
                        title=service,
                        data={CONF_NAME: service, CONF_BACKEND: BACKEND_LOCAL},
                        subentries=[branch],  # type: ignore[list-item]
                    )
        schema: dict[Any, Any] = {
            probatio.Required(
                CONF_NAME, default=self._discovered[CONF_NAME]
            ): TextSelector()
        }
        if entries:
            schema[probatio.Required(CONF_SERVICE, default=entries[0].entry_id)] = (
                SelectSelector(
                    SelectSelectorConfig(
                        options=[
                            SelectOptionDict(value=e.entry_id, label=e.title)
                            for e in entries
                        ]
                    )
                )
            )
        else:
            schema[probatio.Required(CONF_SERVICE)] = TextSelector()
        return self.async_show_form(
            step_id="zeroconf_confirm",
            data_schema=probatio.Schema(schema),
            description_placeholders={
                "name": self._discovered[CONF_NAME],
                "host": f"{self._discovered[CONF_HOST]}:{self._discovered[CONF_PORT]}",
            },
            errors=errors,
        )


ACCESS_OPTIONS = (
    (CONF_LOCKOUT_ATTEMPTS, DEFAULT_LOCKOUT_ATTEMPTS, 2, 20),
    (CONF_LOCKOUT_WINDOW, DEFAULT_LOCKOUT_WINDOW, 1, 1440),
    (CONF_LOCKOUT_MINUTES, DEFAULT_LOCKOUT_MINUTES, 1, 1440),
    (CONF_ROOM_GRACE, DEFAULT_ROOM_GRACE, 0, 120),
    (CONF_READER_REFUSALS, DEFAULT_READER_REFUSALS, 3, 200),
    (CONF_READER_THROTTLE_MINUTES, DEFAULT_READER_THROTTLE_MINUTES, 1, 1440),
)


class ServiceOptionsFlow(OptionsFlow):
    """Settings of the library service, in steps saved together at the end.

    Card + PIN access (lock-out after wrong PINs, room grace, reader throttling); for a service
    on its library system (SIP2), how the LMS's answers are read; then staff alerts and incidents
    (on-call and escalation phones, escalation minutes, incident retention, PA languages).
    Saving reloads the service (its update listener), so the doors use the new settings.
    """

    _options: dict[str, Any]

    async def async_step_init(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Card + PIN access; then the LMS's settings (a service on its LMS), then safety."""
        if user_input is not None:
            self._options = dict(self.config_entry.options) | {
                key: int(value) for key, value in user_input.items()
            }
            if is_sip2(self.config_entry):
                return await self.async_step_library_system()
            return await self.async_step_safety()
        options = self.config_entry.options
        return self.async_show_form(
            step_id="init",
            data_schema=probatio.Schema(
                {
                    probatio.Required(key, default=options.get(key, default)): _number(
                        low, high
                    )
                    for key, default, low, high in ACCESS_OPTIONS
                }
            ),
        )

    async def async_step_library_system(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """How the LMS's answers are read, and how long a grant lets a card in offline."""
        errors: dict[str, str] = {}
        defaults = dict(LMS_OPTIONS_DEFAULTS) | {
            k: v
            for k, v in self.config_entry.options.items()
            if k in LMS_OPTIONS_DEFAULTS
        }
        if user_input is not None:
            options, error = _policy_options(user_input)
            if error is None:
                self._options |= options
                return await self.async_step_safety()
            errors, defaults = _sip2_errors(error), defaults | options
        return self.async_show_form(
            step_id="library_system",
            data_schema=_policy_schema(defaults),
            errors=errors,
        )

    async def async_step_safety(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Staff alerts and incidents; save every step's settings."""
        if user_input is not None:
            return self.async_create_entry(
                data=self._options | service_safety_options(user_input)
            )
        return self.async_show_form(
            step_id="safety", data_schema=service_safety_schema(self._options)
        )


class BranchSubentryFlow(ConfigSubentryFlow):
    """Add or change a branch building: its controller's address and point map.

    A point map with several I/O modules asks for each further module's address in turn.
    """

    _data: dict[str, Any]
    _pending: list[str]

    def _module_schema(self, module: str) -> probatio.Schema:
        defaults = self._data.get(CONF_MODULES, {}).get(module, {})
        return probatio.Schema(
            {
                probatio.Required(
                    CONF_HOST, default=defaults.get(CONF_HOST, "")
                ): TextSelector(),
                probatio.Required(
                    CONF_PORT, default=defaults.get(CONF_PORT, DEFAULT_PORT)
                ): _number(1, 65535),
                probatio.Required(
                    CONF_UNIT, default=defaults.get(CONF_UNIT, DEFAULT_UNIT)
                ): _number(0, 247),
            }
        )

    async def async_step_user(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Add a branch."""
        return await self._async_step_branch("user", user_input, {}, None)

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Choose what to change: the controller connection, the opening hours or safety."""
        return self.async_show_menu(
            step_id="reconfigure", menu_options=["connection", "hours", "safety"]
        )

    async def async_step_connection(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Change a branch's controller address or settings."""
        subentry = self._get_reconfigure_subentry()
        defaults = dict(subentry.data) | {CONF_NAME: subentry.title}
        return await self._async_step_branch(
            "connection", user_input, defaults, subentry.subentry_id
        )

    async def async_step_hours(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Edit the weekly plan: staffed and smart periods per weekday, without YAML."""
        subentry = self._get_reconfigure_subentry()
        current = Schedule.from_dict(subentry.data.get(CONF_SCHEDULE) or {})
        errors: dict[str, str] = {}
        placeholders = {"detail": ""}
        doors = [d.id for d in POINT_MAPS[subentry.data[CONF_POINT_MAP]].doors]
        if user_input is not None:
            try:
                week = [
                    parse_periods(user_input.get(f"{day}_staffed", ""), Mode.STAFFED)
                    + parse_periods(user_input.get(f"{day}_smart", ""), Mode.SMART)
                    for day in WEEKDAYS
                ]
                schedule = Schedule(
                    week=tuple(tuple(day) for day in week),
                    latest_smart_end=parse_time(user_input[CONF_LATEST_SMART_END]),
                    clearance_minutes=int(user_input[CONF_CLEARANCE]),
                )
            except ScheduleError as err:
                errors["base"] = f"schedule_{err.code}"
                placeholders["detail"] = ", ".join(err.placeholders.values())
            else:
                data = dict(subentry.data) | {
                    CONF_SCHEDULE: schedule.to_dict(),
                    CONF_STAFFED_FREE_ENTRY: list(
                        user_input.get(CONF_STAFFED_FREE_ENTRY, [])
                    ),
                }
                return self.async_update_and_abort(
                    self._get_entry(), subentry, data=data
                )
        defaults: dict[str, Any] = {
            CONF_LATEST_SMART_END: format_time(current.latest_smart_end),
            CONF_CLEARANCE: current.clearance_minutes,
            CONF_STAFFED_FREE_ENTRY: subentry.data.get(
                CONF_STAFFED_FREE_ENTRY, doors[:1]
            ),
        }
        for n, day in enumerate(WEEKDAYS):
            defaults[f"{day}_staffed"] = format_periods(current.week[n], Mode.STAFFED)
            defaults[f"{day}_smart"] = format_periods(current.week[n], Mode.SMART)
        if user_input is not None:
            defaults |= user_input
        # Suggested, not default: a field the manager empties must close that day (a default
        # would quietly put the old hours back, as the frontend leaves an empty field out).
        fields: dict[Any, Any] = {}
        for day in WEEKDAYS:
            for mode in ("staffed", "smart"):
                key = f"{day}_{mode}"
                fields[
                    probatio.Optional(
                        key, description={"suggested_value": defaults.get(key, "")}
                    )
                ] = TextSelector()
        fields[
            probatio.Required(
                CONF_LATEST_SMART_END, default=defaults[CONF_LATEST_SMART_END]
            )
        ] = TimeSelector()
        fields[probatio.Required(CONF_CLEARANCE, default=defaults[CONF_CLEARANCE])] = (
            _number(0, 120)
        )
        fields[
            probatio.Optional(
                CONF_STAFFED_FREE_ENTRY,
                description={"suggested_value": defaults[CONF_STAFFED_FREE_ENTRY]},
            )
        ] = SelectSelector(SelectSelectorConfig(options=doors, multiple=True))
        return self.async_show_form(
            step_id="hours",
            data_schema=probatio.Schema(fields),
            errors=errors,
            description_placeholders=placeholders,
        )

    async def async_step_safety(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Set a branch's cameras, speakers and speech, and the empty-building rule."""
        subentry = self._get_reconfigure_subentry()
        if user_input is not None:
            data = dict(subentry.data) | branch_safety_data(user_input)
            data.pop(CONF_EMPTY_AFTER_HOURS, None)
            if (hours := user_input.get(CONF_EMPTY_AFTER_HOURS)) is not None:
                data[CONF_EMPTY_AFTER_HOURS] = int(hours)
            return self.async_update_and_abort(self._get_entry(), subentry, data=data)
        schema = branch_safety_schema(subentry.data)
        # Suggested, not default: emptied, the rule is off (no automatic reset).
        schema = schema.extend(
            {
                probatio.Optional(
                    CONF_EMPTY_AFTER_HOURS,
                    description={
                        "suggested_value": subentry.data.get(CONF_EMPTY_AFTER_HOURS)
                    },
                ): NumberSelector(
                    NumberSelectorConfig(
                        min=1,
                        max=MAX_EMPTY_AFTER_HOURS,
                        step=1,
                        mode=NumberSelectorMode.BOX,
                        unit_of_measurement="h",
                    )
                )
            }
        )
        return self.async_show_form(
            step_id="safety",
            data_schema=schema,
            description_placeholders={"branch": subentry.title},
        )

    async def _async_step_branch(
        self,
        step_id: str,
        user_input: dict[str, Any] | None,
        defaults: dict[str, Any],
        ignore: str | None,
    ) -> SubentryFlowResult:
        errors: dict[str, str] = {}
        if user_input is not None:
            data = _clean(user_input)
            defaults = data
            error = await _validate_branch(self.hass, data, ignore)
            if error == "already_configured" and ignore is None:
                return self.async_abort(reason="already_configured")
            if error:
                errors = _form_errors(error)
            else:
                previous = (
                    dict(self._get_reconfigure_subentry().data)
                    if ignore is not None
                    else {}
                )
                if previous.get(CONF_POINT_MAP) == data[CONF_POINT_MAP]:
                    if CONF_MODULES in previous:
                        data[CONF_MODULES] = previous[CONF_MODULES]
                # What other steps set stays (hours, free entry, safety).
                kept = (
                    CONF_CONTROLLER_ID,
                    CONF_SCHEDULE,
                    CONF_STAFFED_FREE_ENTRY,
                    CONF_EMPTY_AFTER_HOURS,
                    *BRANCH_KEYS,
                )
                for key in kept:
                    if key in previous:
                        data[key] = previous[key]
                self._data = data
                self._pending = list(POINT_MAPS[data[CONF_POINT_MAP]].modules[1:])
                return await self.async_step_module()
        return self.async_show_form(
            step_id=step_id, data_schema=_branch_schema(defaults), errors=errors
        )

    async def async_step_module(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Ask for the address of the map's next I/O module; save when none is left."""
        errors: dict[str, str] = {}
        if self._pending and user_input is not None:
            module = self._pending[0]
            host = normal_host(str(user_input[CONF_HOST]).strip())
            address: dict[str, Any] = {
                CONF_HOST: host,
                CONF_PORT: int(user_input[CONF_PORT]),
                CONF_UNIT: int(user_input[CONF_UNIT]),
            }
            modules = dict(self._data.get(CONF_MODULES, {})) | {module: address}
            candidate = self._data | {CONF_MODULES: modules}
            if host is None:
                errors = {CONF_HOST: "invalid_host"}
            elif error := await probe(candidate, module):
                errors = _form_errors(error)
            else:
                self._data = candidate
                self._pending.pop(0)
                user_input = None
        if self._pending:
            module = self._pending[0]
            return self.async_show_form(
                step_id="module",
                data_schema=self._module_schema(module),
                description_placeholders={
                    "module": module,
                    "map": POINT_MAPS[self._data[CONF_POINT_MAP]].description,
                },
                errors=errors,
            )
        data = dict(self._data)
        title = data.pop(CONF_NAME)
        data.setdefault(CONF_SCHEDULE, example_schedule().to_dict())
        if self.source == SOURCE_RECONFIGURE:
            # Pointed by hand: any pending "controller at a new address" question is answered.
            async_delete_moved_issue(
                self.hass, self._get_reconfigure_subentry().subentry_id
            )
            return self.async_update_and_abort(
                self._get_entry(),
                self._get_reconfigure_subentry(),
                title=title,
                data=data,
                unique_id=branch_unique_id(data),
            )
        return self.async_create_entry(
            title=title, data=data, unique_id=branch_unique_id(data)
        )
