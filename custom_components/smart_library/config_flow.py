"""Config flow: a library service, then one sub-entry per branch building.

The steps only. Their forms are in flow/schemas.py, the checks in flow/validation.py, zeroconf
advertisements in flow/discovery.py and the "controller at a new address" repair issues in
flow/moved.py; the branch sub-entry flow and the options flow are in flow/ too. Nothing imports
this module (Home Assistant loads it).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, override

from homeassistant.config_entries import (
    ConfigEntry,
    ConfigEntryState,
    ConfigFlow,
    ConfigFlowResult,
    ConfigSubentry,
    ConfigSubentryFlow,
)
from homeassistant.const import (
    CONF_HOST,
    CONF_NAME,
    CONF_PASSWORD,
    CONF_PORT,
    CONF_USERNAME,
)
from homeassistant.core import callback
from homeassistant.helpers.service_info.zeroconf import ZeroconfServiceInfo
from homeassistant.util import slugify

from .access.library_system import (
    BACKEND_SIP2,
    LMS_OPTIONS_DEFAULTS,
    async_try_lms,
    is_sip2,
)
from .const import (
    BACKEND_LOCAL,
    CONF_BACKEND,
    CONF_CONTROLLER_ID,
    CONF_POINT_MAP,
    CONF_RELEASE_SECONDS,
    CONF_SCHEDULE,
    CONF_UNIT,
    DEFAULT_RELEASE_SECONDS,
    DOMAIN,
    LOGGER,
    SUBENTRY_BRANCH,
)
from .engine.building.pointmap import POINT_MAPS
from .engine.building.schedule import example_schedule
from .flow.branch_subentry import BranchSubentryFlow
from .flow.discovery import (
    async_abort_offers_for,
    async_known_controller,
    async_may_offer,
    configured_branch,
    offer_placeholders,
    parse_advertisement,
)
from .flow.options import ServiceOptionsFlow
from .flow.schemas import (
    CONF_SERVICE,
    POLICY_SUGGESTED,
    REAUTH_SCHEMA,
    SIP2_SUGGESTED,
    policy_schema,
    service_schema,
    sip2_schema,
    suggested,
    zeroconf_confirm_schema,
)
from .flow.validation import (
    async_try_sip2,
    async_validate_branch,
    branch_unique_id,
    clean_branch,
    form_errors,
    policy_options,
    service_name_taken,
    sip2_errors,
)


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
        """Return the service's options flow: access, the LMS's answers and safety."""
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
            step_id="user", data_schema=service_schema(), errors=errors
        )

    async def async_step_sip2(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Connect the service to its library management system; the LMS is tried first."""
        errors: dict[str, str] = {}
        defaults: dict[str, Any] = {}
        if user_input is not None:
            data, error = await async_try_sip2(user_input)
            if error is None:
                self._sip2 = data
                return await self.async_step_sip2_policy()
            errors, defaults = sip2_errors(error), data
        return self.async_show_form(
            step_id="sip2",
            data_schema=self.add_suggested_values_to_schema(
                sip2_schema(defaults), suggested(defaults, SIP2_SUGGESTED)
            ),
            errors=errors,
        )

    async def async_step_sip2_policy(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Say how the LMS's answers are read (dialect, refusing flags, categories, cache)."""
        errors: dict[str, str] = {}
        defaults = dict(LMS_OPTIONS_DEFAULTS)
        if user_input is not None:
            options, error = policy_options(user_input)
            if error is None:
                return self.async_create_entry(
                    title=self._name,
                    data={CONF_NAME: self._name, CONF_BACKEND: BACKEND_SIP2}
                    | self._sip2,
                    options=options,
                )
            errors, defaults = sip2_errors(error), defaults | options
        return self.async_show_form(
            step_id="sip2_policy",
            data_schema=self.add_suggested_values_to_schema(
                policy_schema(defaults), suggested(defaults, POLICY_SUGGESTED)
            ),
            errors=errors,
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
            errors = sip2_errors(error)
        return self.async_show_form(
            step_id="reauth_confirm",
            data_schema=self.add_suggested_values_to_schema(
                REAUTH_SCHEMA, {CONF_USERNAME: entry.data.get(CONF_USERNAME, "")}
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
            data, error = await async_try_sip2(form)
            if error is None:
                name = entry.data.get(CONF_NAME, entry.title)
                options = dict(LMS_OPTIONS_DEFAULTS) | dict(entry.options)
                return self._update_and_restart(
                    entry,
                    {CONF_NAME: name, CONF_BACKEND: BACKEND_SIP2} | data,
                    options,
                )
            errors, defaults = sip2_errors(error), data
        schema = sip2_schema(
            defaults, password_optional=bool(current.get(CONF_PASSWORD))
        )
        return self.async_show_form(
            step_id="reconfigure_sip2",
            data_schema=self.add_suggested_values_to_schema(
                schema, suggested(defaults, SIP2_SUGGESTED)
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
        if async_known_controller(self.hass, advert):
            return self.async_abort(reason="already_configured")
        await self.async_set_unique_id(f"controller_{controller_id}")
        self._abort_if_unique_id_configured()  # an administrator chose to ignore it
        host = advert[CONF_HOST]
        self._discovered = {
            CONF_NAME: advert[CONF_NAME],
            CONF_HOST: host,
            CONF_PORT: advert[CONF_PORT],
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
        if not async_may_offer(self.hass, advert, self.flow_id):  # flows are bounded
            return self.async_abort(reason="too_many_discoveries")
        self.context["title_placeholders"] = offer_placeholders(advert)
        return await self.async_step_zeroconf_confirm()

    async def async_step_zeroconf_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Offer the discovered controller as a branch of a library service.

        A controller set up meanwhile (by hand, or through another offer) is refused before any
        question is asked.
        """
        if configured_branch(self.hass, self._discovered) is not None:
            return self.async_abort(reason="already_configured")
        # Services only: a controller an administrator chose to ignore is an entry too.
        entries = self.hass.config_entries.async_entries(DOMAIN, include_ignore=False)
        errors: dict[str, str] = {}
        if user_input is not None:
            data = clean_branch(self._discovered | {CONF_NAME: user_input[CONF_NAME]})
            error = await async_validate_branch(self.hass, data)
            if error == "already_configured":
                return self.async_abort(reason="already_configured")
            if error:
                errors = form_errors(error)
            else:
                data[CONF_SCHEDULE] = example_schedule().to_dict()
                title = data.pop(CONF_NAME)
                # Other offers of this controller or address go (this one ends by itself).
                async_abort_offers_for(self.hass, data, keep=self.flow_id)
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
        return self.async_show_form(
            step_id="zeroconf_confirm",
            data_schema=zeroconf_confirm_schema(self._discovered[CONF_NAME], entries),
            description_placeholders=offer_placeholders(self._discovered),
            errors=errors,
        )
