"""One coordinator per branch controller."""

from __future__ import annotations

from dataclasses import dataclass, field

from homeassistant.config_entries import ConfigEntry, ConfigSubentry
from homeassistant.const import CONF_HOST, CONF_PORT
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed

from .const import (
    CONF_POINT_MAP,
    CONF_RELEASE_SECONDS,
    CONF_UNIT,
    DEFAULT_POINT_MAP,
    DEFAULT_RELEASE_SECONDS,
    DOMAIN,
    LOGGER,
    SCAN_INTERVAL,
)
from .engine.controller import (
    BranchController,
    ControllerError,
    ModuleAddress,
    PointValues,
)
from .engine.pointmap import POINT_MAPS

type SmartLibraryConfigEntry = ConfigEntry[SmartLibraryData]


@dataclass
class SmartLibraryData:
    """Runtime data of a library service: its branches by sub-entry id."""

    branches: dict[str, BranchCoordinator] = field(default_factory=dict)


def controller_for(data: dict[str, object]) -> BranchController:
    """Build the controller client a branch's configuration describes."""
    point_map = POINT_MAPS[str(data.get(CONF_POINT_MAP, DEFAULT_POINT_MAP))]
    address = ModuleAddress(
        host=str(data[CONF_HOST]),
        port=int(str(data[CONF_PORT])),
        unit=int(str(data[CONF_UNIT])),
    )
    return BranchController(point_map, dict.fromkeys(point_map.modules, address))


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

    async def _async_update_data(self) -> PointValues:
        """Read the whole point map."""
        try:
            return await self.controller.read_all()
        except ControllerError as err:
            raise UpdateFailed(
                translation_domain=DOMAIN,
                translation_key="controller_unreachable",
                translation_placeholders={"branch": self.subentry.title},
            ) from err

    async def async_write(self, key: str, value: int | bool) -> None:
        """Write a point, then read back so the entity shows the controller's state."""
        try:
            await self.controller.write(key, value)
        except ControllerError as err:
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="write_failed",
                translation_placeholders={"branch": self.subentry.title},
            ) from err
        await self.async_refresh()

    async def async_shutdown(self) -> None:
        """Close the controller connection."""
        await super().async_shutdown()
        await self.controller.close()
