"""Reader keys in Home Assistant: their storage, the admin actions, the throttle's event.

Keys of every library service are kept in one private storage file
(`.storage/smart_library.reader_keys`, 0600), as digests only (see `engine.readers.key_digest`).
A key is made by `smart_library.create_reader_key`, which answers with it once; listed (never the
key) by `list_reader_keys` and revoked by `revoke_reader_key`. All three are admin-only.

The reader endpoint (http.py) asks this module whether a key is good, whether its reader may ask
now (the throttle) and where its branch is.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.singleton import singleton
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util
from homeassistant.util.hass_dict import HassKey

from ..branch import Branch
from ..building.events import ReaderThrottled
from ..const import (
    CONF_READER_REFUSALS,
    CONF_READER_THROTTLE_MINUTES,
    DEFAULT_READER_REFUSALS,
    DEFAULT_READER_THROTTLE_MINUTES,
    DOMAIN,
    LOGGER,
)
from ..engine.members.readers import (
    ReaderKey,
    ReaderKeyError,
    ReaderKeyring,
    ReaderThrottle,
    ThrottlePolicy,
    ThrottleTrip,
)
from ..helpers.errors import translated
from ..runtime import SmartLibraryConfigEntry
from .decisions import LibraryAccess

READER_KEY_HEADER = "X-Reader-Key"
STORAGE_KEY = f"{DOMAIN}.reader_keys"
STORAGE_VERSION = 1
# A key's last use is kept to the minute: written at most once a minute however busy the door.
LAST_USED_WRITE_SECONDS = 60

EVENT_READER_THROTTLED = "smart_library_reader_throttled"
THROTTLE_STORAGE_KEY = f"{DOMAIN}.reader_throttle"
THROTTLE_SAVE_DELAY = 1  # seconds

ATTR_BRANCH = "branch"
ATTR_DOORS = "doors"
ATTR_NAME = "name"
ATTR_READER_KEY = "reader_key"

DATA_READER_KEYS: HassKey[ReaderKeys] = HassKey(f"{DOMAIN}_reader_keys")


@dataclass(frozen=True)
class ReaderBranch:
    """The branch a key belongs to, as the endpoint needs it (looked up at each request)."""

    branch: Branch
    access: LibraryAccess
    device_id: str | None

    @property
    def title(self) -> str:
        """Return the branch's name."""
        return self.branch.subentry.title

    @property
    def doors(self) -> tuple[str, ...]:
        """Return the ids of the branch's doors."""
        return tuple(door.id for door in self.branch.coordinator.point_map.doors)


def branch_device_id(
    hass: HomeAssistant, entry_id: str, subentry_id: str
) -> str | None:
    """Return the device id of a branch (its device's identifier is the sub-entry id)."""
    device = dr.async_get(hass).async_get_device_by_identifier(
        (DOMAIN, subentry_id), entry_id
    )
    return device.id if device else None


def resolve_branch(
    hass: HomeAssistant, entry_id: str, subentry_id: str
) -> ReaderBranch | None:
    """Return a loaded branch of a library service, or None (not loaded, or removed)."""
    entry: SmartLibraryConfigEntry | None = hass.config_entries.async_get_entry(
        entry_id
    )
    if (
        entry is None
        or entry.domain != DOMAIN
        or entry.state is not ConfigEntryState.LOADED
    ):
        return None
    branch = entry.runtime_data.branches.get(subentry_id)
    if branch is None:
        return None
    return ReaderBranch(
        branch=branch,
        access=entry.runtime_data.access,
        device_id=branch_device_id(hass, entry_id, subentry_id),
    )


def _policy(hass: HomeAssistant, entry_id: str) -> ThrottlePolicy:
    entry = hass.config_entries.async_get_entry(entry_id)
    options = entry.options if entry else {}
    return ThrottlePolicy(
        refusals=int(options.get(CONF_READER_REFUSALS, DEFAULT_READER_REFUSALS)),
        duration=timedelta(
            minutes=int(
                options.get(
                    CONF_READER_THROTTLE_MINUTES, DEFAULT_READER_THROTTLE_MINUTES
                )
            )
        ),
    )


