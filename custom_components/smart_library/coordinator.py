"""One coordinator per branch controller."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
import time
from typing import TYPE_CHECKING, Any

from homeassistant.config_entries import ConfigEntry, ConfigSubentry
from homeassistant.const import CONF_HOST, CONF_PORT
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.dispatcher import async_dispatcher_send
from homeassistant.helpers.event import async_call_later, async_track_time_change
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed

from .const import (
    CONF_MODULES,
    CONF_POINT_MAP,
    CONF_RELEASE_SECONDS,
    CONF_UNIT,
    DEFAULT_POINT_MAP,
    DEFAULT_RELEASE_SECONDS,
    DOMAIN,
    ENTRY_WATCH_EXTRA,
    EVENT_TAILGATING,
    LOGGER,
    SCAN_INTERVAL,
    TAILGATING_SHOWN,
)
from .engine.announcements import Announcement
from .engine.controller import (
    BranchController,
    ControllerError,
    ModuleAddress,
    PointValues,
)
from .engine.occupancy import EntryWatch, Occupancy
from .engine.pointmap import PA_COMMAND_STOP, POINT_MAPS, DoorKind

if TYPE_CHECKING:
    from .access import LibraryAccess
    from .hours import BranchHours

type SmartLibraryConfigEntry = ConfigEntry[SmartLibraryData]


@dataclass
class SmartLibraryData:
    """Runtime data of a library service: its branches by sub-entry id."""

    branches: dict[str, BranchCoordinator] = field(default_factory=dict)
    hours: dict[str, BranchHours] = field(default_factory=dict)
    access: LibraryAccess | None = None


def signal_access(subentry_id: str) -> str:
    """Return the dispatcher signal for a branch's access events."""
    return f"{DOMAIN}_{subentry_id}_access"


def module_address(data: Mapping[str, Any]) -> ModuleAddress:
    """Return a module's address from its host/port/unit fields."""
    return ModuleAddress(
        host=str(data[CONF_HOST]), port=int(data[CONF_PORT]), unit=int(data[CONF_UNIT])
    )


def controller_for(data: Mapping[str, Any]) -> BranchController:
    """Build the controller client a branch's configuration describes.

    The branch's own host/port/unit address the map's first module; a map with several I/O
    modules keeps the others under `modules`.
    """
    point_map = POINT_MAPS[str(data.get(CONF_POINT_MAP, DEFAULT_POINT_MAP))]
    first, *others = point_map.modules
    extra: Mapping[str, Any] = data.get(CONF_MODULES, {})
    modules = {first: module_address(data)}
    modules |= {
        m: module_address(extra[m]) if m in extra else modules[first] for m in others
    }
    return BranchController(point_map, modules)


