"""Card + PIN access for a library service: the membership store, decisions, doors, events.

One `LibraryAccess` per library service (config entry). Members may use every branch of their
service. The store and the key derivation are blocking: they run in the executor. Nothing here
logs, fires or stores a PIN or a full card number.

A service whose membership backend is its library management system over SIP2 has a
`LibrarySystem` (library_system.py): its decisions ask the LMS for the card and PIN (or, while
the LMS does not answer, its offline cache) and then apply the same house rules.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
import sqlite3
import threading
from typing import Any, TypeVar
import uuid

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.dispatcher import async_dispatcher_send
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util

from ..building.coordinator import BranchCoordinator, signal_access
from ..const import (
    CONF_LOCKOUT_ATTEMPTS,
    CONF_LOCKOUT_MINUTES,
    CONF_LOCKOUT_WINDOW,
    CONF_ROOM_GRACE,
    DEFAULT_LOCKOUT_ATTEMPTS,
    DEFAULT_LOCKOUT_MINUTES,
    DEFAULT_LOCKOUT_WINDOW,
    DEFAULT_ROOM_GRACE,
    DOMAIN,
    EVENT_ACCESS,
    LOGGER,
)
from ..engine.database import StorageError
from ..engine.members.access import AccessDecider, AccessRequest, Decision, Identified
from ..engine.members.membership import (
    Booking,
    MemberError,
    card_ref,
    check_booking,
    is_card_ref,
    mask_card,
    normalise_card,
    public_reason,
)
from ..engine.members.pins import LockoutPolicy, PinFormatError, new_pepper
from ..engine.members.store import MembershipStore
from ..helpers.errors import refused, translated
from ..helpers.masking import Masked
from ..helpers.storage import storage_problem
from ..usage.statistics import record_decision
from .library_system import LibrarySystem, is_sip2

_T = TypeVar("_T")

# Reasons the Home Assistant side adds to the engine's.
REASON_CONTROLLER_UNREACHABLE = "controller_unreachable"
REASON_STORE_UNAVAILABLE = "store_unavailable"  # the member store cannot be used
REASON_KEY_REVOKED = "reader_key_revoked"  # the reader's key went while it was decided
ISSUE_STORE_WRITES = "member_store_writes"
# Card references remembered (the panel's last listings); an older one is found in the store.
REMEMBERED_REFS = 10_000
ISSUE_MEMBER_STORE = "member_store"


def _service_title(hass: HomeAssistant, entry_id: str) -> str:
    entry = hass.config_entries.async_get_entry(entry_id)
    return entry.title if entry is not None else entry_id


def signal_bookings(subentry_id: str) -> str:
    """Return the dispatcher signal telling a branch's calendar its bookings changed."""
    return f"{DOMAIN}_{subentry_id}_bookings"


def store_path(hass: HomeAssistant, entry_id: str) -> Path:
    """Return where a library service's member store lives."""
    return Path(hass.config.path(DOMAIN, f"{entry_id}.db"))


@dataclass(frozen=True)
class AccessOutcome:
    """What a request came to, for the action's response, the HTTP reply and the event."""

    granted: bool
    reason: str
    door: str
    release_seconds: int
    card: str  # masked
    party: int
    # The library system's screen message for the reader, once the PIN was right (SIP2
    # backend only). In the answer, never in an event, a state or a log: it may name a member.
    message: str = ""
    # What a door reader is told (engine: Decision.reader_reason): "try again" where the
    # real reason would confirm a PIN or tell a member's card from a stranger's.
    reader_reason: str = ""
    # When the lock-out this attempt met (or started) ends, for the door's display: any
    # well-formed card number is locked out alike, a member's or not.
    locked_until: datetime | None = None

    def as_dict(self) -> dict[str, Any]:
        """Return the response of `request_access` (nothing secret in it)."""
        answer: dict[str, Any] = {
            "granted": self.granted,
            "reason": self.reason,
            "door": self.door,
            "release_seconds": self.release_seconds,
            "card": self.card,
            "party": self.party,
        }
        if self.message:
            answer["message"] = self.message
        return answer


