"""The `ratings` section of the statistics, on both paths (docs/metrics.md, "Ratings").

Like every other figure, a rating belongs to its conversation's cohort (the room's
`created_at`), whenever it was given. Exact path: the `ratings` rows of the cohort's rooms,
grouped by local day of the room and credited agent. Rollups: the fold counts each room's
`rated` event as `("rating", label, score)` with label the credited agent's id, or `ai`
(`db/rollups.py`, `contribution`); per day is read from the 15-minute slots.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from db import queries
from db.models import stats_rollups
from db.rollup_buckets import SLOT_SECONDS
from db.sqltime import LocalWindow
from db.stats.schema import Ratings, ratings_report
from db.tables import rooms_t
from db.team_models import Rating

ratings_t = Rating.__table__  # type: ignore[attr-defined]

METRIC = "rating"
AI_LABEL = "ai"
"""The rollup label of ratings no agent is credited with."""

Scores = dict[tuple[date, int | None], list[int]]


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def _add(scores: Scores, day: date, agent: int | None, score: int, n: int) -> None:
    if 1 <= score <= 5:
        scores.setdefault((day, agent), [0] * 5)[score - 1] += n


async def _report(
    session: AsyncSession, *, window: LocalWindow, closed: int, scores: Scores
) -> Ratings:
    ids = sorted({agent for _, agent in scores if agent is not None})
    names = await queries.agent_names(session, ids=ids)
    return ratings_report(closed=closed, days=window.days, scores=scores, names=names)


async def exact_ratings(session: AsyncSession, *, query: Any, closed: int) -> Ratings:
    """From the ratings of the cohort's rooms (`query`: db.stats.sql.Query)."""
    parts = query.time.local_parts(rooms_t.c.created_at, query.window)
    rated = (
        sa.select(
            parts.day.label("day"),
            ratings_t.c.agent_id,
            ratings_t.c.score,
        )
        .select_from(ratings_t.join(rooms_t, rooms_t.c.id == ratings_t.c.room_id))
        .where(query.in_cohort(rooms_t.c.created_at))
        .subquery("rated")
    )
    grouped = sa.select(
        rated.c.day, rated.c.agent_id, rated.c.score, sa.func.count().label("n")
    ).group_by(rated.c.day, rated.c.agent_id, rated.c.score)
    scores: Scores = {}
    for row in (await session.execute(grouped)).all():
        agent = None if row.agent_id is None else int(row.agent_id)
        _add(scores, _as_date(row.day), agent, int(row.score), int(row.n))
    return await _report(session, window=query.window, closed=closed, scores=scores)


async def rollup_ratings(
    session: AsyncSession,
    *,
    window: LocalWindow,
    closed: int,
    start: int,
    end: int,
) -> Ratings:
    """From the 15-minute rows of `rating` in [start, end) (slot starts, seconds since 1970):
    each rating is counted once, under its agent's label or `ai`."""
    r = stats_rollups.c
    rows = await session.execute(
        sa.select(r.slot, r.label, r.bucket, r.n).where(
            r.span == SLOT_SECONDS, r.metric == METRIC, r.slot >= start, r.slot < end, r.label != ""
        )
    )
    scores: Scores = {}
    for slot, label, bucket, n in rows:
        day = datetime.fromtimestamp(int(slot), UTC).astimezone(window.tz).date()
        agent = None if label == AI_LABEL else int(label)
        _add(scores, day, agent, int(bucket), int(n))
    return await _report(session, window=window, closed=closed, scores=scores)
