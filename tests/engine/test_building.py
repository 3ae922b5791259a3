"""The building's rules over (snapshot, time), with no controller and no Home Assistant."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from custom_components.smart_library.engine.building.alarms import (
    AlarmKind,
    EvacuationState,
    SafetyError,
)
from custom_components.smart_library.engine.building.pointmap import (
    POINT_MAPS,
    PointMap,
    reference_map,
)
from custom_components.smart_library.engine.building.rules import (
    AlarmLatched,
    BuildingRules,
    EvacuationReset,
    FireAlarmCleared,
    FireAlarmStarted,
    HoldDoor,
    OccupancyReset,
    PlayMessage,
    SetPoint,
    TailgatingSeen,
)
from custom_components.smart_library.engine.building.schedule import Mode
from custom_components.smart_library.engine.building.snapshot import (
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


def holds(commands: list[object]) -> list[HoldDoor]:
    """Return the door holds among commands."""
    return [c for c in commands if isinstance(c, HoldDoor)]


def test_fire_holds_every_door_until_the_controller_confirms() -> None:
    """A failed hold write is never forgotten: it is asked for again on every poll."""
    rules = BuildingRules(REF)
    out = rules.evaluate(snap(fire__alarm=True), 0)
    assert out.events == [FireAlarmStarted()]
    assert set(holds(out.commands)) == {
        HoldDoor("entrance", True, "fire"),
        HoldDoor("meeting_room", True, "fire"),
    }
    for command in out.commands:
        rules.command_failed(command)  # the write did not take
    again = rules.evaluate(snap(fire__alarm=True), 1)
    assert len(holds(again.commands)) == 2 and not again.events
    done = rules.evaluate(
        snap(
            fire__alarm=True, door__entrance__hold=True, door__meeting_room__hold=True
        ),
        2,
    )
    assert holds(done.commands) == []
    assert rules.fire_alarm


def test_fire_input_unreadable_is_still_a_fire() -> None:
    """An alarm whose module stops answering is not "all clear": the rule holds what it can."""
    rules = BuildingRules(MOXA)
    rules.evaluate(snap(MOXA, fire__alarm=True), 0)
    out = rules.evaluate(snap(MOXA, away=("e1214",)), 1)
    assert rules.fire_alarm
    assert FireAlarmCleared() not in out.events  # not cleared
    cleared = rules.evaluate(snap(MOXA), 2)
    assert cleared.events == [FireAlarmCleared()]
    assert not rules.fire_alarm


def test_fire_runs_on_the_modules_that_answered() -> None:
    """The E1212 away does not stop the E1214's fire rule."""
    rules = BuildingRules(MOXA)
    out = rules.evaluate(snap(MOXA, away=("e1212",), fire__alarm=True), 0)
    assert {c.door for c in holds(out.commands)} == {"entrance", "meeting_room"}
    # The lights it can reach go on; zone 3 is on the E1212, which is away.
    assert {c.key for c in out.commands if isinstance(c, SetPoint)} == {
        "light.zone_1",
        "light.zone_2",
    }


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
        snap(
            fire__alarm=True, door__entrance__hold=True, door__meeting_room__hold=True
        ),
        1,
    )
    assert holds(out.commands) == []


def test_a_lockdown_holds_no_door_and_the_mode_applies_after_it() -> None:
    """No free entry while it lasts, whatever the mode or a hand says; a fire still wins."""
    rules = BuildingRules(REF, free_entry_doors=["entrance"])
    rules.set_mode(Mode.STAFFED)
    assert rules.evaluate(snap(), 0).commands == [HoldDoor("entrance", True, "mode")]
    held = snap(door__entrance__hold=True)
    rules.set_lockdown(True)
    assert rules.door_commands(held) == [HoldDoor("entrance", False, "mode")]
    assert not rules.held_by_mode("entrance")
    # Staff hold both doors by hand: the next poll takes both holds off.
    both = snap(door__entrance__hold=True, door__meeting_room__hold=True)
    assert set(rules.evaluate(both, 1).commands) == {
        HoldDoor("entrance", False, "lockdown"),
        HoldDoor("meeting_room", False, "lockdown"),
    }
    # A mode change during the lockdown: still nothing held.
    rules.set_mode(Mode.EVENT)
    assert rules.evaluate(snap(), 2).commands == []
    # A fire alarm releases every door all the same (people leave a burning building).
    fire = rules.evaluate(snap(fire__alarm=True), 3)
    assert {c.door for c in holds(fire.commands) if c.released} == {
        "entrance",
        "meeting_room",
    }
    rules.evaluate(snap(), 4)  # panel reset: nothing until a person resets the branch
    rules.reset_evacuation()
    assert rules.evaluate(snap(), 5).commands == []  # still locked down
    # Ended: the mode's hold is back.
    rules.set_lockdown(False)
    assert rules.evaluate(snap(), 6).commands == [HoldDoor("entrance", True, "mode")]


