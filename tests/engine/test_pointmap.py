"""The point map: validation, read planning within protocol limits, decoding and encoding."""

from __future__ import annotations

import pytest

from custom_components.smart_library.engine.building.pointmap import (
    MAX_BITS_PER_READ,
    MAX_REGISTERS_PER_READ,
    POINT_MAPS,
    Door,
    DoorKind,
    Point,
    PointMap,
    PointMapError,
    ProblemKind,
    PulseKind,
    Table,
    check_door_pulses,
    reference_map,
)


def test_reference_map_reads_the_whole_building_in_four_requests() -> None:
    """One request per table: coils, discrete inputs, holding and input registers."""
    ref = reference_map()
    plan = ref.read_plan()
    assert [(b.table, b.start, b.count) for b in plan] == [
        (Table.COIL, 0, 7),
        (Table.DISCRETE_INPUT, 0, 14),
        (Table.HOLDING_REGISTER, 0, 6),
        (Table.INPUT_REGISTER, 0, 3),
    ]
    assert sum(len(b.points) for b in plan) == len(ref.points)
    assert ref.ids("light") == ["zone_1", "zone_2", "zone_3"]
    assert ref.ids("pc") == ["group_1", "group_2"]
    assert [d.id for d in ref.doors] == ["entrance", "meeting_room"]


def test_gaps_split_blocks_unless_allowed() -> None:
    """Non-contiguous addresses are separate requests; max_gap lets a small hole be read across."""
    pm = PointMap(
        "gappy",
        (
            Point("light.a", Table.COIL, 0),
            Point("light.b", Table.COIL, 1),
            Point("light.c", Table.COIL, 5),
        ),
    )
    assert [(b.start, b.count) for b in pm.read_plan()] == [(0, 2), (5, 1)]
    assert [(b.start, b.count) for b in pm.read_plan(max_gap=3)] == [(0, 6)]
    assert [(b.start, b.count) for b in pm.read_plan(max_gap=2)] == [(0, 2), (5, 1)]


@pytest.mark.parametrize(
    ("table", "limit"),
    [(Table.HOLDING_REGISTER, MAX_REGISTERS_PER_READ), (Table.COIL, MAX_BITS_PER_READ)],
)
def test_blocks_respect_protocol_limits(table: Table, limit: int) -> None:
    """A run longer than one request may carry is split at the protocol's limit."""
    points = tuple(Point(f"x.p{i}", table, i) for i in range(limit + 10))
    plan = PointMap("long", points).read_plan()
    assert [(b.start, b.count) for b in plan] == [(0, limit), (limit, 10)]


def test_modules_are_read_separately() -> None:
    """Points on different I/O modules never share a request."""
    pm = PointMap(
        "two modules",
        (Point("light.a", Table.COIL, 0, "m1"), Point("light.b", Table.COIL, 1, "m2")),
        modules=("m1", "m2"),
    )
    assert [(b.module, b.start) for b in pm.read_plan()] == [("m1", 0), ("m2", 1)]


def test_decode_uses_only_the_requested_bits_and_inverts() -> None:
    """Bit reads come back padded to whole bytes; a normally-closed input is inverted."""
    pm = PointMap(
        "nc",
        (
            Point("door.a.open", Table.DISCRETE_INPUT, 0, invert=True),
            Point("fire.alarm", Table.DISCRETE_INPUT, 1),
        ),
    )
    (block,) = pm.read_plan()
    padded = [True, True, False, False, False, False, False, False]
    assert pm.decode(block, padded) == {"door.a.open": False, "fire.alarm": True}
    with pytest.raises(PointMapError, match="short read"):
        pm.decode(block, [True])


