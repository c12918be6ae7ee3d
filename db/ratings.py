"""Ratings: who may rate a room, who it is credited to, and reading them back.

This module decides whether a room can be rated, writes the rating row, and reads ratings for
transcripts and history; the room log writes its `rated` event in the same transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from db import room_log
from db.models import AgentRef, EventKind, RoomStatus
from db.queries import RoomNotFound, agent_names
from db.tables import events_t, rooms_t
from db.team_models import Rating, RatingPublic

ratings_t = Rating.__table__  # type: ignore[attr-defined]


class RatingRefused(Exception):
    """The room cannot be rated (yet, or again): `code` says why."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


@dataclass(frozen=True, slots=True)
class Rated:
    agent_id: int | None


STINT_STARTS = (EventKind.joined.value, "transferred")
"""Events whose agent_id then holds the room: a join, and a transfer to an agent or a takeover
(team routing's `transferred`; its reason `queue` sends the room back to the queue instead)."""


async def credited_agent(session: AsyncSession, *, room_id: str) -> int | None:
    """The last agent who held the chat (the start of its last stint); None: the AI had it
    alone."""
    kind = sa.type_coerce(events_t.c.kind, sa.String(16))  # a kind this branch may not know
    query = (
        sa.select(events_t.c.agent_id)
        .where(
            events_t.c.room_id == room_id,
            kind.in_(STINT_STARTS),
            sa.or_(kind == EventKind.joined.value, events_t.c.reason != "queue"),
            events_t.c.agent_id.is_not(None),
        )
        .order_by(events_t.c.created_at.desc(), events_t.c.id.desc())
        .limit(1)
    )
    return (await session.execute(query)).scalar()


async def rate_room(
    session: AsyncSession,
    *,
    room_id: str,
    score: int,
    comment: str | None,
    at: datetime,
) -> Rated:
    """Store the user's rating of `room_id` (the caller's write transaction).

    Refused unless the room is closed and the user wrote in it, and once it has a rating."""
    locked = await room_log.lock_rooms(session, room_ids=[room_id])
    if room_id not in locked:
        raise RoomNotFound(room_id)
    if locked[room_id].status is not RoomStatus.closed:
        raise RatingRefused("not_closed", "A chat can be rated once it is closed.")
    user_messages = (
        await session.execute(sa.select(rooms_t.c.user_messages).where(rooms_t.c.id == room_id))
    ).scalar()
    if not user_messages:
        raise RatingRefused("nothing_to_rate", "Only a chat you wrote in can be rated.")
    existing = await session.execute(
        sa.select(ratings_t.c.room_id).where(ratings_t.c.room_id == room_id)
    )
    if existing.first() is not None:
        raise RatingRefused("already_rated", "This chat has already been rated.")
    agent_id = await credited_agent(session, room_id=room_id)
    await session.execute(
        sa.insert(ratings_t).values(
            room_id=room_id, score=score, comment=comment, agent_id=agent_id, created_at=at
        )
    )
    await room_log.record_rated(session, room_id=room_id, score=score, agent_id=agent_id, at=at)
    return Rated(agent_id=agent_id)


def _public(row: Any, names: dict[int, str]) -> RatingPublic:
    agent = None
    if row.agent_id is not None:
        agent = AgentRef(id=row.agent_id, name=names.get(row.agent_id, "?"))
    return RatingPublic(
        room_id=row.room_id,
        score=int(row.score),
        comment=row.comment,
        agent=agent,
        created_at=row.created_at,
    )


async def ratings_of(session: AsyncSession, *, room_ids: Sequence[str]) -> dict[str, RatingPublic]:
    """The ratings of these rooms, by room id (rooms without one are absent)."""
    if not room_ids:
        return {}
    rows = (
        await session.execute(sa.select(ratings_t).where(ratings_t.c.room_id.in_(room_ids)))
    ).all()
    names = await agent_names(session, ids=[r.agent_id for r in rows if r.agent_id is not None])
    return {row.room_id: _public(row, names) for row in rows}


async def rating_of(session: AsyncSession, *, room_id: str) -> RatingPublic | None:
    return (await ratings_of(session, room_ids=[room_id])).get(room_id)
