"""Keep PINs and card numbers out of what Home Assistant records about an action call.

Home Assistant runs an action's schema, then fires `call_service` with the data the caller passed
(the recorder keeps that event; a script or automation trace keeps the same dict; a failing call
whose caller did not wait is logged with it). `redacting` wraps a schema so that, once validated,
the caller's own dict has lost its secrets: a PIN is replaced, a card number masked, a CSV
summarised. A card or PIN may arrive as a string or a number (JSON, a template rendering an
integer): both are masked. The handler gets the validated copy, whose secrets print masked too.

Text no storage can keep (a lone surrogate such as U+D800, which JSON can carry) is refused here
with a translated error, before anything is recorded or stored.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from typing import Any

from homeassistant.exceptions import ServiceValidationError
import probatio

from ..const import DOMAIN
from ..engine.members.membership import mask_card

SECRET_FIELDS = ("pin", "adult_pin")
CARD_FIELDS = ("card", "adult_card")
BULK_FIELD = "csv"  # an import carries card numbers
KEY_FIELD = "reader_key"  # a key's id, or (pasted by mistake) the whole key: id.secret
REDACTED = "********"


class Masked(str):
    """A validated PIN or card number: the value intact for the code, masked wherever printed.

    Home Assistant logs a failing action's call, data included, when its caller did not wait for
    it ("Error executing service: <ServiceCall ...>"); this keeps the secret out of that line.
    """

    __slots__ = ()

    def __str__(self) -> str:
        """Return the mask."""
        return REDACTED

    def __repr__(self) -> str:
        """Return the mask, quoted."""
        return repr(REDACTED)

    def __format__(self, spec: str) -> str:
        """Return the mask, formatted."""
        return format(REDACTED, spec)


def masked_card(value: Any) -> Any:
    """Return what may be recorded of a card field: a string or a number masked, else the mask.

    None stays None (an optional field left empty); a bool, a list or a mapping is no card, but
    could hold one: it is replaced whole.
    """
    if value is None:
        return None
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return mask_card(str(value))
    return REDACTED


def redact(data: MutableMapping[str, Any]) -> None:
    """Strip the secrets from an action call's data, in place, whatever their type."""
    for key in SECRET_FIELDS:
        if data.get(key) is not None:
            data[key] = REDACTED
    for key in CARD_FIELDS:
        if key in data:
            data[key] = masked_card(data[key])
    reader_key = data.get(KEY_FIELD)
    if isinstance(reader_key, str) and "." in reader_key:
        data[KEY_FIELD] = f"{reader_key.partition('.')[0]}.{REDACTED}"
    if (text := data.get(BULK_FIELD)) is not None:
        lines = text.count("\n") if isinstance(text, str) else 0
        data[BULK_FIELD] = f"({lines} lines of CSV)"


def _storable(text: str) -> bool:
    """Return True when `text` has a UTF-8 form (no lone surrogate)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _bad_text_field(data: Any, field: str = "data") -> str | None:
    """Return the name of the first field holding text with no UTF-8 form, or None."""
    if isinstance(data, str):
        return None if _storable(data) else field
    if isinstance(data, Mapping):
        for key, value in data.items():
            name = str(key)
            if not _storable(name):
                return "data"
            if (found := _bad_text_field(value, name)) is not None:
                return found
    elif isinstance(data, (list, tuple)):
        for item in data:
            if (found := _bad_text_field(item, field)) is not None:
                return found
    return None


def redacting(schema: probatio.Schema) -> Any:
    """Wrap an action's schema: refuse unstorable text, mask secrets in the caller's data.

    Home Assistant fires the `call_service` event, after the schema ran, with the data the caller
    passed; the recorder keeps it, a script trace keeps the same dict. Whatever the schema says
    (valid or not), that dict leaves here without a PIN or a whole card number. In the validated
    copy the PIN, the card and a CSV print masked (`Masked`), should anything log the call.
    """

    def validate(data: Any) -> Any:
        try:
            if (field := _bad_text_field(data)) is not None:
                raise ServiceValidationError(
                    translation_domain=DOMAIN,
                    translation_key="invalid_text",
                    translation_placeholders={"field": field},
                )
            validated = schema(dict(data))
            for key in (*SECRET_FIELDS, *CARD_FIELDS, BULK_FIELD):
                if isinstance(validated.get(key), str):
                    validated[key] = Masked(validated[key])
            return validated
        finally:
            if isinstance(data, MutableMapping):
                redact(data)

    return validate
