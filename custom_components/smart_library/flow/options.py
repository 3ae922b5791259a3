"""The library service's options flow: staff alerts, card + PIN access, the LMS's answers.

*Configure* opens a menu, so the on-call phones are one choice away rather than behind the
lock-out settings: each choice is a form saved on its own.
"""

from __future__ import annotations

from typing import Any

from homeassistant.config_entries import ConfigFlowResult, OptionsFlow

from ..access.library_system import LMS_OPTIONS_DEFAULTS, is_sip2
from .safety_options import service_safety_options, service_safety_schema
from .schemas import POLICY_SUGGESTED, access_schema, policy_schema, suggested
from .validation import policy_options, sip2_errors


class ServiceOptionsFlow(OptionsFlow):
    """Settings of the library service, each group saved on its own.

    Staff alerts and incidents (on-call and escalation phones, escalation minutes, incident
    retention, PA languages: taken at once, without a reload); card + PIN access (lock-out after
    wrong PINs, room grace, reader throttling); for a service on its library system (SIP2), how
    the LMS's answers are read. Saving anything but the staff alerts reloads the service (its
    update listener), so the doors use the new settings.
    """

    async def async_step_init(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Choose what to change; the staff alerts first."""
        options = ["safety", "access"]
        if is_sip2(self.config_entry):
            options.append("library_system")
        return self.async_show_menu(step_id="init", menu_options=options)

    def _save(self, part: dict[str, Any]) -> ConfigFlowResult:
        return self.async_create_entry(data=dict(self.config_entry.options) | part)

    async def async_step_access(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Card + PIN access: the lock-out, room grace and reader throttling."""
        if user_input is not None:
            return self._save({key: int(value) for key, value in user_input.items()})
        return self.async_show_form(
            step_id="access", data_schema=access_schema(self.config_entry.options)
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
                return self._save(options)
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
        """Staff alerts and incidents: the on-call phones first."""
        if user_input is not None:
            return self._save(service_safety_options(user_input))
        return self.async_show_form(
            step_id="safety",
            data_schema=service_safety_schema(self.config_entry.options),
        )
