"""The library's own system (LMS) over SIP2 as a library service's membership backend.

Home Assistant glue around engine/lms.py and engine/sip2.py, kept thin:
- the entry's settings -> a `Sip2Config` (connection, in the entry's data) and an `LmsPolicy`
  (how to read the LMS's answers, in its options); `async_try_lms` tries a log-in and a status
  before a flow saves anything;
- `LibrarySystem`: one `LmsGateway` per service (one persistent SIP2 connection, the offline
  cache of recent grants kept in the member store, the circuit breaker), started with the
  service and stopped with it, and the decisions (`engine.access.LmsAccess`);
- while the LMS is not reachable: a repair issue, and the "Library system reachable" entity
  off; when it refuses the SIP login, a reauthentication flow (the gateway stops trying the
  login: a wrong password repeated could lock the SIP account at the LMS);
- diagnostics without the password (nor the SIP login's name).

The building's own functions never wait for the LMS: a service whose LMS is away still sets up,
and its doors decide from the offline cache (engine.lms.OfflineCache).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
import contextlib
from datetime import timedelta
import ssl
from typing import Any

from homeassistant.components.binary_sensor import (
    BinarySensorDeviceClass,
    BinarySensorEntity,
)
from homeassistant.config_entries import ConfigEntry
from homeassistant.const import (
    CONF_HOST,
    CONF_PASSWORD,
    CONF_PORT,
    CONF_USERNAME,
    CONF_VERIFY_SSL,
    EVENT_HOMEASSISTANT_STOP,
    EntityCategory,
)
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.device_registry import DeviceEntryType, DeviceInfo
from homeassistant.helpers.event import async_track_time_interval
from homeassistant.util import dt as dt_util
from homeassistant.util.ssl import client_context, client_context_no_verify

from ..const import CONF_BACKEND, DOMAIN, LOGGER, MANUFACTURER
from ..engine.lms.gateway import (
    DEFAULT_REFUSING_FLAGS,
    FLAG_REASONS,
    CardCase,
    LmsFailure,
    LmsGateway,
    LmsPolicy,
    OfflineCache,
    make_dialect,
)
from ..engine.lms.sip2 import (
    DEFAULT_ENCODING,
    ENCODINGS,
    Sip2Client,
    Sip2Config,
    Sip2Error,
    Sip2LoginError,
    Sip2MalformedError,
    Sip2TimeoutError,
)
from ..engine.members.access import AccessDecider, LmsAccess
from ..engine.members.store import MembershipStore

BACKEND_SIP2 = "sip2"

# The connection (the entry's data).
CONF_TLS = "tls"
CONF_INSTITUTION = "institution"
CONF_LOCATION = "location"
CONF_ENCODING = "encoding"
DEFAULT_SIP2_PORT = 6001
# How the LMS's answers are read (the entry's options).
CONF_DIALECT = "dialect"
CONF_EXPIRY_FIELD = "expiry_field"
CONF_BIRTH_DATE_FIELD = "birth_date_field"
CONF_CATEGORY_FIELD = "category_field"
CONF_REFUSING_FLAGS = "refusing_flags"
CONF_CATEGORIES_ALLOWED = "categories_allowed"
CONF_CATEGORIES_DENIED = "categories_denied"
CONF_REQUIRE_BIRTH_DATE = "require_birth_date"
CONF_OFFLINE_DAYS = "offline_days"
CONF_CARD_CASE = "lms_card_case"  # as_typed (default) / upper / lower
CONF_LMS_TIMEOUT = "lms_timeout"
DEFAULT_DIALECT = "evergreen"
DEFAULT_OFFLINE_DAYS = (
    1  # a day: see engine/lms/gateway.py (DEFAULT_MAX_AGE) and the README
)
DEFAULT_LMS_TIMEOUT = 2.0
DIALECTS = ("evergreen", "koha", "polaris", "custom")
PROBE_INTERVAL = 15.0  # seconds between log-in tries while the LMS is away
CHECK_INTERVAL = timedelta(seconds=60)  # a status (99) while the doors are quiet
TRY_TIMEOUT = 10.0  # seconds a flow gives the LMS to log in and answer the status

LMS_OPTIONS_DEFAULTS: Mapping[str, Any] = {
    CONF_DIALECT: DEFAULT_DIALECT,
    CONF_EXPIRY_FIELD: "",
    CONF_BIRTH_DATE_FIELD: "",
    CONF_CATEGORY_FIELD: "",
    CONF_REFUSING_FLAGS: [str(n) for n in sorted(DEFAULT_REFUSING_FLAGS)],
    CONF_CATEGORIES_ALLOWED: "",
    CONF_CATEGORIES_DENIED: "",
    CONF_REQUIRE_BIRTH_DATE: True,
    CONF_OFFLINE_DAYS: DEFAULT_OFFLINE_DAYS,
    CONF_CARD_CASE: CardCase.AS_TYPED.value,
    CONF_LMS_TIMEOUT: DEFAULT_LMS_TIMEOUT,
}

ISSUE_LMS_UNREACHABLE = "lms_unreachable"
ISSUE_LMS_LOGIN_REFUSED = "lms_login_refused"
# Kept out of diagnostics: the SIP account is the LMS's key to every member's record.
REDACTED_DATA = frozenset({CONF_PASSWORD, CONF_USERNAME})

assert len(FLAG_REASONS) == 14


def is_sip2(entry: ConfigEntry) -> bool:
    """Return True when the service's membership backend is its LMS over SIP2."""
    return entry.data.get(CONF_BACKEND) == BACKEND_SIP2


