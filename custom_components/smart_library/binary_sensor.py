"""Door contacts and alarms, fire panel, panic buttons, controller connection, evacuation.

Alarms latch: a forced door, a door held open, a panic button, a fire-panel fault and a lost
controller module stay *on* until a person acknowledges them (the branch's "Acknowledge alarms"
button or `smart_library.acknowledge_alarm`), even once the input is back to normal — a door
forced for three seconds is still on the dashboard an hour later. The sensors themselves latch
rather than having "latched" twins beside them: a duty manager reads one sensor per alarm, and
"on" always means "needs a person". What the input reads now is the `live` attribute.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from homeassistant.components.binary_sensor import (
    BinarySensorDeviceClass,
    BinarySensorEntity,
    BinarySensorEntityDescription,
)
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .access.library_system import library_system_entities
from .branch import Branch
from .building.coordinator import BranchCoordinator
from .building.hours import BranchHours
from .engine.building.alarms import AlarmKind, EvacuationState
from .entity import BranchEntity, HoursEntity, numbered
from .runtime import SmartLibraryConfigEntry
from .safety.alert_entities import staff_alerts_binary_sensor
from .safety.common import signal_lockdown
from .safety.lockdown_entities import lockdown_binary_sensor
from .safety.runtime import SafetyRuntime

PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class BranchBinarySensorDescription(BinarySensorEntityDescription):
    """A binary sensor of a branch: what it shows and which point's module it depends on."""

    value_fn: Callable[[BranchCoordinator], bool | None]
    point: str | None = None  # None: available as long as the branch answers at all
    attributes_fn: Callable[[BranchCoordinator], dict[str, Any]] | None = None
    always_available: bool = False
    # A latching alarm: its kind and subject. Shown (on) while latched even if its module is away.
    alarm: tuple[AlarmKind, str] | None = None


@dataclass(frozen=True, kw_only=True)
class HoursBinarySensorDescription(BinarySensorEntityDescription):
    """A binary sensor of a branch's opening hours."""

    value_fn: Callable[[BranchHours], bool]


def _point(key: str) -> Callable[[BranchCoordinator], bool | None]:
    return lambda c: None if c.data is None else c.data.flag(key)


def _latched(
    kind: AlarmKind, subject: str, key: str
) -> Callable[[BranchCoordinator], bool | None]:
    """Return the state of a latching alarm: on while latched, else what its input reads."""

    def value(coordinator: BranchCoordinator) -> bool | None:
        alarm = coordinator.alarm(kind, subject)
        if alarm is not None and alarm.on:
            return True
        return None if coordinator.data is None else coordinator.data.flag(key)

    return value


def _latch_attributes(
    kind: AlarmKind, subject: str, key: str | None
) -> Callable[[BranchCoordinator], dict[str, Any]]:
    """Return a latching alarm's attributes: the input now, since when, acknowledged or not."""

    def attributes(coordinator: BranchCoordinator) -> dict[str, Any]:
        alarm = coordinator.alarm(kind, subject)
        data = coordinator.data
        return {
            "live": None if key is None or data is None else data.flag(key),
            "since": alarm.since.isoformat() if alarm else None,
            "unacknowledged": alarm is not None and not alarm.acknowledged,
        }

    return attributes


def _alarm_description(
    key: str,
    kind: AlarmKind,
    subject: str,
    **kwargs: Any,
) -> BranchBinarySensorDescription:
    """Return the description of a latching alarm read from point `key`."""
    return BranchBinarySensorDescription(
        key=key,
        point=key,
        value_fn=_latched(kind, subject, key),
        attributes_fn=_latch_attributes(kind, subject, key),
        alarm=(kind, subject),
        **kwargs,
    )


DOOR_SENSORS: dict[str, tuple[str, BinarySensorDeviceClass, AlarmKind | None]] = {
    "open": ("door_open", BinarySensorDeviceClass.DOOR, None),
    "forced": ("door_forced", BinarySensorDeviceClass.PROBLEM, AlarmKind.DOOR_FORCED),
    "held_open": (
        "door_held_open",
        BinarySensorDeviceClass.PROBLEM,
        AlarmKind.DOOR_HELD_OPEN,
    ),
}