def test_tailgating_watch() -> None:
    """Three people in on a release for one: two tailgaters, reported once."""
    rules = BuildingRules(REF, release_seconds=5)
    rules.evaluate(snap(counter__in=10, counter__out=0), 0)
    rules.watch_entry("entrance", 1, 0)
    out = rules.evaluate(snap(counter__in=13, counter__out=0), 1)
    assert out.events == [TailgatingSeen("entrance", 1, 3, 2)]
    assert rules.evaluate(snap(counter__in=14, counter__out=0), 2).events == []
    assert rules.occupancy.inside == 4


def test_no_mode_change_zeroes_the_people_count() -> None:
    """Opening, closing and opening again leave the count as counted; only a person resets it."""
    rules = BuildingRules(REF)
    rules.occupancy.inside = 3  # restored after a restart
    for mode in (Mode.SMART, Mode.CLOSED, Mode.STAFFED, Mode.CLOSED, Mode.EVENT):
        assert rules.set_mode(mode).events == []
        assert rules.occupancy.inside == 3
    assert rules.building_empty() == OccupancyReset(3, "building_empty")
    assert rules.occupancy.inside == 0


def test_snapshot_unknown_is_none_not_off() -> None:
    """Values of a module that did not answer are unknown (None), never False."""
    s = snap(MOXA, away=("e1214",))
    assert s.fire_alarm is None
    assert s.door("entrance").released is None
    assert s.lights == {"zone_1": None, "zone_2": None, "zone_3": False}
    assert s.any_ok and not s.all_ok
    assert not s.available("fire.alarm") and s.available("pc.group_1")


T0 = datetime(2026, 11, 24, 19, 30, tzinfo=UTC)


def at(seconds: float) -> datetime:
    """Return the wall clock `seconds` after T0."""
    return T0 + timedelta(seconds=seconds)


def test_fire_alarm_is_an_evacuation_until_a_person_resets_it() -> None:
    """Alarm: evacuation (lights on, the message on every zone); panel reset: reset needed.

    While a reset is needed nothing follows the mode (closing time locks no door); the reset
    refused during the alarm; after it the plan's mode applies again.
    """
    rules = BuildingRules(REF)
    rules.set_mode(Mode.SMART)
    rules.evaluate(snap(counter__in=0, counter__out=0), 0, at(0))
    rules.evaluate(snap(counter__in=20, counter__out=2), 1, at(1))  # 18 inside

    out = rules.evaluate(
        snap(fire__alarm=True, counter__in=20, counter__out=2), 2, at(2)
    )
    assert out.events == [FireAlarmStarted()]
    evacuation = rules.evacuation
    assert evacuation is not None
    assert evacuation.state is EvacuationState.EVACUATION
    assert (evacuation.alarm_at, evacuation.inside_at_alarm) == (at(2), 18)
    assert set(out.commands) >= {
        SetPoint("light.zone_1", True),
        SetPoint("light.zone_2", True),
        SetPoint("light.zone_3", True),
        PlayMessage(7, 0b111),
    }
    with pytest.raises(SafetyError) as err:
        rules.reset_evacuation()
    assert err.value.code == "evacuation_alarm_active"

    # The message is playing in every zone: not restarted. When it ends, played again.
    playing = {
        "fire__alarm": True,
        "pa__busy": True,
        "pa__message": 7,
        "pa__zones": 0b111,
        "light__zone_1": True,
        "light__zone_2": True,
        "light__zone_3": True,
        "door__entrance__hold": True,
        "door__meeting_room__hold": True,
    }
    assert rules.evaluate(snap(**playing), 3, at(3)).commands == []
    ended = playing | {"pa__busy": False}
    assert rules.evaluate(snap(**ended), 4, at(4)).commands == [PlayMessage(7, 0b111)]
    # Another message playing (a closing announcement) gives way to the evacuation message.
    other = playing | {"pa__message": 2}
    assert rules.evaluate(snap(**other), 5, at(5)).commands == [PlayMessage(7, 0b111)]

    # The panel is reset: the branch needs a person; closing time locks nothing meanwhile.
    cleared = {k: v for k, v in playing.items() if k not in ("fire__alarm", "pa__busy")}
    out = rules.evaluate(snap(**cleared), 6, at(6))
    assert out.events == [FireAlarmCleared()]
    assert rules.evacuation.state is EvacuationState.RESET_NEEDED
    assert rules.evacuation.cleared_at == at(6)
    rules.set_mode(Mode.CLOSED)
    assert rules.evaluate(snap(**cleared), 7, at(7)).commands == []
    assert rules.evaluate(snap(**cleared), 8, at(8)).commands == []

    out = rules.reset_evacuation()
    assert out.events == [EvacuationReset(evacuation)]
    assert rules.evacuation is None
    assert set(rules.evaluate(snap(**cleared), 9, at(9)).commands) == {
        HoldDoor("entrance", False, "mode"),
        HoldDoor("meeting_room", False, "mode"),
    }
    with pytest.raises(SafetyError) as err:
        rules.reset_evacuation()
    assert err.value.code == "no_evacuation"