def test_encode_checks_writability_and_range() -> None:
    """Inputs cannot be written; registers take 0-65535; an inverted coil is written inverted."""
    pm = PointMap(
        "enc",
        (
            Point("light.a", Table.COIL, 0, invert=True),
            Point("pa.volume", Table.HOLDING_REGISTER, 0),
            Point("fire.alarm", Table.DISCRETE_INPUT, 0),
        ),
    )
    assert pm.encode("light.a", True)[1] is False
    assert pm.encode("pa.volume", 70)[1] == 70
    with pytest.raises(PointMapError, match="read-only"):
        pm.encode("fire.alarm", True)
    with pytest.raises(PointMapError, match="out of range"):
        pm.encode("pa.volume", 70000)


@pytest.mark.parametrize(
    ("points", "doors", "message"),
    [
        (
            (Point("light.a", Table.COIL, 0), Point("light.a", Table.COIL, 1)),
            (),
            "duplicate",
        ),
        (
            (Point("light.a", Table.COIL, 0), Point("light.b", Table.COIL, 0)),
            (),
            "used twice",
        ),
        ((Point("Light A", Table.COIL, 0),), (), "bad point key"),
        ((Point("light.a", Table.COIL, 0, "nowhere"),), (), "unknown module"),
        (
            (),
            (Door("front", DoorKind.ENTRANCE, PulseKind.SECONDS_REGISTER),),
            "no pulse point",
        ),
        (
            (
                Point("x.wide", Table.HOLDING_REGISTER, 0, words=2),
                Point("x.next", Table.HOLDING_REGISTER, 1),
            ),
            (),
            "used twice",  # a two-word value's second word is taken too
        ),
        ((Point("x.bits", Table.COIL, 0, words=2),), (), "one bit"),
    ],
)
def test_invalid_maps_are_refused(
    points: tuple[Point, ...], doors: tuple[Door, ...], message: str
) -> None:
    """A map with clashing keys or addresses, or a door without a release, cannot be built."""
    with pytest.raises(PointMapError, match=message):
        PointMap("bad", points, doors)


def test_generic_module_maps() -> None:
    """The documented generic I/O module maps read in one request per contiguous block.

    On the E1214 a relay's pulse is started at its "pulse operate status" coil (16 + relay), apart
    from the relay value coils (0-5): four requests per poll for the two modules.
    """
    moxa = POINT_MAPS["moxa_e1214_e1212"]
    assert moxa.modules == ("e1214", "e1212")
    assert [(b.module, b.table, b.start, b.count) for b in moxa.read_plan()] == [
        ("e1212", Table.COIL, 0, 3),
        ("e1214", Table.COIL, 2, 4),
        ("e1214", Table.COIL, 16, 2),
        ("e1214", Table.DISCRETE_INPUT, 0, 5),
    ]
    assert moxa["door.entrance.pulse"].address == 16
    assert {d.pulse for d in moxa.doors} == {PulseKind.MODULE_PULSE_COIL}
    adam = POINT_MAPS["adam_6050"]
    assert [(b.table, b.start, b.count) for b in adam.read_plan()] == [
        (Table.COIL, 16, 6),
        (Table.DISCRETE_INPUT, 0, 4),
    ]
    assert [d.id for d in adam.doors] == ["entrance"]
    assert not adam.pa_zones


def test_per_point_plan_is_the_naive_baseline() -> None:
    """The benchmark's baseline reads every point on its own: 30 requests for the reference map."""
    ref = reference_map()
    plan = ref.read_plan(per_point=True)
    assert len(plan) == len(ref.points) == 30
    assert all(b.count == 1 for b in plan)


MOXA = POINT_MAPS["moxa_e1214_e1212"]


def _moxa_settings(**changes: int) -> dict[str, int | bool]:
    values: dict[str, int | bool] = {}
    for door in ("entrance", "meeting_room"):
        values |= {
            f"door.{door}.pulse_count": 1,
            f"door.{door}.pulse_on_width": 3,
            f"door.{door}.pulse_off_width": 1,
        }
    return values | {k.replace("__", "."): v for k, v in changes.items()}


