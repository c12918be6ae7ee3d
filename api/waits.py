"""The wait estimate a queued user sees next to their position (DECISIONS #10).

The median wait of the handoffs answered in the same hour of the week over the last 28 days,
if there are at least 5; else of those answered in the last 24 hours, if at least 5; else no
estimate (the chat says "shortly"). Only answered waits count (`next_kind = joined`): a wait
that ended in a close never told anyone how long the queue was. The figure changes slowly, so
each process computes it at most once a minute.
"""

from __future__ import annotations

import statistics
import time
from datetime import datetime, timedelta

import sqlalchemy as sa

from db.engine import Database
from db.models import EventKind, utcnow
from db.tables import events_t

MIN_SAMPLES = 5
WEEKS = 4
CACHE_SECONDS = 60.0


def hour_of_week_windows(now: datetime) -> list[tuple[datetime, datetime]]:
    """This hour of the week, this week (so far) and in each of the previous four."""
    start = now.replace(minute=0, second=0, microsecond=0)
    windows = [(start, now)]
    for week in range(1, WEEKS + 1):
        begin = start - timedelta(weeks=week)
        windows.append((begin, begin + timedelta(hours=1)))
    return windows


async def median_wait(db: Database, *, now: datetime) -> int | None:
    """Seconds, or None when neither window holds enough answered waits."""
    answered = sa.and_(
        events_t.c.kind == EventKind.handoff.value,
        events_t.c.next_kind == EventKind.joined.value,
        events_t.c.next_at.is_not(None),
    )
    same_hour = sa.or_(
        *(
            sa.and_(events_t.c.created_at >= begin, events_t.c.created_at < end)
            for begin, end in hour_of_week_windows(now)
        )
    )
    last_day = events_t.c.created_at >= now - timedelta(hours=24)
    async with db.session() as session:
        for window in (same_hour, last_day):
            query = sa.select(events_t.c.created_at, events_t.c.next_at).where(answered, window)
            rows = (await session.execute(query)).all()
            if len(rows) >= MIN_SAMPLES:
                waits = [(row.next_at - row.created_at).total_seconds() for row in rows]
                return max(0, round(statistics.median(waits)))
    return None


class WaitEstimator:
    """`median_wait`, kept for a minute per process (one query per minute, not per poll)."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._value: int | None = None
        self._until = 0.0

    async def estimate(self) -> int | None:
        if time.monotonic() >= self._until:
            self._value = await median_wait(self.db, now=utcnow())
            self._until = time.monotonic() + CACHE_SECONDS
        return self._value

    def forget(self) -> None:
        self._until = 0.0
