"""The building's rules over (snapshot, time), with no controller and no Home Assistant."""

from __future__ import annotations

from custom_components.smart_library.engine.building import (
    BuildingRules,
    FireAlarmCleared,
    FireAlarmStarted,
    HoldDoor,
    OccupancyRestarted,
    TailgatingSeen,
)
from custom_components.smart_library.engine.pointmap import (
    POINT_MAPS,
    PointMap,
    reference_map,
)
from custom_components.smart_library.engine.schedule import Mode
from custom_components.smart_library.engine.snapshot import (
    ModuleHealth,
    ModuleStatus,
    Snapshot,
)

REF = reference_map()
MOXA = POINT_MAPS["moxa_e1214_e1212"]


def snap(
    point_map: PointMap = REF, away: tuple[str, ...] = (), **values: int | bool
) -> Snapshot:
    """Return a snapshot: every point 0/False unless given (dots as double underscores)."""
    given = {k.replace("__", "."): v for k, v in values.items()}
    modules = {
        m: ModuleHealth(ModuleStatus.UNREACHABLE if m in away else ModuleStatus.OK)
        for m in point_map.modules
    }
    return Snapshot(
        point_map,
        modules,
        {
            p.key: given.get(p.key, False if p.table.is_bit else 0)
            for p in point_map.points
            if p.module not in away
        },
    )


def test_fire_holds_every_door_until_the_controller_confirms() -> None:
    """A failed hold write is never forgotten: it is asked for again on every poll."""
    rules = BuildingRules(REF)
    out = rules.evaluate(snap(fire__alarm=True), 0)
    assert out.events == [FireAlarmStarted()]
    assert set(out.commands) == {
        HoldDoor("entrance", True, "fire"),
        HoldDoor("meeting_room", True, "fire"),
    }
    for command in out.commands:
        rules.command_failed(command)  # the write did not take
    again = rules.evaluate(snap(fire__alarm=True), 1)
    assert len(again.commands) == 2 and not again.events
    done = rules.evaluate(
        snap(fire__alarm=True, door__entrance__hold=True, door__meeting_room__hold=True),
        2,
    )
    assert done.commands == []
    assert rules.fire_alarm


def test_fire_input_unreadable_is_still_a_fire() -> None:
    """An alarm whose module stops answering is not "all clear": the rule holds what it can."""
    rules = BuildingRules(MOXA)
    rules.evaluate(snap(MOXA, fire__alarm=True), 0)
    out = rules.evaluate(snap(MOXA, away=("e1214",)), 1)
    assert rules.fire_alarm
    assert out.events == []  # not cleared
    cleared = rules.evaluate(snap(MOXA), 2)
    assert cleared.events == [FireAlarmCleared()]
    assert not rules.fire_alarm


def test_fire_runs_on_the_modules_that_answered() -> None:
    """The E1212 away does not stop the E1214's fire rule."""
    rules = BuildingRules(MOXA)
    out = rules.evaluate(snap(MOXA, away=("e1212",), fire__alarm=True), 0)
    assert {c.door for c in out.commands} == {"entrance", "meeting_room"}


def test_mode_applied_on_change_and_hand_holds_left_alone() -> None:
    """Staffed hours hold the free-entry door; a hold set by hand in between is not undone."""
    rules = BuildingRules(REF, free_entry_doors=["entrance"])
    rules.set_mode(Mode.STAFFED)
    out = rules.evaluate(snap(), 0)
    assert out.commands == [HoldDoor("entrance", True, "mode")]
    # Staff lock it by hand: the next polls leave that alone.
    assert rules.evaluate(snap(), 1).commands == []
    rules.set_mode(Mode.SMART)
    assert rules.evaluate(snap(door__entrance__hold=True), 2).commands == [
        HoldDoor("entrance", False, "mode")
    ]


def test_mode_hold_retried_after_failure_and_when_module_returns() -> None:
    """A mode hold that failed, or whose module was away, is made when it can be."""
    rules = BuildingRules(MOXA)
    rules.set_mode(Mode.STAFFED)
    assert rules.evaluate(snap(MOXA, away=("e1214",)), 0).commands == []
    out = rules.evaluate(snap(MOXA), 1)
    assert out.commands == [HoldDoor("entrance", True, "mode")]
    rules.command_failed(out.commands[0])
    assert rules.evaluate(snap(MOXA), 2).commands == [
        HoldDoor("entrance", True, "mode")
    ]


def test_no_mode_hold_during_a_fire() -> None:
    """Closing time during a fire alarm does not lock a door."""
    rules = BuildingRules(REF)
    rules.evaluate(snap(fire__alarm=True), 0)
    rules.set_mode(Mode.CLOSED)
    out = rules.evaluate(
        snap(fire__alarm=True, door__entrance__hold=True, door__meeting_room__hold=True),
        1,
    )
    assert out.commands == []


def test_tailgating_watch() -> None:
    """Three people in on a release for one: two tailgaters, reported once."""
    rules = BuildingRules(REF, release_seconds=5)
    rules.evaluate(snap(counter__in=10, counter__out=0), 0)
    rules.watch_entry("entrance", 1, 0)
    out = rules.evaluate(snap(counter__in=13, counter__out=0), 1)
    assert out.events == [TailgatingSeen("entrance", 1, 3, 2)]
    assert rules.evaluate(snap(counter__in=14, counter__out=0), 2).events == []
    assert rules.occupancy.inside == 4


def test_occupancy_restarts_at_opening_not_at_start() -> None:
    """The count carried over a restart is kept; a later opening starts it from zero."""
    rules = BuildingRules(REF)
    rules.occupancy.inside = 3  # restored after a restart
    assert rules.set_mode(Mode.SMART).events == []
    assert rules.occupancy.inside == 3
    rules.set_mode(Mode.CLOSED)
    assert rules.set_mode(Mode.STAFFED).events == [OccupancyRestarted(3)]
    assert rules.occupancy.inside == 0


def test_snapshot_unknown_is_none_not_off() -> None:
    """Values of a module that did not answer are unknown (None), never False."""
    s = snap(MOXA, away=("e1214",))
    assert s.fire_alarm is None
    assert s.door("entrance").released is None
    assert s.lights == {"zone_1": None, "zone_2": None, "zone_3": False}
    assert s.any_ok and not s.all_ok
    assert not s.available("fire.alarm") and s.available("pc.group_1")