def test_moxa_settings_are_read_apart_from_the_poll() -> None:
    """The E1214's pulse settings (Moxa's register map) are three requests, none of them in a poll.

    Pulse count at holding registers 36-47, two words per relay, high word first; ON width at
    52-57 and OFF width at 68-73, in steps of 1.5 s.
    """
    plan = MOXA.settings_plan()
    assert [(b.module, b.table, b.start, b.count) for b in plan] == [
        ("e1214", Table.HOLDING_REGISTER, 36, 4),
        ("e1214", Table.HOLDING_REGISTER, 52, 2),
        ("e1214", Table.HOLDING_REGISTER, 68, 2),
    ]
    assert MOXA.settings_plan("e1212") == []
    assert all(b.table is not Table.HOLDING_REGISTER for b in MOXA.read_plan())
    assert MOXA.decode(plan[0], [0x0001, 0x0002, 0, 1]) == {
        "door.entrance.pulse_count": 0x10002,
        "door.meeting_room.pulse_count": 1,
    }
    assert MOXA.setting("door.entrance.pulse_on_width").scale == 1.5  # type: ignore[union-attr]
    assert "door.entrance.pulse_count" not in MOXA  # never a point to write
    assert reference_map().settings == ()


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({}, []),  # one pulse of 3 x 1.5 = 4.5 s within 5 s
        (
            {"door__entrance__pulse_count": 0},
            [("entrance", ProblemKind.PULSES_FOR_EVER, None)],
        ),
        (
            {"door__meeting_room__pulse_on_width": 4},
            [("meeting_room", ProblemKind.RELEASE_TOO_LONG, 6.0)],
        ),
        # 3 pulses of 1 step, 1 step apart: released over 5 steps (7.5 s)
        (
            {"door__entrance__pulse_count": 3, "door__entrance__pulse_on_width": 1},
            [("entrance", ProblemKind.RELEASE_TOO_LONG, 7.5)],
        ),
        # 2 pulses of 1 step, 1 apart: 4.5 s, within the release time
        ({"door__entrance__pulse_count": 2, "door__entrance__pulse_on_width": 1}, []),
    ],
)
def test_check_door_pulses(
    changes: dict[str, int], expected: list[tuple[str, ProblemKind, float | None]]
) -> None:
    """Pulse count 0 holds the door released; a release longer than the branch's is flagged."""
    problems = check_door_pulses(MOXA, _moxa_settings(**changes), 5)
    assert [
        (
            p.door,
            p.kind,
            None if p.kind is ProblemKind.PULSES_FOR_EVER else p.released_seconds,
        )
        for p in problems
    ] == expected
    for problem in problems:
        assert problem.module == "e1214"
        assert problem.where == (
            "relay R0" if problem.door == "entrance" else "relay R1"
        )
        assert problem.max_on_width == 3  # 4.5 s: the longest single pulse within 5 s


def test_unread_settings_are_not_judged() -> None:
    """A door whose settings were not read has no problem found (nor is it called safe)."""
    values = _moxa_settings(door__entrance__pulse_count=0)
    del values["door.entrance.pulse_on_width"]
    assert check_door_pulses(MOXA, values, 5) == []
    assert check_door_pulses(MOXA, {}, 5) == []
    assert (
        check_door_pulses(reference_map(), values, 5) == []
    )  # its doors count seconds
    # A release time shorter than one step still asks for the shortest pulse.
    entrance, meeting_room = check_door_pulses(
        MOXA, _moxa_settings(door__entrance__pulse_on_width=1), 1
    )
    assert (entrance.kind, entrance.released_seconds) == (
        ProblemKind.RELEASE_TOO_LONG,
        1.5,
    )
    assert entrance.max_on_width == meeting_room.max_on_width == 1


def test_help_button_is_an_input_of_the_reference_map() -> None:
    """A member's help button: a bit input, read with the other inputs."""
    ref = reference_map()
    point = ref["help.entrance"]
    assert (point.table, point.address) == (Table.DISCRETE_INPUT, 13)
    assert ref.ids("help") == ["entrance"]
    assert not point.writable
