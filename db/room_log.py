"""The room log: the one place that writes a room's messages and events.

Its rules, which the statistics read back instead of deriving them per request
(docs/metrics.md):

- messages of a room are numbered 1, 2, ... by `rooms.last_seq`, without gaps;
- `rooms.user_messages` ... `system_messages` count them per sender (their sum is `last_seq`);
- a transition writes an event row and a system notice, and ends the room's open span (its
  last handoff or join) with `next_kind` / `next_at`;
- the first agent message while a join's stint is open is its `first_reply_at`.

The writer (the hot path), the room service, the demo data and the test datasets all write
through these functions, so the rules exist once. Every function takes many rooms at once:
the writer batches messages, and loaders replay whole histories in a few rounds of statements
(`write_histories`). The statements are fixed and run on the driver connection inside the
caller's transaction (`db/driver.py`); callers hold the room locks (`lock_rooms`). The span
and first-reply rules live in `db/room_spans.py` and the keyed UPDATE pieces in
`db/keyed_updates.py`; only this module calls them.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from db.driver import Driver
from db.keyed_updates import advance_rooms, assign, update_by_id
from db.models import (
    MESSAGE_COUNTS,
    TRANSITIONS,
    EventKind,
    MessagePublic,
    RoomStatus,
    Sender,
    stored_message,
    utcnow,
)
from db.queries import RoomNotFound
from db.room_spans import end_open_spans, stamp_first_replies

SYSTEM_AUTHOR = "Tandem"

MESSAGE_INSERT_COLUMNS = (
    "text", "client_id", "room_id", "seq", "sender", "author", "agent_id", "created_at",
    "while_waiting",
)  # fmt: skip
"""A message's row as the room log inserts it (`bench/message_insert.py` inserts the same)."""
_INSERT_EVENTS = (
    "INSERT INTO room_events (room_id, kind, from_status, to_status, reason, agent_id, "
    "created_at) VALUES ({marks})"
)


@dataclass(slots=True)
class MessageDraft:
    room_id: str
    sender: Sender
    author: str
    text: str
    client_id: str | None = None
    agent_id: int | None = None
    created_at: datetime | None = None
    """When it was written, for histories replayed later; None: when its batch is stored."""
    while_waiting: bool = False
    """An AI reply written while the room waits for a person (the writer checks the state)."""


@dataclass(frozen=True, slots=True)
class LockedRoom:
    """A room row as locked for a write: what decides who may write and the next seq."""

    status: RoomStatus
    agent_id: int | None
    last_seq: int


@dataclass(frozen=True, slots=True)
class Transition:
    """A change of who holds a room (`TRANSITIONS`), or a notice with an event that leaves the
    room's state alone (`no_agent`: `to_status` stays None)."""

    room_id: str
    kind: EventKind
    reason: str | None
    notice: str
    """The system message that tells the room."""
    at: datetime
    to_status: RoomStatus | None = None
    holder: int | None = None
    """The agent holding the room afterwards (`rooms.agent_id`)."""
    by: int | None = None
    """The agent who caused it (the event's `agent_id`)."""
    priority: bool = False
    """Into the queue ahead of the others (a transfer back to the queue); cleared on leaving it."""


# ---------------------------------------------------------------- rooms


async def lock_rooms(
    session: AsyncSession | Driver, *, room_ids: Sequence[str]
) -> dict[str, LockedRoom]:
    """The rooms that exist among `room_ids`, locked until the transaction ends (MySQL; the
    Database write lock serialises SQLite). Sorted ids keep concurrent lockers from deadlocking."""
    driver = await Driver.of(session)
    ids = sorted(set(room_ids))
    lock = " FOR UPDATE" if driver.mysql else ""
    rows = await driver.fetchall(
        f"SELECT id, status, agent_id, last_seq FROM rooms WHERE id IN ({driver.marks(len(ids))})"
        f"{lock}",
        ids,
    )
    return {
        room_id: LockedRoom(RoomStatus(status), agent_id, int(seq))
        for room_id, status, agent_id, seq in rows
    }


