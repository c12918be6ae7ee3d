"""Data access as keyword-only typed functions; the API never writes SQL anywhere else."""

from __future__ import annotations

import secrets
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from db.driver import Driver
from db.models import (
    MESSAGE_COUNTS,
    SPANS,
    TRANSITIONS,
    Agent,
    AgentRef,
    EventKind,
    Message,
    MessagePublic,
    Room,
    RoomEvent,
    RoomPublic,
    RoomStatus,
    Sender,
    utcnow,
)

messages_t = Message.__table__  # type: ignore[attr-defined]
rooms_t = Room.__table__  # type: ignore[attr-defined]
agents_t = Agent.__table__  # type: ignore[attr-defined]
events_t = RoomEvent.__table__  # type: ignore[attr-defined]

MESSAGE_COLUMNS = (
    messages_t.c.seq,
    messages_t.c.room_id,
    messages_t.c.sender,
    messages_t.c.author,
    messages_t.c.text,
    messages_t.c.created_at,
    messages_t.c.client_id,
)


# ---------------------------------------------------------------- agents


async def create_agent(
    session: AsyncSession, *, email: str, name: str, role: str, password_hash: str
) -> Agent:
    agent = Agent(
        email=email.lower(),
        name=name,
        role=role,  # type: ignore[arg-type]
        password_hash=password_hash,
        # Random, not 0: a new agent given a deleted agent's id (SQLite reuses the highest)
        # must not accept that agent's tokens. Room to bump it ~2**30 times in an INTEGER.
        token_version=secrets.randbelow(2**30),
    )
    session.add(agent)
    await session.flush()
    return agent


async def get_agent(session: AsyncSession, *, agent_id: int) -> Agent | None:
    return await session.get(Agent, agent_id)


async def get_agent_by_email(session: AsyncSession, *, email: str) -> Agent | None:
    result = await session.execute(sa.select(Agent).where(agents_t.c.email == email.lower()))
    return result.scalar_one_or_none()


async def list_agents(session: AsyncSession) -> list[Agent]:
    result = await session.execute(sa.select(Agent).order_by(agents_t.c.id))
    return list(result.scalars())


async def count_agents(session: AsyncSession) -> int:
    return int(await session.scalar(sa.select(sa.func.count()).select_from(agents_t)) or 0)


async def mark_agent_polled(session: AsyncSession, *, agent_id: int, now: datetime) -> None:
    await session.execute(
        sa.update(agents_t).where(agents_t.c.id == agent_id).values(last_poll_at=now)
    )


async def set_agent_socket_until(
    session: AsyncSession, *, agent_id: int, until: datetime | None
) -> None:
    await session.execute(
        sa.update(agents_t).where(agents_t.c.id == agent_id).values(ws_until=until)
    )


async def set_agent_disabled(session: AsyncSession, *, agent_id: int, disabled: bool) -> None:
    """Disabling also bumps token_version: the agent's tokens stay void once enabled again."""
    values: dict[str, Any] = {"disabled": disabled}
    if disabled:
        values["token_version"] = agents_t.c.token_version + 1
    await session.execute(sa.update(agents_t).where(agents_t.c.id == agent_id).values(**values))


async def set_agent_password(session: AsyncSession, *, agent_id: int, password_hash: str) -> None:
    """A new password voids every token issued with the old one (token_version + 1)."""
    await session.execute(
        sa.update(agents_t)
        .where(agents_t.c.id == agent_id)
        .values(password_hash=password_hash, token_version=agents_t.c.token_version + 1)
    )


async def count_online_agents(session: AsyncSession, *, now: datetime, window: timedelta) -> int:
    """Agents (not analysts, not disabled) holding /ws/agent or polling /api/queue within
    `window`."""
    online = sa.or_(agents_t.c.ws_until > now, agents_t.c.last_poll_at > now - window)
    query = (
        sa.select(sa.func.count())
        .select_from(agents_t)
        .where(online, agents_t.c.role.in_(("agent", "admin")), sa.not_(agents_t.c.disabled))
    )
    return int(await session.scalar(query) or 0)


# ---------------------------------------------------------------- rooms


async def create_room(session: AsyncSession, *, room_id: str, now: datetime) -> Room:
    room = Room(id=room_id, created_at=now)
    session.add(room)
    session.add(
        RoomEvent(room_id=room_id, kind=EventKind.created, to_status=RoomStatus.ai, created_at=now)
    )
    await session.flush()
    return room


async def lock_room(session: AsyncSession, *, room_id: str) -> Room | None:
    """The room row, locked until the transaction ends (MySQL; SQLite writes are serialised)."""
    result = await session.execute(sa.select(Room).where(rooms_t.c.id == room_id).with_for_update())
    return result.scalar_one_or_none()


