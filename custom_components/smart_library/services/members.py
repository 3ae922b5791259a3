"""Card + PIN action handlers: staff actions on members, room bookings and `request_access`.

Handlers are thin: take the validated call, run the engine in the executor, translate its errors.
The rules themselves (induction, renewal, bar, final warning, lifting) are the engine's
(engine.membership); registration and who may call what are in services.py. A PIN is passed to
the engine and forgotten; a card number is only ever echoed masked.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path
from typing import Any

from homeassistant.const import ATTR_CONFIG_ENTRY_ID
from homeassistant.core import HomeAssistant, ServiceCall, ServiceResponse
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers.service import async_get_config_entry
from homeassistant.helpers.translation import async_get_cached_translations
from homeassistant.util import dt as dt_util
import probatio

from ..access.decisions import LibraryAccess
from ..branch import Branch
from ..const import DOMAIN
from ..engine.building.pointmap import DoorKind
from ..engine.members import membership
from ..engine.members.induction import current_version
from ..engine.members.membership import (
    Member,
    MemberError,
    Reason,
    StaffCard,
    check_member_fields,
    mask_card,
    normalise_card,
    parse_windows,
)
from ..engine.members.pins import hash_pin
from ..helpers.errors import refused
from ..helpers.permissions import async_actor
from ..runtime import branch_for_device

ATTR_CARD = "card"
ATTR_PIN = "pin"
ATTR_NAME = "name"
ATTR_BIRTH_DATE = "birth_date"
ATTR_CARD_EXPIRY = "card_expiry"
ATTR_INDUCTION_DATE = "induction_date"
ATTR_DATE = "date"
ATTR_REASON = "reason"
ATTR_REVIEW_DATE = "review_date"
ATTR_CSV = "csv"
ATTR_PATH = "path"
ATTR_ROLE = "role"
ATTR_WINDOWS = "windows"
ATTR_BRANCHES = "branches"
ATTR_BRANCH = "branch"
ATTR_DOOR = "door"
ATTR_MINORS = "minors"
ATTR_ADULT_CARD = "adult_card"
ATTR_ADULT_PIN = "adult_pin"
ATTR_ROOM = "room"
ATTR_START = "start"
ATTR_END = "end"
ATTR_TITLE = "title"
ATTR_LIMIT = "limit"

DEFAULT_LIST_LIMIT = 50
MAX_LIST_LIMIT = 200

STAFF_ROLES = ["staff", "cleaner", "security", "contractor"]

ENTRY = {probatio.Optional(ATTR_CONFIG_ENTRY_ID): cv.string}
CARD = ENTRY | {probatio.Required(ATTR_CARD): cv.string}
MEMBER_SCHEMAS: dict[str, probatio.Schema] = {
    "enroll_member": probatio.Schema(
        CARD
        | {
            probatio.Optional(ATTR_NAME, default=""): cv.string,
            probatio.Required(ATTR_BIRTH_DATE): cv.date,
            probatio.Required(ATTR_CARD_EXPIRY): cv.date,
            probatio.Optional(ATTR_INDUCTION_DATE): cv.date,
            probatio.Optional(ATTR_PIN): cv.string,
        }
    ),
    "record_induction": probatio.Schema(
        CARD
        | {
            probatio.Optional(ATTR_DATE): cv.date,
            probatio.Optional(ATTR_BRANCH): cv.string,
        }
    ),
    "set_pin": probatio.Schema(CARD | {probatio.Required(ATTR_PIN): cv.string}),
    "renew_card": probatio.Schema(
        CARD | {probatio.Required(ATTR_CARD_EXPIRY): cv.date}
    ),
    "bar_member": probatio.Schema(
        CARD
        | {
            probatio.Required(ATTR_REASON): cv.string,
            probatio.Required(ATTR_REVIEW_DATE): cv.date,
        }
    ),
    "issue_final_warning": probatio.Schema(
        CARD | {probatio.Optional(ATTR_REASON, default=""): cv.string}
    ),
    "lift_restriction": probatio.Schema(CARD),
    "unlock_card": probatio.Schema(CARD),
    "remove_member": probatio.Schema(CARD),
    "import_members": probatio.Schema(
        ENTRY
        | {
            probatio.Exclusive(ATTR_CSV, "source"): cv.string,
            probatio.Exclusive(ATTR_PATH, "source"): cv.string,
        }
    ),
    "export_members": probatio.Schema(ENTRY),
    "add_staff_card": probatio.Schema(
        CARD
        | {
            probatio.Required(ATTR_NAME): cv.string,
            probatio.Required(ATTR_ROLE): probatio.In(STAFF_ROLES),
            probatio.Required(ATTR_WINDOWS): cv.string,
            probatio.Required(ATTR_PIN): cv.string,
            probatio.Optional(ATTR_BRANCHES, default=list): [cv.string],
        }
    ),
    "remove_staff_card": probatio.Schema(CARD),
    "list_members": probatio.Schema(
        ENTRY
        | {
            # The whole card number or its end (the digits a masked card shows).
            probatio.Optional(ATTR_CARD): cv.string,
            probatio.Optional(ATTR_NAME): cv.string,
            probatio.Optional(ATTR_LIMIT, default=DEFAULT_LIST_LIMIT): probatio.All(
                probatio.Coerce(int), probatio.Range(min=1, max=MAX_LIST_LIMIT)
            ),
        }
    ),
    "list_staff_cards": probatio.Schema(ENTRY),
    "book_room": probatio.Schema(
        {
            probatio.Required(ATTR_BRANCH): cv.string,
            probatio.Optional(ATTR_ROOM, default=""): cv.string,
            probatio.Required(ATTR_CARD): cv.string,
            probatio.Required(ATTR_START): cv.datetime,
            probatio.Required(ATTR_END): cv.datetime,
            probatio.Optional(ATTR_TITLE, default=""): cv.string,
        }
    ),
}

REQUEST_ACCESS_SCHEMA = probatio.Schema(
    {
        probatio.Required(ATTR_BRANCH): cv.string,
        probatio.Optional(ATTR_DOOR, default="entrance"): cv.string,
        probatio.Required(ATTR_CARD): cv.string,
        probatio.Required(ATTR_PIN): cv.string,
        probatio.Optional(ATTR_MINORS, default=0): probatio.All(
            probatio.Coerce(int), probatio.Range(min=0, max=10)
        ),
        probatio.Optional(ATTR_ADULT_CARD): cv.string,
        probatio.Optional(ATTR_ADULT_PIN): cv.string,
    }
)


def _access(call: ServiceCall) -> LibraryAccess:
    """Return the membership access of the library service the call names (or the only one)."""
    entry = async_get_config_entry(
        call.hass, DOMAIN, call.data.get(ATTR_CONFIG_ENTRY_ID)
    )
    access: LibraryAccess = entry.runtime_data.access
    return access


def _branch_access(hass: HomeAssistant, device_id: str) -> tuple[Branch, LibraryAccess]:
    """Return the branch whose device was chosen and its library service's access."""
    branch = branch_for_device(hass, device_id)
    access: LibraryAccess = branch.coordinator.config_entry.runtime_data.access
    return branch, access


