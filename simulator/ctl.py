"""Send one command to a running simulator: python -m simulator.ctl [--port 6020] fire on.

The simulator listens for commands on 127.0.0.1, by default on its Modbus port + 1000 (6020 for
scripts/develop's building on 5020). Prints the reply; exits 1 when the command is refused or no
simulator answers. `scripts/sim fire on` runs this in the project's environment.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from .protocol import CONTROL_HOST, DEFAULT_CONTROL_PORT, END_OF_REPLY, ERROR, HELP

DEFAULT_PORT = DEFAULT_CONTROL_PORT


async def send(line: str, port: int = DEFAULT_PORT, timeout: float = 10) -> str:
    """Send one command line to the simulator's control port and return its reply.

    Raises OSError (ConnectionRefusedError when nothing listens) or TimeoutError.
    """
    async with asyncio.timeout(timeout):
        reader, writer = await asyncio.open_connection(CONTROL_HOST, port)
        try:
            writer.write(f"{line.strip()}\n".encode())
            await writer.drain()
            lines: list[str] = []
            while raw := await reader.readline():
                text = raw.decode(errors="replace").rstrip("\n")
                if text == END_OF_REPLY:
                    break
                lines.append(text)
            else:
                raise ConnectionResetError("the simulator closed the connection")
            return "\n".join(lines)
        finally:
            writer.close()
            await writer.wait_closed()


def main(argv: list[str] | None = None) -> int:
    """Send the command given on the command line; return the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m simulator.ctl",
        description=__doc__.splitlines()[0] if __doc__ else None,
        epilog="commands:\n" + HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--port",
        type=int,
        default=DEFAULT_PORT,
        help=f"the simulator's control port (default {DEFAULT_PORT}: Modbus port 5020 + 1000)",
    )
    parser.add_argument("command", nargs="+", help="a command, e.g. fire on")
    args = parser.parse_args(argv)
    try:
        reply = asyncio.run(send(" ".join(args.command), args.port))
    except OSError as err:  # refused, reset, or TimeoutError
        print(
            f"No simulator answers on {CONTROL_HOST}:{args.port} ({err.__class__.__name__}): "
            "is scripts/develop (or python -m simulator) running? Its control port is its "
            "Modbus port + 1000 unless --control-port says otherwise.",
            file=sys.stderr,
        )
        return 1
    if reply.startswith(ERROR):
        print(reply.removeprefix(ERROR), file=sys.stderr)
        return 1
    print(reply)
    return 0


if __name__ == "__main__":
    sys.exit(main())
