"""A branch's lockdown as entities: a "Locked down" binary sensor and a "Lock down" button.

For the binary sensor and button platforms to add (`lockdown_binary_sensor`,
`lockdown_button`). The button starts a lockdown in the name of the user who pressed it (Home
Assistant refuses read-only users any button); there is no button to end one: only an
administrator does, through `end_lockdown`.
"""

from __future__ import annotations

from typing import Any

from homeassistant.components.binary_sensor import (
    BinarySensorDeviceClass,
    BinarySensorEntity,
    BinarySensorEntityDescription,
)
from homeassistant.components.button import ButtonEntity, ButtonEntityDescription
from homeassistant.core import callback
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.helpers.entity import Entity

from ..branch import Branch
from ..engine.safety.incidents import Source
from ..entity import branch_device_info
from ..helpers.permissions import async_actor
from .common import signal_lockdown
from .runtime import SafetyRuntime

LOCKDOWN_SENSOR = BinarySensorEntityDescription(
    key="lockdown",
    translation_key="lockdown",
    device_class=BinarySensorDeviceClass.SAFETY,
)
LOCKDOWN_BUTTON = ButtonEntityDescription(
    key="lockdown_start", translation_key="lockdown"
)


class _LockdownEntity(Entity):
    """An entity of a branch's lockdown."""

    _attr_has_entity_name = True
    _attr_should_poll = False

    def __init__(self, runtime: SafetyRuntime, branch: Branch) -> None:
        """Initialise for one branch."""
        self.runtime = runtime
        self.branch = branch
        self._attr_unique_id = f"{branch.id}_{self.entity_description.key}"
        self._attr_device_info = branch_device_info(branch.subentry)

    async def async_added_to_hass(self) -> None:
        """Follow the service's lockdowns."""
        await super().async_added_to_hass()
        self.async_on_remove(
            async_dispatcher_connect(
                self.hass,
                signal_lockdown(self.runtime.entry.entry_id),
                self._changed,
            )
        )

    @callback
    def _changed(self) -> None:
        self.async_write_ha_state()


class LockdownSensor(_LockdownEntity, BinarySensorEntity):
    """On while the branch is locked down (entry for staff cards only)."""

    entity_description = LOCKDOWN_SENSOR

    @property
    def is_on(self) -> bool:
        """Return True during a lockdown."""
        return self.runtime.lockdowns.active(self.branch.id)

    @property
    def extra_state_attributes(self) -> dict[str, Any]:
        """Return since when and who started it (during a lockdown)."""
        running = self.runtime.lockdowns.running.get(self.branch.id)
        if running is None:
            return {}
        return {
            "since": running.started_at.isoformat(),
            "by": running.started_by,
            "incident": running.incident,
        }


class LockdownButton(_LockdownEntity, ButtonEntity):
    """Lock the branch down."""

    entity_description = LOCKDOWN_BUTTON

    async def async_press(self) -> None:
        """Start a lockdown in the name of whoever pressed."""
        by = await async_actor(self.hass, self._context)
        await self.runtime.lockdowns.async_start(
            self.branch, by=by, source=Source.STAFF, context=self._context
        )


def lockdown_binary_sensor(runtime: SafetyRuntime, branch: Branch) -> LockdownSensor:
    """Return a branch's "Locked down" binary sensor."""
    return LockdownSensor(runtime, branch)


def lockdown_button(runtime: SafetyRuntime, branch: Branch) -> LockdownButton:
    """Return a branch's "Lock down" button."""
    return LockdownButton(runtime, branch)