async def open_rooms(session: AsyncSession, *, rooms: Sequence[tuple[str, datetime]]) -> None:
    """New rooms (id, created_at), held by the AI, each with its `created` event."""
    if not rooms:
        return
    driver = await Driver.of(session)
    zero = [0] * len(MESSAGE_COUNTS)
    created = EventKind.created.value
    counters = ", ".join(MESSAGE_COUNTS.values())
    await driver.executemany(
        f"INSERT INTO rooms (id, status, last_seq, created_at, {counters}) "
        f"VALUES ({driver.marks(4 + len(zero))})",
        [(room_id, RoomStatus.ai.value, 0, driver.time(at), *zero) for room_id, at in rooms],
    )
    await driver.executemany(
        _INSERT_EVENTS.format(marks=driver.marks(7)),
        [
            (room_id, created, None, RoomStatus.ai.value, None, None, driver.time(at))
            for room_id, at in rooms
        ],
    )


# ---------------------------------------------------------------- messages


async def find_by_client_ids(
    session: AsyncSession | Driver, *, keys: Sequence[tuple[str, str]]
) -> dict[tuple[str, str], MessagePublic]:
    """Messages already stored under these (room_id, client_id) pairs."""
    if not keys:
        return {}
    # By client_id alone, the leading column of the unique (client_id, room_id) index: one
    # index probe per id on both databases, however many messages the rooms hold. (A join or
    # a room_id filter lets MariaDB read every message of the rooms instead.)
    client_ids = sorted({client_id for _, client_id in keys})
    driver = await Driver.of(session)
    rows = await driver.fetchall(
        "SELECT seq, room_id, sender, author, text, created_at, client_id, while_waiting "
        "FROM messages "
        f"WHERE client_id IN ({driver.marks(len(client_ids))})",
        client_ids,
    )
    wanted = set(keys)
    found: dict[tuple[str, str], MessagePublic] = {}
    for seq, room_id, sender, author, text, created_at, client_id, waiting in rows:
        if (room_id, client_id) in wanted:
            found[(room_id, client_id)] = stored_message(
                seq=seq,
                room_id=room_id,
                sender=Sender(sender),
                author=author,
                text=text,
                created_at=driver.read_time(created_at),
                client_id=client_id,
                while_waiting=bool(waiting),
            )
    return found


async def was_stored(session: AsyncSession | Driver, *, message: MessagePublic) -> bool:
    """Whether this very message (room, seq, time, text) is in the database: after a commit
    whose outcome is unknown (the connection died during COMMIT), what tells a batch that
    committed from one that was rolled back, with or without client_ids. A transaction is
    all or nothing, so one of its messages answers for all of them."""
    driver = await Driver.of(session)
    rows = await driver.fetchall(
        f"SELECT sender, author, text, created_at FROM messages "
        f"WHERE room_id = {driver.mark} AND seq = {driver.mark}",
        [message.room_id, message.seq],
    )
    return any(
        (Sender(sender), author, text, driver.read_time(created_at))
        == (message.sender, message.author, message.text, message.created_at)
        for sender, author, text, created_at in rows
    )


async def append_messages(
    session: AsyncSession | Driver,
    *,
    rooms: Mapping[str, LockedRoom],
    drafts: Sequence[MessageDraft],
    now: datetime | None = None,
) -> list[MessagePublic]:
    """Store `drafts` (in order) in rooms the caller has locked with `lock_rooms`: the next seqs,
    the rooms' counters, one multi-row INSERT, and the first reply of each open stint.

    `rooms` must be as locked in this transaction, before any other write to them."""
    stored = await _append(session, rooms, drafts, now, unchanged_only=False)
    assert stored is not None
    return stored


