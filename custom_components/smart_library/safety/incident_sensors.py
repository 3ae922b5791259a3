"""Incident counts as sensors: per branch, per category over the last 30 days, and open ones.

Structured reporting of incidents (seed 003) in a form Home Assistant keeps the history of. A
count has no unit ("1", not "1 incidents": Home Assistant cannot make a unit plural; the name
says what is counted) and no state class: a sliding 30-day count summed into long-term
statistics would mean nothing, and it leaves "people inside" the branch's one measurement (the
blueprints find it so). The sensor platform adds them (see `incident_sensors`); they follow the
service's incident log through its dispatcher signal and read the counts in the executor.
"""

from __future__ import annotations

from homeassistant.components.sensor import SensorEntity, SensorEntityDescription
from homeassistant.core import callback
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.util import dt as dt_util

from ..branch import Branch
from ..engine.safety import incidents as rules
from ..engine.safety.incidents import Category
from ..entity import branch_device_info
from .common import signal_incidents
from .runtime import SafetyRuntime

OPEN = "open"


def _descriptions() -> list[SensorEntityDescription]:
    found = [
        SensorEntityDescription(
            key=f"incidents_{category.value}",
            translation_key="incidents_category",
            translation_placeholders={"category": rules.TITLES[category]},
            entity_registry_enabled_default=category
            not in (Category.LOCKDOWN, Category.OTHER),
        )
        for category in Category
    ]
    found.append(
        SensorEntityDescription(
            key="incidents_open",
            translation_key="incidents_open",
        )
    )
    return found


def incident_sensors(runtime: SafetyRuntime, branch: Branch) -> list[SensorEntity]:
    """Return the incident count sensors of one branch (for the sensor platform)."""
    return [IncidentCount(runtime, branch, d) for d in _descriptions()]


class IncidentCount(SensorEntity):
    """How many incidents of a category a branch had in 30 days (or how many are open)."""

    _attr_has_entity_name = True
    _attr_should_poll = False

    def __init__(
        self,
        runtime: SafetyRuntime,
        branch: Branch,
        description: SensorEntityDescription,
    ) -> None:
        """Initialise one count."""
        self.runtime = runtime
        self.branch = branch
        self.entity_description = description
        self._attr_unique_id = f"{branch.id}_{description.key}"
        self._attr_device_info = branch_device_info(branch.subentry)
        self._attr_native_value = None

    async def async_added_to_hass(self) -> None:
        """Follow the service's incidents."""
        await super().async_added_to_hass()
        self.async_on_remove(
            async_dispatcher_connect(
                self.hass, signal_incidents(self.runtime.entry.entry_id), self._changed
            )
        )
        await self.async_update()

    @callback
    def _changed(self) -> None:
        self.async_schedule_update_ha_state(True)

    async def async_update(self) -> None:
        """Count (in the executor)."""
        store = self.runtime.log.store
        since = dt_util.utcnow() - rules.RECENT_WINDOW
        counts, open_count = await self.hass.async_add_executor_job(
            store.counts, self.branch.id, since
        )
        key = self.entity_description.key.removeprefix("incidents_")
        self._attr_native_value = open_count if key == OPEN else counts.get(key, 0)
