"""A commit whose outcome the writer cannot know: the connection dies during COMMIT, after
MariaDB committed. The writer retries the batch; it must not store it twice (real MariaDB,
behind a TCP proxy that cuts the connection at that moment)."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from api.writer import MessageWriter
from db import queries
from db.engine import Database
from db.migrate import upgrade
from db.room_log import MessageDraft
from tests.api.test_writer import new_room, user_draft
from tests.conftest import MARIADB_SERVER
from tests.mariadb_proxy import Link, MariaDBProxy

pytestmark = pytest.mark.mariadb

COMMIT = b"\x03COMMIT"  # COM_QUERY "COMMIT", as asyncmy sends it


class CommitCutter(MariaDBProxy):
    """Once `armed`, it passes the next COMMIT on, waits for MariaDB's answer (so the commit
    is done) and cuts the client's connection instead of passing the answer back."""

    def __init__(self) -> None:
        super().__init__()
        self.armed = False
        self.cuts = 0

    async def forward(self, packet: bytes, link: Link) -> bool:
        if not (self.armed and packet[4:] == COMMIT):
            return await super().forward(packet, link)
        self.armed = False
        link.down.cancel()  # MariaDB's answer must not reach the client
        with contextlib.suppress(asyncio.CancelledError):
            await link.down
        link.upstream.write(packet)
        await link.upstream.drain()
        await link.upstream_reader.read(65536)  # the OK: committed
        self.cuts += 1
        link.client.transport.abort()
        return False


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