def _today() -> date:
    return dt_util.now().date()


def standing(
    member: Member,
    today: date,
    locked_until: datetime | None,
    induction_required: int = 0,
) -> dict[str, Any]:
    """Return what the door would answer the member with the right PIN now, card masked.

    A running lock-out comes first, as at the door: `eligibility` is then `locked_out` and
    `locked_until` says until when, whatever the member's standing otherwise is.
    `induction_required`: the newest induction version published as significant.
    """
    answer: dict[str, Any] = {
        "card": member.masked_card,
        "eligibility": member.eligibility(today, induction_required).value,
    }
    if locked_until is not None:
        answer["eligibility"] = Reason.LOCKED_OUT.value
        answer["locked_until"] = locked_until.isoformat()
    return answer


async def enroll_member(call: ServiceCall) -> ServiceResponse:
    """Enroll a member (refused when a member or a staff card holds the number)."""
    access = _access(call)
    data = call.data
    pin = data.get(ATTR_PIN)
    member = Member(
        card=data[ATTR_CARD],
        birth_date=data[ATTR_BIRTH_DATE],
        card_expiry=data[ATTR_CARD_EXPIRY],
        name=data[ATTR_NAME],
        induction_date=data.get(ATTR_INDUCTION_DATE),
    )
    now = dt_util.now()

    def enroll() -> dict[str, Any]:
        check_member_fields(member, now.date())
        pin_hash = hash_pin(pin, access.pepper) if pin is not None else None
        added = access.store.add(replace(member, pin_hash=pin_hash), now.date())
        return standing(
            added,
            now.date(),
            access.decider.locked_until(added.card, now),
            access.store.induction_required,
        )

    return await access.async_run(enroll)