def _ssl_context(data: Mapping[str, Any]) -> ssl.SSLContext | None:
    """Return the TLS context for the LMS connection (Home Assistant's cached ones), or None."""
    if not data.get(CONF_TLS):
        return None
    return (
        client_context()
        if data.get(CONF_VERIFY_SSL, True)
        else client_context_no_verify()
    )


def sip2_config(
    data: Mapping[str, Any], timeout: float = DEFAULT_LMS_TIMEOUT
) -> Sip2Config:
    """Return the SIP2 client's settings from the entry's data.

    Raise ValueError for a setting that cannot make a valid frame ('|', CR, LF, NUL, or a
    character the encoding lacks). One request may take `timeout` seconds at most, the log-in
    included: the door waits no longer.
    """
    return Sip2Config(
        host=str(data[CONF_HOST]),
        port=int(data.get(CONF_PORT, DEFAULT_SIP2_PORT)),
        login_user=str(data.get(CONF_USERNAME, "")),
        login_password=str(data.get(CONF_PASSWORD, "")),
        institution=str(data.get(CONF_INSTITUTION, "")),
        location=str(data.get(CONF_LOCATION, "")),
        ssl_context=_ssl_context(data),
        encoding=str(data.get(CONF_ENCODING, DEFAULT_ENCODING)),
        timeout=timeout,
    )


def _codes(text: Any) -> frozenset[str]:
    """Return the category codes in a comma- or space-separated text."""
    return frozenset(c for c in str(text or "").replace(",", " ").upper().split() if c)


def categories_text(text: Any) -> str:
    """Return category codes as the options keep them: upper case, sorted, comma-separated."""
    return ", ".join(sorted(_codes(text)))


def lms_policy(options: Mapping[str, Any]) -> LmsPolicy:
    """Return how the LMS's answers are read, from the entry's options (defaults filled in).

    Raise ValueError for an unknown dialect or a malformed field code.
    """
    values = dict(LMS_OPTIONS_DEFAULTS) | dict(options)
    dialect = make_dialect(
        str(values[CONF_DIALECT]),
        expiry=values[CONF_EXPIRY_FIELD] or None,
        birth_date=values[CONF_BIRTH_DATE_FIELD] or None,
        category=values[CONF_CATEGORY_FIELD] or None,
    )
    return LmsPolicy(
        dialect=dialect,
        refusing_flags=frozenset(int(n) for n in values[CONF_REFUSING_FLAGS]),
        categories_allowed=_codes(values[CONF_CATEGORIES_ALLOWED]),
        categories_denied=_codes(values[CONF_CATEGORIES_DENIED]),
        require_birth_date=bool(values[CONF_REQUIRE_BIRTH_DATE]),
    )


def lms_timeout(options: Mapping[str, Any]) -> float:
    """Return the seconds the LMS has to answer before the offline cache decides."""
    return float(options.get(CONF_LMS_TIMEOUT, DEFAULT_LMS_TIMEOUT))


