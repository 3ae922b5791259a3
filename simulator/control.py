"""The simulator's control port: its commands over TCP on 127.0.0.1 (see protocol.py).

The port listens on the loopback address only: whoever can reach it can raise a fire alarm.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from .building import SimulatedBuilding
from .commands import command
from .protocol import CONTROL_HOST, END_OF_REPLY

_LOGGER = logging.getLogger(__name__)


class ControlServer:
    """Takes commands for one building over TCP."""

    def __init__(self, building: SimulatedBuilding) -> None:
        """Prepare the control port for this building."""
        self.building = building
        self.port = 0
        self._server: asyncio.Server | None = None

    async def start(self, port: int = 0) -> int:
        """Listen on 127.0.0.1:port (0 = a free port); return the port. OSError if it is taken."""
        self._server = await asyncio.start_server(self._serve, CONTROL_HOST, port)
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self.port

    async def stop(self) -> None:
        """Stop listening and end every conversation."""
        if self._server is not None:
            self._server.close()
            self._server.close_clients()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(2):
                    await self._server.wait_closed()
            self._server = None

    async def _serve(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        try:
            while raw := await reader.readline():
                line = raw.decode(errors="replace").strip()
                if line.lower() in ("quit", "exit"):
                    break
                if not line:
                    continue
                _LOGGER.info("Control port: %s", line)
                writer.write(
                    f"{command(self.building, line)}\n{END_OF_REPLY}\n".encode()
                )
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()
