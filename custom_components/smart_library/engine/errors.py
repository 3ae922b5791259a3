"""The engine's one error: a rule refused something, and says which rule by a stable code.

Every feature's error (a member's data, an incident, a schedule, a reader key, a safety action, a
PIN's format) is a `CodedError`: its `translation_key` names the message in the integration's
translations, its placeholders fill it. Placeholders never hold a secret: no PIN, no whole card
number, no reader key. The Home Assistant layer turns any of them into a translated error in one
place (helpers/errors.py).
"""

from __future__ import annotations


class CodedError(ValueError):
    """A refusal with a stable code (the translation key) and its message's placeholders."""

    prefix = ""  # a feature's keys may share a prefix in the translations

    def __init__(self, code: str, **placeholders: object) -> None:
        """Create the error with its code and placeholders (never a secret)."""
        super().__init__(code)
        self.code = code
        self.placeholders: dict[str, str] = {
            key: str(value) for key, value in placeholders.items()
        }

    @property
    def translation_key(self) -> str:
        """Return the key of the error's message in the translations."""
        return f"{self.prefix}{self.code}"