def offline_max_age(options: Mapping[str, Any]) -> timedelta:
    """Return how long a grant of the LMS lets its card in while the LMS is away."""
    return timedelta(days=int(options.get(CONF_OFFLINE_DAYS, DEFAULT_OFFLINE_DAYS)))


def error_of(err: BaseException, *, tls: bool = False) -> str:
    """Return the flow's error key for a failed conversation with the LMS.

    With TLS on, a handshake refused or cut short (a server that speaks no TLS on the port
    hangs up) is a TLS failure; a connection refused outright is not.
    """
    if isinstance(err, Sip2LoginError):
        return "invalid_auth"
    if isinstance(err, (Sip2TimeoutError, TimeoutError)):
        return "lms_timeout"
    if isinstance(err, Sip2MalformedError):
        return "not_sip2"
    cause = err.__cause__
    if isinstance(cause, ssl.SSLError) or (
        tls and isinstance(cause, (ConnectionResetError, BrokenPipeError, EOFError))
    ):
        return "tls_failed"
    return "lms_cannot_connect"


async def async_try_lms(
    data: Mapping[str, Any], timeout: float | None = None
) -> str | None:
    """Log in to the LMS and ask its status (93/94, 99/98); return an error key or None.

    A flow calls this before it saves: settings that cannot even make a frame give
    `invalid_sip2_text`. Nothing is logged but the error's kind (never the password).
    """
    try:
        config = sip2_config(data, TRY_TIMEOUT if timeout is None else timeout)
    except ValueError:
        return "invalid_sip2_text"
    client = Sip2Client(config)
    try:
        await client.connect()
    except Sip2Error as err:
        LOGGER.debug("Library system at %s:%s: %s", config.host, config.port, err)
        return error_of(err, tls=config.tls)
    finally:
        await client.close()
    return None


