"""Messages read back exactly as sent, and their rooms counted right, whichever way the batch's
statements went: on MariaDB the writer's own connections bind the rooms' UPDATE and the
messages' INSERT in one binary round trip each (`Driver.execute_rows`), every other transaction
sends SQL text; SQLite always the latter."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from db import queries, room_log
from db.driver import Driver
from db.engine import Database
from db.models import MessagePublic, Sender

AWKWARD = [
    "plain",
    "émoji 🎉 and 中文, a tab\there\nand a new line",
    "quotes ' \" \\ and %s %(name)s ? placeholders",
    "x" * 16000,
    " ",
]


def drafts(room_id: str, *, client_ids: bool) -> list[room_log.MessageDraft]:
    """User and AI messages; some with a client id, some without (or none at all: a column of
    NULLs only), each with its own time to the microsecond."""
    return [
        room_log.MessageDraft(
            room_id=room_id,
            sender=Sender.user if i % 2 == 0 else Sender.ai,
            author="User" if i % 2 == 0 else "Assistant",
            text=text,
            client_id=f"c-{room_id}-{i}" if client_ids and i % 3 else None,
            created_at=datetime(2026, 12, 1, 9, 30, i, 123456 + i, tzinfo=UTC),
            while_waiting=i % 2 == 1,
        )
        for i, text in enumerate(AWKWARD)
    ]


async def store(db: Database, room_id: str, batch: list[room_log.MessageDraft]) -> int:
    """Store `batch` through the writer's transaction; the statements this connection has
    executed as prepared ones (MariaDB) so far."""
    async with db.write_batch() as session:
        rooms = await room_log.lock_rooms(session, room_ids=[room_id])
        await room_log.append_messages(session, rooms=rooms, drafts=batch)
        if db.dialect != "mysql":
            return 0
        driver = await Driver.of(session)
        [(_, executed)] = await driver.fetchall("SHOW SESSION STATUS LIKE 'Com_stmt_execute'", [])
        return int(executed)


COUNTERS = sa.text(
    "SELECT id, last_seq, user_messages, ai_messages, agent_messages, system_messages "
    "FROM rooms WHERE id IN :ids ORDER BY id"
).bindparams(sa.bindparam("ids", expanding=True))


def as_sent(batch: list[room_log.MessageDraft]) -> list[tuple[object, ...]]:
    return [(d.sender, d.author, d.text, d.client_id, d.created_at, d.while_waiting) for d in batch]


def as_read(messages: list[MessagePublic]) -> list[tuple[object, ...]]:
    return [
        (m.sender, m.author, m.text, m.client_id, m.created_at, m.while_waiting) for m in messages
    ]


@pytest.mark.parametrize("client_ids", [True, False])
async def test_a_batch_reads_back_as_sent(db: Database, client_ids: bool) -> None:
    async with db.write() as session:
        await room_log.open_rooms(session, rooms=[("r1", datetime.now(UTC))])
    batch = drafts("r1", client_ids=client_ids)
    executed = await store(db, "r1", batch)
    async with db.session() as session:
        messages = await queries.list_messages(session, room_id="r1", after=0, limit=100)
    assert [m.seq for m in messages] == [1, 2, 3, 4, 5]
    assert as_read(messages) == as_sent(batch)
    async with db.session() as session:
        counted = (await session.execute(COUNTERS, {"ids": ["r1"]})).all()
    assert [tuple(row) for row in counted] == [("r1", 5, 3, 2, 0, 0)]
    if db.dialect == "mysql":
        assert executed >= 2  # the binary protocol ran both, not a fallback to SQL text


@pytest.mark.parametrize(
    "database_url", [pytest.param("mariadb", marks=pytest.mark.mariadb)], indirect=True
)
async def test_the_writers_batch_and_a_sessions_store_the_same_rows(db: Database) -> None:
    async with db.write() as session:
        now = datetime.now(UTC)
        await room_log.open_rooms(session, rooms=[("bulk", now), ("text", now)])
    await store(db, "bulk", drafts("bulk", client_ids=True))
    async with db.write() as session:  # a session's transaction: SQL text
        rooms = await room_log.lock_rooms(session, room_ids=["text"])
        await room_log.append_messages(session, rooms=rooms, drafts=drafts("text", client_ids=True))
    async with db.session() as session:
        rows = (
            await session.execute(
                sa.text(
                    "SELECT room_id, seq, sender, author, text, "
                    "REPLACE(client_id, room_id, ''), agent_id, created_at, while_waiting "
                    "FROM messages ORDER BY room_id, seq"
                )
            )
        ).all()
        counted = (await session.execute(COUNTERS, {"ids": ["bulk", "text"]})).all()
    by_room = {room: [row[1:] for row in rows if row[0] == room] for room in ("bulk", "text")}
    assert len(by_room["bulk"]) == len(AWKWARD)
    assert by_room["bulk"] == by_room["text"]
    assert [row[1:] for row in counted] == [(5, 3, 2, 0, 0)] * 2