def test_alarm_again_before_the_reset_is_the_same_evacuation() -> None:
    """A second alarm while a reset is needed: back in evacuation, the first alarm's time kept."""
    rules = BuildingRules(REF)
    rules.evaluate(snap(fire__alarm=True), 0, at(0))
    rules.evaluate(snap(), 1, at(1))
    assert rules.evaluate(snap(fire__alarm=True), 2, at(2)).events == [
        FireAlarmStarted()
    ]
    assert rules.evacuation is not None
    assert rules.evacuation.state is EvacuationState.EVACUATION
    assert rules.evacuation.alarm_at == at(0)
    assert rules.evacuation.cleared_at is None


def test_evacuation_and_latched_alarms_survive_a_restart() -> None:
    """What is stored comes back: an evacuation not reset is still one; alarms stay latched."""
    rules = BuildingRules(REF)
    rules.evaluate(snap(fire__alarm=True, door__entrance__forced=True), 0, at(0))
    stored = rules.to_dict()

    during = BuildingRules(REF)  # restarted during the alarm
    during.restore(stored)
    assert during.fire_alarm
    assert during.evacuation is not None
    assert during.evacuation.alarm_at == at(0)
    assert during.evaluate(snap(), 1, at(1)).events == [FireAlarmCleared()]
    assert during.evacuation.state is EvacuationState.RESET_NEEDED
    forced = during.latch.get(AlarmKind.DOOR_FORCED, "entrance")
    assert forced is not None and forced.on and forced.since == at(0)

    after = BuildingRules(
        REF
    )  # restarted after the panel reset, before a person reset it
    after.restore(during.to_dict())
    assert not after.fire_alarm
    assert after.evacuation is not None
    assert after.evacuation.state is EvacuationState.RESET_NEEDED
    after.set_mode(Mode.CLOSED)
    assert after.evaluate(snap(), 2, at(2)).commands == []  # nothing locked by itself
    assert [a.kind for a in after.latch.unacknowledged] == [AlarmKind.DOOR_FORCED]


