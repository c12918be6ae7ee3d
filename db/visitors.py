"""Visitors' rooms: which rooms one browser opened (`rooms.visitor_id`, api/visitors.py)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import RoomStatus
from db.tables import rooms_t

HISTORY_LIMIT = 20
"""Previous conversations shown to an agent at most (the newest)."""


async def link_room(session: AsyncSession, *, room_id: str, visitor_id: str) -> None:
    """Record the visitor of a room just opened (in the transaction that opened it)."""
    await session.execute(
        sa.update(rooms_t).where(rooms_t.c.id == room_id).values(visitor_id=visitor_id)
    )


async def open_room_of(session: AsyncSession, *, visitor_id: str) -> str | None:
    """The visitor's newest room that is not closed."""
    query = (
        sa.select(rooms_t.c.id)
        .where(rooms_t.c.visitor_id == visitor_id, rooms_t.c.status != RoomStatus.closed.value)
        .order_by(rooms_t.c.created_at.desc(), rooms_t.c.id.desc())
        .limit(1)
    )
    return (await session.execute(query)).scalar()


async def previous_rooms(
    session: AsyncSession, *, room_id: str, limit: int = HISTORY_LIMIT
) -> tuple[int, list[str]]:
    """(how many, the newest `limit` ids) of the rooms the same visitor opened before `room_id`."""
    this = (
        await session.execute(
            sa.select(rooms_t.c.visitor_id, rooms_t.c.created_at).where(rooms_t.c.id == room_id)
        )
    ).first()
    if this is None or this.visitor_id is None:
        return 0, []
    earlier = sa.and_(
        rooms_t.c.visitor_id == this.visitor_id,
        rooms_t.c.id != room_id,
        rooms_t.c.created_at <= this.created_at,
    )
    count = (
        await session.execute(sa.select(sa.func.count()).select_from(rooms_t).where(earlier))
    ).scalar() or 0
    ids = (
        await session.execute(
            sa.select(rooms_t.c.id)
            .where(earlier)
            .order_by(rooms_t.c.created_at.desc(), rooms_t.c.id.desc())
            .limit(limit)
        )
    ).scalars()
    return int(count), list(ids)
