"""Meeting-room bookings: a calendar per branch; a room door opens only for the booker's card.

Create a booking from Home Assistant's calendar (or `calendar.create_event`): the summary is its
title, the description holds the booker's library card number (shown masked from then on), the
location names the room (optional when the branch has one meeting room).
"""

from __future__ import annotations

from datetime import datetime
import re
from typing import Any

from homeassistant.components.calendar import (
    CalendarEntity,
    CalendarEntityFeature,
    CalendarEvent,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.util import dt as dt_util

from .access import LibraryAccess, booking_error, signal_bookings
from .coordinator import BranchCoordinator
from .engine.membership import Booking, mask_card
from .engine.pointmap import DoorKind
from .entity import branch_device_info
from .models import SmartLibraryConfigEntry

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

    async def async_create_event(self, **kwargs: Any) -> None:
        """Book a room: the description carries the booker's card, the location the room."""
        start, end = kwargs["dtstart"], kwargs["dtend"]
        if not isinstance(start, datetime) or not isinstance(end, datetime):
            raise booking_error("booking_needs_times")
        card = card_in_text(kwargs.get("description") or "")
        if card is None:
            raise booking_error("booking_needs_card")
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
        removed = await self._access.async_run(
            lambda: self._access.store.remove_booking(uid)
        )
        if not removed:
            raise booking_error("booking_not_found")
        await self._async_changed()
