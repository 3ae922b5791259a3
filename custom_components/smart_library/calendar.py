"""Meeting-room bookings: a calendar per branch; a room door opens only for the booker's card.

An administrator books from the calendar in Home Assistant's UI: the summary is the booking's
title, the description holds the booker's library card number (shown masked from then on), the
location names the room (optional when the branch has one meeting room). The UI sends that over
the websocket straight to this entity: no event on the bus, nothing recorded.

Home Assistant's generic `calendar.create_event` action is refused here: Home Assistant puts an
action's data, as given, in its `call_service` event (kept by the recorder) before any integration
sees the call, so a card typed into it would be recorded. `smart_library.book_room` masks the card
before Home Assistant records its call; automations and scripts use that.

Creating and cancelling bookings is for administrators only (who may enter a room, and when):
the user behind the call is taken from the action's context, or for the UI from the websocket
connection the request came on.
"""

from __future__ import annotations

from contextvars import ContextVar
from datetime import datetime
import re
from typing import Any, override

from homeassistant.components import websocket_api
from homeassistant.components.calendar import (
    CalendarEntity,
    CalendarEntityFeature,
    CalendarEvent,
)
from homeassistant.core import Context, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError, Unauthorized
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.util import dt as dt_util

from .access.decisions import LibraryAccess, signal_bookings
from .building.coordinator import BranchCoordinator
from .const import DOMAIN
from .engine.building.pointmap import DoorKind
from .engine.members.membership import Booking, mask_card
from .entity import branch_device_info
from .helpers.errors import refused
from .runtime import SmartLibraryConfigEntry

PARALLEL_UPDATES = 0

# The booker's card in a booking's description: the word after "card" ("Card: 2123...", "card no
# 2123..."), else the first word with a digit in it ("Jane Smith 2123..."): a name is not a card.
_CARD_AFTER_WORD = re.compile(
    r"\bcard\s*(?:number|no\.?)?\s*[:#]?\s*([0-9A-Za-z]{4,20})\b", re.IGNORECASE
)
_CARD_LIKE = re.compile(r"\b(?=[A-Za-z]*\d)([0-9A-Za-z]{4,20})\b")


def card_in_text(text: str) -> str | None:
    """Return the card number a booking's description gives, or None."""
    match = _CARD_AFTER_WORD.search(text) or _CARD_LIKE.search(text)
    return match.group(1) if match else None


# The calendar an action is being called on, and that call's number. Home Assistant sets an
# entity's context just before it calls the entity's method for an action, in the same step of
# the event loop, and the (eager) task that runs the method starts from a copy of the caller's
# context variables: so the method sees this, still live. The calendar UI's websocket commands
# call the method directly, and see nothing or a number that is no longer live.
_ACTION_CALL: ContextVar[tuple[RoomBookings, int] | None] = ContextVar(
    "smart_library_calendar_action", default=None
)


class AdminOnly(Unauthorized):
    """A change to room bookings by someone who is not an administrator (translated)."""

    def __init__(
        self, context: Context | None, user_id: str | None, entity_id: str | None
    ) -> None:
        """Refuse, naming the calendar; the message comes from the translations."""
        super().__init__(
            context=context, user_id=user_id, entity_id=entity_id, permission="admin"
        )
        HomeAssistantError.__init__(
            self, translation_domain=DOMAIN, translation_key="bookings_admin_only"
        )


