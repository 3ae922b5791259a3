"""Whether a library service's staff alerts reach anybody: its "Staff alerts" binary sensor.

On (a problem) while no on-call phone would be alerted: none chosen, or none of those chosen is
a companion-app phone any more. Known from set-up onwards, so the dashboard warns before the
first alarm rather than after it; the repair issue "Nobody gets the staff alerts" says the same
and its fix flow chooses the phones (repairs.py). The entity belongs to the service's own device
(not a branch's): it names no phone, only how many would be alerted.
"""

from __future__ import annotations

from typing import Any

from homeassistant.components.binary_sensor import (
    BinarySensorDeviceClass,
    BinarySensorEntity,
    BinarySensorEntityDescription,
)
from homeassistant.config_entries import ConfigEntry
from homeassistant.helpers.device_registry import DeviceEntryType, DeviceInfo
from homeassistant.helpers.dispatcher import async_dispatcher_connect

from ..const import DOMAIN, MANUFACTURER
from .alerts import reachable_phones, signal_phones
from .runtime import SafetyRuntime

STAFF_ALERTS = BinarySensorEntityDescription(
    key="staff_alerts",
    translation_key="staff_alerts",
    device_class=BinarySensorDeviceClass.PROBLEM,
)


def service_device_info(entry: ConfigEntry) -> DeviceInfo:
    """Return the device of a library service itself (what is the service's, not a branch's)."""
    return DeviceInfo(
        identifiers={(DOMAIN, entry.entry_id)},
        name=entry.title,
        manufacturer=MANUFACTURER,
        model="Library service",
        entry_type=DeviceEntryType.SERVICE,
    )


class StaffAlertsSensor(BinarySensorEntity):
    """On while an alarm or a lockdown would alert nobody."""

    _attr_has_entity_name = True
    _attr_should_poll = False
    entity_description = STAFF_ALERTS

    def __init__(self, runtime: SafetyRuntime) -> None:
        """Follow one library service's phones."""
        self.runtime = runtime
        self._attr_unique_id = f"{runtime.entry.entry_id}_{STAFF_ALERTS.key}"
        self._attr_device_info = service_device_info(runtime.entry)

    async def async_added_to_hass(self) -> None:
        """Follow the service's settings and its phones."""
        await super().async_added_to_hass()
        self.async_on_remove(
            async_dispatcher_connect(
                self.hass,
                signal_phones(self.runtime.entry.entry_id),
                self.async_write_ha_state,
            )
        )

    @property
    def is_on(self) -> bool:
        """Return True while no on-call phone would be alerted."""
        return not self.runtime.alerts.phones

    @property
    def extra_state_attributes(self) -> dict[str, Any]:
        """Return how many phones an alert reaches at once, and how many escalations."""
        escalation = reachable_phones(self.hass, self.runtime.settings.escalation)
        return {
            "on_call_phones": len(self.runtime.alerts.phones),
            "escalation_phones": len(escalation),
        }


def staff_alerts_binary_sensor(runtime: SafetyRuntime) -> StaffAlertsSensor:
    """Return a library service's "Staff alerts" binary sensor (for the platform)."""
    return StaffAlertsSensor(runtime)