def _modules(coordinator: BranchCoordinator) -> dict[str, Any]:
    """Return each module's answer to the last poll (also when none answered)."""
    modules = coordinator.module_health
    return {"modules": {name: health.status.value for name, health in modules.items()}}


FIXED: tuple[BranchBinarySensorDescription, ...] = (
    BranchBinarySensorDescription(
        key="fire.alarm",
        point="fire.alarm",
        translation_key="fire_alarm",
        device_class=BinarySensorDeviceClass.SAFETY,
        value_fn=_point("fire.alarm"),
    ),
    _alarm_description(
        "fire.fault",
        AlarmKind.FIRE_FAULT,
        "",
        translation_key="fire_fault",
        device_class=BinarySensorDeviceClass.PROBLEM,
        entity_category=EntityCategory.DIAGNOSTIC,
    ),
    BranchBinarySensorDescription(
        key="tailgating",
        point="counter.in",
        translation_key="tailgating",
        device_class=BinarySensorDeviceClass.PROBLEM,
        value_fn=lambda c: c.tailgating,
    ),
)

CONTROLLER_CONNECTED = BranchBinarySensorDescription(
    key="controller_connected",
    translation_key="controller_connected",
    device_class=BinarySensorDeviceClass.CONNECTIVITY,
    entity_category=EntityCategory.DIAGNOSTIC,
    # Every module answered. It reports an outage rather than disappearing in it.
    value_fn=lambda c: c.last_update_success and c.data is not None and c.data.all_ok,
    attributes_fn=_modules,
    always_available=True,
)


def _controller_lost(coordinator: BranchCoordinator) -> bool:
    """Return True while a module is lost, or its loss is not yet acknowledged."""
    return any(
        alarm.on
        for module in coordinator.point_map.modules
        if (alarm := coordinator.alarm(AlarmKind.CONTROLLER_LOST, module))
    )


def _controller_lost_attributes(coordinator: BranchCoordinator) -> dict[str, Any]:
    alarms = [
        alarm
        for module in coordinator.point_map.modules
        if (alarm := coordinator.alarm(AlarmKind.CONTROLLER_LOST, module))
    ]
    since = min((a.since for a in alarms), default=None)
    return {
        "lost_now": [a.subject for a in alarms if a.live],
        "since": since.isoformat() if since else None,
        "unacknowledged": any(not a.acknowledged for a in alarms),
    }


CONTROLLER_LOST = BranchBinarySensorDescription(
    key="controller_lost",
    translation_key="controller_lost",
    device_class=BinarySensorDeviceClass.PROBLEM,
    # Latched like the other alarms: a controller that went for a minute at night is still
    # shown in the morning. Always available: it reports the outage, it does not vanish in it.
    value_fn=_controller_lost,
    attributes_fn=_controller_lost_attributes,
    always_available=True,
)


def evacuation_attributes(coordinator: BranchCoordinator) -> dict[str, Any]:
    """Return an evacuation's facts: its state, the alarm's time, how many were inside then."""
    evacuation = coordinator.evacuation
    if evacuation is None:
        return {
            "reset_needed": False,
            "alarm_at": None,
            "inside_at_alarm": None,
            "alarm_cleared_at": None,
        }
    return {
        "reset_needed": evacuation.state is EvacuationState.RESET_NEEDED,
        "alarm_at": evacuation.alarm_at.isoformat(),
        "inside_at_alarm": evacuation.inside_at_alarm,
        "alarm_cleared_at": evacuation.cleared_at.isoformat()
        if evacuation.cleared_at
        else None,
    }


EVACUATION = BranchBinarySensorDescription(
    key="evacuation",
    translation_key="evacuation",
    device_class=BinarySensorDeviceClass.SAFETY,
    # On from the fire alarm until a person resets the branch (stored: a restart keeps it).
    value_fn=lambda c: c.evacuating,
    attributes_fn=evacuation_attributes,
    always_available=True,
)

OPEN_TO_MEMBERS = HoursBinarySensorDescription(
    key="open_to_members",
    translation_key="open_to_members",
    value_fn=lambda hours: hours.open_to_members,
)