def test_alarms_latch_until_acknowledged() -> None:
    """A forced door for one poll stays an alarm; acknowledged, it goes; a new one latches."""
    rules = BuildingRules(REF)
    out = rules.evaluate(snap(door__entrance__forced=True), 0, at(0))
    assert [e.alarm.key for e in out.events if isinstance(e, AlarmLatched)] == [
        "door_forced:entrance"
    ]
    assert rules.evaluate(snap(), 1, at(1)).events == []  # the door shut: still latched
    alarm = rules.latch.get(AlarmKind.DOOR_FORCED, "entrance")
    assert alarm is not None and alarm.on and alarm.live is False
    assert [a.key for a in rules.acknowledge_alarms(at(2))] == ["door_forced:entrance"]
    assert rules.latch.get(AlarmKind.DOOR_FORCED, "entrance") is None
    assert rules.acknowledge_alarms(at(3)) == []

    # Acknowledged while still pressed: it stays on until released, and is not counted.
    rules.evaluate(snap(panic__counter=True), 4, at(4))
    rules.acknowledge_alarms(at(5))
    panic = rules.latch.get(AlarmKind.PANIC, "counter")
    assert panic is not None and panic.on and rules.latch.unacknowledged == []
    rules.evaluate(snap(panic__counter=True), 6, at(6))  # still pressed: no new alarm
    assert rules.latch.unacknowledged == []
    rules.evaluate(snap(), 7, at(7))
    assert rules.latch.get(AlarmKind.PANIC, "counter") is None
    out = rules.evaluate(snap(panic__counter=True), 8, at(8))  # pressed again
    assert [e.alarm.since for e in out.events if isinstance(e, AlarmLatched)] == [at(8)]


def test_every_latching_input_and_a_lost_module() -> None:
    """Forced, held open, panic, fire-panel fault and a module lost each latch; unknown is not clear."""
    out = BuildingRules(REF).evaluate(
        snap(
            door__entrance__forced=True,
            door__meeting_room__held_open=True,
            panic__counter=True,
            fire__fault=True,
        ),
        0,
        at(0),
    )
    assert sorted(e.alarm.key for e in out.events if isinstance(e, AlarmLatched)) == [
        "door_forced:entrance",
        "door_held_open:meeting_room",
        "fire_fault:",
        "panic:counter",
    ]
    rules = BuildingRules(MOXA)  # no forced/held-open inputs; two modules
    out = rules.evaluate(
        snap(MOXA, away=("e1212",), panic__counter=True, fire__fault=True), 0, at(0)
    )
    assert sorted(e.alarm.key for e in out.events if isinstance(e, AlarmLatched)) == [
        "controller_lost:e1212",
        "fire_fault:",
        "panic:counter",
    ]
    rules.acknowledge_alarms(at(1))
    # The E1214 goes away too: its inputs are unknown, so its acknowledged alarms stay.
    out = rules.evaluate(snap(MOXA, away=("e1214", "e1212")), 2, at(2))
    assert [e.alarm.key for e in out.events if isinstance(e, AlarmLatched)] == [
        "controller_lost:e1214"
    ]
    assert rules.latch.get(AlarmKind.PANIC, "counter") is not None
    rules.evaluate(snap(MOXA), 3, at(3))  # both back, every input clear
    assert [a.key for a in rules.latch.alarms.values()] == ["controller_lost:e1214"]


def test_closed_locked_and_still_counts_nobody_after_the_set_time() -> None:
    """The configured rule: closed, every door locked, the counter still for long enough."""
    rules = BuildingRules(REF, empty_after=3600)
    rules.set_mode(Mode.CLOSED)
    rules.evaluate(snap(counter__in=5, counter__out=0), 0, at(0))
    rules.evaluate(snap(counter__in=7, counter__out=0), 10, at(10))
    assert rules.occupancy.inside == 2
    assert (
        rules.evaluate(snap(counter__in=7, counter__out=0), 3609, at(3609)).events == []
    )
    # A door held released: not "locked", so nobody is assumed gone.
    held = snap(
        counter__in=7,
        counter__out=0,
        door__entrance__hold=True,
        door__entrance__released=True,
    )
    assert rules.evaluate(held, 3700, at(3700)).events == []
    out = rules.evaluate(snap(counter__in=7, counter__out=0), 3710, at(3710))
    assert out.events == [OccupancyReset(2, "rule")]
    assert rules.occupancy.inside == 0


def test_no_rule_no_reset() -> None:
    """Without the configured rule, a still counter in a closed branch changes nothing."""
    rules = BuildingRules(REF)
    rules.set_mode(Mode.CLOSED)
    rules.evaluate(snap(counter__in=5, counter__out=0), 0, at(0))
    rules.evaluate(snap(counter__in=7, counter__out=0), 1, at(1))
    assert rules.evaluate(snap(counter__in=7, counter__out=0), 10**6).events == []
    assert rules.occupancy.inside == 2