async def append_messages_if_unchanged(
    session: AsyncSession | Driver,
    *,
    rooms: Mapping[str, LockedRoom],
    drafts: Sequence[MessageDraft],
    now: datetime | None = None,
) -> list[MessagePublic] | None:
    """`append_messages` into rooms as the caller last wrote them, without `lock_rooms`: the
    rooms' UPDATE runs first and only where `last_seq` is still what `rooms` says, which locks
    them. Every change of a room's state writes a notice (`record_transitions`), so an
    unchanged `last_seq` is an unchanged room. None when a room moved on or is gone: nothing
    was inserted, but the caller must roll back (the other rooms' UPDATE)."""
    return await _append(session, rooms, drafts, now, unchanged_only=True)


async def _append(
    session: AsyncSession | Driver,
    rooms: Mapping[str, LockedRoom],
    drafts: Sequence[MessageDraft],
    now: datetime | None,
    *,
    unchanged_only: bool,
) -> list[MessagePublic] | None:
    if not drafts:
        return []
    now = now or utcnow()
    driver = await Driver.of(session)
    stored_at = driver.time(now)
    last_seq: dict[str, int] = {}
    added: Counter[tuple[str, Sender]] = Counter()
    first_reply: dict[str, Any] = {}
    """The stamp of each room's first agent message in these drafts."""
    inserts: list[tuple[Any, ...]] = []
    stored: list[MessagePublic] = []
    for draft in drafts:
        room_id = draft.room_id
        seq = last_seq[room_id] = last_seq.get(room_id, rooms[room_id].last_seq) + 1
        added[(room_id, draft.sender)] += 1
        at, stamp = now, stored_at
        if draft.created_at is not None:
            at, stamp = draft.created_at, driver.time(draft.created_at)
        if draft.sender is Sender.agent:
            first_reply.setdefault(room_id, stamp)
        inserts.append(
            (
                draft.text,
                draft.client_id,
                room_id,
                seq,
                draft.sender.value,
                draft.author,
                draft.agent_id,
                stamp,
                draft.while_waiting,
            )
        )
        stored.append(
            stored_message(  # validated on the way in; not again
                seq=seq,
                room_id=room_id,
                sender=draft.sender,
                author=draft.author,
                text=draft.text,
                created_at=at,
                client_id=draft.client_id,
                while_waiting=draft.while_waiting,
            )
        )

    seen = {room_id: rooms[room_id].last_seq for room_id in last_seq}
    if not await advance_rooms(
        driver, last_seq=last_seq, added=added, seen=seen, unchanged_only=unchanged_only
    ):
        return None
    await driver.insert_rows("messages", MESSAGE_INSERT_COLUMNS, inserts)
    if first_reply:
        await stamp_first_replies(driver, first_reply)
    return stored


# ---------------------------------------------------------------- transitions


