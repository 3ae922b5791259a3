"""Config flow: a library service, then one sub-entry per branch building."""

from __future__ import annotations

from types import MappingProxyType
from typing import Any, override

from homeassistant.config_entries import (
    SOURCE_RECONFIGURE,
    ConfigEntry,
    ConfigFlow,
    ConfigFlowResult,
    ConfigSubentry,
    ConfigSubentryFlow,
    OptionsFlow,
    SubentryFlowResult,
)
from homeassistant.const import CONF_HOST, CONF_NAME, CONF_PORT
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.selector import (
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectOptionDict,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
    TimeSelector,
)
from homeassistant.helpers.service_info.zeroconf import ZeroconfServiceInfo
from homeassistant.util import slugify
import probatio

from .const import (
    BACKEND_LOCAL,
    CONF_BACKEND,
    CONF_CONTROLLER_ID,
    CONF_LOCKOUT_ATTEMPTS,
    CONF_LOCKOUT_MINUTES,
    CONF_LOCKOUT_WINDOW,
    CONF_MODULES,
    CONF_POINT_MAP,
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
    DEFAULT_RELEASE_SECONDS,
    DEFAULT_ROOM_GRACE,
    DEFAULT_UNIT,
    DOMAIN,
    LOGGER,
    SUBENTRY_BRANCH,
)
from .coordinator import controller_for
from .engine.controller import ControllerError
from .engine.pointmap import POINT_MAPS
from .engine.schedule import (
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

CONF_SERVICE = "service"
CONF_LATEST_SMART_END = "latest_smart_end"
CONF_CLEARANCE = "clearance_minutes"


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


def _branch_unique_id(data: dict[str, Any]) -> str:
    return f"{data[CONF_HOST]}:{data[CONF_PORT]}:{data[CONF_UNIT]}"


def _host_error(host: str) -> str | None:
    if not host or any(ch.isspace() for ch in host):
        return "invalid_host"
    return None


async def _probe(data: dict[str, Any], module: str | None = None) -> str | None:
    """Return "cannot_connect" unless the controller (or one of its modules) answers."""
    controller = controller_for(data)
    try:
        await controller.test_connection(module)
    except ControllerError as err:
        LOGGER.debug("Cannot reach controller of %s: %s", data.get(CONF_NAME), err)
        return "cannot_connect"
    finally:
        await controller.close()
    return None


async def _validate_branch(
    hass: HomeAssistant, data: dict[str, Any], ignore: str | None = None
) -> str | None:
    """Return an error key for a branch's first module, or None if it answers."""
    if not data[CONF_NAME]:
        return "name_required"
    if error := _host_error(data[CONF_HOST]):
        return error
    wanted = _branch_unique_id(data)
    for entry in hass.config_entries.async_entries(DOMAIN):
        for subentry in entry.subentries.values():
            if subentry.subentry_id != ignore and subentry.unique_id == wanted:
                return "already_configured"
    return await _probe(data, POINT_MAPS[data[CONF_POINT_MAP]].modules[0])


class SmartLibraryConfigFlow(ConfigFlow, domain=DOMAIN):
    """Set up a library service; discovered controllers become its branches."""

    VERSION = 1

    _discovered: dict[str, Any]

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
        """Create the library service (the membership backend lives here)."""
        errors: dict[str, str] = {}
        if user_input is not None:
            name = str(user_input[CONF_NAME]).strip()
            if not slugify(name):
                errors[CONF_NAME] = "name_required"
            else:
                await self.async_set_unique_id(slugify(name))
                self._abort_if_unique_id_configured()
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
                            options=[BACKEND_LOCAL], translation_key=CONF_BACKEND
                        )
                    ),
                }
            ),
            errors=errors,
        )

    @override
    async def async_step_zeroconf(
        self, discovery_info: ZeroconfServiceInfo
    ) -> ConfigFlowResult:
        """Handle a branch controller advertising itself on the network."""
        props = discovery_info.properties
        controller_id = str(props.get("id") or "").strip()
        if not controller_id:
            return self.async_abort(reason="not_smart_library")
        host = str(discovery_info.ip_address)
        port = int(discovery_info.port or DEFAULT_PORT)
        unit = int(str(props.get("unit") or DEFAULT_UNIT))
        address_id = _branch_unique_id(
            {CONF_HOST: host, CONF_PORT: port, CONF_UNIT: unit}
        )
        for entry in self.hass.config_entries.async_entries(DOMAIN):
            for subentry in entry.subentries.values():
                known_id = subentry.data.get(CONF_CONTROLLER_ID)
                if known_id == controller_id:
                    # A controller we know: follow it to its new address, don't duplicate it.
                    if (subentry.data[CONF_HOST], subentry.data[CONF_PORT]) != (
                        host,
                        port,
                    ):
                        data = dict(subentry.data) | {CONF_HOST: host, CONF_PORT: port}
                        self.hass.config_entries.async_update_subentry(
                            entry,
                            subentry,
                            data=data,
                            unique_id=_branch_unique_id(data),
                        )
                    return self.async_abort(reason="already_configured")
                if known_id is None and subentry.unique_id == address_id:
                    # Added by hand at this address: learn its id so it is followed from now on.
                    self.hass.config_entries.async_update_subentry(
                        entry,
                        subentry,
                        data=dict(subentry.data) | {CONF_CONTROLLER_ID: controller_id},
                    )
                    return self.async_abort(reason="already_configured")
        await self.async_set_unique_id(f"controller_{controller_id}")
        self._discovered = {
            CONF_NAME: str(props.get("branch") or discovery_info.name.split(".")[0]),
            CONF_HOST: host,
            CONF_PORT: port,
            CONF_UNIT: unit,
            CONF_POINT_MAP: str(props.get("map") or DEFAULT_POINT_MAP),
            CONF_RELEASE_SECONDS: DEFAULT_RELEASE_SECONDS,
            CONF_CONTROLLER_ID: controller_id,
        }
        # Only a controller that carries the whole map on itself can be set up from its advertisement.
        point_map = POINT_MAPS.get(self._discovered[CONF_POINT_MAP])
        if point_map is None or len(point_map.modules) > 1:
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
        entries = self.hass.config_entries.async_entries(DOMAIN)
        errors: dict[str, str] = {}
        if user_input is not None:
            data = _clean(self._discovered | {CONF_NAME: user_input[CONF_NAME]})
            error = await _validate_branch(self.hass, data)
            if error == "already_configured":
                return self.async_abort(reason="already_configured")
            if error:
                errors["base"] = error
            else:
                data[CONF_SCHEDULE] = example_schedule().to_dict()
                title = data.pop(CONF_NAME)
                branch = {
                    "data": data,
                    "subentry_type": SUBENTRY_BRANCH,
                    "title": title,
                    "unique_id": _branch_unique_id(data),
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
                else:
                    await self.async_set_unique_id(
                        slugify(service), raise_on_progress=False
                    )
                    self._abort_if_unique_id_configured()
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
)