def _descriptions(
    coordinator: BranchCoordinator,
) -> Iterator[BranchBinarySensorDescription]:
    point_map = coordinator.point_map
    for door in point_map.doors:
        for what, (translation, device_class, kind) in DOOR_SENSORS.items():
            key = f"door.{door.id}.{what}"
            if key not in point_map:
                continue
            if kind is None:
                yield BranchBinarySensorDescription(
                    key=key,
                    point=key,
                    translation_key=f"{translation}_{door.kind}",
                    device_class=device_class,
                    value_fn=_point(key),
                )
            else:
                yield _alarm_description(
                    key,
                    kind,
                    door.id,
                    translation_key=f"{translation}_{door.kind}",
                    device_class=device_class,
                )
    for button, placeholders in numbered(point_map, "panic"):
        yield _alarm_description(
            f"panic.{button}",
            AlarmKind.PANIC,
            button,
            translation_key="panic",
            translation_placeholders=placeholders,
            device_class=BinarySensorDeviceClass.SAFETY,
        )
    for description in FIXED:
        if description.point is None or description.point in point_map:
            yield description
    yield CONTROLLER_CONNECTED
    yield CONTROLLER_LOST
    yield EVACUATION


async def async_setup_entry(
    hass: HomeAssistant,
    entry: SmartLibraryConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the binary sensors of every branch."""
    for subentry_id, branch in entry.runtime_data.branches.items():
        entities: list[BinarySensorEntity] = [
            BranchBinarySensor(branch.coordinator, description)
            for description in _descriptions(branch.coordinator)
        ]
        entities.append(OpenToMembers(branch, entry.runtime_data.safety))
        entities.append(lockdown_binary_sensor(entry.runtime_data.safety, branch))
        async_add_entities(entities, config_subentry_id=subentry_id)
    async_add_entities(library_system_entities(entry))
    async_add_entities([staff_alerts_binary_sensor(entry.runtime_data.safety)])


class BranchBinarySensor(BranchEntity, BinarySensorEntity):
    """A binary sensor read from the branch's controller."""

    entity_description: BranchBinarySensorDescription

    def __init__(
        self,
        coordinator: BranchCoordinator,
        description: BranchBinarySensorDescription,
    ) -> None:
        """Initialise from its description."""
        super().__init__(coordinator, description, description.point)

    @property
    def available(self) -> bool:
        """Return True while its module answers (the connection sensor always is).

        A latched alarm stays available while it is on: what happened is known even when the
        module that reported it has gone.
        """
        description = self.entity_description
        if description.always_available or super().available:
            return True
        alarm = description.alarm and self.coordinator.alarm(*description.alarm)
        return bool(alarm and alarm.on)

    @property
    def is_on(self) -> bool | None:
        """Return the sensor's state (None: unknown, never "all clear")."""
        return self.entity_description.value_fn(self.coordinator)

    @property
    def extra_state_attributes(self) -> dict[str, Any] | None:
        """Return the description's attributes, if any."""
        if self.entity_description.attributes_fn is None:
            return None
        return self.entity_description.attributes_fn(self.coordinator)


class HoursBinarySensor(HoursEntity, BinarySensorEntity):
    """A binary sensor of the branch's opening hours."""

    entity_description: HoursBinarySensorDescription

    @property
    def is_on(self) -> bool:
        """Return the sensor's state."""
        return self.entity_description.value_fn(self.hours)


class OpenToMembers(HoursBinarySensor):
    """Whether members may come in: the opening hours, never in an evacuation or a lockdown."""

    def __init__(self, branch: Branch, safety: SafetyRuntime) -> None:
        """Initialise from the branch's hours, its coordinator (the evacuation) and lockdowns."""
        super().__init__(branch.hours, OPEN_TO_MEMBERS)
        self.coordinator = branch.coordinator
        self.branch_id = branch.id
        self.safety = safety

    async def async_added_to_hass(self) -> None:
        """Follow the hours, the evacuation state and the service's lockdowns."""
        await super().async_added_to_hass()
        self.async_on_remove(
            self.coordinator.async_add_listener(self.async_write_ha_state)
        )
        self.async_on_remove(
            async_dispatcher_connect(
                self.hass,
                signal_lockdown(self.safety.entry.entry_id),
                self.async_write_ha_state,
            )
        )

    @property
    def is_on(self) -> bool:
        """Return False from a fire alarm until a person resets it, and while locked down."""
        if self.coordinator.evacuating or self.safety.lockdowns.active(self.branch_id):
            return False
        return super().is_on