class BranchCoordinator(DataUpdateCoordinator[PointValues]):
    """Polls one branch's controller: the whole point map in one request per block."""

    config_entry: SmartLibraryConfigEntry

    def __init__(
        self,
        hass: HomeAssistant,
        entry: SmartLibraryConfigEntry,
        subentry: ConfigSubentry,
        controller: BranchController,
    ) -> None:
        """Initialise the coordinator for one branch."""
        super().__init__(
            hass,
            LOGGER,
            config_entry=entry,
            name=f"{DOMAIN} {subentry.title}",
            update_interval=SCAN_INTERVAL,
            always_update=False,
        )
        self.subentry = subentry
        self.controller = controller
        self.release_seconds = int(
            subentry.data.get(CONF_RELEASE_SECONDS, DEFAULT_RELEASE_SECONDS)
        )
        self.point_map = controller.point_map
        self.occupancy = Occupancy()
        self._fire_handled = False
        self._watch: EntryWatch | None = None
        self._watch_door = "entrance"
        self.tailgating = False
        self._unsub_tailgating: Callable[[], None] | None = None
        entry.async_on_unload(self._cancel_tailgating)
        entry.async_on_unload(
            async_track_time_change(
                hass, self._async_new_day, hour=0, minute=0, second=0
            )
        )

    @callback
    def _async_new_day(self, now: datetime) -> None:
        """Start a new day's entry count at local midnight (Home Assistant's time zone)."""
        self.occupancy.new_day()
        self.async_update_listeners()

    @property
    def fire_alarm(self) -> bool:
        """Return True while the fire panel reports an alarm."""
        return bool(self.data and self.data.get("fire.alarm"))

    async def _async_update_data(self) -> PointValues:
        """Read the whole point map; apply the fire rule; count people."""
        try:
            values = await self.controller.read_all()
            if values.get("fire.alarm"):
                await self._release_all_doors(values)
            else:
                self._fire_handled = False
        except ControllerError as err:
            raise UpdateFailed(
                translation_domain=DOMAIN,
                translation_key="controller_unreachable",
                translation_placeholders={"branch": self.subentry.title},
            ) from err
        if "counter.in" in values and "counter.out" in values:
            came_in = self.occupancy.update(
                int(values["counter.in"]), int(values["counter.out"])
            )
            self._count_entries(came_in)
        return values

    # -- tailgating -----------------------------------------------------------------------------

    def watch_entry(self, door_id: str, party: int) -> None:
        """After a card release at the entrance, count who comes in against the admitted party."""
        if (
            "counter.in" not in self.point_map
            or self.point_map.door(door_id).kind is not DoorKind.ENTRANCE
            or (self.data and self.data.get(f"door.{door_id}.hold"))
        ):
            return  # no counter on this door, or it is held free anyway
        until = (
            time.monotonic() + self.release_seconds + ENTRY_WATCH_EXTRA.total_seconds()
        )
        if self._watch is not None and time.monotonic() < self._watch.until:
            self._watch.admit(party, until)
        else:
            self._watch = EntryWatch(party, until)
        self._watch_door = door_id

    def _count_entries(self, came_in: int) -> None:
        watch = self._watch
        if watch is None:
            return
        if tailgaters := watch.count(came_in):
            self._report_tailgating(watch.party, watch.came_in, tailgaters)
        if time.monotonic() >= watch.until:
            self._watch = None

    def _report_tailgating(self, admitted: int, came_in: int, extra: int) -> None:
        data = {
            "branch": self.subentry.title,
            "door": self._watch_door,
            "admitted": admitted,
            "came_in": came_in,
            "tailgaters": extra,
        }
        LOGGER.info(
            "Tailgating at %s: %s came in on a release for %s",
            self.subentry.title,
            came_in,
            admitted,
        )
        self.tailgating = True
        self._cancel_tailgating()
        self._unsub_tailgating = async_call_later(
            self.hass, TAILGATING_SHOWN, self._tailgating_over
        )
        async_dispatcher_send(
            self.hass,
            signal_access(self.subentry.subentry_id),
            self._watch_door,
            "tailgating",
            data,
        )
        self.hass.bus.async_fire(EVENT_TAILGATING, data)

    @callback
    def _tailgating_over(self, _now: datetime) -> None:
        self._unsub_tailgating = None
        self.tailgating = False
        self.async_update_listeners()

    @callback
    def _cancel_tailgating(self) -> None:
        if self._unsub_tailgating is not None:
            self._unsub_tailgating()
            self._unsub_tailgating = None

    async def _release_all_doors(self, values: PointValues) -> None:
        """Fire rule: while the fire input is active every door of the branch is held released.

        The controller's own fail-safe releases the strikes too; this also holds them released in
        software so they stay open until a person locks them again after the alarm.
        """
        if not self._fire_handled:
            LOGGER.warning(
                "Fire alarm at %s: releasing every door", self.subentry.title
            )
            self._fire_handled = True
        for door in self.point_map.doors:
            key = f"door.{door.id}.hold"
            if key in self.point_map and not values.get(key):
                await self.controller.write(key, True)
                values[key] = True

    async def async_release_door(
        self, door_id: str, seconds: int | None = None
    ) -> None:
        """Release a door for a moment; the controller times it and relocks by itself."""
        try:
            await self.controller.release_door(door_id, seconds or self.release_seconds)
        except ControllerError as err:
            raise self._write_failed() from err
        await self.async_refresh()

    async def async_hold_door(self, door_id: str, released: bool) -> None:
        """Hold a door released (staffed hours) or locked; locking is refused during a fire alarm."""
        if not released and self.fire_alarm:
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="fire_alarm_no_lock",
                translation_placeholders={"branch": self.subentry.title},
            )
        await self.async_write(f"door.{door_id}.hold", released)

    async def async_play(self, zone_mask: int, message: Announcement) -> None:
        """Play a stored message on the PA zones in `zone_mask`."""
        try:
            await self.controller.play_announcement(message.number, zone_mask)
        except ControllerError as err:
            raise self._write_failed() from err
        await self.async_refresh()

    async def async_stop_pa(self) -> None:
        """Stop the PA player."""
        await self.async_write("pa.command", PA_COMMAND_STOP)

    def _write_failed(self) -> HomeAssistantError:
        return HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="write_failed",
            translation_placeholders={"branch": self.subentry.title},
        )

    async def async_write(self, key: str, value: int | bool) -> None:
        """Write a point, then read back so the entity shows the controller's state."""
        try:
            await self.controller.write(key, value)
        except ControllerError as err:
            raise self._write_failed() from err
        await self.async_refresh()

    async def async_shutdown(self) -> None:
        """Close the controller connection."""
        await super().async_shutdown()
        await self.controller.close()
