"""What a write batch costs in statements (a design guard), and repeated client_ids caught by
the unique index instead of a look-up per batch: answered as the original, stored once, seqs
gapless (SQLite and MariaDB).

The statements are seen where the database sees them: SQLite's trace callback, and on MariaDB
a TCP proxy that records every query the writer's connections send (one per round trip)."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
import sqlalchemy as sa

from api import batch_rooms
from api import writer as writer_module
from api.writer import MessageWriter, StoredMessage
from db import queries, room_log
from db.engine import Database
from db.migrate import upgrade
from db.models import EventKind, RoomStatus, Sender, utcnow
from db.room_log import MessageDraft
from tests.api.test_writer import new_room, user_draft
from tests.conftest import MARIADB_SERVER
from tests.mariadb_proxy import Link, MariaDBProxy

COM_QUERY = 3
COM_STMT_PREPARE = 0x16
COM_STMT_BULK_EXECUTE = 0xFA


class QueryRecorder(MariaDBProxy):
    """Records the text of each query (COM_QUERY) its clients send, and each bulk execution
    of a prepared statement as that statement's text. A statement is prepared once per
    connection (the writer's rooms UPDATE and messages INSERT, `Driver.execute_rows`): not a
    round trip per batch, so not recorded."""

    def __init__(self, seen: list[str]) -> None:
        super().__init__()
        self.seen = seen
        self.preparing: dict[int, str] = {}
        """The statement each connection (by its `Link`'s id) prepared last."""
        self.prepared: dict[tuple[int, bytes], str] = {}
        """Statements by connection and statement id. The driver executes a statement right
        after preparing it, so a statement id seen first names the last one prepared."""

    async def forward(self, packet: bytes, link: Link) -> bool:
        if packet[3] == 0 and len(packet) > 4:  # a new command
            text = packet[5:].decode(errors="replace")
            if packet[4] == COM_QUERY:
                self.seen.append(text)
            elif packet[4] == COM_STMT_PREPARE:
                self.preparing[id(link)] = text
            elif packet[4] == COM_STMT_BULK_EXECUTE:
                statement = (id(link), packet[5:9])
                if statement not in self.prepared:
                    self.prepared[statement] = self.preparing.pop(id(link))
                self.seen.append(self.prepared[statement])
        return await super().forward(packet, link)


@dataclass
class Counted:
    db: Database
    writer: MessageWriter
    published: list[StoredMessage]
    seen: list[str] = field(default_factory=list)

    @property
    def mysql(self) -> bool:
        return self.db.dialect == "mysql"

    def statements(self) -> list[str]:
        """What ran since the last call, as kinds ("SELECT rooms FOR UPDATE", "COMMIT"); the
        rows of one executemany (SQLite runs it row by row) count once."""
        kinds: list[str] = []
        for sql in self.seen:
            kind = _kind(sql)
            if not (kinds and kind == kinds[-1] and kind.startswith("INSERT")):
                kinds.append(kind)
        self.seen.clear()
        return kinds

    def batch(
        self, *, look_up: bool = False, end: str = "COMMIT", known: bool = False
    ) -> list[str]:
        """The statements of one batch of user messages (SQLite begins its transaction at the
        first write; MariaDB at the first statement). `known`: every room of the batch was
        last written by this writer, so they are not read (api/batch_rooms.py)."""
        return [
            *(["SELECT messages"] if look_up else []),
            *([] if known else ["SELECT rooms FOR UPDATE" if self.mysql else "SELECT rooms"]),
            *([] if self.mysql else ["BEGIN"]),
            "UPDATE rooms",
            "INSERT messages",
            end,
        ]

    def moved_on(self) -> list[str]:
        """A batch's attempt into rooms it remembered, one of which moved on: rolled back."""
        return [*([] if self.mysql else ["BEGIN"]), "UPDATE rooms", "ROLLBACK"]


def _kind(sql: str) -> str:
    words = sql.split()
    verb = words[0].upper()
    if verb == "SELECT":
        table = re.search(r"\bFROM\s+(\w+)", sql, re.IGNORECASE)
        lock = " FOR UPDATE" if sql.rstrip().upper().endswith("FOR UPDATE") else ""
        return f"SELECT {table.group(1) if table else '?'}{lock}"
    if verb == "INSERT":
        return f"INSERT {words[2]}"
    if verb == "UPDATE":
        return f"UPDATE {words[1]}"
    return verb


@pytest.fixture
async def counted(database_url: str) -> AsyncIterator[Counted]:
    seen: list[str] = []
    async with contextlib.AsyncExitStack() as stack:
        url = database_url
        if database_url.startswith(MARIADB_SERVER):
            recorder = await stack.enter_async_context(QueryRecorder(seen).running())
            url = database_url.replace(
                MARIADB_SERVER, f"mysql+asyncmy://root@127.0.0.1:{recorder.port}"
            )
        db = Database(url)
        stack.push_async_callback(db.dispose)
        if db.dialect == "sqlite":

            def trace(dbapi_connection: object, _record: object) -> None:
                connection = dbapi_connection.driver_connection  # type: ignore[attr-defined]
                sa.util.await_only(connection.set_trace_callback(seen.append))

            sa.event.listen(db.engine.sync_engine, "connect", trace)
        await upgrade(db.engine)
        published: list[StoredMessage] = []
        writer = MessageWriter(db, batch_interval=0)
        await writer.start()
        stack.push_async_callback(writer.stop)
        counted = Counted(db, writer, published, seen)
        for room_id in ("r1", "r2"):
            await new_room(db, room_id)
        await store(counted, user_draft("r1", "first", "c-first"))  # connections set up
        seen.clear()
        yield counted


async def store(counted: Counted, *drafts: MessageDraft) -> list[StoredMessage]:
    """Submit `drafts` together (one batch) and wait for their answers."""
    futures = [counted.writer.submit(d, counted.published.append) for d in drafts]
    return list(await asyncio.gather(*futures))


async def room_messages(db: Database, room_id: str) -> list[tuple[int, str, str | None]]:
    async with db.session() as session:
        rows = await queries.list_messages(session, room_id=room_id, limit=500)
    return [(m.seq, m.text, m.client_id) for m in rows]


async def test_a_batch_of_new_messages_looks_no_client_id_up(counted: Counted) -> None:
    """Four round trips for a batch into a room this writer has not written (lock the rooms,
    count, insert, commit); three into rooms it wrote last (count, insert, commit). The
    repeats are left to the unique index."""
    stored = await store(
        counted,
        user_draft("r1", "one", "c-1"),
        user_draft("r2", "two", "c-2"),
        user_draft("r1", "three", "c-3"),
        user_draft("r2", "no id"),
    )
    assert [(s.message.room_id, s.message.seq) for s in stored] == [
        ("r1", 2),
        ("r2", 1),
        ("r1", 3),
        ("r2", 2),
    ]
    assert counted.statements() == counted.batch()  # r2 is new to the writer
    if counted.mysql:
        assert len(counted.batch()) == 4
    stored = await store(counted, user_draft("r2", "four", "c-4"), user_draft("r1", "five"))
    assert [(s.message.room_id, s.message.seq) for s in stored] == [("r2", 3), ("r1", 4)]
    assert counted.statements() == counted.batch(known=True)
    if counted.mysql:
        assert len(counted.batch(known=True)) == 3


async def join_behind_the_writer(counted: Counted, name: str) -> int:
    """A new agent joins r1 through another path (another process, the room service) after
    the writer last wrote it, so the writer's memory still says the AI holds it."""
    async with counted.db.write() as session:
        agent = await queries.create_agent(
            session, email=f"{name.lower()}@example.com", name=name, role="agent", password_hash="x"
        )
    assert agent.id is not None
    joined = room_log.Transition(
        room_id="r1",
        kind=EventKind.joined,
        reason=None,
        notice=f"{name} joined",
        at=utcnow(),
        to_status=RoomStatus.agent,
        holder=agent.id,
        by=agent.id,
    )
    async with counted.db.write() as session:
        await room_log.record_transitions(session, transitions=[joined])
    counted.seen.clear()
    return agent.id


async def test_a_room_that_moved_on_behind_the_writer_is_read_again(counted: Counted) -> None:
    """The user's message, which the writer's memory would store as if the AI still held the
    room (and the AI would answer), is stored under the real state, after the join's notice;
    then the room is locked and read for a while instead of tried from memory first."""
    alice = await join_behind_the_writer(counted, "Alice")
    [user] = await store(counted, user_draft("r1", "are you there?", "c-there"))
    assert (user.message.seq, user.status, user.agent_id) == (3, RoomStatus.agent, alice)
    assert counted.statements() == [*counted.moved_on(), *counted.batch()]
    agent_draft = MessageDraft(
        room_id="r1", sender=Sender.agent, author="Alice", text="Yes!", agent_id=alice
    )
    [reply] = await store(counted, agent_draft)
    assert reply.message.seq == 4
    # Locked and read (an agent's first reply adds the stint's statements after the insert).
    assert counted.statements()[: len(counted.batch()) - 1] == counted.batch()[:-1]
    assert [seq for seq, _, _ in await room_messages(counted.db, "r1")] == [1, 2, 3, 4]


async def test_a_draft_its_memory_refuses_is_checked_against_the_room_itself(
    counted: Counted, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The writer remembers r1 as the AI's. An agent's message there would be refused by that
    memory; it is checked against the room as it is (held by that agent) and stored."""
    monkeypatch.setattr(batch_rooms, "SHY_SECONDS", 0.0)
    bob = await join_behind_the_writer(counted, "Bob")
    draft = MessageDraft(room_id="r1", sender=Sender.agent, author="Bob", text="Hi", agent_id=bob)
    [stored] = await store(counted, draft)
    assert (stored.message.seq, stored.agent_id) == (3, bob)
    # No attempt from memory (it refused); the first reply's statements follow the insert.
    assert counted.statements()[: len(counted.batch()) - 1] == counted.batch()[:-1]
    [again] = await store(counted, user_draft("r1", "thanks"))
    assert again.message.seq == 4
    assert counted.statements() == counted.batch(known=True)


async def test_a_repeat_rolls_the_batch_back_and_stores_it_again_with_the_look_up(
    counted: Counted, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The attempt the unique index refused took no seq; the batch's new messages are stored
    all the same. For a while afterwards batches look client_ids up first (a client that
    retries usually retries several), then go back to inserting directly."""
    monkeypatch.setattr(writer_module, "LOOK_UP_AFTER_REPEAT_SECONDS", 0.5)
    new, repeat, other = await store(
        counted,
        user_draft("r1", "new", "c-new"),
        user_draft("r1", "first, sent again", "c-first"),
        user_draft("r2", "other room", "c-other"),
    )
    assert counted.statements() == [
        *counted.batch(end="ROLLBACK"),
        *counted.batch(look_up=True),
    ]
    assert repeat.duplicate and (repeat.message.seq, repeat.message.text) == (1, "first")
    assert (new.message.seq, new.duplicate) == (2, False)
    assert (other.message.seq, other.duplicate) == (1, False)

    await store(counted, user_draft("r1", "soon after", "c-soon"))
    assert counted.statements() == counted.batch(look_up=True, known=True)
    await asyncio.sleep(0.6)
    await store(counted, user_draft("r1", "later", "c-later"))
    assert counted.statements() == counted.batch(known=True)

    assert await room_messages(counted.db, "r1") == [
        (1, "first", "c-first"),
        (2, "new", "c-new"),
        (3, "soon after", "c-soon"),
        (4, "later", "c-later"),
    ]
    assert await room_messages(counted.db, "r2") == [(1, "other room", "c-other")]


async def test_a_client_id_sent_again_later_is_answered_as_the_original(
    counted: Counted,
) -> None:
    again = await store(counted, user_draft("r1", "first, retried", "c-first"))
    assert [(s.message.seq, s.message.text, s.duplicate) for s in again] == [(1, "first", True)]
    assert again[0].status is None  # a repeat sets nothing off (no AI reply)
    assert [s.message.seq for s in counted.published if not s.duplicate] == [1]
    assert await room_messages(counted.db, "r1") == [(1, "first", "c-first")]


async def test_repeats_old_and_within_the_batch_among_new_messages(counted: Counted) -> None:
    """One batch: new messages, a client_id sent twice, and an old one sent twice more. Each
    repeat gets the original's answer; the rest are stored once each, with gapless seqs."""
    results = await store(
        counted,
        user_draft("r1", "a", "c-a"),
        user_draft("r1", "first again", "c-first"),
        user_draft("r1", "twice", "c-twice"),
        user_draft("r2", "elsewhere"),
        user_draft("r1", "twice, retried", "c-twice"),
        user_draft("r1", "first once more", "c-first"),
        user_draft("r1", "b", "c-b"),
    )
    answers = [(s.message.room_id, s.message.seq, s.message.text, s.duplicate) for s in results]
    assert answers == [
        ("r1", 2, "a", False),
        ("r1", 1, "first", True),
        ("r1", 3, "twice", False),
        ("r2", 1, "elsewhere", False),
        ("r1", 3, "twice", True),
        ("r1", 1, "first", True),
        ("r1", 4, "b", False),
    ]
    assert await room_messages(counted.db, "r1") == [
        (1, "first", "c-first"),
        (2, "a", "c-a"),
        (3, "twice", "c-twice"),
        (4, "b", "c-b"),
    ]
    assert await room_messages(counted.db, "r2") == [(1, "elsewhere", None)]
    fresh = [(s.message.room_id, s.message.seq) for s in counted.published if not s.duplicate]
    assert sorted(fresh) == [("r1", 1), ("r1", 2), ("r1", 3), ("r1", 4), ("r2", 1)]


async def test_repeats_among_many_batches_in_flight_keep_seqs_gapless_and_in_order(
    counted: Counted, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every batch inserts directly (no look-up window), so each repeat rolls its batch back
    while the next batch waits its turn (MariaDB has two in flight): seqs stay gapless, each
    client_id is stored once, and each room's messages are published in seq order."""
    monkeypatch.setattr(writer_module, "LOOK_UP_AFTER_REPEAT_SECONDS", 0.0)
    rooms = ["r1", "r2", "r3"]
    await new_room(counted.db, "r3")
    futures: list[tuple[str, asyncio.Future[StoredMessage]]] = []
    sent: list[tuple[str, str]] = []
    for n in range(120):
        room_id = rooms[n % 3]
        if n % 10 == 9:  # a client retrying one of its earlier messages
            room_id, client_id = sent[n // 2]
        else:
            client_id = f"c{n}"
            sent.append((room_id, client_id))
        draft = user_draft(room_id, f"text of {client_id}", client_id)
        futures.append((client_id, counted.writer.submit(draft, counted.published.append)))
        if n % 7 == 6:
            await asyncio.sleep(0.002)  # let batches go, in flight while more queue
    answers = {client_id: await future for client_id, future in futures}
    for client_id, future in futures:
        stored = future.result()
        assert stored.message.client_id == client_id
        assert stored.message.text == f"text of {client_id}"
        assert stored.message.seq == answers[client_id].message.seq
    assert sum(s.duplicate for _, f in futures for s in [f.result()]) == 12
    for room_id in rooms:
        rows = await room_messages(counted.db, room_id)
        assert [seq for seq, _, _ in rows] == list(range(1, len(rows) + 1))
        assert len({client_id for _, _, client_id in rows}) == len(rows)
        order = [
            s.message.seq
            for s in counted.published
            if s.message.room_id == room_id and not s.duplicate
        ]
        assert order == list(range(1, len(rows) + 1))
    stored_ids = {c for r in rooms for _, _, c in await room_messages(counted.db, r)}
    assert stored_ids == {"c-first"} | {client_id for _, client_id in sent}
