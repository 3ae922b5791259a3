"""The point map: validation, read planning within protocol limits, decoding and encoding."""

from __future__ import annotations

import pytest

from custom_components.smart_library.engine.pointmap import (
    MAX_BITS_PER_READ,
    MAX_REGISTERS_PER_READ,
    POINT_MAPS,
    Door,
    DoorKind,
    Point,
    PointMap,
    PointMapError,
    PulseKind,
    Table,
    reference_map,
)


def test_reference_map_reads_the_whole_building_in_four_requests() -> None:
    """One request per table: coils, discrete inputs, holding and input registers."""
    ref = reference_map()
    plan = ref.read_plan()
    assert [(b.table, b.start, b.count) for b in plan] == [
        (Table.COIL, 0, 7),
        (Table.DISCRETE_INPUT, 0, 13),
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
    """The benchmark's baseline reads every point on its own: 29 requests for the reference map."""
    ref = reference_map()
    plan = ref.read_plan(per_point=True)
    assert len(plan) == len(ref.points) == 29
    assert all(b.count == 1 for b in plan)
