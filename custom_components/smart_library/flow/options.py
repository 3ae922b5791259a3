"""The library service's options flow: card + PIN access, the LMS's answers, safety."""

from __future__ import annotations

from typing import Any

from homeassistant.config_entries import ConfigFlowResult, OptionsFlow

from ..access.library_system import LMS_OPTIONS_DEFAULTS, is_sip2
from .safety_options import service_safety_options, service_safety_schema
from .schemas import POLICY_SUGGESTED, access_schema, policy_schema, suggested
from .validation import policy_options, sip2_errors


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
        return self.async_show_form(
            step_id="init", data_schema=access_schema(self.config_entry.options)
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
            options, error = policy_options(user_input)
            if error is None:
                self._options |= options
                return await self.async_step_safety()
            errors, defaults = sip2_errors(error), defaults | options
        return self.async_show_form(
            step_id="library_system",
            data_schema=self.add_suggested_values_to_schema(
                policy_schema(defaults),
                suggested(defaults, POLICY_SUGGESTED),
            ),
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