async def record_transitions(
    session: AsyncSession, *, transitions: Sequence[Transition]
) -> list[MessagePublic]:
    """Apply `transitions` (one per room): the room's new state, its system notice (next seq),
    its event row, and for a transition the end of the room's open span. Returns the notices.

    Raises RoomNotFound for a room that does not exist."""
    if not transitions:
        return []
    room_ids = [t.room_id for t in transitions]
    if len(set(room_ids)) != len(room_ids):
        raise ValueError("one transition per room at a time")
    rooms = await lock_rooms(session, room_ids=room_ids)
    for room_id in room_ids:
        if room_id not in rooms:
            raise RoomNotFound(room_id)
    driver = await Driver.of(session)
    ends = {t.room_id: t for t in transitions if t.kind in TRANSITIONS}
    if ends:
        await end_open_spans(driver, ends)

    status: dict[str, Any] = {}
    holder: dict[str, Any] = {}
    waiting_since: dict[str, Any] = {}
    closed_at: dict[str, Any] = {}
    priority: dict[str, Any] = {}
    seqs: dict[str, int] = {}
    notices: list[tuple[Any, ...]] = []
    events: list[tuple[Any, ...]] = []
    stored: list[MessagePublic] = []
    for t in transitions:
        room = rooms[t.room_id]
        stamp = driver.time(t.at)
        to_status = room.status
        if t.kind in TRANSITIONS:
            if t.to_status is None:
                raise ValueError(f"a {t.kind} transition needs to_status")
            to_status = status[t.room_id] = t.to_status
            holder[t.room_id] = t.holder
            if to_status is RoomStatus.waiting:
                waiting_since[t.room_id] = stamp
                priority[t.room_id] = t.priority
            elif room.status is RoomStatus.waiting or to_status is RoomStatus.ai:
                waiting_since[t.room_id] = None
                priority[t.room_id] = False
            if to_status is RoomStatus.closed:
                closed_at[t.room_id] = stamp
        seq = seqs[t.room_id] = room.last_seq + 1
        notices.append(
            (t.notice, None, t.room_id, seq, Sender.system.value, SYSTEM_AUTHOR, None, stamp, False)
        )
        events.append(
            (t.room_id, t.kind.value, room.status.value, to_status.value, t.reason, t.by, stamp)
        )
        stored.append(
            stored_message(
                seq=seq,
                room_id=t.room_id,
                sender=Sender.system,
                author=SYSTEM_AUTHOR,
                text=t.notice,
                created_at=t.at,
                client_id=None,
                while_waiting=False,
            )
        )

    params: list[Any] = []
    column = MESSAGE_COUNTS[Sender.system]
    sets = [f"{column} = {column} + 1", f"last_seq = {assign(driver, seqs, 'last_seq', params)}"]
    for name, values in (
        ("status", {room_id: s.value for room_id, s in status.items()}),
        ("agent_id", holder),
        ("waiting_since", waiting_since),
        ("closed_at", closed_at),
        ("priority", priority),
    ):
        if values:
            sets.append(f"{name} = {assign(driver, values, name, params, of=len(seqs))}")
    await update_by_id(driver, "rooms", sets, params, ids=list(seqs))
    await driver.insert_rows("messages", MESSAGE_INSERT_COLUMNS, notices)
    await driver.executemany(_INSERT_EVENTS.format(marks=driver.marks(7)), events)
    return stored


# ---------------------------------------------------------------- whole histories


@dataclass(slots=True)
class History:
    """A room's whole record in time order (drafts with `created_at`, and transitions), for
    loaders that write many finished conversations at once: demo data, test datasets."""

    room_id: str
    created_at: datetime
    steps: list[MessageDraft | Transition] = field(default_factory=list)


async def write_histories(session: AsyncSession, *, histories: Sequence[History]) -> None:
    """Write `histories` through the functions above, in rounds: each round appends the next
    run of messages of every room and records the next transition of every other room, so
    the statements per call stay few however many rooms there are."""
    await open_rooms(session, rooms=[(h.room_id, h.created_at) for h in histories])
    per_room = [_runs(h.steps) for h in histories]
    for round_ in itertools.zip_longest(*per_room):
        drafts = [d for run in round_ if isinstance(run, list) for d in run]
        if drafts:
            rooms = await lock_rooms(session, room_ids=[d.room_id for d in drafts])
            await append_messages(session, rooms=rooms, drafts=drafts)
        transitions = [run for run in round_ if isinstance(run, Transition)]
        await record_transitions(session, transitions=transitions)


def _runs(steps: Sequence[MessageDraft | Transition]) -> list[list[MessageDraft] | Transition]:
    """Consecutive drafts grouped; each transition on its own."""
    runs: list[list[MessageDraft] | Transition] = []
    for step in steps:
        if isinstance(step, Transition):
            runs.append(step)
        elif runs and isinstance(runs[-1], list):
            runs[-1].append(step)
        else:
            runs.append([step])
    return runs


async def record_rated(
    session: AsyncSession, *, room_id: str, score: int, agent_id: int | None, at: datetime
) -> None:
    """A closed room's `rated` event (reason: the score; agent_id: the agent credited): what
    tells the statistics fold that the room changed after it was closed (db/ratings.py)."""
    driver = await Driver.of(session)
    closed = RoomStatus.closed.value
    row = (room_id, EventKind.rated.value, closed, closed, str(score), agent_id, driver.time(at))
    await driver.execute(_INSERT_EVENTS.format(marks=driver.marks(7)), row)