class ServiceOptionsFlow(OptionsFlow):
    """Card + PIN settings of the library service: lock-out after wrong PINs, room grace.

    Saving reloads the service (its update listener), so the doors use the new settings.
    """

    async def async_step_init(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Show and save the settings."""
        if user_input is not None:
            return self.async_create_entry(
                data={key: int(value) for key, value in user_input.items()}
            )
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
        """Choose what to change: the controller connection or the opening hours."""
        return self.async_show_menu(
            step_id="reconfigure", menu_options=["connection", "hours"]
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
                errors["base"] = error
            else:
                previous = (
                    dict(self._get_reconfigure_subentry().data)
                    if ignore is not None
                    else {}
                )
                if previous.get(CONF_POINT_MAP) == data[CONF_POINT_MAP]:
                    if CONF_MODULES in previous:
                        data[CONF_MODULES] = previous[CONF_MODULES]
                for key in (CONF_CONTROLLER_ID, CONF_SCHEDULE, CONF_STAFFED_FREE_ENTRY):
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
            address: dict[str, Any] = {
                CONF_HOST: str(user_input[CONF_HOST]).strip(),
                CONF_PORT: int(user_input[CONF_PORT]),
                CONF_UNIT: int(user_input[CONF_UNIT]),
            }
            modules = dict(self._data.get(CONF_MODULES, {})) | {module: address}
            candidate = self._data | {CONF_MODULES: modules}
            error = _host_error(address[CONF_HOST]) or await _probe(candidate, module)
            if error:
                errors["base"] = error
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
            return self.async_update_and_abort(
                self._get_entry(),
                self._get_reconfigure_subentry(),
                title=title,
                data=data,
                unique_id=_branch_unique_id(data),
            )
        return self.async_create_entry(
            title=title, data=data, unique_id=_branch_unique_id(data)
        )
