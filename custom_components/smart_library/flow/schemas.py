"""The forms of the config, sub-entry and options flows: their selectors and schemas.

A schema carries the defaults of its required fields. Optional fields whose current value is
shown get it from the step through `add_suggested_values_to_schema`: suggested, not default,
so that a field the user empties stays empty (the frontend leaves an empty field out, and a
default would quietly put the old value back). The keys shown that way are listed beside each
schema (`*_SUGGESTED`); a password is never among them. The safety forms are in
`safety_options.py`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Final

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import (
    CONF_HOST,
    CONF_NAME,
    CONF_PASSWORD,
    CONF_PORT,
    CONF_USERNAME,
    CONF_VERIFY_SSL,
)
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
import probatio

from ..access.library_system import (
    BACKEND_SIP2,
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
    DIALECTS,
    ENCODINGS,
)
from ..const import (
    BACKEND_LOCAL,
    CONF_BACKEND,
    CONF_EMPTY_AFTER_HOURS,
    CONF_LOCKOUT_ATTEMPTS,
    CONF_LOCKOUT_MINUTES,
    CONF_LOCKOUT_WINDOW,
    CONF_NEIGHBOURS,
    CONF_POINT_MAP,
    CONF_READER_REFUSALS,
    CONF_READER_THROTTLE_MINUTES,
    CONF_RELEASE_SECONDS,
    CONF_ROOM_GRACE,
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
)
from ..engine.building.pointmap import POINT_MAPS
from ..engine.building.schedule import WEEKDAYS
from ..engine.lms.gateway import CardCase

CONF_SERVICE: Final = "service"
CONF_LATEST_SMART_END: Final = "latest_smart_end"
CONF_CLEARANCE: Final = "clearance_minutes"
# The longest a closed, locked, still branch may wait before it counts nobody inside (a week).
MAX_EMPTY_AFTER_HOURS: Final = 168


def number(
    minimum: float, maximum: float, *, step: float = 1, unit: str | None = None
) -> NumberSelector:
    """Return a box for a number from `minimum` to `maximum` (in `unit`, if it has one)."""
    config = NumberSelectorConfig(
        min=minimum, max=maximum, step=step, mode=NumberSelectorMode.BOX
    )
    if unit is not None:
        config["unit_of_measurement"] = unit
    return NumberSelector(config)


def suggested(values: Mapping[str, Any], keys: Iterable[str]) -> dict[str, Any]:
    """Return the values of `keys` a form shows as suggested (for `add_suggested_values_to_schema`)."""
    return {key: values[key] for key in keys if key in values}


def _password() -> TextSelector:
    return TextSelector(TextSelectorConfig(type=TextSelectorType.PASSWORD))


# -- the library service ---------------------------------------------------------------------------


def service_schema() -> probatio.Schema:
    """Return the form for a new library service: its name and membership backend."""
    return probatio.Schema(
        {
            probatio.Required(CONF_NAME): TextSelector(),
            probatio.Required(CONF_BACKEND, default=BACKEND_LOCAL): SelectSelector(
                SelectSelectorConfig(
                    options=[BACKEND_LOCAL, BACKEND_SIP2], translation_key=CONF_BACKEND
                )
            ),
        }
    )


# The LMS connection's optional text, shown as it is (the password never is).
SIP2_SUGGESTED: Final = (CONF_USERNAME, CONF_INSTITUTION, CONF_LOCATION)


def sip2_schema(
    defaults: Mapping[str, Any], *, password_optional: bool = False
) -> probatio.Schema:
    """Return the form for the LMS connection. The password is never given back to a form."""
    return probatio.Schema(
        {
            probatio.Required(
                CONF_HOST, default=defaults.get(CONF_HOST, "")
            ): TextSelector(),
            probatio.Required(
                CONF_PORT, default=defaults.get(CONF_PORT, DEFAULT_SIP2_PORT)
            ): number(1, 65535),
            probatio.Required(
                CONF_TLS, default=defaults.get(CONF_TLS, False)
            ): BooleanSelector(),
            probatio.Required(
                CONF_VERIFY_SSL, default=defaults.get(CONF_VERIFY_SSL, True)
            ): BooleanSelector(),
            probatio.Optional(CONF_USERNAME): TextSelector(),
            (
                probatio.Optional(CONF_PASSWORD)
                if password_optional
                else probatio.Required(CONF_PASSWORD)
            ): _password(),
            probatio.Optional(CONF_INSTITUTION): TextSelector(),
            probatio.Optional(CONF_LOCATION): TextSelector(),
            probatio.Required(
                CONF_ENCODING, default=defaults.get(CONF_ENCODING, ENCODINGS[0])
            ): SelectSelector(
                SelectSelectorConfig(
                    options=list(ENCODINGS), translation_key=CONF_ENCODING
                )
            ),
        }
    )


# The SIP account asked for again; its login is shown as it is.
REAUTH_SCHEMA: Final = probatio.Schema(
    {
        probatio.Optional(CONF_USERNAME): TextSelector(),
        probatio.Required(CONF_PASSWORD): _password(),
    }
)

# How the LMS's answers are read: the free-text field codes and categories are suggested.
POLICY_SUGGESTED: Final = (
    CONF_EXPIRY_FIELD,
    CONF_BIRTH_DATE_FIELD,
    CONF_CATEGORY_FIELD,
    CONF_CATEGORIES_ALLOWED,
    CONF_CATEGORIES_DENIED,
)


def policy_schema(defaults: Mapping[str, Any]) -> probatio.Schema:
    """Return the form for how the LMS's answers are read, and the offline cache."""
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
            probatio.Optional(CONF_EXPIRY_FIELD): TextSelector(),
            probatio.Optional(CONF_BIRTH_DATE_FIELD): TextSelector(),
            probatio.Optional(CONF_CATEGORY_FIELD): TextSelector(),
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
            probatio.Optional(CONF_CATEGORIES_ALLOWED): TextSelector(),
            probatio.Optional(CONF_CATEGORIES_DENIED): TextSelector(),
            probatio.Required(
                CONF_REQUIRE_BIRTH_DATE, default=defaults[CONF_REQUIRE_BIRTH_DATE]
            ): BooleanSelector(),
            probatio.Required(
                CONF_OFFLINE_DAYS, default=defaults[CONF_OFFLINE_DAYS]
            ): number(0, 30),
            probatio.Required(
                CONF_CARD_CASE, default=defaults[CONF_CARD_CASE]
            ): SelectSelector(
                SelectSelectorConfig(
                    options=[c.value for c in CardCase],
                    translation_key=CONF_CARD_CASE,
                )
            ),
            probatio.Required(
                CONF_LMS_TIMEOUT, default=defaults[CONF_LMS_TIMEOUT]
            ): number(0.5, 10, step=0.5, unit="s"),
        }
    )