async def async_setup_entry(
    hass: HomeAssistant,
    entry: SmartLibraryConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add a room-bookings calendar to every branch with a meeting room."""
    access = entry.runtime_data.access
    for subentry_id, branch in entry.runtime_data.branches.items():
        coordinator = branch.coordinator
        if any(d.kind is DoorKind.MEETING_ROOM for d in coordinator.point_map.doors):
            async_add_entities(
                [RoomBookings(coordinator, access)], config_subentry_id=subentry_id
            )


class RoomBookings(CalendarEntity):
    """The meeting-room bookings of one branch."""

    _attr_has_entity_name = True
    _attr_should_poll = False
    _attr_translation_key = "room_bookings"
    _attr_supported_features = (
        CalendarEntityFeature.CREATE_EVENT | CalendarEntityFeature.DELETE_EVENT
    )

    def __init__(self, coordinator: BranchCoordinator, access: LibraryAccess) -> None:
        """Initialise the branch's calendar."""
        subentry = coordinator.subentry
        self._branch = subentry.subentry_id
        self._title = subentry.title
        self._rooms = [
            d.id for d in coordinator.point_map.doors if d.kind is DoorKind.MEETING_ROOM
        ]
        self._access = access
        self._bookings: list[Booking] = []
        self._calls = 0  # actions called on this calendar
        self._live_call: int | None = None  # the one being called in this loop step
        self._attr_unique_id = f"{subentry.subentry_id}_room_bookings"
        self._attr_device_info = branch_device_info(subentry)

    async def async_added_to_hass(self) -> None:
        """Load the branch's bookings; follow changes made by actions."""
        await super().async_added_to_hass()
        await self._async_reload()
        self.async_on_remove(
            async_dispatcher_connect(
                self.hass, signal_bookings(self._branch), self._async_changed
            )
        )

    async def _async_changed(self) -> None:
        await self._async_reload()
        self.async_write_ha_state()

    async def _async_reload(self) -> None:
        self._bookings = await self._access.async_run(
            lambda: self._access.store.bookings(self._branch, dt_util.now())
        )

    def _event(self, booking: Booking) -> CalendarEvent:
        return CalendarEvent(
            start=dt_util.as_local(booking.start),
            end=dt_util.as_local(booking.end),
            summary=booking.title,
            description=f"Booked with card {mask_card(booking.card)}",
            location=booking.room,
            uid=booking.id,
        )

    @property
    def event(self) -> CalendarEvent | None:
        """Return the booking under way, or the next one."""
        now = dt_util.now()
        upcoming = [b for b in self._bookings if b.end > now]
        return self._event(min(upcoming, key=lambda b: b.start)) if upcoming else None

    async def async_get_events(
        self, hass: HomeAssistant, start_date: datetime, end_date: datetime
    ) -> list[CalendarEvent]:
        """Return the bookings between two times."""
        bookings = await self._access.async_run(
            lambda: self._access.store.bookings(self._branch, start_date, end_date)
        )
        return [self._event(b) for b in bookings]

    @callback
    @override
    def async_set_context(self, context: Context) -> None:
        """Note an action call's context: Home Assistant sets it just before calling us."""
        super().async_set_context(context)
        self._calls += 1
        self._live_call = number = self._calls
        _ACTION_CALL.set((self, number))
        self.hass.loop.call_soon(self._end_call, number)

    @callback
    def _end_call(self, number: int) -> None:
        """Let an action call's number lapse once the loop step that made it is over."""
        if self._live_call == number:
            self._live_call = None

    def _take_action_context(self) -> Context | None:
        """Return the action's context when an action call on this calendar runs us, else None.

        An action (`calendar.create_event` over REST, the websocket's call_service, a script …)
        has just set it; the calendar UI's own websocket commands have not. Call this first,
        before any await.
        """
        call = _ACTION_CALL.get()
        _ACTION_CALL.set(None)
        if call is None or call[0] is not self or call[1] != self._live_call:
            return None
        self._live_call = None
        return self._context

    async def _async_require_admin(self, action: Context | None) -> None:
        """Raise AdminOnly unless an administrator (or Home Assistant itself) is asking."""
        if action is not None:
            if action.user_id is None:
                return  # an automation or script run by Home Assistant: admins wrote it
            user = await self.hass.auth.async_get_user(action.user_id)
            if user is not None and user.is_admin and user.is_active:
                return
            raise AdminOnly(action, action.user_id, self.entity_id)
        connection = websocket_api.current_connection.get()
        if connection is not None and connection.user.is_admin:
            return
        raise AdminOnly(
            None, connection.user.id if connection else None, self.entity_id
        )

    async def async_create_event(self, **kwargs: Any) -> None:
        """Book a room: the description carries the booker's card, the location the room."""
        action = self._take_action_context()
        await self._async_require_admin(action)
        if action is not None:
            raise refused("booking_use_book_room")
        if kwargs.get("rrule"):
            raise refused("booking_no_repeat")
        start, end = kwargs["dtstart"], kwargs["dtend"]
        if not isinstance(start, datetime) or not isinstance(end, datetime):
            raise refused("booking_needs_times")
        card = card_in_text(kwargs.get("description") or "")
        if card is None:
            raise refused("booking_needs_card")
        await self._access.async_book(
            self._branch,
            self._rooms,
            room=kwargs.get("location") or "",
            card=card,
            start=start,
            end=end,
            title=str(kwargs.get("summary") or ""),
        )
        # The calendar shows the booking when the call returns, not when the signal lands.
        await self._async_changed()

    async def async_delete_event(
        self,
        uid: str,
        recurrence_id: str | None = None,
        recurrence_range: str | None = None,
    ) -> None:
        """Cancel a booking."""
        await self._async_require_admin(self._take_action_context())
        removed = await self._access.async_run(
            lambda: self._access.store.remove_booking(uid)
        )
        if not removed:
            raise refused("booking_not_found")
        await self._async_changed()
