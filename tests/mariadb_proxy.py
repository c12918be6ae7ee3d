"""A TCP proxy in front of the shared MariaDB that sees each packet a client sends (the
MySQL protocol: a 3-byte length, a sequence id, the payload), for tests that watch or cut
what the writer's connections say."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Self

MARIADB_PORT = 3306


@dataclass(slots=True)
class Link:
    """One client connection through the proxy."""

    upstream_reader: asyncio.StreamReader
    upstream: asyncio.StreamWriter
    client: asyncio.StreamWriter
    down: asyncio.Task[None]
    """Passes MariaDB's answers back to the client."""


class MariaDBProxy:
    """Passes everything on unchanged; subclasses look at (or hold back) the client's
    packets in `forward`."""

    def __init__(self) -> None:
        self.port = 0
        self._tasks: set[asyncio.Task[None]] = set()

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[Self]:
        server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = server.sockets[0].getsockname()[1]
        try:
            yield self
        finally:
            server.close()
            await asyncio.sleep(0.2)  # the pool's connections closed: their handlers end
            for task in self._tasks:
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def forward(self, packet: bytes, link: Link) -> bool:
        """Send one client packet on to MariaDB. False: drop the connection now."""
        link.upstream.write(packet)
        await link.upstream.drain()
        return True

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", MARIADB_PORT)
        down = asyncio.create_task(self._pipe(up_reader, writer))
        self._tasks.add(down)
        link = Link(up_reader, up_writer, writer, down)
        buffer = b""
        try:
            while data := await reader.read(65536):
                buffer += data
                while len(buffer) >= 4:
                    length = int.from_bytes(buffer[:3], "little")
                    if len(buffer) < 4 + length:
                        break
                    packet, buffer = buffer[: 4 + length], buffer[4 + length :]
                    if not await self.forward(packet, link):
                        return
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            down.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await down
            for stream in (up_writer, writer):
                stream.close()
                with contextlib.suppress(Exception):
                    await stream.wait_closed()

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
