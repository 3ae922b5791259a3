"""Occupancy of a branch (people inside, entries today), its mode and times, its alarms.

The mode sensor shows the branch's mode: the opening hours' (staffed, smart, event, closed), or
`evacuation` from a fire alarm and `evacuation_reset_needed` from the panel's reset until a person
resets the branch, or `lockdown` while the branch is locked down (entry for staff cards only). A
fire alarm wins over a lockdown, as it does at the doors. "Unacknowledged alarms" counts the latched alarms nobody has acknowledged:
the first thing a dashboard shows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.util import dt as dt_util

from .binary_sensor import evacuation_attributes
from .branch import Branch
from .building.coordinator import BranchCoordinator
from .building.hours import BranchHours
from .engine.building.alarms import EvacuationState
from .engine.building.occupancy import Occupancy
from .engine.building.schedule import Mode
from .entity import BranchEntity, HoursEntity
from .runtime import SmartLibraryConfigEntry
from .safety.common import signal_lockdown
from .safety.incident_sensors import incident_sensors
from .safety.runtime import SafetyRuntime

PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class OccupancySensorDescription(SensorEntityDescription):
    """A count kept from the people counter (the coordinator carries it over a restart)."""

    value_fn: Callable[[Occupancy], int]


@dataclass(frozen=True, kw_only=True)
class HoursSensorDescription(SensorEntityDescription):
    """A sensor of the branch's opening hours."""

    value_fn: Callable[[BranchHours], str | datetime | None]
    attributes_fn: Callable[[BranchHours], dict[str, Any]] | None = None


OCCUPANCY: tuple[OccupancySensorDescription, ...] = (
    OccupancySensorDescription(
        key="people_inside",
        translation_key="people_inside",
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=lambda o: o.inside,
    ),
    OccupancySensorDescription(
        key="entries_today",
        translation_key="entries_today",
        state_class=SensorStateClass.TOTAL_INCREASING,
        value_fn=lambda o: o.entries_today,
    ),
)


@dataclass(frozen=True, kw_only=True)
class BranchSensorDescription(SensorEntityDescription):
    """A sensor of the branch as a whole: its opening hours and its controller's state."""

    value_fn: Callable[[Branch, SafetyRuntime], str | int | None]
    attributes_fn: Callable[[Branch, SafetyRuntime], dict[str, Any]] | None = None


LOCKDOWN = "lockdown"  # the mode sensor's state while the branch is locked down


def _mode(branch: Branch, safety: SafetyRuntime) -> str:
    """Return the branch's mode: its evacuation, else its lockdown, else the plan's mode."""
    if (evacuation := branch.coordinator.evacuation) is not None:
        return evacuation.state.value
    if safety.lockdowns.active(branch.id):
        return LOCKDOWN
    return branch.hours.mode.value


def _mode_attributes(branch: Branch, safety: SafetyRuntime) -> dict[str, Any]:
    evacuation = evacuation_attributes(branch.coordinator)
    lockdown = safety.lockdowns.running.get(branch.id)
    return {
        "override": branch.hours.override,
        # What applies once a person resets the branch or ends its lockdown.
        "plan_mode": branch.hours.mode.value,
        "alarm_at": evacuation["alarm_at"],
        "inside_at_alarm": evacuation["inside_at_alarm"],
        "lockdown_since": lockdown.started_at.isoformat() if lockdown else None,
        # The plan's mode when the lockdown began: an opening routine runs at its end only if
        # the branch was closed then (it opened meanwhile, behind the lockdown).
        "mode_before_lockdown": branch.hours.schedule.mode_at(
            lockdown.started_at, dt_util.get_default_time_zone()
        ).value
        if lockdown
        else None,
    }


def _alarm_list(branch: Branch, _safety: SafetyRuntime) -> dict[str, Any]:
    return {
        "alarms": [
            {
                "kind": alarm.kind.value,
                "subject": alarm.subject,
                "since": alarm.since.isoformat(),
                "live": alarm.live,
            }
            for alarm in branch.coordinator.unacknowledged_alarms
        ]
    }


MODE = BranchSensorDescription(
    key="mode",
    translation_key="mode",
    device_class=SensorDeviceClass.ENUM,
    options=[m.value for m in Mode] + [s.value for s in EvacuationState] + [LOCKDOWN],
    value_fn=_mode,
    attributes_fn=_mode_attributes,
)