def _room_public_query() -> sa.Select[Any]:
    return sa.select(
        rooms_t.c.id,
        rooms_t.c.status,
        rooms_t.c.agent_id,
        agents_t.c.name,
        rooms_t.c.created_at,
        rooms_t.c.waiting_since,
        rooms_t.c.brief,
        rooms_t.c.last_seq,
    ).outerjoin(agents_t, agents_t.c.id == rooms_t.c.agent_id)


def _to_public(row: Any, position: int | None) -> RoomPublic:
    agent = AgentRef(id=row.agent_id, name=row.name) if row.agent_id is not None else None
    return RoomPublic(
        id=row.id,
        status=RoomStatus(row.status),
        agent=agent,
        created_at=row.created_at,
        queue_position=position,
        brief=row.brief,
        waiting_since=row.waiting_since,
        last_seq=row.last_seq,
    )


async def get_room_public(session: AsyncSession, *, room_id: str) -> RoomPublic | None:
    row = (await session.execute(_room_public_query().where(rooms_t.c.id == room_id))).first()
    if row is None:
        return None
    position = None
    if row.status == RoomStatus.waiting and row.waiting_since is not None:
        position = await queue_position(session, waiting_since=row.waiting_since, room_id=row.id)
    return _to_public(row, position)


async def queue_position(session: AsyncSession, *, waiting_since: datetime, room_id: str) -> int:
    ahead = sa.or_(
        rooms_t.c.waiting_since < waiting_since,
        sa.and_(rooms_t.c.waiting_since == waiting_since, rooms_t.c.id <= room_id),
    )
    query = (
        sa.select(sa.func.count())
        .select_from(rooms_t)
        .where(rooms_t.c.status == RoomStatus.waiting.value, ahead)
    )
    return int(await session.scalar(query) or 0)


async def list_queue(session: AsyncSession) -> list[RoomPublic]:
    query = (
        _room_public_query()
        .where(rooms_t.c.status == RoomStatus.waiting.value)
        .order_by(rooms_t.c.waiting_since, rooms_t.c.id)
    )
    rows = (await session.execute(query)).all()
    return [_to_public(row, position) for position, row in enumerate(rows, start=1)]


async def list_agent_rooms(session: AsyncSession, *, agent_id: int) -> list[RoomPublic]:
    query = (
        _room_public_query()
        .where(rooms_t.c.agent_id == agent_id, rooms_t.c.status == RoomStatus.agent.value)
        .order_by(rooms_t.c.created_at)
    )
    return [_to_public(row, None) for row in (await session.execute(query)).all()]


async def set_room_brief(session: AsyncSession, *, room_id: str, brief: str) -> None:
    await session.execute(
        sa.update(rooms_t).where(rooms_t.c.id == room_id).values(brief=brief[:1000])
    )


async def apply_transition(
    session: AsyncSession,
    *,
    room: Room,
    to_status: RoomStatus,
    agent_id: int | None,
    kind: EventKind,
    reason: str,
    event_agent_id: int | None,
    notice: str,
    now: datetime,
) -> MessagePublic:
    """Move a locked room to `to_status`, write the system notice and the event row."""
    from_status = room.status
    room.status = to_status
    room.agent_id = agent_id
    if to_status is RoomStatus.waiting:
        room.waiting_since = now
    elif from_status is RoomStatus.waiting or to_status is RoomStatus.ai:
        room.waiting_since = None
    if to_status is RoomStatus.closed:
        room.closed_at = now
    return await _record(
        session,
        room=room,
        from_status=from_status,
        kind=kind,
        reason=reason,
        agent_id=event_agent_id,
        notice=notice,
        now=now,
    )


async def add_system_notice(
    session: AsyncSession, *, room: Room, kind: EventKind, reason: str, notice: str, now: datetime
) -> MessagePublic:
    """A notice and event that leave the room's state alone (e.g. no agent online)."""
    return await _record(
        session,
        room=room,
        from_status=room.status,
        kind=kind,
        reason=reason,
        agent_id=None,
        notice=notice,
        now=now,
    )


