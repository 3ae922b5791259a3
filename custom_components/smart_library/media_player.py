"""PA zones: play a stored announcement, set the volume, stop."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from homeassistant.components.media_player import (
    BrowseMedia,
    MediaClass,
    MediaPlayerDeviceClass,
    MediaPlayerEntity,
    MediaPlayerEntityDescription,
    MediaPlayerEntityFeature,
    MediaPlayerState,
)
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .building.coordinator import BranchCoordinator
from .const import DOMAIN
from .engine.building.announcements import ANNOUNCEMENTS, Announcement, announcement
from .entity import BranchEntity
from .runtime import SmartLibraryConfigEntry

PARALLEL_UPDATES = 0
MEDIA_TYPE = "announcement"


async def async_setup_entry(
    hass: HomeAssistant,
    entry: SmartLibraryConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add a media player per PA zone of every branch."""
    for subentry_id, branch in entry.runtime_data.branches.items():
        async_add_entities(
            (
                PaZone(
                    branch.coordinator,
                    PaZoneDescription(
                        key=f"pa.{zone}",
                        translation_key="pa_zone",
                        translation_placeholders={"zone": zone.rsplit("_", 1)[-1]},
                        device_class=MediaPlayerDeviceClass.SPEAKER,
                        bit=bit,
                    ),
                )
                for bit, zone in enumerate(branch.coordinator.point_map.pa_zones)
            ),
            config_subentry_id=subentry_id,
        )


@dataclass(frozen=True, kw_only=True)
class PaZoneDescription(MediaPlayerEntityDescription):
    """A zone of the PA player: `bit` is its bit in the player's zone register."""

    bit: int


def _item(message: Announcement) -> BrowseMedia:
    return BrowseMedia(
        media_class=MediaClass.TRACK,
        media_content_id=message.key,
        media_content_type=MEDIA_TYPE,
        title=message.title,
        can_play=True,
        can_expand=False,
    )


class PaZone(BranchEntity, MediaPlayerEntity):
    """One zone of the branch's PA message player."""

    entity_description: PaZoneDescription
    _attr_media_content_type = MEDIA_TYPE
    _attr_supported_features = (
        MediaPlayerEntityFeature.PLAY_MEDIA
        | MediaPlayerEntityFeature.BROWSE_MEDIA
        | MediaPlayerEntityFeature.VOLUME_SET
        | MediaPlayerEntityFeature.STOP
    )

    def __init__(
        self, coordinator: BranchCoordinator, description: PaZoneDescription
    ) -> None:
        """Initialise the zone."""
        super().__init__(coordinator, description, point="pa.message")
        self._mask = 1 << description.bit

    @property
    def _playing_here(self) -> bool:
        pa = self.coordinator.data.pa if self.coordinator.data else None
        return (
            pa is not None
            and bool(pa.busy)
            and pa.zones is not None
            and bool(pa.zones & self._mask)
        )

    @property
    def state(self) -> MediaPlayerState:
        """Return playing while the player is busy on this zone."""
        return MediaPlayerState.PLAYING if self._playing_here else MediaPlayerState.IDLE

    @property
    def media_title(self) -> str | None:
        """Return the message playing here."""
        if not self._playing_here:
            return None
        try:
            return announcement(self.coordinator.data.number("pa.message") or 0).title
        except KeyError:
            return None

    @property
    def volume_level(self) -> float | None:
        """Return the player's volume, 0..1."""
        data = self.coordinator.data
        volume = None if data is None else data.number("pa.volume")
        return None if volume is None else min(100, volume) / 100

    async def async_browse_media(
        self, media_content_type: str | None = None, media_content_id: str | None = None
    ) -> BrowseMedia:
        """List the stored announcements."""
        return BrowseMedia(
            media_class=MediaClass.DIRECTORY,
            media_content_id="",
            media_content_type=MEDIA_TYPE,
            title="Announcements",
            can_play=False,
            can_expand=True,
            children=[_item(message) for message in ANNOUNCEMENTS],
            children_media_class=MediaClass.TRACK,
        )

    async def async_play_media(
        self, media_type: str, media_id: str, **kwargs: Any
    ) -> None:
        """Play a stored announcement (by key or number) on this zone."""
        try:
            message = announcement(media_id)
        except KeyError:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="unknown_announcement",
                translation_placeholders={"media_id": media_id},
            ) from None
        await self.coordinator.async_play(self._mask, message)

    async def async_set_volume_level(self, volume: float) -> None:
        """Set the player's volume."""
        await self.coordinator.async_write("pa.volume", round(volume * 100))

    async def async_media_stop(self) -> None:
        """Stop the player."""
        await self.coordinator.async_stop_pa()
