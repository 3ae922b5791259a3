"""Run a simulated library branch: python -m simulator [--port 5020] [--name "Demo Branch"].

While it runs, type commands on standard input (or pipe them in):

    fire on|off       fire panel alarm            fault on|off    fire panel fault
    panic on|off      panic button at the counter arrive N        N people wait at the entrance
    leave N           N people leave              force           force the entrance door open
    status            print every point           quit
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import sys

from custom_components.smart_library.engine.pointmap import POINT_MAPS

from .advertise import Advertiser, service_info
from .building import SimulatedBuilding

_LOGGER = logging.getLogger("simulator")

HELP = __doc__.split("\n\n", 1)[1] if __doc__ else ""


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m simulator",
        description=__doc__.splitlines()[0] if __doc__ else None,
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to serve on (default 127.0.0.1)"
    )
    parser.add_argument(
        "--port", type=int, default=5020, help="Modbus TCP port (default 5020)"
    )
    parser.add_argument(
        "--unit", type=int, default=1, help="Modbus unit id (default 1)"
    )
    parser.add_argument(
        "--map",
        default="reference",
        choices=sorted(POINT_MAPS),
        help="point map to serve; a map with several I/O modules serves each on the next port",
    )
    parser.add_argument(
        "--name", default="Demo Branch", help="branch name it advertises"
    )
    parser.add_argument(
        "--id", default="SL-DEMO-0001", help="controller id it advertises"
    )
    parser.add_argument(
        "--visitors-per-minute",
        type=float,
        default=0.0,
        help="random arrivals and departures",
    )
    parser.add_argument(
        "--seed", type=int, default=None, help="random seed for visitors"
    )
    parser.add_argument(
        "--no-zeroconf", action="store_true", help="do not advertise over zeroconf"
    )
    return parser.parse_args(argv)


def command(building: SimulatedBuilding, line: str) -> str:
    """Apply one command line to the building and return what to print."""
    words = line.split()
    if not words:
        return ""
    verb, args = words[0].lower(), words[1:]
    on = bool(args) and args[0].lower() in ("on", "1", "true")
    number = int(args[0]) if args and args[0].isdigit() else 1
    match verb:
        case "fire":
            if on:
                building.raise_fire_alarm()
            else:
                building.clear_fire_alarm()
        case "fault":
            building.set_fire_fault(on)
        case "panic":
            building.press_panic("counter", on)
        case "arrive":
            building.arrive(number)
        case "leave":
            building.leave(number)
        case "force":
            building.force_door(args[0] if args else "entrance")
        case "status":
            return "\n".join(
                f"{p.key:28} {building.get(p.key)}" for p in building.point_map.points
            )
        case "help":
            return HELP
        case _:
            return f"unknown command {verb!r}; try help"
    return "ok"


async def _stdin_lines() -> asyncio.StreamReader | None:
    if sys.stdin is None or sys.stdin.closed:
        return None
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    try:
        await loop.connect_read_pipe(
            lambda: asyncio.StreamReaderProtocol(reader), sys.stdin
        )
    except OSError, ValueError:
        return None
    return reader


async def main(argv: list[str] | None = None) -> None:
    """Serve the building until interrupted or told to quit."""
    args = _parse(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s"
    )
    logging.getLogger("pymodbus").setLevel(logging.WARNING)
    building = SimulatedBuilding(
        point_map=POINT_MAPS[args.map],
        unit=args.unit,
        visitors_per_minute=args.visitors_per_minute,
        seed=args.seed,
    )
    await building.start(args.host, args.port)
    advertiser = None
    if not args.no_zeroconf:
        advertiser = Advertiser(
            service_info(
                args.name,
                args.host,
                building.port,
                controller_id=args.id,
                unit=args.unit,
                point_map=args.map,
            )
        )
        await advertiser.start()
        _LOGGER.info("Advertised %s over zeroconf as %s", args.name, args.id)
    print(
        f"Simulated branch {args.name!r} ({args.map} map) on {args.host}, unit {args.unit}: "
        + ", ".join(f"{module} port {port}" for module, port in building.ports.items()),
        flush=True,
    )
    try:
        reader = await _stdin_lines()
        while reader is not None:
            raw = await reader.readline()
            if not raw:
                break  # stdin closed: keep serving
            line = raw.decode().strip()
            if line.lower() in ("quit", "exit"):
                return
            if reply := command(building, line):
                print(reply, flush=True)
        await asyncio.Event().wait()
    finally:
        if advertiser:
            await advertiser.stop()
        await building.stop()


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())