# The engine's rule behind each action that changes one member's standing.
MEMBER_CHANGES: dict[str, Callable[[Member, Mapping[str, Any], date], Member]] = {
    "renew_card": lambda m, data, today: membership.renew_card(
        m, today, data[ATTR_CARD_EXPIRY]
    ),
    "bar_member": lambda m, data, today: membership.bar_member(
        m, today, data[ATTR_REASON], data[ATTR_REVIEW_DATE]
    ),
    "issue_final_warning": lambda m, data, today: membership.issue_final_warning(
        m, today, data[ATTR_REASON]
    ),
    "lift_restriction": lambda m, data, today: membership.lift_restriction(m),
}


async def change_member(call: ServiceCall) -> ServiceResponse:
    """Apply the call's rule to one member; answer with their standing (lock-out included)."""
    access = _access(call)
    edit = MEMBER_CHANGES[call.service]
    data, now = call.data, dt_util.now()
    card = await access.async_card(data[ATTR_CARD])

    def change() -> dict[str, Any]:
        member = access.store.change(card, lambda m: edit(m, data, now.date()))
        return standing(
            member,
            now.date(),
            access.decider.locked_until(member.card, now),
            access.store.induction_required,
        )

    return await access.async_run(change)


async def record_induction(call: ServiceCall) -> ServiceResponse:
    """Record an induction given face to face: its date, the version current now, the branch.

    The online induction records itself (pages/); this is for staff after one in person.
    """
    access = _access(call)
    data, now = call.data, dt_util.now()
    # A card number, or the reference the panel's member list gave for it.
    card = await access.async_card(data[ATTR_CARD])
    where = ""
    if ATTR_BRANCH in data:
        where = branch_for_device(call.hass, data[ATTR_BRANCH]).id

    def record() -> dict[str, Any]:
        version = current_version(access.store.induction_history()).number
        member = access.store.change(
            card,
            lambda m: membership.record_induction(
                m, now.date(), data.get(ATTR_DATE), version=version, where=where
            ),
        )
        answer = standing(
            member,
            now.date(),
            access.decider.locked_until(member.card, now),
            access.store.induction_required,
        )
        answer["induction"] = {  # what is recorded: the date, the version, where
            "date": member.induction_date.isoformat()
            if member.induction_date
            else None,
            "version": member.induction_version,
            "where": member.induction_where or None,
        }
        return answer

    return await access.async_run(record)


async def set_pin(call: ServiceCall) -> ServiceResponse:
    """Set a member's PIN; a lock-out of the card is lifted."""
    access = _access(call)
    pin, now = call.data[ATTR_PIN], dt_util.now()
    card = await access.async_card(call.data[ATTR_CARD])

    def set_it() -> dict[str, Any]:
        pin_hash = hash_pin(pin, access.pepper)
        member = access.store.change(card, lambda m: replace(m, pin_hash=pin_hash))
        access.decider.unlock_card(member.card, now)
        return standing(member, now.date(), None, access.store.induction_required)

    return await access.async_run(set_it)


async def unlock_card(call: ServiceCall) -> ServiceResponse:
    """Lift a card's lock-out after wrong PINs (a member's, a staff card's or any number)."""
    access = _access(call)
    card, now = await access.async_card(call.data[ATTR_CARD]), dt_util.now()

    def unlock() -> bool:
        return access.decider.unlock_card(normalise_card(card), now)

    was_locked_out = await access.async_run(unlock)
    return {"card": mask_card(card), "was_locked_out": was_locked_out}


async def remove_member(call: ServiceCall) -> ServiceResponse:
    """Remove a member and their bookings."""
    access = _access(call)
    card = await access.async_card(call.data[ATTR_CARD])
    if not await access.async_run(lambda: access.store.remove(card)):
        raise refused("unknown_member", card=mask_card(card))
    return {"card": mask_card(card), "removed": True}


