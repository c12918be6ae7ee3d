"""The batched write path on SQLite and MariaDB: gapless seqs, idempotency, refusals."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import sqlalchemy as sa

from api.config import get_settings
from api.room_states import RoutingError
from api.writer import MessageWriter, StoredMessage
from db import queries, room_log
from db.engine import Database
from db.migrate import upgrade
from db.models import RoomStatus, Sender, utcnow
from db.queries import RoomNotFound
from db.room_log import MessageDraft


@pytest.fixture
async def writer(db: Database) -> AsyncIterator[tuple[MessageWriter, list[StoredMessage]]]:
    """The writer, and what a publisher called after each commit (as the room service's is)
    would see, in that order."""
    published: list[StoredMessage] = []
    message_writer = MessageWriter(db, batch_max=64)

    async def store(draft: MessageDraft) -> StoredMessage:
        return await submit(draft, published.append)

    submit = message_writer.submit
    message_writer.store = store  # type: ignore[method-assign]
    await message_writer.start()
    yield message_writer, published
    await message_writer.stop()


async def new_room(db: Database, room_id: str) -> None:
    async with db.write() as session:
        await room_log.open_rooms(session, rooms=[(room_id, utcnow())])


def user_draft(room_id: str, text: str, client_id: str | None = None) -> MessageDraft:
    return MessageDraft(
        room_id=room_id, sender=Sender.user, author="User", text=text, client_id=client_id
    )


async def test_many_concurrent_senders_in_many_rooms_get_gapless_seqs(
    db: Database, writer: tuple[MessageWriter, list[StoredMessage]]
) -> None:
    message_writer, published = writer
    rooms = [f"room{i:02d}" for i in range(10)]
    for room_id in rooms:
        await new_room(db, room_id)
    stored = await asyncio.gather(
        *[message_writer.store(user_draft(r, f"m{n}")) for n in range(50) for r in rooms]
    )
    for room_id in rooms:
        seqs = sorted(s.message.seq for s in stored if s.message.room_id == room_id)
        assert seqs == list(range(1, 51))
        async with db.session() as session:
            rows = await queries.list_messages(session, room_id=room_id, limit=500)
        assert [m.seq for m in rows] == list(range(1, 51))
    assert len(published) == 500
    # Watchers get each room's messages in seq order.
    for room_id in rooms:
        order = [s.message.seq for s in published if s.message.room_id == room_id]
        assert order == sorted(order)


async def test_a_repeated_client_id_returns_the_first_message(
    db: Database, writer: tuple[MessageWriter, list[StoredMessage]]
) -> None:
    message_writer, published = writer
    await new_room(db, "r1")
    same_batch = await asyncio.gather(
        message_writer.store(user_draft("r1", "first", "abc")),
        message_writer.store(user_draft("r1", "second try", "abc")),
    )
    later = await message_writer.store(user_draft("r1", "third try", "abc"))
    assert {s.message.seq for s in (*same_batch, later)} == {1}
    assert later.duplicate and later.message.text == "first"
    assert len([s for s in published if not s.duplicate]) == 1


async def test_a_message_whose_sender_gave_up_waiting_is_still_published(
    db: Database, writer: tuple[MessageWriter, list[StoredMessage]]
) -> None:
    message_writer, published = writer
    await new_room(db, "r1")
    abandoned = message_writer.submit(
        user_draft("r1", "sent, then the socket closed"), published.append
    )
    abandoned.cancel()
    after = await message_writer.store(user_draft("r1", "next"))
    assert [(s.message.seq, s.message.text) for s in published] == [
        (1, "sent, then the socket closed"),
        (2, "next"),
    ]
    assert after.message.seq == 2


async def test_refused_drafts_take_no_seq(
    db: Database, writer: tuple[MessageWriter, list[StoredMessage]]
) -> None:
    message_writer, _ = writer
    await new_room(db, "open")
    await new_room(db, "shut")
    async with db.write() as session:
        room = await queries.lock_room(session, room_id="shut")
        assert room is not None
        room.status = RoomStatus.closed
    agent_draft = MessageDraft(
        room_id="open", sender=Sender.agent, author="Eve", text="hi", agent_id=99
    )
    results = await asyncio.gather(
        message_writer.store(user_draft("open", "one")),
        message_writer.store(user_draft("shut", "too late")),
        message_writer.store(agent_draft),
        message_writer.store(user_draft("missing", "nobody home")),
        message_writer.store(user_draft("open", "two")),
        return_exceptions=True,
    )
    assert isinstance(results[1], RoutingError) and results[1].code == "room_closed"
    assert isinstance(results[2], RoutingError) and results[2].status == 403
    assert isinstance(results[3], RoomNotFound)
    ok = [r for r in results if isinstance(r, StoredMessage)]
    assert sorted(r.message.seq for r in ok) == [1, 2]


async def test_a_draft_the_database_refuses_fails_alone(
    db: Database, writer: tuple[MessageWriter, list[StoredMessage]]
) -> None:
    """Drafts that slipped past validation: the rest of their batch is stored all the same."""
    message_writer, published = writer
    rooms = ["calm1", "calm2", "victim"]
    for room_id in rooms:
        await new_room(db, room_id)
    bad = [user_draft("victim", "lone \ud800 surrogate")]
    if db.dialect == "mysql":  # strict mode: too long for VARCHAR(100) (a DataError)
        bad.append(MessageDraft(room_id="victim", sender=Sender.user, author="A" * 200, text="x"))
    good = [user_draft(r, f"{r} {n}") for n in range(10) for r in rooms]
    results = await asyncio.gather(
        *[message_writer.store(d) for d in good[:15]],
        *[message_writer.store(d) for d in bad],
        *[message_writer.store(d) for d in good[15:]],
        return_exceptions=True,
    )
    refused = results[15 : 15 + len(bad)]
    stored = results[:15] + results[15 + len(bad) :]
    assert all(isinstance(r, Exception) for r in refused), refused
    assert all(isinstance(r, StoredMessage) for r in stored), stored
    for room_id in rooms:
        async with db.session() as session:
            rows = await queries.list_messages(session, room_id=room_id, limit=500)
            room = await queries.get_room_public(session, room_id=room_id)
        assert [m.text for m in rows] == [f"{room_id} {n}" for n in range(10)]
        assert [m.seq for m in rows] == list(range(1, 11))
        assert room is not None and room.last_seq == 10
    assert sorted((s.message.room_id, s.message.seq) for s in published) == sorted(
        (r, n) for r in rooms for n in range(1, 11)
    )


async def test_messages_sent_within_one_interval_share_a_batch(db: Database) -> None:
    """A steady trickle (one message every 25 ms, each alone in the queue when it comes) is
    committed an interval's worth at a time, not one commit per message."""
    interval = 0.25
    message_writer = MessageWriter(db, batch_interval=interval)
    batches: list[set[str]] = []
    message_writer.on_commit.append(batches.append)
    await message_writer.start()
    try:
        await new_room(db, "r1")
        loop = asyncio.get_running_loop()
        started = loop.time()
        futures = []
        for n in range(40):
            futures.append(message_writer.submit(user_draft("r1", f"m{n}")))
            await asyncio.sleep(0.025)
        stored = await asyncio.gather(*futures)
        elapsed = loop.time() - started
    finally:
        await message_writer.stop()
    assert [s.message.seq for s in stored] == list(range(1, 41))
    assert len(batches) <= elapsed / interval + 2, f"{len(batches)} batches in {elapsed:.2f} s"


async def test_a_message_after_a_quiet_spell_is_stored_at_once(db: Database) -> None:
    """The interval only spaces batches under load: after a quiet spell a message starts its
    batch at once, and only one sent right behind it waits for the interval."""
    interval = 1.0
    message_writer = MessageWriter(db, batch_interval=interval)
    await message_writer.start()
    loop = asyncio.get_running_loop()
    try:
        await new_room(db, "r1")
        await message_writer.store(user_draft("r1", "hello"))
        await asyncio.sleep(interval * 1.1)  # quiet: no batch started within the interval
        sent = loop.time()
        await message_writer.store(user_draft("r1", "after a pause"))
        alone = loop.time() - sent
        await message_writer.store(user_draft("r1", "right behind it"))
        behind = loop.time() - sent
    finally:
        await message_writer.stop()
    assert alone < interval / 2, f"stored {alone:.2f} s after it was sent"
    assert behind >= interval * 0.95, f"the next batch started {behind:.2f} s after"


@pytest.mark.parametrize("value", ["-1", "101", "soon"])
def test_a_batch_interval_outside_0_to_100_ms_refuses_to_start(
    value: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TANDEM_WRITE_BATCH_INTERVAL_MS", value)
    get_settings.cache_clear()
    try:
        with pytest.raises(SystemExit) as refused:
            get_settings()
    finally:
        get_settings.cache_clear()
    assert str(refused.value.code).startswith("Invalid setting write_batch_interval_ms")


@pytest.mark.mariadb
async def test_messages_are_stored_after_the_database_dropped_the_writers_connections(
    mariadb_url: str,
) -> None:
    """The writer keeps its MariaDB connections between batches (db/writer_connections.py).
    When the server drops them (a restart, `wait_timeout`), the next messages are still
    stored, once each and gapless, on fresh connections; a dead one is not kept."""
    db = Database(mariadb_url)
    await upgrade(db.engine)
    message_writer = MessageWriter(db)
    await message_writer.start()
    try:
        await new_room(db, "r1")
        before = [await message_writer.store(user_draft("r1", f"m{n}", f"c{n}")) for n in range(3)]
        async with db.session() as session:
            ids = (
                (
                    await session.execute(
                        sa.text(
                            "SELECT id FROM information_schema.processlist "
                            "WHERE db = DATABASE() AND id <> CONNECTION_ID()"
                        )
                    )
                )
                .scalars()
                .all()
            )
            for connection_id in ids:  # the writer's, and the pool's idle ones
                await session.execute(sa.text(f"KILL CONNECTION {int(connection_id)}"))
        after = [
            await message_writer.store(user_draft("r1", f"m{n}", f"c{n}")) for n in range(3, 6)
        ]
        assert [s.message.seq for s in before + after] == [1, 2, 3, 4, 5, 6]
        async with db.session() as session:
            rows = await queries.list_messages(session, room_id="r1", limit=50)
        assert [(m.seq, m.text) for m in rows] == [(n + 1, f"m{n}") for n in range(6)]
    finally:
        await message_writer.stop()
        await db.dispose()
