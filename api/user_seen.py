"""When a room's user was last seen: `rooms.user_seen_at`, written at most once per 30 s.

A room's user is "seen" whenever a request with its room token arrives (a poll, a send) and
while its WebSocket stays open. DECISIONS #8: an empty poll may cost one throttled write, no
more. api/abandon.py closes the waiting rooms whose user is gone.
"""

from __future__ import annotations

import time
from datetime import timedelta

import sqlalchemy as sa

from db.engine import Database
from db.models import utcnow
from db.tables import rooms_t

SEEN_EVERY_SECONDS = 30.0
"""At most one `user_seen_at` write per room this often (per process, and in SQL)."""
SEEN_MEMORY = 50_000
"""Rooms whose last write this process remembers; forgotten beyond that (one extra write)."""


class UserSeen:
    """Writes `rooms.user_seen_at`, throttled."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._written: dict[str, float] = {}

    async def seen(self, room_id: str) -> None:
        now = time.monotonic()
        if now - self._written.get(room_id, -SEEN_EVERY_SECONDS) < SEEN_EVERY_SECONDS:
            return
        if len(self._written) >= SEEN_MEMORY:
            self._written = {r: t for r, t in self._written.items() if now - t < SEEN_EVERY_SECONDS}
        self._written[room_id] = now
        moment = utcnow()
        stale = moment - timedelta(seconds=SEEN_EVERY_SECONDS)
        async with self.db.write(notify=False) as session:
            await session.execute(
                sa.update(rooms_t)
                .where(
                    rooms_t.c.id == room_id,
                    sa.or_(rooms_t.c.user_seen_at.is_(None), rooms_t.c.user_seen_at < stale),
                )
                .values(user_seen_at=moment)
            )
