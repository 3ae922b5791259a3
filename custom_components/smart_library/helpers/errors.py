"""One map from the engine's coded errors to Home Assistant's translated errors.

Every refusal the integration gives a person is a translated message: the engine's `CodedError`
carries its key and placeholders, and this turns it (or a glue-level refusal named by its key)
into the `ServiceValidationError` or `HomeAssistantError` Home Assistant shows.
"""

from __future__ import annotations

from homeassistant.exceptions import HomeAssistantError, ServiceValidationError

from ..const import DOMAIN
from ..engine.errors import CodedError


def translated[E: HomeAssistantError](
    err: CodedError,
    error: type[E] = ServiceValidationError,  # type: ignore[assignment]
) -> E:
    """Return the translated Home Assistant error for an engine error."""
    return error(
        translation_domain=DOMAIN,
        translation_key=err.translation_key,
        translation_placeholders=dict(err.placeholders) or None,
    )


def refused(key: str, **placeholders: object) -> ServiceValidationError:
    """Return the translated refusal named by its key (a glue-level rule)."""
    return ServiceValidationError(
        translation_domain=DOMAIN,
        translation_key=key,
        translation_placeholders={k: str(v) for k, v in placeholders.items()} or None,
    )
