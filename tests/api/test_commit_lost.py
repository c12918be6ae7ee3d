"""A commit whose outcome the writer cannot know: the connection dies during COMMIT, after
MariaDB committed. The writer retries the batch; it must not store it twice (real MariaDB,
behind a TCP proxy that cuts the connection at that moment)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest

from api.writer import MessageWriter
from db import queries
from db.engine import Database
from db.migrate import upgrade
from db.room_log import MessageDraft
from tests.api.test_writer import new_room, user_draft
from tests.conftest import MARIADB_SERVER

pytestmark = pytest.mark.mariadb

COMMIT = b"\x03COMMIT"  # COM_QUERY "COMMIT", as asyncmy sends it


class CommitCutter:
    """A TCP proxy in front of MariaDB. Once `armed`, it passes the next COMMIT on, waits for
    MariaDB's answer (so the commit is done) and cuts the client's connection instead of
    passing the answer back."""

    def __init__(self) -> None:
        self.armed = False
        self.cuts = 0
        self.port = 0
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[CommitCutter]:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        try:
            yield self
        finally:
            self._server.close()
            await asyncio.sleep(0.2)  # the pool's connections closed: their handlers end
            for task in self._tasks:
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", 3306)
        down = asyncio.create_task(self._pipe(up_reader, writer))
        self._tasks.add(down)
        buffer = b""
        try:
            while data := await reader.read(65536):
                buffer += data
                while len(buffer) >= 4:
                    length = int.from_bytes(buffer[:3], "little")
                    if len(buffer) < 4 + length:
                        break
                    packet, buffer = buffer[: 4 + length], buffer[4 + length :]
                    if self.armed and packet[4:] == COMMIT:
                        self.armed = False
                        down.cancel()  # MariaDB's answer must not reach the client
                        with contextlib.suppress(asyncio.CancelledError):
                            await down
                        up_writer.write(packet)
                        await up_writer.drain()
                        await up_reader.read(65536)  # the OK: committed
                        self.cuts += 1
                        writer.transport.abort()
                        return
                    up_writer.write(packet)
                    await up_writer.drain()
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


async def test_a_batch_whose_commit_was_lost_is_stored_once(mariadb_url: str) -> None:
    direct = Database(mariadb_url)
    await upgrade(direct.engine)
    async with CommitCutter().running() as cutter:
        proxied = Database(
            mariadb_url.replace(MARIADB_SERVER, f"mysql+asyncmy://root@127.0.0.1:{cutter.port}")
        )
        writer = MessageWriter(proxied)
        await writer.start()
        try:
            await new_room(proxied, "r1")
            await writer.store(user_draft("r1", "before"))
            cutter.armed = True
            # One batch: a message without a client_id, one with (both used to come out wrong:
            # the first stored twice, the second answered as a repeat and never published).
            drafts: list[MessageDraft] = [user_draft("r1", "no id"), user_draft("r1", "x", "c-1")]
            stored = await asyncio.wait_for(
                asyncio.gather(*(writer.submit(d) for d in drafts)), timeout=30
            )
            assert cutter.cuts == 1, "the proxy never saw the commit"
            assert [s.message.seq for s in stored] == [2, 3]
            assert [s.duplicate for s in stored] == [False, False]
            assert all(s.status is not None for s in stored)  # the AI may answer it
            after = await writer.store(user_draft("r1", "after"))
            assert after.message.seq == 4
        finally:
            await writer.stop()
            await proxied.dispose()
    async with direct.session() as session:
        messages = await queries.list_messages(session, room_id="r1", after=0, limit=50)
    await direct.dispose()
    assert [(m.seq, m.text) for m in messages] == [
        (1, "before"),
        (2, "no id"),
        (3, "x"),
        (4, "after"),
    ]
