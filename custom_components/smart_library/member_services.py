"""Card + PIN actions: staff actions on members (admin only) and `request_access`.

Handlers are thin: validate, run the engine in the executor, translate its errors. A PIN is
passed to the engine and forgotten; a card number is only ever echoed masked.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

from homeassistant.const import ATTR_CONFIG_ENTRY_ID
from homeassistant.core import (
    HomeAssistant,
    ServiceCall,
    ServiceResponse,
    SupportsResponse,
    callback,
)
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers.service import (
    async_get_config_entry,
    async_register_admin_service,
)
from homeassistant.helpers.translation import async_get_exception_message
from homeassistant.util import dt as dt_util
import probatio

from .access import LibraryAccess
from .const import DOMAIN
from .engine.membership import (
    Member,
    MemberError,
    Restriction,
    StaffCard,
    check_member_fields,
    mask_card,
    parse_windows,
)
from .engine.pins import hash_pin
from .engine.pointmap import DoorKind
from .models import branch_for_device

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
    "record_induction": probatio.Schema(CARD | {probatio.Optional(ATTR_DATE): cv.date}),
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


SECRET_FIELDS = (ATTR_PIN, ATTR_ADULT_PIN)
CARD_FIELDS = (ATTR_CARD, ATTR_ADULT_CARD)
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


def redacting(schema: probatio.Schema) -> Any:
    """Wrap an action's schema so the caller's data loses its secrets once validated.

    Home Assistant fires a `call_service` event with the data the caller passed, after the
    schema ran, and the recorder keeps that event; a script trace keeps the same dict. The
    handler gets the validated copy; what was passed in is left with the PIN replaced and the
    card masked, so neither reaches the event bus, the database or a trace. In the validated copy
    the PIN, the card and a CSV print masked (`Masked`), should anything log the call.
    """

    def validate(data: Any) -> Any:
        try:
            validated = schema(dict(data))
            for key in (*SECRET_FIELDS, *CARD_FIELDS, ATTR_CSV):
                if isinstance(validated.get(key), str):
                    validated[key] = Masked(validated[key])
            return validated
        finally:
            if isinstance(data, MutableMapping):
                for key in SECRET_FIELDS:
                    if key in data:
                        data[key] = REDACTED
                for key in CARD_FIELDS:
                    if isinstance(data.get(key), str):
                        data[key] = mask_card(data[key])
                if isinstance(
                    data.get(ATTR_CSV), str
                ):  # an import carries card numbers
                    data[ATTR_CSV] = f"({data[ATTR_CSV].count(chr(10))} lines of CSV)"

    return validate


def _access(call: ServiceCall) -> LibraryAccess:
    entry = async_get_config_entry(
        call.hass, DOMAIN, call.data.get(ATTR_CONFIG_ENTRY_ID)
    )
    access: LibraryAccess = entry.runtime_data.access
    return access


def _today() -> date:
    return dt_util.now().date()


def _error(key: str, **placeholders: str) -> ServiceValidationError:
    return ServiceValidationError(
        translation_domain=DOMAIN,
        translation_key=key,
        translation_placeholders=placeholders or None,
    )


async def _enroll_member(access: LibraryAccess, call: ServiceCall) -> ServiceResponse:
    data = call.data
    pin = data.get(ATTR_PIN)
    member = Member(
        card=data[ATTR_CARD],
        birth_date=data[ATTR_BIRTH_DATE],
        card_expiry=data[ATTR_CARD_EXPIRY],
        name=data[ATTR_NAME],
        induction_date=data.get(ATTR_INDUCTION_DATE),
    )
    today = _today()

    def enroll() -> Member:
        check_member_fields(member, today)
        pin_hash = hash_pin(pin, access.pepper) if pin is not None else None
        return access.store.add(replace(member, pin_hash=pin_hash), today)

    added = await access.async_run(enroll)
    return {"card": added.masked_card, "eligibility": added.eligibility(today).value}


def _change(
    edit: Callable[[Member, ServiceCall, date], Member],
) -> Callable[[LibraryAccess, ServiceCall], Awaitable[ServiceResponse]]:
    """Build a handler that edits one member and answers with their new standing."""

    async def handler(access: LibraryAccess, call: ServiceCall) -> ServiceResponse:
        today = _today()
        member = await access.async_run(
            lambda: access.store.change(
                call.data[ATTR_CARD], lambda m: edit(m, call, today)
            )
        )
        return {
            "card": member.masked_card,
            "eligibility": member.eligibility(today).value,
        }

    return handler


def _record_induction(m: Member, call: ServiceCall, today: date) -> Member:
    day = call.data.get(ATTR_DATE, today)
    if day > today:
        raise MemberError("induction_in_future")
    return replace(m, induction_date=day)


def _renew_card(m: Member, call: ServiceCall, today: date) -> Member:
    return m.renewed(today, call.data[ATTR_CARD_EXPIRY])


def _bar_member(m: Member, call: ServiceCall, today: date) -> Member:
    if call.data[ATTR_REVIEW_DATE] <= today:
        raise MemberError("review_date_not_after_today")
    return replace(
        m,
        restriction=Restriction.BARRED,
        restriction_date=today,
        review_date=call.data[ATTR_REVIEW_DATE],
        restriction_reason=call.data[ATTR_REASON],
    )


def _final_warning(m: Member, call: ServiceCall, today: date) -> Member:
    if m.restriction is Restriction.BARRED:
        raise MemberError("member_barred", card=m.masked_card)
    return replace(
        m,
        restriction=Restriction.FINAL_WARNING,
        restriction_date=today,
        review_date=None,
        restriction_reason=call.data[ATTR_REASON],
    )


def _lift_restriction(m: Member, call: ServiceCall, today: date) -> Member:
    return replace(
        m,
        restriction=Restriction.NONE,
        restriction_date=None,
        review_date=None,
        restriction_reason="",
    )


async def _set_pin(access: LibraryAccess, call: ServiceCall) -> ServiceResponse:
    pin = call.data[ATTR_PIN]
    card = call.data[ATTR_CARD]

    def set_pin() -> Member:
        pin_hash = hash_pin(pin, access.pepper)
        member = access.store.change(card, lambda m: replace(m, pin_hash=pin_hash))
        access.decider.unlock_card(member.card)  # a new PIN lifts a lock-out
        return member

    member = await access.async_run(set_pin)
    return {
        "card": member.masked_card,
        "eligibility": member.eligibility(_today()).value,
    }


async def _remove_member(access: LibraryAccess, call: ServiceCall) -> ServiceResponse:
    card = call.data[ATTR_CARD]
    if not await access.async_run(lambda: access.store.remove(card)):
        raise _error("unknown_member", card=mask_card(card))
    return {"card": mask_card(card), "removed": True}


async def _import_members(access: LibraryAccess, call: ServiceCall) -> ServiceResponse:
    text: str | None = call.data.get(ATTR_CSV)
    if (path := call.data.get(ATTR_PATH)) is not None:
        if not call.hass.config.is_allowed_path(path):
            raise _error("import_path_not_allowed", path=path)

        def read() -> str:
            try:
                return Path(path).read_text(encoding="utf-8-sig")
            except (OSError, UnicodeDecodeError) as err:
                raise MemberError("import_unreadable", path=path) from err

        text = await access.async_run(read)
    if text is None:
        raise _error("import_nothing")
    csv_text = text
    today = _today()
    report = await access.async_run(lambda: access.store.import_csv(csv_text, today))
    for row in report.refused:  # the reason code for automations, a sentence for people
        row["message"] = async_get_exception_message(DOMAIN, row["reason"])
    return report.as_dict()


async def _export_members(access: LibraryAccess, call: ServiceCall) -> ServiceResponse:
    text = await access.async_run(access.store.export_csv)
    return {"members": text.count("\n") - 1, "csv": text}


async def _add_staff_card(access: LibraryAccess, call: ServiceCall) -> ServiceResponse:
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
        if access.store.member(card.card) is not None:
            raise MemberError("card_is_a_member", card=mask_card(card.card))
        access.store.save_staff(card)
        return card

    card = await access.async_run(add)
    return {
        "card": mask_card(card.card),
        "windows": [str(w) for w in card.windows],
    }


async def _remove_staff_card(
    access: LibraryAccess, call: ServiceCall
) -> ServiceResponse:
    card = call.data[ATTR_CARD]
    if not await access.async_run(lambda: access.store.remove_staff(card)):
        raise _error("unknown_staff_card", card=mask_card(card))
    return None


async def _book_room(call: ServiceCall) -> ServiceResponse:
    coordinator = branch_for_device(call.hass, call.data[ATTR_BRANCH]).coordinator
    access: LibraryAccess | None = coordinator.config_entry.runtime_data.access
    if access is None:
        raise _error("unknown_branch", branch=call.data[ATTR_BRANCH])
    rooms = [
        d.id for d in coordinator.point_map.doors if d.kind is DoorKind.MEETING_ROOM
    ]

    def local(value: Any) -> Any:
        return (
            value
            if value.tzinfo
            else value.replace(tzinfo=dt_util.get_default_time_zone())
        )

    booking = await access.async_book(
        coordinator.subentry.subentry_id,
        rooms,
        room=call.data[ATTR_ROOM],
        card=call.data[ATTR_CARD],
        start=local(call.data[ATTR_START]),
        end=local(call.data[ATTR_END]),
        title=call.data[ATTR_TITLE],
    )
    result: ServiceResponse = {"booking_id": booking.id, "room": booking.room}
    return result if call.return_response else None


MEMBER_HANDLERS: dict[
    str, Callable[[LibraryAccess, ServiceCall], Awaitable[ServiceResponse]]
] = {
    "enroll_member": _enroll_member,
    "record_induction": _change(_record_induction),
    "set_pin": _set_pin,
    "renew_card": _change(_renew_card),
    "bar_member": _change(_bar_member),
    "issue_final_warning": _change(_final_warning),
    "lift_restriction": _change(_lift_restriction),
    "remove_member": _remove_member,
    "import_members": _import_members,
    "export_members": _export_members,
    "add_staff_card": _add_staff_card,
    "remove_staff_card": _remove_staff_card,
}
ONLY_RESPONSE = {"export_members"}


async def async_request_access(
    hass: HomeAssistant, data: dict[str, Any]
) -> dict[str, Any]:
    """Decide a card + PIN at a branch's door (the action and the HTTP endpoint share this)."""
    branch = branch_for_device(hass, data[ATTR_BRANCH])
    coordinator, hours = branch.coordinator, branch.hours
    access: LibraryAccess | None = coordinator.config_entry.runtime_data.access
    if access is None:
        raise _error("unknown_branch", branch=data[ATTR_BRANCH])
    outcome = await access.async_request(
        coordinator,
        open_to_members=hours.open_to_members,
        door_id=data[ATTR_DOOR],
        card=data[ATTR_CARD],
        pin=data[ATTR_PIN],
        minors=data[ATTR_MINORS],
        adult_card=data.get(ATTR_ADULT_CARD),
        adult_pin=data.get(ATTR_ADULT_PIN),
    )
    return outcome.as_dict()