async def _record(
    session: AsyncSession,
    *,
    room: Room,
    from_status: RoomStatus,
    kind: EventKind,
    reason: str,
    agent_id: int | None,
    notice: str,
    now: datetime,
) -> MessagePublic:
    """The system notice (next seq of the locked room) and the event row of a state change.

    A transition also ends the room's open span (its last handoff or join), which is how the
    statistics know every wait and stint without pairing events up at query time."""
    if kind in TRANSITIONS:
        # Found first, then updated by primary key: an UPDATE ... WHERE room_id would take gap
        # locks on MariaDB's room_id index and make transitions of neighbouring rooms wait.
        # The room row lock we hold keeps this room's spans from changing in between.
        open_spans = await session.scalars(
            sa.select(events_t.c.id).where(
                events_t.c.room_id == room.id,
                events_t.c.kind.in_([span.value for span in SPANS]),
                events_t.c.next_at.is_(None),
            )
        )
        ids = list(open_spans)
        if ids:
            await session.execute(
                sa.update(events_t)
                .where(events_t.c.id.in_(ids))
                .values(next_kind=kind, next_at=now)
            )
    room.last_seq += 1
    room.system_messages += 1
    message = Message(
        room_id=room.id,
        seq=room.last_seq,
        sender=Sender.system,
        author="Tandem",
        text=notice,
        created_at=now,
    )
    session.add(message)
    session.add(
        RoomEvent(
            room_id=room.id,
            kind=kind,
            from_status=from_status,
            to_status=room.status,
            reason=reason,
            agent_id=agent_id,
            created_at=now,
        )
    )
    await session.flush()
    return message_public(message)


# ---------------------------------------------------------------- messages


def message_public(message: Message) -> MessagePublic:
    return MessagePublic(
        seq=message.seq,
        room_id=message.room_id,
        sender=message.sender,
        author=message.author,
        text=message.text,
        created_at=message.created_at,
        client_id=message.client_id,
    )


def message_from_row(row: Any) -> MessagePublic:
    return MessagePublic(
        seq=row.seq,
        room_id=row.room_id,
        sender=Sender(row.sender),
        author=row.author,
        text=row.text,
        created_at=row.created_at,
        client_id=row.client_id,
    )


async def list_messages(
    session: AsyncSession, *, room_id: str, after: int = 0, limit: int = 100
) -> list[MessagePublic]:
    query = (
        sa.select(*MESSAGE_COLUMNS)
        .where(messages_t.c.room_id == room_id, messages_t.c.seq > after)
        .order_by(messages_t.c.seq)
        .limit(limit)
    )
    return [message_from_row(row) for row in (await session.execute(query)).all()]


async def recent_messages(
    session: AsyncSession, *, room_id: str, limit: int
) -> list[MessagePublic]:
    """The newest `limit` messages, oldest first: the window an assistant sees."""
    query = (
        sa.select(*MESSAGE_COLUMNS)
        .where(messages_t.c.room_id == room_id)
        .order_by(messages_t.c.seq.desc())
        .limit(limit)
    )
    rows = (await session.execute(query)).all()
    return [message_from_row(row) for row in reversed(rows)]


@dataclass(slots=True)
class MessageDraft:
    room_id: str
    sender: Sender
    author: str
    text: str
    client_id: str | None = None
    agent_id: int | None = None


@dataclass(frozen=True, slots=True)
class StoredMessage:
    message: MessagePublic
    status: RoomStatus | None
    """The room's state when the message was stored: what decides whether the AI answers.
    None for a repeat of an earlier message (a repeat sets nothing off)."""
    agent_id: int | None
    duplicate: bool = False


class RoomNotFound(LookupError):
    pass


SendCheck = Callable[[RoomStatus, Sender, int | None, int | None], None]
"""Raises when a sender may not write into a room in a state (the routing rules)."""


async def find_by_client_ids(
    session: AsyncSession, *, keys: Sequence[tuple[str, str]]
) -> dict[tuple[str, str], StoredMessage]:
    """Messages already stored under these (room_id, client_id) pairs."""
    if not keys:
        return {}
    # By client_id alone, the leading column of the unique (client_id, room_id) index: one
    # index probe per id on both databases, however many messages the rooms hold. (A join or
    # a room_id filter lets MariaDB read every message of the rooms instead.)
    client_ids = sorted({client_id for _, client_id in keys})
    driver = await Driver.of(session)
    rows = await driver.fetchall(
        "SELECT seq, room_id, sender, author, text, created_at, client_id FROM messages "
        f"WHERE client_id IN ({driver.marks(len(client_ids))})",
        client_ids,
    )
    wanted = set(keys)
    found: dict[tuple[str, str], StoredMessage] = {}
    for seq, room_id, sender, author, text, created_at, client_id in rows:
        if (room_id, client_id) in wanted:
            message = MessagePublic.model_construct(
                seq=seq,
                room_id=room_id,
                sender=Sender(sender),
                author=author,
                text=text,
                created_at=driver.read_time(created_at),
                client_id=client_id,
            )
            found[(room_id, client_id)] = StoredMessage(message, None, None, duplicate=True)
    return found