def exception_messages(hass: HomeAssistant) -> dict[str, str]:
    """Return the integration's translated error messages, by key (cached; on the loop)."""
    prefix = f"component.{DOMAIN}.exceptions."
    cached = async_get_cached_translations(hass, "en", "exceptions", DOMAIN)
    return {
        key[len(prefix) : -len(".message")]: text
        for key, text in cached.items()
        if key.startswith(prefix) and key.endswith(".message")
    }


def refused_message(messages: Mapping[str, str], reason: str) -> str:
    """Return the sentence for a refused row's reason code (the code when there is none)."""
    return (messages.get(reason) or reason).rstrip(".")


async def import_members(call: ServiceCall) -> ServiceResponse:
    """Import members from CSV text or a file; report refused rows with a code and a sentence.

    The whole job, the sentences of the refused rows included, runs in the executor: a large
    file of bad rows does not hold up the event loop.
    """
    access = _access(call)
    text: str | None = call.data.get(ATTR_CSV)
    path: str | None = call.data.get(ATTR_PATH)
    if path is not None and not call.hass.config.is_allowed_path(path):
        raise refused("import_path_not_allowed", path=path)
    if text is None and path is None:
        raise refused("import_nothing")
    messages = exception_messages(call.hass)
    today = _today()

    def run() -> dict[str, Any]:
        csv_text = text
        if path is not None:
            try:
                csv_text = Path(path).read_text(encoding="utf-8-sig")
            except (OSError, UnicodeError) as err:
                raise MemberError("import_unreadable", path=path) from err
        assert csv_text is not None
        report = access.store.import_csv(csv_text, today)
        for row in report.refused:  # the code for automations, a sentence for people
            row["message"] = refused_message(messages, row["reason"])
        return report.as_dict()

    return await access.async_run(run)


async def export_members(call: ServiceCall) -> ServiceResponse:
    """Export every member as spreadsheet-safe CSV (never a PIN)."""
    access = _access(call)
    text = await access.async_run(access.store.export_csv)
    return {"members": text.count("\n") - 1, "csv": text}


async def add_staff_card(call: ServiceCall) -> ServiceResponse:
    """Add or replace a staff or contractor card (refused for a member's card number)."""
    access = _access(call)
    data = call.data
    pin = data[ATTR_PIN]
    branches = frozenset(
        branch_for_device(call.hass, device).id for device in data[ATTR_BRANCHES]
    )

    def add() -> StaffCard:
        card = StaffCard(
            card=data[ATTR_CARD],
            name=data[ATTR_NAME],
            role=data[ATTR_ROLE],
            windows=parse_windows(data[ATTR_WINDOWS]),
            pin_hash=hash_pin(pin, access.pepper),
            branches=branches,
        )
        access.store.save_staff(card)
        return card

    card = await access.async_run(add)
    return {
        "card": mask_card(card.card),
        "windows": [str(w) for w in card.windows],
    }


async def remove_staff_card(call: ServiceCall) -> ServiceResponse:
    """Remove a staff or contractor card."""
    access = _access(call)
    card = await access.async_card(call.data[ATTR_CARD])
    if not await access.async_run(lambda: access.store.remove_staff(card)):
        raise refused("unknown_staff_card", card=mask_card(card))
    return {"card": mask_card(card), "removed": True}


def member_row(access: LibraryAccess, member: Member, now: datetime) -> dict[str, Any]:
    """Return what the panel shows of a member: the card masked, its reference, the standing.

    `door` is what the door would answer this member with their right PIN now: a running
    lock-out first, then `no_pin_set` while they have no PIN, then their standing
    (`eligibility`: the membership rules alone, whatever the PIN).
    """
    today = now.date()
    locked_until = access.decider.locked_until(member.card, now)
    eligibility = door = member.eligibility(today).value
    if member.pin_hash is None:
        door = Reason.NO_PIN_SET.value
    if locked_until is not None:
        door = Reason.LOCKED_OUT.value

    def day(value: date | None) -> str | None:
        return value.isoformat() if value else None

    return {
        "ref": access.card_ref(member.card),
        "card": member.masked_card,
        "name": member.name,
        "age": member.age(today),
        "card_expiry": day(member.card_expiry),
        "induction_date": day(member.induction_date),
        "renewed_on": day(member.renewed_on),
        "pin_set": member.pin_hash is not None,
        "locked_until": locked_until.isoformat() if locked_until else None,
        "restriction": member.restriction.value,
        "restriction_date": day(member.restriction_date),
        "review_date": day(member.review_date),
        "restriction_reason": member.restriction_reason,
        "door": door,
        "eligibility": eligibility,
    }


