"""Reads and the small writes of agents and rooms, as keyword-only typed functions.

A room's messages and events are written only by `db/room_log.py`, which owns their rules.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Agent, AgentRef, AgentStatus, MessagePublic, Room, RoomPublic, RoomStatus
from db.tables import MESSAGE_COLUMNS, agents_t, message_from_row, messages_t, rooms_t


class RoomNotFound(LookupError):
    pass


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


async def agent_names(session: AsyncSession, *, ids: Sequence[int] | None = None) -> dict[int, str]:
    """Current names of the agents `ids` (default: every agent), for reports that keep ids."""
    query = sa.select(agents_t.c.id, agents_t.c.name)
    if ids is not None:
        if not ids:
            return {}
        query = query.where(agents_t.c.id.in_(list(ids)))
    return {int(row.id): str(row.name) for row in (await session.execute(query)).all()}


def connected(*, now: datetime, window: timedelta) -> sa.ColumnElement[bool]:
    """Holding /ws/agent, or polled /api/queue within `window`."""
    return sa.or_(agents_t.c.ws_until > now, agents_t.c.last_poll_at > now - window)


def online_agents(*, now: datetime, window: timedelta) -> list[sa.ColumnElement[bool]]:
    """Online for handoffs: connected and available (not away), able to chat, not disabled."""
    return [
        connected(now=now, window=window),
        agents_t.c.status == AgentStatus.available.value,
        agents_t.c.role.in_(("agent", "admin")),
        sa.not_(agents_t.c.disabled),
    ]


async def count_online_agents(session: AsyncSession, *, now: datetime, window: timedelta) -> int:
    """Agents online for handoffs (`online_agents`)."""
    query = (
        sa.select(sa.func.count())
        .select_from(agents_t)
        .where(*online_agents(now=now, window=window))
    )
    return int(await session.scalar(query) or 0)


# ---------------------------------------------------------------- rooms


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
        rooms_t.c.priority,
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
        priority=bool(row.priority),
    )


async def get_room_public(session: AsyncSession, *, room_id: str) -> RoomPublic | None:
    row = (await session.execute(_room_public_query().where(rooms_t.c.id == room_id))).first()
    if row is None:
        return None
    position = None
    if row.status == RoomStatus.waiting and row.waiting_since is not None:
        position = await queue_position(
            session, waiting_since=row.waiting_since, room_id=row.id, priority=bool(row.priority)
        )
    return _to_public(row, position)


async def queue_position(
    session: AsyncSession, *, waiting_since: datetime, room_id: str, priority: bool = False
) -> int:
    """1 for the next in line: rooms with `priority` first, each group oldest first."""
    same_group = sa.or_(
        rooms_t.c.waiting_since < waiting_since,
        sa.and_(rooms_t.c.waiting_since == waiting_since, rooms_t.c.id <= room_id),
    )
    if priority:
        ahead = sa.and_(rooms_t.c.priority == sa.true(), same_group)
    else:
        ahead = sa.or_(rooms_t.c.priority == sa.true(), same_group)
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
        .order_by(rooms_t.c.priority.desc(), rooms_t.c.waiting_since, rooms_t.c.id)
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


async def set_room_briefs(session: AsyncSession, *, briefs: Mapping[str, str]) -> None:
    """What each room's user wants (room id → brief), for the agent who picks it up."""
    if not briefs:
        return
    statement = (
        sa.update(rooms_t)
        .where(rooms_t.c.id == sa.bindparam("room_id"))
        .values(brief=sa.bindparam("new_brief"))
    )
    rows = [{"room_id": room_id, "new_brief": brief[:1000]} for room_id, brief in briefs.items()]
    await session.execute(statement, rows)


# ---------------------------------------------------------------- messages


async def room_last_seq(session: AsyncSession, *, room_id: str) -> int | None:
    """The room's newest seq by primary key; None when there is no such room."""
    found = await session.scalar(sa.select(rooms_t.c.last_seq).where(rooms_t.c.id == room_id))
    return None if found is None else int(found)


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
