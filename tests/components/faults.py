"""Faults to put into the simulated building: a controller that refuses some writes."""

from __future__ import annotations

from collections.abc import Callable, Collection

from pymodbus.constants import ExcCodes

from custom_components.smart_library.engine.building.pointmap import Table
from simulator.building import SimulatedBuilding


def refuse_writes(
    building: SimulatedBuilding, keys: Collection[str] | None = None
) -> Callable[[], None]:
    """Make the building answer writes to `keys` (every write: None) with an exception code.

    Reads go on as before. Returns the function that makes it take writes again.
    """
    original = building.write

    def write(
        module: str,
        unit: int,
        table: Table,
        address: int,
        values: list[int] | list[bool],
    ) -> ExcCodes | None:
        point = next(
            (
                p
                for p in building.point_map.points
                if (p.module, p.table, p.address) == (module, table, address)
            ),
            None,
        )
        if point is not None and (keys is None or point.key in keys):
            building.requests += 1
            building.refused.append((point.key, values[0]))
            return ExcCodes.DEVICE_FAILURE
        return original(module, unit, table, address, values)

    building.refused = []  # type: ignore[attr-defined]
    building.write = write  # type: ignore[method-assign]

    def restore() -> None:
        building.write = original  # type: ignore[method-assign]

    return restore