# Card + PIN access settings of the options flow: key, default, lowest, highest.
ACCESS_OPTIONS: Final = (
    (CONF_LOCKOUT_ATTEMPTS, DEFAULT_LOCKOUT_ATTEMPTS, 2, 20),
    (CONF_LOCKOUT_WINDOW, DEFAULT_LOCKOUT_WINDOW, 1, 1440),
    (CONF_LOCKOUT_MINUTES, DEFAULT_LOCKOUT_MINUTES, 1, 1440),
    (CONF_ROOM_GRACE, DEFAULT_ROOM_GRACE, 0, 120),
    (CONF_READER_REFUSALS, DEFAULT_READER_REFUSALS, 3, 200),
    (CONF_READER_THROTTLE_MINUTES, DEFAULT_READER_THROTTLE_MINUTES, 1, 1440),
)


def access_schema(options: Mapping[str, Any]) -> probatio.Schema:
    """Return the form for card + PIN access, filled with the service's options."""
    return probatio.Schema(
        {
            probatio.Required(key, default=options.get(key, default)): number(low, high)
            for key, default, low, high in ACCESS_OPTIONS
        }
    )


# -- a branch --------------------------------------------------------------------------------------


def branch_schema(defaults: Mapping[str, Any]) -> probatio.Schema:
    """Return the form for a branch's controller."""
    return probatio.Schema(
        {
            probatio.Required(
                CONF_NAME, default=defaults.get(CONF_NAME, "")
            ): TextSelector(),
            **module_schema(defaults).schema,
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
            ): number(1, 30),
        }
    )


