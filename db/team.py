"""Saved replies and private notes: the team's tools, kept apart from the room log.

Notes are not messages: they have their own ids, take no room seq and touch neither
`rooms.last_seq` nor the per-sender counters, so nothing that reads messages (the AI's
prompt, a room's WebSocket, the NDJSON stream, the statistics) can ever meet one.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel

from db.models import Agent, AgentRef, AgentStatus, Role, RoomStatus, utcnow
from db.queries import connected, online_agents
from db.tables import agents_t, rooms_t
from db.team_models import Note, NotePublic, SavedReply, SavedReplyPublic

replies_t = SavedReply.__table__  # type: ignore[attr-defined]
notes_t = Note.__table__  # type: ignore[attr-defined]


class DuplicateShortcut(Exception):
    """Another saved reply has this shortcut."""


# ---------------------------------------------------------------- saved replies


def _reply(row: Any) -> SavedReplyPublic:
    return SavedReplyPublic(
        id=row.id,
        shortcut=row.shortcut,
        title=row.title,
        text=row.text,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


async def list_replies(session: AsyncSession) -> list[SavedReplyPublic]:
    rows = (await session.execute(sa.select(replies_t).order_by(replies_t.c.shortcut))).all()
    return [_reply(row) for row in rows]


async def get_reply(session: AsyncSession, *, reply_id: int) -> SavedReplyPublic | None:
    row = (await session.execute(sa.select(replies_t).where(replies_t.c.id == reply_id))).first()
    return None if row is None else _reply(row)


async def _shortcut_taken(session: AsyncSession, shortcut: str, *, other_than: int | None) -> bool:
    query = sa.select(replies_t.c.id).where(replies_t.c.shortcut == shortcut)
    if other_than is not None:
        query = query.where(replies_t.c.id != other_than)
    return (await session.execute(query)).first() is not None


async def create_reply(
    session: AsyncSession, *, shortcut: str, title: str, text: str
) -> SavedReplyPublic:
    """DuplicateShortcut when the shortcut is taken (checked first, and by the unique index
    should two admins race)."""
    if await _shortcut_taken(session, shortcut, other_than=None):
        raise DuplicateShortcut(shortcut)
    now = utcnow()
    reply = SavedReply(shortcut=shortcut, title=title, text=text, created_at=now, updated_at=now)
    session.add(reply)
    try:
        await session.flush()
    except IntegrityError:  # the transaction is spoilt: the caller's write() rolls it back
        raise DuplicateShortcut(shortcut) from None
    assert reply.id is not None
    return SavedReplyPublic(
        id=reply.id, shortcut=shortcut, title=title, text=text, created_at=now, updated_at=now
    )


async def update_reply(
    session: AsyncSession, *, reply_id: int, shortcut: str, title: str, text: str
) -> SavedReplyPublic | None:
    """None when there is no such reply; DuplicateShortcut when another one has `shortcut`."""
    found = await get_reply(session, reply_id=reply_id)
    if found is None:
        return None
    if await _shortcut_taken(session, shortcut, other_than=reply_id):
        raise DuplicateShortcut(shortcut)
    now = utcnow()
    try:
        await session.execute(
            sa.update(replies_t)
            .where(replies_t.c.id == reply_id)
            .values(shortcut=shortcut, title=title, text=text, updated_at=now)
        )
    except IntegrityError:
        raise DuplicateShortcut(shortcut) from None
    return found.model_copy(
        update={"shortcut": shortcut, "title": title, "text": text, "updated_at": now}
    )


async def delete_reply(session: AsyncSession, *, reply_id: int) -> bool:
    result = await session.execute(sa.delete(replies_t).where(replies_t.c.id == reply_id))
    return bool(result.rowcount)  # type: ignore[attr-defined]


# ---------------------------------------------------------------- notes


async def add_note(
    session: AsyncSession, *, room_id: str, agent: AgentRef, text: str, now: datetime | None = None
) -> NotePublic:
    created_at = now or utcnow()
    note = Note(room_id=room_id, agent_id=agent.id, text=text, created_at=created_at)
    session.add(note)
    await session.flush()
    assert note.id is not None
    return NotePublic(id=note.id, room_id=room_id, agent=agent, text=text, created_at=created_at)


async def list_notes(session: AsyncSession, *, room_id: str) -> list[NotePublic]:
    """The room's notes, oldest first, each with its author's current name."""
    query = (
        sa.select(
            notes_t.c.id,
            notes_t.c.room_id,
            notes_t.c.agent_id,
            agents_t.c.name,
            notes_t.c.text,
            notes_t.c.created_at,
        )
        .join(agents_t, agents_t.c.id == notes_t.c.agent_id)
        .where(notes_t.c.room_id == room_id)
        .order_by(notes_t.c.created_at, notes_t.c.id)
    )
    return [
        NotePublic(
            id=row.id,
            room_id=row.room_id,
            agent=AgentRef(id=row.agent_id, name=row.name),
            text=row.text,
            created_at=row.created_at,
        )
        for row in (await session.execute(query)).all()
    ]


# ---------------------------------------------------------------- agent status and capacity


class AgentState(SQLModel):
    """An agent as the team sees it: status, load and presence."""

    id: int
    name: str
    role: Role
    status: AgentStatus
    max_chats: int
    open_chats: int
    """Chats the agent holds now."""
    connected: bool
    """Holding /ws/agent or polling the queue (the presence window)."""
    online: bool
    """Connected and available: counts for handoffs, may receive chats."""
    last_seen_at: datetime | None
    """The agent's last queue poll or socket heartbeat."""
    last_assigned_at: datetime | None