class ReaderKeys:
    """Every reader key of the installation, their storage and the readers' throttle."""

    def __init__(
        self,
        hass: HomeAssistant,
        store: Store[dict[str, Any]],
        keyring: ReaderKeyring,
    ) -> None:
        """Hold loaded keys."""
        self.hass = hass
        self.keyring = keyring
        self.throttle = ReaderThrottle()
        self._store = store
        # The throttle's counts apart from the keys: a restart does not free a paused reader.
        self._throttle_store: Store[dict[str, Any]] = Store(
            hass, 1, THROTTLE_STORAGE_KEY, private=True
        )
        self._next_last_used_write = 0.0

    @classmethod
    async def async_load(cls, hass: HomeAssistant) -> ReaderKeys:
        """Load the stored keys."""
        store: Store[dict[str, Any]] = Store(
            hass, STORAGE_VERSION, STORAGE_KEY, private=True, atomic_writes=True
        )
        keys = cls(hass, store, ReaderKeyring.from_dict(await store.async_load()))
        try:
            keys.throttle.restore(await keys._throttle_store.async_load())
        except HomeAssistantError as err:
            LOGGER.warning("The readers' stored throttle could not be read: %s", err)
        return keys

    @callback
    def _throttle_changed(self) -> None:
        self._throttle_store.async_delay_save(
            self.throttle.to_dict, THROTTLE_SAVE_DELAY
        )

    def _data(self) -> dict[str, Any]:
        return self.keyring.to_dict()

    async def async_save(self) -> None:
        """Write the keys now (a change is on disk before it is acknowledged)."""
        await self._store.async_save(self._data())

    # -- admin changes -------------------------------------------------------------------------

    async def async_create(
        self, *, name: str, entry_id: str, subentry_id: str, doors: list[str]
    ) -> tuple[ReaderKey, str]:
        """Make and store a key for doors of a branch; return it and the whole key (once)."""
        branch = resolve_branch(self.hass, entry_id, subentry_id)
        if branch is None:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="unknown_branch",
                translation_placeholders={"branch": subentry_id},
            )
        try:
            key, token = self.keyring.create(
                name=name,
                entry_id=entry_id,
                branch=subentry_id,
                doors=doors,
                known_doors=branch.doors,
                now=dt_util.utcnow(),
            )
        except ReaderKeyError as err:
            raise translated(err) from None
        await self.async_save()
        LOGGER.info(
            "Reader key %s (%s) made for %s: %s",
            key.id,
            key.name,
            branch.title,
            ", ".join(key.doors),
        )
        return key, token

    async def async_revoke(self, reference: str, entry_id: str | None) -> ReaderKey:
        """Revoke a key (by id, or an active key by name) and store that."""
        try:
            key = self.keyring.find(reference, entry_id)
        except ReaderKeyError as err:
            raise translated(err) from None
        if key.active:
            key = self.keyring.revoke(key.id, dt_util.utcnow())
            self.throttle.lift(key.id)
            self._throttle_changed()
            await self.async_save()
            LOGGER.info("Reader key %s (%s) revoked", key.id, key.name)
        return key

    async def async_remove_entry(self, entry_id: str) -> None:
        """Forget the keys of a removed library service."""
        if self.keyring.remove_entry(entry_id):
            await self.async_save()

    def describe(self, key: ReaderKey) -> dict[str, Any]:
        """Return what an admin sees of a key: never the key."""
        branch = resolve_branch(self.hass, key.entry_id, key.branch)
        return {
            "id": key.id,
            "name": key.name,
            "config_entry_id": key.entry_id,
            "branch": branch.title if branch else key.branch,
            "branch_device_id": branch_device_id(self.hass, key.entry_id, key.branch),
            "doors": list(key.doors),
            "created": key.created.isoformat(),
            "last_used": key.last_used.isoformat() if key.last_used else None,
            "revoked": key.revoked.isoformat() if key.revoked else None,
        }

    # -- a reader at the door ------------------------------------------------------------------

    @callback
    def authenticate(self, token: str | None) -> ReaderKey | None:
        """Return the active key a reader presented, or None."""
        return self.keyring.authenticate(token)

    @callback
    def touch(self, key: ReaderKey) -> None:
        """Note the key's use now; written to storage at most once a minute."""
        self.keyring.touch(key.id, dt_util.utcnow())
        now = self.hass.loop.time()
        if now >= self._next_last_used_write:
            self._next_last_used_write = now + LAST_USED_WRITE_SECONDS
            self._store.async_delay_save(self._data, LAST_USED_WRITE_SECONDS)

    @callback
    def admit(self, key: ReaderKey) -> datetime | None:
        """Admit a reader's request (None) or return until when it must wait."""
        return self.throttle.admit(
            key.id, dt_util.utcnow(), _policy(self.hass, key.entry_id)
        )

    @callback
    def settle(self, key: ReaderKey, branch_title: str, refusal: str | None) -> None:
        """Count what an admitted request came to; tell staff when the reader is throttled."""
        policy = _policy(self.hass, key.entry_id)
        trip = self.throttle.settle(key.id, dt_util.utcnow(), policy, refusal)
        if refusal is not None:
            self._throttle_changed()
        if trip is not None:
            self._announce(key, branch_title, policy, trip)

    def _announce(
        self,
        key: ReaderKey,
        branch_title: str,
        policy: ThrottlePolicy,
        trip: ThrottleTrip,
    ) -> None:
        minutes = int(policy.duration.total_seconds() // 60)
        LOGGER.warning(
            "Door reader %s at %s stopped for %d minutes: %d refusals within %d seconds (%s)",
            key.name,
            branch_title,
            minutes,
            trip.refusals,
            int(policy.window.total_seconds()),
            ", ".join(f"{n} {reason}" for reason, n in sorted(trip.reasons.items())),
        )
        if (found := resolve_branch(self.hass, key.entry_id, key.branch)) is not None:
            found.branch.coordinator.events.publish(
                ReaderThrottled(
                    branch_id=key.branch,
                    branch=branch_title,
                    reader=key.name,
                    doors=tuple(key.doors),
                    refusals=trip.refusals,
                    minutes=minutes,
                )
            )
        self.hass.bus.async_fire(
            EVENT_READER_THROTTLED,
            {
                "reader": key.name,
                "reader_id": key.id,
                "branch": branch_title,
                "branch_id": key.branch,
                "doors": list(key.doors),
                "refusals": trip.refusals,
                "reasons": trip.reasons,
                "window_seconds": int(policy.window.total_seconds()),
                "throttle_minutes": minutes,
                "until": trip.until.isoformat(),
            },
        )


@singleton(DATA_READER_KEYS, async_=True)
async def async_get_reader_keys(hass: HomeAssistant) -> ReaderKeys:
    """Return the installation's reader keys, loaded once."""
    return await ReaderKeys.async_load(hass)


async def async_remove_reader_keys(hass: HomeAssistant, entry_id: str) -> None:
    """Delete the reader keys of a removed library service (call from async_remove_entry)."""
    await (await async_get_reader_keys(hass)).async_remove_entry(entry_id)