@callback
def async_setup_member_services(hass: HomeAssistant) -> None:
    """Register the membership actions (admin only) and `request_access`."""
    for name, handler in MEMBER_HANDLERS.items():  # book_room is registered below

        async def handle(call: ServiceCall, handler: Any = handler) -> ServiceResponse:
            result: ServiceResponse = await handler(_access(call), call)
            return result if call.return_response else None

        async_register_admin_service(
            hass,
            DOMAIN,
            name,
            handle,
            schema=redacting(MEMBER_SCHEMAS[name]),
            supports_response=SupportsResponse.ONLY
            if name in ONLY_RESPONSE
            else SupportsResponse.OPTIONAL,
        )

    async_register_admin_service(
        hass,
        DOMAIN,
        "book_room",
        _book_room,
        schema=redacting(MEMBER_SCHEMAS["book_room"]),
        supports_response=SupportsResponse.OPTIONAL,
    )

    async def request_access(call: ServiceCall) -> ServiceResponse:
        result = await async_request_access(call.hass, dict(call.data))
        return result if call.return_response else None

    # Not admin-only: a door reader or kiosk acts as a plain user. The lock-out bounds guessing.
    hass.services.async_register(
        DOMAIN,
        "request_access",
        request_access,
        schema=redacting(REQUEST_ACCESS_SCHEMA),
        supports_response=SupportsResponse.OPTIONAL,
    )