UNACKNOWLEDGED_ALARMS = BranchSensorDescription(
    key="unacknowledged_alarms",
    translation_key="unacknowledged_alarms",
    value_fn=lambda b, _safety: len(b.coordinator.unacknowledged_alarms),
    attributes_fn=_alarm_list,
)

HOURS: tuple[HoursSensorDescription, ...] = (
    HoursSensorDescription(
        key="next_change",
        translation_key="next_change",
        device_class=SensorDeviceClass.TIMESTAMP,
        value_fn=lambda h: h.next_change[0] if h.next_change else None,
        attributes_fn=lambda h: {
            "next_mode": h.next_change[1].value if h.next_change else None
        },
    ),
    HoursSensorDescription(
        key="closes_at",
        translation_key="closes_at",
        device_class=SensorDeviceClass.TIMESTAMP,
        value_fn=lambda h: h.closes_at,
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: SmartLibraryConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the opening-hours and incident sensors of every branch, occupancy where counted."""
    safety = entry.runtime_data.safety
    for subentry_id, branch in entry.runtime_data.branches.items():
        entities: list[SensorEntity] = [
            BranchSensor(branch, safety, description)
            for description in (MODE, UNACKNOWLEDGED_ALARMS)
        ]
        entities.extend(HoursSensor(branch.hours, description) for description in HOURS)
        if "counter.in" in branch.coordinator.point_map:
            entities.extend(
                OccupancySensor(branch.coordinator, description)
                for description in OCCUPANCY
            )
        entities.extend(incident_sensors(safety, branch))
        async_add_entities(entities, config_subentry_id=subentry_id)


class OccupancySensor(BranchEntity, SensorEntity):
    """A count from the branch's people counter."""

    entity_description: OccupancySensorDescription

    def __init__(
        self, coordinator: BranchCoordinator, description: OccupancySensorDescription
    ) -> None:
        """Initialise the sensor (available while the counter's module answers)."""
        super().__init__(coordinator, description, "counter.in")

    @property
    def native_value(self) -> int:
        """Return the count."""
        return self.entity_description.value_fn(self.coordinator.occupancy)


class HoursSensor(HoursEntity, SensorEntity):
    """A sensor of the branch's opening hours."""

    entity_description: HoursSensorDescription

    @property
    def native_value(self) -> str | datetime | None:
        """Return the value."""
        return self.entity_description.value_fn(self.hours)

    @property
    def extra_state_attributes(self) -> dict[str, Any] | None:
        """Return the description's attributes, if any."""
        if self.entity_description.attributes_fn is None:
            return None
        return self.entity_description.attributes_fn(self.hours)


class BranchSensor(HoursEntity, SensorEntity):
    """A sensor of the branch as a whole: available whatever the controller does.

    The mode is known before the entity is added (the opening hours are computed when they are
    built, the stored evacuation state is read before the first poll, running lockdowns are
    loaded before the platforms), so a reload never shows a mode the branch is not in.
    """

    entity_description: BranchSensorDescription

    def __init__(
        self,
        branch: Branch,
        safety: SafetyRuntime,
        description: BranchSensorDescription,
    ) -> None:
        """Initialise from the branch's hours, its coordinator and its service's lockdowns."""
        super().__init__(branch.hours, description)
        self.branch = branch
        self.safety = safety

    async def async_added_to_hass(self) -> None:
        """Follow the hours, the controller's state and the service's lockdowns."""
        await super().async_added_to_hass()
        self.async_on_remove(
            self.branch.coordinator.async_add_listener(self.async_write_ha_state)
        )
        self.async_on_remove(
            async_dispatcher_connect(
                self.hass,
                signal_lockdown(self.safety.entry.entry_id),
                self.async_write_ha_state,
            )
        )

    @property
    def native_value(self) -> str | int | None:
        """Return the value."""
        return self.entity_description.value_fn(self.branch, self.safety)

    @property
    def extra_state_attributes(self) -> dict[str, Any] | None:
        """Return the description's attributes, if any."""
        if self.entity_description.attributes_fn is None:
            return None
        return self.entity_description.attributes_fn(self.branch, self.safety)
