"""Run a simulated library branch: python -m simulator [--port 5020] [--name "Demo Branch"].

Drive it by typing commands on its standard input, or from anywhere on this machine through its
control port (Modbus port + 1000 by default): `python -m simulator.ctl --port 6020 fire on`, or
`scripts/sim fire on` for scripts/develop's building. 'quit' on standard input, Ctrl-C or SIGTERM
stop it. When its Modbus or control port is taken it says so in one line and exits with status 1.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import stat
import sys

from custom_components.smart_library.engine.building.pointmap import POINT_MAPS

from .advertise import Advertiser, service_info
from .building import PortUnavailableError, SimulatedBuilding
from .commands import command
from .control import ControlServer
from .protocol import CONTROL_HOST, CONTROL_PORT_OFFSET, HELP

__all__ = ["command", "main", "run"]

_LOGGER = logging.getLogger("simulator")


class StartError(Exception):
    """The simulator cannot start (a port is taken); the text is the one line to print."""


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m simulator",
        description=__doc__,
        epilog="commands:\n" + HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to serve on (default 127.0.0.1)"
    )
    parser.add_argument(
        "--port", type=int, default=5020, help="Modbus TCP port (default 5020)"
    )
    parser.add_argument(
        "--control-port",
        type=int,
        default=None,
        help=f"command port on {CONTROL_HOST} (default: Modbus port + {CONTROL_PORT_OFFSET}; "
        "0 = a free port; -1 = none)",
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


async def _read_stdin(building: SimulatedBuilding, stop: asyncio.Event) -> None:
    """Take commands from standard input until it ends (then keep serving) or says quit."""
    if sys.stdin is None or sys.stdin.closed:
        return
    mode = os.fstat(sys.stdin.fileno()).st_mode
    if not (sys.stdin.isatty() or stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)):
        return  # /dev/null or a file (scripts/develop): the control port takes commands
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    try:
        await loop.connect_read_pipe(
            lambda: asyncio.StreamReaderProtocol(reader), sys.stdin
        )
    except OSError, ValueError:
        return  # not a pipe or a terminal (e.g. /dev/null): the control port remains
    while raw := await reader.readline():
        line = raw.decode(errors="replace").strip()
        if line.lower() in ("quit", "exit"):
            stop.set()
            return
        if reply := command(building, line):
            print(reply, flush=True)


async def main(argv: list[str] | None = None) -> None:
    """Serve the building until told to stop. Raises StartError when a port is taken."""
    args = _parse(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s"
    )
    logging.getLogger("pymodbus").setLevel(logging.WARNING)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    building = SimulatedBuilding(
        point_map=POINT_MAPS[args.map],
        unit=args.unit,
        visitors_per_minute=args.visitors_per_minute,
        seed=args.seed,
    )
    control = ControlServer(building)
    advertiser: Advertiser | None = None
    stdin_task: asyncio.Task[None] | None = None
    try:
        # The control port first: it logs nothing, so a taken port costs one line and no more.
        control_port = args.control_port
        if control_port is None:
            control_port = args.port + CONTROL_PORT_OFFSET if args.port else 0
        if control_port >= 0:
            try:
                await control.start(control_port)
            except OSError as err:
                why = os.strerror(err.errno).lower() if err.errno else str(err)
                raise StartError(
                    f"cannot open the control port {CONTROL_HOST}:{control_port}: {why} "
                    "(is another simulator running? --control-port chooses another)"
                ) from None
        try:
            await building.start(args.host, args.port)
        except PortUnavailableError as err:
            raise StartError(
                f"{err} (is another simulator or scripts/develop running? --port chooses another)"
            ) from None
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
            try:
                await advertiser.start()
            except Exception as err:  # noqa: BLE001 - a simulator without its advert still serves
                _LOGGER.warning("Not advertised over zeroconf: %r", err)
                advertiser = None
            else:
                _LOGGER.info(
                    "Advertised over zeroconf as %r, controller id %s",
                    advertiser.name,
                    args.id,
                )
        print(
            f"Simulated branch {args.name!r} ({args.map} map) on {args.host}, unit {args.unit}: "
            + ", ".join(
                f"{module} port {port}" for module, port in building.ports.items()
            )
            + (f"; control port {control.port}" if control.port else ""),
            flush=True,
        )
        stdin_task = asyncio.create_task(_read_stdin(building, stop))
        await stop.wait()
    finally:
        if stdin_task is not None:
            stdin_task.cancel()
        if advertiser is not None:
            await advertiser.stop()
        await control.stop()
        await building.stop()


def run(argv: list[str] | None = None) -> int:
    """Run the simulator; return the exit status (1, after one line on stderr, if it cannot start)."""
    try:
        asyncio.run(main(argv))
    except StartError as err:
        print(f"simulator: {err}", file=sys.stderr, flush=True)
        return 1
    except KeyboardInterrupt:  # before the signal handlers are in place
        return 130
    return 0


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(run())
