"""Follow-ups: the email and message a user leaves when no agent is online.

Not messages: their own table, written here only. The room they came from is closed with
reason `followup` in the same transaction (api/followups.py), so a follow-up never exists for
a room that is still open, and a room has at most one (a unique index).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import AgentRef
from db.tables import agents_t
from db.team_models import Followup, FollowupPublic

followups_t = Followup.__table__  # type: ignore[attr-defined]


def _select() -> sa.Select[Any]:
    return sa.select(
        followups_t.c.id,
        followups_t.c.room_id,
        followups_t.c.email,
        followups_t.c.text,
        followups_t.c.created_at,
        followups_t.c.done_at,
        followups_t.c.done_by,
        agents_t.c.name.label("done_by_name"),
    ).outerjoin(agents_t, agents_t.c.id == followups_t.c.done_by)


def _public(row: Any) -> FollowupPublic:
    done_by = None if row.done_by is None else AgentRef(id=row.done_by, name=row.done_by_name)
    return FollowupPublic(
        id=row.id,
        room_id=row.room_id,
        email=row.email,
        text=row.text,
        created_at=row.created_at,
        done_at=row.done_at,
        done_by=done_by,
    )


async def add_followup(
    session: AsyncSession, *, room_id: str, email: str, text: str, now: datetime
) -> None:
    await session.execute(
        sa.insert(followups_t).values(room_id=room_id, email=email, text=text, created_at=now)
    )


async def list_followups(
    session: AsyncSession, *, done: bool | None, limit: int
) -> list[FollowupPublic]:
    """Open ones oldest first (the order to answer them in); done ones newest first."""
    query = _select()
    if done is None:
        query = query.order_by(followups_t.c.created_at.desc(), followups_t.c.id.desc())
    elif done:
        query = query.where(followups_t.c.done_at.is_not(None)).order_by(
            followups_t.c.done_at.desc(), followups_t.c.id.desc()
        )
    else:
        query = query.where(followups_t.c.done_at.is_(None)).order_by(
            followups_t.c.created_at, followups_t.c.id
        )
    rows = (await session.execute(query.limit(limit))).all()
    return [_public(row) for row in rows]


async def list_for_room(session: AsyncSession, *, room_id: str) -> list[FollowupPublic]:
    rows = (await session.execute(_select().where(followups_t.c.room_id == room_id))).all()
    return [_public(row) for row in rows]


async def get_followup(session: AsyncSession, *, followup_id: int) -> FollowupPublic | None:
    row = (await session.execute(_select().where(followups_t.c.id == followup_id))).first()
    return None if row is None else _public(row)


async def mark_done(
    session: AsyncSession, *, followup_id: int, agent_id: int, now: datetime
) -> bool:
    """False when there is no such follow-up. Marking one done twice keeps the first mark."""
    found = await session.scalar(sa.select(followups_t.c.id).where(followups_t.c.id == followup_id))
    if found is None:
        return False
    await session.execute(
        sa.update(followups_t)
        .where(followups_t.c.id == followup_id, followups_t.c.done_at.is_(None))
        .values(done_at=now, done_by=agent_id)
    )
    return True