class LibraryAccess:
    """The membership store and access decisions of one library service."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry_id: str,
        store: MembershipStore | None,
        decider: AccessDecider | None,
    ) -> None:
        """Use an opened store and decider (see `async_open`)."""
        self.hass = hass
        self.entry_id = entry_id
        self._store = store
        self._decider = decider
        # Why the member store cannot be used (None: it can). Card entry is refused meanwhile.
        self.problem: str | None = None
        self._pepper = decider.pepper if decider is not None else b""
        # The library's system (SIP2), when it is the service's membership backend.
        self.system: LibrarySystem | None = None
        # The card references last handed out (card_ref), oldest first.
        self._refs: dict[str, str] = {}
        self._refs_lock = threading.Lock()

    @classmethod
    async def async_open(
        cls, hass: HomeAssistant, entry_id: str, options: dict[str, Any]
    ) -> LibraryAccess:
        """Open the service's store; its pepper is kept apart in Home Assistant's storage."""
        pepper_store: Store[dict[str, str]] = Store(
            hass, 1, f"{DOMAIN}.{entry_id}.pepper", private=True
        )
        saved = await pepper_store.async_load()
        if saved is None:
            saved = {"pepper": new_pepper().hex()}
            await pepper_store.async_save(saved)
        pepper = bytes.fromhex(saved["pepper"])
        policy = LockoutPolicy(
            attempts=int(options.get(CONF_LOCKOUT_ATTEMPTS, DEFAULT_LOCKOUT_ATTEMPTS)),
            window=timedelta(
                minutes=int(options.get(CONF_LOCKOUT_WINDOW, DEFAULT_LOCKOUT_WINDOW))
            ),
            duration=timedelta(
                minutes=int(options.get(CONF_LOCKOUT_MINUTES, DEFAULT_LOCKOUT_MINUTES))
            ),
        )
        grace = timedelta(minutes=int(options.get(CONF_ROOM_GRACE, DEFAULT_ROOM_GRACE)))

        def open_store() -> tuple[MembershipStore, AccessDecider]:
            store = MembershipStore(store_path(hass, entry_id))
            return store, AccessDecider(store, pepper, policy, grace, dt_util.now())

        path = store_path(hass, entry_id)
        try:
            store, decider = await hass.async_add_executor_job(open_store)
        except (sqlite3.Error, OSError, StorageError) as err:
            # Life safety does not wait for this: the branches run, card entry is refused.
            access = cls(hass, entry_id, None, None)
            access._pepper = pepper
            access.problem = storage_problem(err)
            LOGGER.error(
                "The member store of %s (%s) cannot be opened: %s. Card entry is refused "
                "until it is repaired; the file is left untouched",
                _service_title(hass, entry_id),
                path,
                err,
            )
            ir.async_create_issue(
                hass,
                DOMAIN,
                f"{ISSUE_MEMBER_STORE}_{entry_id}",
                is_fixable=False,
                severity=ir.IssueSeverity.CRITICAL,
                translation_key=f"{ISSUE_MEMBER_STORE}_{access.problem}",
                translation_placeholders={
                    "service": _service_title(hass, entry_id),
                    "path": str(path),
                },
            )
            return access
        ir.async_delete_issue(hass, DOMAIN, f"{ISSUE_MEMBER_STORE}_{entry_id}")
        access = cls(hass, entry_id, store, decider)
        access._pepper = pepper
        entry = hass.config_entries.async_get_entry(entry_id)
        if entry is not None and is_sip2(entry):
            try:
                access.system = await LibrarySystem.async_open(
                    hass, entry, store, decider
                )
            except BaseException:
                await hass.async_add_executor_job(store.close)
                raise
            access.system.async_start()
        else:
            # No LMS (any more): the PIN hashes of its recent grants are not kept.
            await hass.async_add_executor_job(store.clear_grants)
        return access

    @property
    def store(self) -> MembershipStore:
        """Return the member store, or a translated error while it cannot be used."""
        if self._store is None:
            raise self._unavailable()
        return self._store

    @property
    def decider(self) -> AccessDecider:
        """Return the access decider, or a translated error while the store cannot be used."""
        if self._decider is None:
            raise self._unavailable()
        return self._decider

    def _unavailable(self) -> HomeAssistantError:
        return HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key=REASON_STORE_UNAVAILABLE,
            translation_placeholders={"error": self.problem or "not open"},
        )

    @property
    def pepper(self) -> bytes:
        """Return the pepper (for hashing a new PIN; never logged)."""
        return self._pepper

    async def async_close(self) -> None:
        """Stop the library system's connection (its cache writes first), close the store."""
        if self.system is not None:
            await self.system.async_stop()
        if self._store is not None:
            await self.hass.async_add_executor_job(self._store.close)

    def _sync_storage_issue(self) -> None:
        """Raise, or clear, the repair issue of a member store that cannot be written now."""
        problem = self._decider.storage_problem if self._decider is not None else None
        issue_id = f"{ISSUE_STORE_WRITES}_{self.entry_id}"
        if problem is None:
            ir.async_delete_issue(self.hass, DOMAIN, issue_id)
            return
        ir.async_create_issue(
            self.hass,
            DOMAIN,
            issue_id,
            is_fixable=False,
            severity=ir.IssueSeverity.ERROR,
            translation_key=ISSUE_STORE_WRITES,
            translation_placeholders={
                "service": _service_title(self.hass, self.entry_id),
                "problem": problem,
            },
        )

    async def async_run(self, job: Callable[[], _T]) -> _T:
        """Run a store job in the executor; translate its errors."""
        try:
            return await self.hass.async_add_executor_job(job)
        except StorageError as err:
            raise HomeAssistantError(
                translation_domain=DOMAIN, translation_key=err.code
            ) from err
        except (MemberError, PinFormatError) as err:
            raise translated(err) from None

    def card_ref(self, card: str) -> str:
        """Return the reference naming a card without its number (the panel acts through it).

        The last references handed out are remembered (any thread: listings run in the
        executor), so acting on a member just listed finds the card without reading the store.
        """
        ref = card_ref(card, self._pepper)
        with self._refs_lock:
            self._refs.pop(ref, None)
            self._refs[ref] = normalise_card(card)
            while len(self._refs) > REMEMBERED_REFS:
                del self._refs[next(iter(self._refs))]
        return ref

    async def async_card(self, value: str) -> str:
        """Return the card number a card field names: the number given, or a reference's card.

        The administrator's panel shows members masked and acts on them by reference
        (`engine.membership.card_ref`); an action's card field takes either. The number found
        comes back masked wherever printed (`Masked`); an unknown reference is an unknown member.
        """
        text = str.__str__(value)
        if not is_card_ref(text):
            return value
        with self._refs_lock:
            card = self._refs.get(text.strip())
        if card is not None:
            return Masked(
                card
            )  # (a member removed since: the action says unknown_member)
        store = self.store
        card = await self.async_run(lambda: store.card_for_ref(text, self._pepper))
        if card is None:
            raise translated(MemberError("unknown_member", card=mask_card(text)))
        return Masked(card)

    async def async_book(
        self,
        branch: str,
        rooms: list[str],
        *,
        room: str,
        card: str,
        start: datetime,
        end: datetime,
        title: str,
    ) -> Booking:
        """Book a meeting room of a branch for a member's card; tell its calendar."""
        wanted = room.strip().lower().replace(" ", "_")
        if not wanted and len(rooms) == 1:
            wanted = rooms[0]
        if wanted not in rooms:
            raise refused(
                "booking_unknown_room", room=room, rooms=", ".join(rooms) or "-"
            )
        try:  # before any time-zone conversion, which a date like 9999-12-31 overflows
            check_booking(start, end, dt_util.now(), title)
        except MemberError as err:
            raise translated(err) from None
        start, end = dt_util.as_local(start), dt_util.as_local(end)

        def book() -> Booking:
            booking = Booking(
                id=uuid.uuid4().hex,
                branch=branch,
                room=wanted,
                card=normalise_card(card),
                start=start,
                end=end,
                title=title,
            )
            self.store.require(booking.card)  # only a member's card can open a room
            for other in self.store.bookings(branch, start, end):
                if other.room == wanted:
                    raise refused("booking_overlaps", room=wanted)
            self.store.add_booking(booking)
            return booking

        booking = await self.async_run(book)
        async_dispatcher_send(self.hass, signal_bookings(branch))
        return booking

    async def async_identify(self, card: str, pin: str) -> Identified:
        """Check a card and its PIN exactly as a door does, with the doors' lock-out.

        For whatever else needs a member to prove who they are (the online induction): the
        local store's check, or with SIP2 the library system's (the member's local record is
        made or brought up to date as at the door). The attempt counts against the card's
        lock-out at every door. Raises a translated error while the member store is unusable.
        """
        decider = self.decider
        now = dt_util.now()
        if self.system is not None:
            return await self.system.access.identify(card, pin, now)
        return await self.hass.async_add_executor_job(decider.identify, card, pin, now)

    async def async_request(
        self,
        branch: BranchCoordinator,
        *,
        open_to_members: bool,
        door_id: str,
        card: str,
        pin: str,
        minors: int = 0,
        adult_card: str | None = None,
        adult_pin: str | None = None,
        still_allowed: Callable[[], bool] | None = None,
    ) -> AccessOutcome:
        """Decide a request at a door; on a grant, release the door through its controller.

        `still_allowed` (a door reader's key still valid) is asked again after the decision and
        before any release: a key revoked meanwhile releases nothing.
        """
        door = next((d for d in branch.point_map.doors if d.id == door_id), None)
        if door is None:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="unknown_door",
                translation_placeholders={
                    "door": door_id,
                    "branch": branch.subentry.title,
                },
            )
        request = AccessRequest(
            branch=branch.subentry.subentry_id,
            door=door.id,
            door_kind=door.kind,
            card=card,
            pin=pin,
            at=dt_util.now(),
            open_to_members=open_to_members,
            fire_alarm=branch.fire_alarm,
            evacuation=branch.evacuating,  # after the alarm until a person resets the branch
            lockdown=branch.rules.lockdown,  # the branch's building rules know its lockdown
            minors=minors,
            adult_card=adult_card,
            adult_pin=adult_pin,
        )
        decision: Decision
        if self._decider is None:
            # The member store cannot be used: nobody is let in by card (leaving is always
            # possible; staff use their keys). Said plainly, never a traceback.
            outcome = AccessOutcome(
                granted=False,
                reason=REASON_STORE_UNAVAILABLE,
                door=door.id,
                release_seconds=0,
                card=mask_card(card),
                party=0,
                reader_reason=REASON_STORE_UNAVAILABLE,
            )
            self.announce(branch, outcome)
            return outcome
        if self.system is not None:
            decision = await self.system.access.decide(request)
        else:
            decision = await self.hass.async_add_executor_job(
                self.decider.decide, request
            )
        reason: str = decision.reason.value
        reader_reason = decision.reader_reason
        granted = decision.granted
        self._sync_storage_issue()
        if granted and still_allowed is not None and not still_allowed():
            granted, reason = False, REASON_KEY_REVOKED
            reader_reason = REASON_KEY_REVOKED
        if granted:
            try:
                await branch.async_release_door(door.id)
            except HomeAssistantError:
                granted, reason = False, REASON_CONTROLLER_UNREACHABLE
                LOGGER.warning(
                    "Access granted at %s (%s) but the door could not be released: "
                    "the controller did not answer",
                    branch.subentry.title,
                    door.id,
                )
            else:
                branch.watch_entry(door.id, decision.party)
        outcome = AccessOutcome(
            granted=granted,
            reason=reason,
            door=door.id,
            release_seconds=branch.release_seconds if granted else 0,
            card=decision.card,
            party=decision.party if granted else 0,
            message=decision.message,
            reader_reason=(
                public_reason(reason)
                if reason != decision.reason.value
                else reader_reason
            ),
            locked_until=decision.locked_until,
        )
        self.announce(branch, outcome, decision.staff_role)
        record_decision(
            self.hass,
            self.entry_id,
            branch.subentry.subentry_id,
            granted=outcome.granted,
            reason=outcome.reason,
            party=outcome.party,
            age_bands=dict(decision.age_bands) if outcome.granted else None,
        )
        return outcome

    def announce(
        self, branch: BranchCoordinator, outcome: AccessOutcome, role: str | None = None
    ) -> None:
        """Tell the door's event entity and the logbook about an attempt."""
        data = {
            "branch": branch.subentry.title,
            "door": outcome.door,
            "granted": outcome.granted,
            "reason": outcome.reason,
            "card": outcome.card,
            "party": outcome.party,
        }
        if role:
            data["role"] = role
        async_dispatcher_send(
            self.hass,
            signal_access(branch.subentry.subentry_id),
            outcome.door,
            "granted" if outcome.granted else "denied",
            data,
        )
        self.hass.bus.async_fire(EVENT_ACCESS, data)
