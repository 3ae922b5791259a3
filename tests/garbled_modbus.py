"""A Modbus TCP server that answers with fewer values than asked for: a garbled controller."""

from __future__ import annotations

import asyncio


async def garbled_server(registers: int) -> tuple[asyncio.Server, int]:
    """Serve Modbus TCP answers that carry fewer registers than asked for (a short read)."""

    async def answer(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        try:
            while header := await reader.readexactly(7):
                length = int.from_bytes(header[4:6], "big")
                pdu = await reader.readexactly(length - 1)
                function = pdu[0]
                if function in (1, 2):  # bits: none at all, whatever was asked
                    body = bytes([function, 0])
                else:
                    body = bytes([function, 2 * registers]) + b"\x00" * (2 * registers)
                writer.write(
                    header[:4] + (len(body) + 1).to_bytes(2, "big") + header[6:7] + body
                )
                await writer.drain()
        except asyncio.IncompleteReadError, ConnectionError:
            writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]
