"""Snapshots compare by what they show: a controller's liveness counter alone is no change."""

from __future__ import annotations

from custom_components.smart_library.engine.building.pointmap import reference_map
from custom_components.smart_library.engine.building.snapshot import (
    ModuleHealth,
    ModuleStatus,
    Snapshot,
)

MAP = reference_map()


def _snap(status: ModuleStatus = ModuleStatus.OK, **values: int | bool) -> Snapshot:
    base = {p.key: False if p.table.is_bit else 0 for p in MAP.points}
    return Snapshot(
        MAP,
        {"main": ModuleHealth(status)},
        base | {k.replace("__", "."): v for k, v in values.items()},
    )


def test_heartbeat_alone_is_no_change() -> None:
    """Two polls that differ only in the heartbeat are equal (entities are not rewritten)."""
    assert _snap(controller__heartbeat=1) == _snap(controller__heartbeat=2)


def test_a_real_change_is_a_change() -> None:
    """A light, a module's health or a door is a change."""
    assert _snap(light__zone_1=True) != _snap()
    assert _snap(ModuleStatus.MALFORMED) != _snap()
    assert _snap(door__entrance__open=True, controller__heartbeat=3) != _snap(
        controller__heartbeat=4
    )
    assert _snap() != "not a snapshot"
