"""The safety settings' forms, for the options flow and the branch's reconfigure menu.

The service's step: its on-call phones (companion-app devices, never a typed action name), the
escalation phones and minutes, how long incidents are kept, the languages stored messages play in.
The branch's step: its cameras, its speakers and the text-to-speech engine that speaks for it.
The admin actions `set_on_call`, `configure_safety` and `set_branch_safety` set the same keys.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from homeassistant.helpers.selector import (
    DeviceSelector,
    DeviceSelectorConfig,
    EntitySelector,
    EntitySelectorConfig,
    SelectSelector,
    SelectSelectorConfig,
)
import probatio

from ..engine.building.announcements import LANGUAGE_BANKS
from ..engine.safety.alerts import (
    DEFAULT_ESCALATION_MINUTES,
    MAX_ESCALATION_MINUTES,
    MIN_ESCALATION_MINUTES,
)
from ..engine.safety.incidents import (
    DEFAULT_RETENTION_DAYS,
    MAX_RETENTION_DAYS,
    MIN_RETENTION_DAYS,
)
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
from .schemas import number

SERVICE_KEYS = (
    CONF_ON_CALL,
    CONF_ESCALATION_PHONES,
    CONF_ESCALATION_MINUTES,
    CONF_RETENTION_DAYS,
    CONF_LANGUAGES,
)
BRANCH_KEYS = (CONF_CAMERAS, CONF_SPEAKERS, CONF_TTS_ENGINE)


def _phones() -> DeviceSelector:
    return DeviceSelector(DeviceSelectorConfig(integration="mobile_app", multiple=True))


def service_safety_schema(options: Mapping[str, Any]) -> probatio.Schema:
    """Return the service's safety form, filled with its current options."""
    return probatio.Schema(
        {
            probatio.Optional(
                CONF_ON_CALL, default=list(options.get(CONF_ON_CALL, []))
            ): _phones(),
            probatio.Optional(
                CONF_ESCALATION_PHONES,
                default=list(options.get(CONF_ESCALATION_PHONES, [])),
            ): _phones(),
            probatio.Required(
                CONF_ESCALATION_MINUTES,
                default=options.get(
                    CONF_ESCALATION_MINUTES, DEFAULT_ESCALATION_MINUTES
                ),
            ): number(MIN_ESCALATION_MINUTES, MAX_ESCALATION_MINUTES, unit="min"),
            probatio.Required(
                CONF_RETENTION_DAYS,
                default=options.get(CONF_RETENTION_DAYS, DEFAULT_RETENTION_DAYS),
            ): number(MIN_RETENTION_DAYS, MAX_RETENTION_DAYS, unit="d"),
            probatio.Required(
                CONF_LANGUAGES, default=list(options.get(CONF_LANGUAGES) or ["en"])
            ): SelectSelector(
                SelectSelectorConfig(
                    options=list(LANGUAGE_BANKS),
                    multiple=True,
                    translation_key="announcement_language",
                )
            ),
        }
    )


def on_call_schema() -> probatio.Schema:
    """Return the phones alone (the "Nobody gets the staff alerts" repair's fix flow)."""
    return probatio.Schema(
        {
            probatio.Optional(CONF_ON_CALL): _phones(),
            probatio.Optional(CONF_ESCALATION_PHONES): _phones(),
        }
    )


def service_safety_options(user_input: Mapping[str, Any]) -> dict[str, Any]:
    """Return the options to store from the service's safety form (numbers as integers)."""
    return {
        CONF_ON_CALL: list(user_input.get(CONF_ON_CALL, [])),
        CONF_ESCALATION_PHONES: list(user_input.get(CONF_ESCALATION_PHONES, [])),
        CONF_ESCALATION_MINUTES: int(user_input[CONF_ESCALATION_MINUTES]),
        CONF_RETENTION_DAYS: int(user_input[CONF_RETENTION_DAYS]),
        CONF_LANGUAGES: list(user_input.get(CONF_LANGUAGES) or ["en"]),
    }


def branch_safety_schema() -> probatio.Schema:
    """Return a branch's safety form.

    The step fills it with the sub-entry's values (`branch_safety_data`) as suggested values,
    not defaults: a field the admin empties is left out by the frontend, and a default would
    quietly put the old camera, speaker or engine back.
    """
    return probatio.Schema(
        {
            probatio.Optional(CONF_CAMERAS): EntitySelector(
                EntitySelectorConfig(domain="camera", multiple=True)
            ),
            probatio.Optional(CONF_SPEAKERS): EntitySelector(
                EntitySelectorConfig(domain="media_player", multiple=True)
            ),
            probatio.Optional(CONF_TTS_ENGINE): EntitySelector(
                EntitySelectorConfig(domain="tts")
            ),
        }
    )


def branch_safety_data(values: Mapping[str, Any]) -> dict[str, Any]:
    """Return what a branch's sub-entry keeps from its safety form (and what the form shows)."""
    return {
        CONF_CAMERAS: list(values.get(CONF_CAMERAS) or []),
        CONF_SPEAKERS: list(values.get(CONF_SPEAKERS) or []),
        CONF_TTS_ENGINE: values.get(CONF_TTS_ENGINE) or None,
    }