async def store_messages(
    session: AsyncSession,
    *,
    drafts: Sequence[MessageDraft],
    check: SendCheck,
    now: datetime | None = None,
) -> list[StoredMessage | Exception]:
    """Store a batch in the caller's transaction: lock the rooms, give each accepted draft the
    next seq of its room, insert all rows with one multi-row INSERT.

    A draft its room refuses gets its exception in the result instead; it takes no seq, so seqs
    stay gapless. Duplicate client_ids must have been resolved by the caller.
    """
    now = now or utcnow()
    driver = await Driver.of(session)
    room_ids = sorted({draft.room_id for draft in drafts})
    lock = " FOR UPDATE" if driver.mysql else ""  # SQLite: the Database write lock serialises
    rows = await driver.fetchall(
        f"SELECT id, status, agent_id, last_seq FROM rooms "
        f"WHERE id IN ({driver.marks(len(room_ids))}){lock}",
        room_ids,
    )
    rooms = {room_id: (RoomStatus(status), agent_id) for room_id, status, agent_id, _ in rows}
    last_seq = {room_id: int(seq) for room_id, _, _, seq in rows}
    start_seq = dict(last_seq)
    stored_at = driver.time(now)

    results: list[StoredMessage | Exception] = []
    inserts: list[tuple[Any, ...]] = []
    added: Counter[tuple[str, Sender]] = Counter()
    for draft in drafts:
        if draft.room_id not in rooms:
            results.append(RoomNotFound(draft.room_id))
            continue
        status, room_agent_id = rooms[draft.room_id]
        try:
            check(status, draft.sender, room_agent_id, draft.agent_id)
        except Exception as exc:
            results.append(exc)
            continue
        last_seq[draft.room_id] += 1
        seq = last_seq[draft.room_id]
        added[(draft.room_id, draft.sender)] += 1
        inserts.append(
            (
                draft.text,
                draft.client_id,
                draft.room_id,
                seq,
                draft.sender.value,
                draft.author,
                draft.agent_id,
                stored_at,
            )
        )
        public = MessagePublic.model_construct(  # validated on the way in; skip re-validating
            seq=seq,
            room_id=draft.room_id,
            sender=draft.sender,
            author=draft.author,
            text=draft.text,
            created_at=now,
            client_id=draft.client_id,
        )
        results.append(StoredMessage(message=public, status=status, agent_id=room_agent_id))

    if inserts:
        changed = [(room_id, seq) for room_id, seq in last_seq.items() if seq != start_seq[room_id]]

        def cases(pairs: Sequence[tuple[str, int]], otherwise: str) -> str:
            params.extend(value for pair in pairs for value in pair)
            whens = " ".join(f"WHEN {driver.mark} THEN {driver.mark}" for _ in pairs)
            return f"CASE id {whens} ELSE {otherwise} END"

        params: list[Any] = []
        sets = [f"last_seq = {cases(changed, 'last_seq')}"]
        for sender, column in MESSAGE_COUNTS.items():
            counts = [(room_id, n) for (room_id, s), n in added.items() if s is sender]
            if counts:
                sets.append(f"{column} = {column} + {cases(counts, '0')}")
        await driver.execute(
            f"UPDATE rooms SET {', '.join(sets)} WHERE id IN ({driver.marks(len(changed))})",
            params + [room_id for room_id, _ in changed],
        )
        await driver.executemany(
            "INSERT INTO messages (text, client_id, room_id, seq, sender, author, agent_id, "
            f"created_at) VALUES ({driver.marks(8)})",
            inserts,
        )
    agent_rooms = sorted({room_id for room_id, sender in added if sender is Sender.agent})
    if agent_rooms:
        # The first agent message of an open stint is its first reply. `created_at <=`: a batch
        # stamped just before a join it then waited for does not answer that join. Updated by
        # primary key, as in `_record`; usually the stint has its reply and nothing is found.
        # (On MariaDB this plain read sees the snapshot of the transaction's first read, which
        # `find_by_client_ids` may have taken before the room lock: a message sent while its
        # own join was still committing is not counted as the reply; the next one is.)
        unanswered = await driver.fetchall(
            f"SELECT id FROM room_events WHERE room_id IN ({driver.marks(len(agent_rooms))}) "
            f"AND kind = '{EventKind.joined.value}' AND next_at IS NULL "
            f"AND first_reply_at IS NULL AND created_at <= {driver.mark}",
            [*agent_rooms, stored_at],
        )
        if unanswered:
            await driver.execute(
                f"UPDATE room_events SET first_reply_at = {driver.mark} "
                f"WHERE id IN ({driver.marks(len(unanswered))})",
                [stored_at, *(event_id for (event_id,) in unanswered)],
            )
    return results