class LibrarySystem:
    """A library service's LMS at run time: the gateway, its state, its issue, its entity."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry,
        gateway: LmsGateway,
        decider: AccessDecider,
    ) -> None:
        """Wrap a built gateway (see `async_open`)."""
        self.hass = hass
        self.entry = entry
        self.gateway = gateway
        self.access = LmsAccess(decider, gateway, hass.async_add_executor_job)
        self.reachable: bool | None = (
            None  # None: not asked yet (unknown, never "fine")
        )
        self._listeners: list[Callable[[], None]] = []
        self._remove_gateway_listener = gateway.add_listener(self._reachability)
        self._stopped = False
        self._first_contact: asyncio.Task[None] | None = None
        self._cancel_check: Callable[[], None] | None = None
        self._cancel_recheck: Callable[[], None] | None = None

    @classmethod
    async def async_open(
        cls,
        hass: HomeAssistant,
        entry: ConfigEntry,
        store: MembershipStore,
        decider: AccessDecider,
    ) -> LibrarySystem:
        """Build the gateway from the entry (the cache loads from the store in the executor).

        Raise ValueError when the entry's settings cannot make a SIP2 conversation (a flow
        checks them first, so only a hand-edited entry gets there).
        """
        options = entry.options
        policy = lms_policy(options)
        timeout = lms_timeout(options)
        config = sip2_config(entry.data, timeout)
        cache = await hass.async_add_executor_job(
            lambda: OfflineCache(
                decider.pepper,
                store,
                max_age=offline_max_age(options),
                now=dt_util.now(),
            )
        )
        gateway = LmsGateway(
            Sip2Client(config),
            policy,
            cache,
            timeout=timeout,
            probe_interval=PROBE_INTERVAL,
            run_blocking=hass.async_add_executor_job,
            card_case=str(options.get(CONF_CARD_CASE) or CardCase.AS_TYPED.value),
        )
        return cls(hass, entry, gateway, decider)

    # -- lifecycle ------------------------------------------------------------------------------

    @callback
    def async_start(self) -> None:
        """Connect in the background: the service's set-up never waits for its LMS.

        Then a status (99) every `CHECK_INTERVAL` while the LMS answers, so that an LMS that
        goes away while the doors are quiet is seen (the entity, the issue) before the next
        member comes; while it is away the gateway's own probe takes over.
        """
        self.entry.async_on_unload(
            self.hass.bus.async_listen(EVENT_HOMEASSISTANT_STOP, self._async_on_stop)
        )
        self._first_contact = self.entry.async_create_task(
            self.hass, self._async_first_contact(), "smart_library library system"
        )
        self._cancel_check = async_track_time_interval(
            self.hass,
            self._async_check,
            CHECK_INTERVAL,
            name="smart_library library system check",
            cancel_on_shutdown=True,
        )
        # The offline cache's grants re-checked without their PIN while the LMS answers, at the
        # planner's pace (engine.lms.gateway.RecheckPlanner: 2 a minute by default).
        self._cancel_recheck = async_track_time_interval(
            self.hass,
            self._async_recheck,
            timedelta(seconds=self.gateway.planner.interval),
            name="smart_library library system re-check",
            cancel_on_shutdown=True,
        )

    async def _async_first_contact(self) -> None:
        """Log in and ask the status once; the gateway's listener reports a failure."""
        if await self.gateway.start() and not self._stopped:
            self._set(True)

    async def _async_check(self, _now: Any = None) -> None:
        """Ask the LMS its status while it is thought reachable (a failure opens the breaker)."""
        if self._stopped or not self.gateway.reachable:
            return
        if await self.gateway.probe() and not self._stopped and not self.reachable:
            self._set(True)

    async def _async_recheck(self, _now: Any = None) -> None:
        """Re-check one cached grant with the LMS (dropped if the LMS now refuses it)."""
        if self._stopped or not self.gateway.reachable:
            return
        now = dt_util.now()
        await self.gateway.recheck_one(today=now.date(), now=now)

    async def _async_on_stop(self, _event: Event) -> None:
        await self.async_stop()

    async def async_stop(self) -> None:
        """Stop the probe and the keep-alive, finish the cache's writes, close the connection."""
        if self._stopped:
            return
        self._stopped = True
        self._remove_gateway_listener()
        if self._cancel_check is not None:
            self._cancel_check()
        if self._cancel_recheck is not None:
            self._cancel_recheck()
        if self._first_contact is not None and not self._first_contact.done():
            self._first_contact.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._first_contact
        await self.gateway.stop()
        ir.async_delete_issue(self.hass, DOMAIN, self.issue_id)

    # -- reachability ---------------------------------------------------------------------------

    @property
    def issue_id(self) -> str:
        """Return the id of this service's "library system not reachable" repair issue."""
        return f"{ISSUE_LMS_UNREACHABLE}_{self.entry.entry_id}"

    @property
    def failure(self) -> LmsFailure | None:
        """Return why the LMS gave no usable answer last, or None."""
        return self.gateway.failure

    def add_listener(self, listener: Callable[[], None]) -> Callable[[], None]:
        """Call `listener()` whenever the LMS's reachability (or why not) changes."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    @callback
    def _reachability(self, reachable: bool) -> None:
        """Follow the gateway: the repair issue, the entity, a reauthentication."""
        if not self._stopped:
            self._set(reachable)

    @callback
    def _set(self, reachable: bool) -> None:
        self.reachable = reachable
        failure = self.gateway.failure
        if reachable:
            ir.async_delete_issue(self.hass, DOMAIN, self.issue_id)
        else:
            login_refused = failure is LmsFailure.LOGIN_REFUSED
            ir.async_create_issue(
                self.hass,
                DOMAIN,
                self.issue_id,
                is_fixable=False,
                severity=ir.IssueSeverity.ERROR
                if login_refused
                else ir.IssueSeverity.WARNING,
                translation_key=ISSUE_LMS_LOGIN_REFUSED
                if login_refused
                else ISSUE_LMS_UNREACHABLE,
                translation_placeholders={
                    "service": self.entry.title,
                    "host": f"{self.entry.data[CONF_HOST]}:{self.entry.data.get(CONF_PORT, DEFAULT_SIP2_PORT)}",
                    "days": str(offline_max_age(self.entry.options).days),
                },
            )
            if login_refused:
                self.entry.async_start_reauth(self.hass)
        for listener in list(self._listeners):
            listener()

    # -- diagnostics ----------------------------------------------------------------------------

    def diagnostics(self) -> dict[str, Any]:
        """Return what support needs: where, how, whether it answers; no password, no login."""
        data, options = self.entry.data, self.entry.options
        status = self.gateway.client.status
        policy = self.gateway.policy
        return {
            "host": data.get(CONF_HOST),
            "port": data.get(CONF_PORT),
            "tls": bool(data.get(CONF_TLS)),
            "verify_ssl": bool(data.get(CONF_VERIFY_SSL, True)),
            "institution": data.get(CONF_INSTITUTION),
            "location": data.get(CONF_LOCATION),
            "encoding": data.get(CONF_ENCODING, DEFAULT_ENCODING),
            "dialect": {
                "name": policy.dialect.name,
                "expiry": policy.dialect.expiry,
                "birth_date": policy.dialect.birth_date,
                "category": policy.dialect.category,
            },
            "refusing_flags": sorted(policy.refusing_flags),
            "categories_allowed": sorted(policy.categories_allowed),
            "categories_denied": sorted(policy.categories_denied),
            "require_birth_date": policy.require_birth_date,
            "timeout_seconds": self.gateway.timeout,
            "offline_max_age_days": offline_max_age(options).days,
            "reachable": self.reachable,
            "failure": None if self.failure is None else self.failure.value,
            "breaker_open": self.gateway.breaker.open,
            "offline_grants": len(self.gateway.cache),
            "lms_status": None
            if status is None
            else {
                "online": status.online,
                "library_name": status.library_name,
                "institution": status.institution_id,
                "protocol_version": status.protocol_version,
                "supported_messages": status.supported_messages,
            },
        }


# -- the "Library system reachable" entity ------------------------------------------------------


def library_system_device(entry: ConfigEntry) -> DeviceInfo:
    """Return the device of a service's connection to its LMS (the service's, not a branch's)."""
    return DeviceInfo(
        identifiers={(DOMAIN, f"{entry.entry_id}_lms")},
        name=entry.title,
        manufacturer=MANUFACTURER,
        model="Library service on its library management system (SIP2)",
        entry_type=DeviceEntryType.SERVICE,
    )