def module_schema(defaults: Mapping[str, Any]) -> probatio.Schema:
    """Return the form for one I/O module's address."""
    return probatio.Schema(
        {
            probatio.Required(
                CONF_HOST, default=defaults.get(CONF_HOST, "")
            ): TextSelector(),
            probatio.Required(
                CONF_PORT, default=defaults.get(CONF_PORT, DEFAULT_PORT)
            ): number(1, 65535),
            probatio.Required(
                CONF_UNIT, default=defaults.get(CONF_UNIT, DEFAULT_UNIT)
            ): number(0, 247),
        }
    )


# The weekly plan's periods and the doors of free entry: suggested (an emptied day is closed).
HOURS_SUGGESTED: Final = (
    *(f"{day}_{mode}" for day in WEEKDAYS for mode in ("staffed", "smart")),
    CONF_STAFFED_FREE_ENTRY,
    CONF_NEIGHBOURS,
)


def hours_schema(
    doors: Iterable[str],
    *,
    latest_smart_end: str,
    clearance: int,
    neighbours: Iterable[SelectOptionDict] = (),
) -> probatio.Schema:
    """Return the form for the weekly plan: staffed and smart periods per weekday, as text.

    With other branches configured, it also asks for the branch's neighbours: the branches whose
    staffed hours should cover its smart hours (any branch of any library service, by name).
    """
    fields: dict[Any, Any] = {
        probatio.Optional(f"{day}_{mode}"): TextSelector()
        for day in WEEKDAYS
        for mode in ("staffed", "smart")
    }
    fields[probatio.Required(CONF_LATEST_SMART_END, default=latest_smart_end)] = (
        TimeSelector()
    )
    fields[probatio.Required(CONF_CLEARANCE, default=clearance)] = number(0, 120)
    fields[probatio.Optional(CONF_STAFFED_FREE_ENTRY)] = SelectSelector(
        SelectSelectorConfig(options=list(doors), multiple=True)
    )
    if choices := list(neighbours):
        fields[probatio.Optional(CONF_NEIGHBOURS)] = SelectSelector(
            SelectSelectorConfig(options=choices, multiple=True)
        )
    return probatio.Schema(fields)


# Hours closed, locked and still after which a branch counts nobody inside; emptied, the rule is off.
EMPTY_AFTER_HOURS_SCHEMA: Final = probatio.Schema(
    {
        probatio.Optional(CONF_EMPTY_AFTER_HOURS): number(
            1, MAX_EMPTY_AFTER_HOURS, unit="h"
        )
    }
)


def zeroconf_confirm_schema(
    name: str, services: list[ConfigEntry[Any]]
) -> probatio.Schema:
    """Return the form offering a discovered controller: its name, and the service it joins.

    With no service yet, the administrator names the new one it starts.
    """
    schema: dict[Any, Any] = {
        probatio.Required(CONF_NAME, default=name): TextSelector()
    }
    if services:
        schema[probatio.Required(CONF_SERVICE, default=services[0].entry_id)] = (
            SelectSelector(
                SelectSelectorConfig(
                    options=[
                        SelectOptionDict(value=e.entry_id, label=e.title)
                        for e in services
                    ]
                )
            )
        )
    else:
        schema[probatio.Required(CONF_SERVICE)] = TextSelector()
    return probatio.Schema(schema)
