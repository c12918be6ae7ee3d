"""Live figures: what the queue and the team look like now, read from the current state of
the rooms and agents (never from the rollups, which count conversations by when they began).

Each figure is one indexed read (the rooms' status index, the agents table), so a page that
refreshes every few seconds costs the chats nothing."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from db import queries
from db.models import RoomStatus
from db.tables import rooms_t


class LiveStats(BaseModel):
    """The shape of `GET /api/stats/live` (docs/metrics.md)."""

    at: datetime
    """When these figures were read (UTC)."""
    waiting: int
    """Rooms in the queue for a human now."""
    longest_wait_seconds: float | None
    """How long the room longest in the queue has waited so far; null when nobody waits."""
    with_agent: int
    """Chats an agent holds now."""
    agents_online: int
    """Agents and admins online for handoffs now (the rule handoffs use)."""


async def live_stats(session: AsyncSession, *, now: datetime, presence: timedelta) -> LiveStats:
    waiting, oldest = (
        await session.execute(
            sa.select(sa.func.count(), sa.func.min(rooms_t.c.waiting_since)).where(
                rooms_t.c.status == RoomStatus.waiting.value
            )
        )
    ).one()
    with_agent = await session.scalar(
        sa.select(sa.func.count()).where(rooms_t.c.status == RoomStatus.agent.value)
    )
    online = await queries.count_online_agents(session, now=now, window=presence)
    longest = None
    if waiting and oldest is not None:
        longest = max(0.0, round((now - oldest).total_seconds(), 1))
    return LiveStats(
        at=now,
        waiting=int(waiting),
        longest_wait_seconds=longest,
        with_agent=int(with_agent or 0),
        agents_online=online,
    )