class LibrarySystemReachable(BinarySensorEntity):
    """On while the LMS answers; off (with why) while the doors decide from the cache."""

    _attr_has_entity_name = True
    _attr_should_poll = False
    _attr_translation_key = "lms_reachable"
    _attr_device_class = BinarySensorDeviceClass.CONNECTIVITY
    _attr_entity_category = EntityCategory.DIAGNOSTIC

    def __init__(self, entry: ConfigEntry, system: LibrarySystem) -> None:
        """Follow `system`."""
        self.system = system
        self._attr_unique_id = f"{entry.entry_id}_lms_reachable"
        self._attr_device_info = library_system_device(entry)

    async def async_added_to_hass(self) -> None:
        """Follow the library system's reachability."""
        await super().async_added_to_hass()
        self.async_on_remove(self.system.add_listener(self.async_write_ha_state))

    @property
    def is_on(self) -> bool | None:
        """Return True while the LMS answers (None until it was first asked)."""
        return self.system.reachable

    @property
    def extra_state_attributes(self) -> dict[str, Any]:
        """Return why the LMS gave no usable answer (None while it answers)."""
        failure = self.system.failure if self.system.reachable is False else None
        return {"failure": None if failure is None else failure.value}


def library_system_entities(entry: ConfigEntry) -> list[BinarySensorEntity]:
    """Return the service's library-system entities: one, or none for the local backend.

    For the binary_sensor platform's `async_setup_entry`, added without a sub-entry (the
    entity belongs to the service, not to a branch).
    """
    system: LibrarySystem | None = entry.runtime_data.access.system
    if system is None:
        return []
    return [LibrarySystemReachable(entry, system)]


__all__ = [
    "BACKEND_SIP2",
    "DIALECTS",
    "ENCODINGS",
    "LMS_OPTIONS_DEFAULTS",
    "REDACTED_DATA",
    "LibrarySystem",
    "LibrarySystemReachable",
    "async_try_lms",
    "categories_text",
    "is_sip2",
    "library_system_entities",
    "lms_policy",
    "sip2_config",
]
