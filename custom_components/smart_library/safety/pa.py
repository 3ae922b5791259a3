"""The PA of a branch for the safety tools: stored messages in several languages, spoken text.

Stored messages play on every zone of the branch's message player in each of the service's
languages, one after another (engine.announcements.recordings): the next starts when the player
says the last has ended. A fire alarm has the PA to itself: nothing here plays while the fire rule
plays the evacuation message, and a sequence stops when a fire alarm starts.

Spoken text (`tts.speak`) goes to the media players a branch names as its speakers, through the
text-to-speech engine it names: any Home Assistant media player can be a branch's PA.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from homeassistant.exceptions import HomeAssistantError, ServiceValidationError

from ..const import DOMAIN, LOGGER
from ..engine.building.announcements import (
    ANNOUNCEMENTS,
    Announcement,
    announcement,
    recordings,
)
from .common import SafetyBase

if TYPE_CHECKING:
    from ..branch import Branch
    from ..building.coordinator import BranchCoordinator
    from ..engine.building.snapshot import Snapshot

MESSAGE_TIMEOUT = (
    120.0  # seconds a stored message may take before the next is played anyway
)


def stored_message(ref: str) -> Announcement:
    """Return a stored message by key, number or English title, or a translated error."""
    wanted = ref.strip()
    try:
        return announcement(wanted.lower().replace(" ", "_"))
    except KeyError:
        pass
    for message in ANNOUNCEMENTS:
        if message.title.lower() == wanted.lower():
            return message
    raise ServiceValidationError(
        translation_domain=DOMAIN,
        translation_key="unknown_announcement",
        translation_placeholders={"media_id": wanted[:60]},
    )


async def _async_quiet(coordinator: BranchCoordinator, timeout: float) -> None:
    """Wait until the branch's message player says it is no longer playing."""
    done = asyncio.get_running_loop().create_future()

    def check() -> None:
        data: Snapshot | None = coordinator.data
        pa = data.pa if data is not None else None
        if (pa is None or not pa.busy or coordinator.fire_alarm) and not done.done():
            done.set_result(None)

    unsubscribe = coordinator.async_add_listener(check)
    try:
        check()
        async with asyncio.timeout(timeout):
            await done
    except TimeoutError:
        LOGGER.debug("%s: the PA still plays after %ss", coordinator.title, timeout)
    finally:
        unsubscribe()


class PublicAddress:
    """The PA of a library service's branches."""

    def __init__(self, runtime: SafetyBase) -> None:
        """Use the service's languages."""
        self.runtime = runtime
        self.hass = runtime.hass

    def zones_mask(self, branch: Branch) -> int:
        """Return the zone bits of every zone of the branch's player (0: it has none)."""
        return (1 << len(branch.coordinator.point_map.pa_zones)) - 1

    async def async_play(self, branch: Branch, ref: str) -> list[int]:
        """Play a stored message in each of the service's languages in turn.

        Returns the player's numbers played (empty: no PA, or a fire alarm has it).
        """
        message = stored_message(ref)
        coordinator = branch.coordinator
        mask = self.zones_mask(branch)
        if not mask:
            return []
        try:
            numbers = recordings(message, self.runtime.settings.languages)
        except KeyError:
            numbers = recordings(message, ("en",))
        played: list[int] = []
        for number in numbers:
            if played:
                await _async_quiet(coordinator, MESSAGE_TIMEOUT)
            if coordinator.fire_alarm:
                break  # the evacuation message has the PA
            await coordinator.async_play(
                mask,
                Announcement(number, message.key, message.title, message.category),
            )
            played.append(number)
        return played

    def async_play_in_background(self, branch: Branch, ref: str) -> None:
        """Play a stored message without holding up the caller (failures are logged)."""

        async def play() -> None:
            try:
                await self.async_play(branch, ref)
            except HomeAssistantError as err:
                LOGGER.warning(
                    "%s: the %s message could not be played: %s",
                    branch.subentry.title,
                    ref,
                    err,
                )

        self.runtime.entry.async_create_background_task(
            self.hass, play(), f"{DOMAIN} PA {ref}"
        )

    async def async_say(
        self, branch: Branch, text: str, language: str | None = None
    ) -> list[str]:
        """Speak text on the branch's speakers through its text-to-speech engine."""
        settings = self.runtime.branch_settings(branch)
        if not settings.speakers or not settings.tts_engine:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="say_no_speakers",
                translation_placeholders={"branch": branch.subentry.title},
            )
        data: dict[str, object] = {
            "entity_id": settings.tts_engine,
            "media_player_entity_id": list(settings.speakers),
            "message": text,
        }
        if language:
            data["language"] = language
        await self.hass.services.async_call("tts", "speak", data, blocking=True)
        return list(settings.speakers)