async def list_members(call: ServiceCall) -> ServiceResponse:
    """Find members by card (its whole number or its end) or name; cards masked (admin)."""
    access = _access(call)
    data, now = call.data, dt_util.now()
    card = data.get(ATTR_CARD)

    def find() -> dict[str, Any]:
        found, total = access.store.find(
            card=str.__str__(card) if card is not None else None,
            name=data.get(ATTR_NAME),
            limit=data[ATTR_LIMIT],
        )
        return {
            "members": [member_row(access, m, now) for m in found],
            "total": total,
        }

    return await access.async_run(find)


async def list_staff_cards(call: ServiceCall) -> ServiceResponse:
    """List the staff and contractor cards with their windows; cards masked (admin)."""
    entry = async_get_config_entry(
        call.hass, DOMAIN, call.data.get(ATTR_CONFIG_ENTRY_ID)
    )
    access: LibraryAccess = entry.runtime_data.access
    branches: Mapping[str, Branch] = entry.runtime_data.branches
    titles = {branch.id: branch.subentry.title for branch in branches.values()}
    cards = await access.async_run(access.store.staff_cards)
    listed: list[dict[str, Any]] = [
        {
            "ref": access.card_ref(c.card),
            "card": mask_card(c.card),
            "name": c.name,
            "role": c.role,
            "windows": [str(w) for w in c.windows],
            "branches": sorted(titles.get(b, b) for b in c.branches),
        }
        for c in cards
    ]
    answer: dict[str, Any] = {"staff_cards": listed}
    return answer


def _local(value: datetime) -> datetime:
    """Read a naive date-time from a form as Home Assistant's local time."""
    return (
        value if value.tzinfo else value.replace(tzinfo=dt_util.get_default_time_zone())
    )


async def book_room(call: ServiceCall) -> ServiceResponse:
    """Book a branch's meeting room for a member's card."""
    branch, access = _branch_access(call.hass, call.data[ATTR_BRANCH])
    rooms = [
        d.id
        for d in branch.coordinator.point_map.doors
        if d.kind is DoorKind.MEETING_ROOM
    ]
    booking = await access.async_book(
        branch.id,
        rooms,
        room=call.data[ATTR_ROOM],
        card=call.data[ATTR_CARD],
        start=_local(call.data[ATTR_START]),
        end=_local(call.data[ATTR_END]),
        title=call.data[ATTR_TITLE],
    )
    return {"booking_id": booking.id, "room": booking.room}


async def async_request_access(
    hass: HomeAssistant, data: Mapping[str, Any]
) -> dict[str, Any]:
    """Decide a card + PIN at a branch's door; the answer keeps the detailed reason.

    The action is for staff automations and kiosks Home Assistant trusts; a door reader is
    told `engine.membership.public_reason(reason)` instead (http.py).
    """
    branch, access = _branch_access(hass, data[ATTR_BRANCH])
    outcome = await access.async_request(
        branch.coordinator,
        open_to_members=branch.hours.open_to_members,
        door_id=data[ATTR_DOOR],
        card=data[ATTR_CARD],
        pin=data[ATTR_PIN],
        minors=data[ATTR_MINORS],
        adult_card=data.get(ATTR_ADULT_CARD),
        adult_pin=data.get(ATTR_ADULT_PIN),
    )
    if outcome.reason == "invalid_request":
        # A card or PIN the library system cannot carry (a SIP2 delimiter, a control
        # character, a character its code page lacks): refused before anyone was asked.
        raise refused("invalid_request")
    return outcome.as_dict()


async def request_access(call: ServiceCall) -> ServiceResponse:
    """Handle the `request_access` action: staff and administrators only.

    A read-only user asking would learn which cards are members' (and with a PIN, release a
    door), as `lock.open` is refused to them, so is this.
    """
    await async_actor(call.hass, call.context)
    return await async_request_access(call.hass, call.data)
