"""When a room's user was last seen: `rooms.user_seen_at`, written in batches.

A room's user is "seen" whenever a request with its room token arrives (a poll, a send) and
while its WebSocket stays open. Marking is free (a set in memory); one task per process writes
the marked rooms every `FLUSH_SECONDS` in one UPDATE per chunk, so idle users cost the
database a few statements per process, not one transaction per room (10,000 open sockets would
otherwise write ~330 times a second). Each room is written at most once per
`SEEN_EVERY_SECONDS`. api/abandon.py closes the waiting rooms whose user is gone (after
minutes, so a flush's delay does not matter) and flushes before it looks.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import timedelta

import sqlalchemy as sa

from db.engine import Database
from db.models import utcnow
from db.tables import rooms_t

log = logging.getLogger(__name__)

SEEN_EVERY_SECONDS = 30.0
"""At most one `user_seen_at` write per room this often (per process, and in SQL)."""
FLUSH_SECONDS = 10.0
"""How often a process writes the rooms it saw."""
SEEN_MEMORY = 50_000
"""Rooms whose last write this process remembers; forgotten beyond that (one extra write)."""
CHUNK = 500
"""Room ids per UPDATE (bounded IN lists)."""


class UserSeen:
    """Marks rooms whose user is here; `flush()` (its task, or a caller) writes them."""

    def __init__(self, db: Database, *, flush_seconds: float = FLUSH_SECONDS) -> None:
        self.db = db
        self.flush_seconds = flush_seconds
        self._written: dict[str, float] = {}
        self._pending: set[str] = set()
        self._task: asyncio.Task[None] | None = None

    def seen(self, room_id: str) -> None:
        now = time.monotonic()
        if now - self._written.get(room_id, -SEEN_EVERY_SECONDS) < SEEN_EVERY_SECONDS:
            return
        if len(self._written) >= SEEN_MEMORY:
            self._written = {r: t for r, t in self._written.items() if now - t < SEEN_EVERY_SECONDS}
        self._written[room_id] = now
        self._pending.add(room_id)

    async def flush(self) -> int:
        """Write every marked room now; returns how many were marked."""
        rooms, self._pending = sorted(self._pending), set()
        if not rooms:
            return 0
        moment = utcnow()
        stale = moment - timedelta(seconds=SEEN_EVERY_SECONDS)
        async with self.db.write(notify=False) as session:
            for start in range(0, len(rooms), CHUNK):
                await session.execute(
                    sa.update(rooms_t)
                    .where(
                        rooms_t.c.id.in_(rooms[start : start + CHUNK]),
                        sa.or_(rooms_t.c.user_seen_at.is_(None), rooms_t.c.user_seen_at < stale),
                    )
                    .values(user_seen_at=moment)
                )
        return len(rooms)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        with contextlib.suppress(Exception):
            await self.flush()  # what was seen before shutdown still counts

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.flush_seconds)
            try:
                await self.db.detached(self.flush)  # stop() cancels this loop
            except Exception:  # the database is away: those rooms are marked again soon
                log.warning("could not write user_seen_at", exc_info=True)