def _open_chats() -> sa.Subquery:
    return (
        sa.select(rooms_t.c.agent_id, sa.func.count().label("n"))
        .where(rooms_t.c.status == RoomStatus.agent.value, rooms_t.c.agent_id.is_not(None))
        .group_by(rooms_t.c.agent_id)
        .subquery("open_chats")
    )


async def agent_states(
    session: AsyncSession, *, now: datetime, window: timedelta, agent_id: int | None = None
) -> list[AgentState]:
    """Every agent who can chat (not analysts, not disabled), or just `agent_id`, by name."""
    chats = _open_chats()
    query = (
        sa.select(
            agents_t.c.id,
            agents_t.c.name,
            agents_t.c.role,
            agents_t.c.status,
            agents_t.c.max_chats,
            agents_t.c.ws_until,
            agents_t.c.last_poll_at,
            agents_t.c.last_assigned_at,
            sa.func.coalesce(chats.c.n, 0).label("open_chats"),
            connected(now=now, window=window).label("connected"),
        )
        .outerjoin(chats, chats.c.agent_id == agents_t.c.id)
        .where(agents_t.c.role.in_(("agent", "admin")), sa.not_(agents_t.c.disabled))
        .order_by(agents_t.c.name, agents_t.c.id)
    )
    if agent_id is not None:
        query = query.where(agents_t.c.id == agent_id)
    states = []
    for row in (await session.execute(query)).all():
        status = AgentStatus(row.status)
        seen = [t for t in (row.last_poll_at, _socket_seen(row.ws_until, window)) if t]
        states.append(
            AgentState(
                id=row.id,
                name=row.name,
                role=Role(row.role),
                status=status,
                max_chats=row.max_chats,
                open_chats=int(row.open_chats),
                connected=bool(row.connected),
                online=bool(row.connected) and status is AgentStatus.available,
                last_seen_at=min(max(seen), now) if seen else None,
                last_assigned_at=row.last_assigned_at,
            )
        )
    return states


def _socket_seen(ws_until: datetime | None, window: timedelta) -> datetime | None:
    """A socket's heartbeat keeps `ws_until` one window ahead: it was last seen a window before."""
    return None if ws_until is None else ws_until - window


async def lock_agent_load(session: AsyncSession, *, agent_id: int) -> tuple[Agent, int] | None:
    """The agent (row locked until the transaction ends: two joins by one agent cannot both
    pass the capacity check) and the chats it holds; None if there is no such agent."""
    agent = (
        await session.execute(
            sa.select(Agent)
            .where(agents_t.c.id == agent_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).scalar_one_or_none()
    if agent is None:
        return None
    held = await session.scalar(
        sa.select(sa.func.count())
        .select_from(rooms_t)
        .where(rooms_t.c.agent_id == agent_id, rooms_t.c.status == RoomStatus.agent.value)
    )
    return agent, int(held or 0)


async def mark_assigned(session: AsyncSession, *, agent_id: int, now: datetime) -> None:
    await session.execute(
        sa.update(agents_t).where(agents_t.c.id == agent_id).values(last_assigned_at=now)
    )


async def update_agent(
    session: AsyncSession,
    *,
    agent_id: int,
    status: AgentStatus | None = None,
    max_chats: int | None = None,
) -> None:
    values: dict[str, Any] = {}
    if status is not None:
        values["status"] = status.value
    if max_chats is not None:
        values["max_chats"] = max_chats
    if values:
        await session.execute(sa.update(agents_t).where(agents_t.c.id == agent_id).values(**values))


async def pick_agent(session: AsyncSession, *, now: datetime, window: timedelta) -> int | None:
    """Auto-assignment's choice: an online agent under capacity with the fewest chats, ties to
    the one idle longest (never assigned first, then the oldest last assignment)."""
    chats = _open_chats()
    held = sa.func.coalesce(chats.c.n, 0)
    query = (
        sa.select(agents_t.c.id)
        .outerjoin(chats, chats.c.agent_id == agents_t.c.id)
        .where(*online_agents(now=now, window=window), held < agents_t.c.max_chats)
        .order_by(
            held,
            agents_t.c.last_assigned_at.is_not(None),
            agents_t.c.last_assigned_at,
            agents_t.c.id,
        )
        .limit(1)
    )
    found = await session.scalar(query)
    return None if found is None else int(found)
