"""Who is online: agents holding /ws/agent, or whose console polled /api/queue lately.

Kept in the database, not in memory, so every API process behind Redis agrees on it. A socket
keeps `ws_until` in the future with a heartbeat (and clears it when it closes); a poll stamps
`last_poll_at`, at most once per `_POLL_WRITE_EVERY` per agent and process, so a console that
polls every second costs one tiny UPDATE every few seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from functools import partial

from db import queries
from db.engine import Database
from db.models import utcnow

log = logging.getLogger(__name__)

_POLL_WRITE_EVERY = timedelta(seconds=5)


class Presence:
    def __init__(self, db: Database, *, window_seconds: int = 30) -> None:
        self._db = db
        self.window = timedelta(seconds=window_seconds)
        self._last_poll_write: dict[int, datetime] = {}
        self._sockets: Counter[int] = Counter()

    async def polled(self, agent_id: int) -> None:
        now = utcnow()
        last = self._last_poll_write.get(agent_id)
        if last is not None and now - last < _POLL_WRITE_EVERY:
            return
        self._last_poll_write[agent_id] = now
        async with self._db.write() as session:
            await queries.mark_agent_polled(session, agent_id=agent_id, now=now)

    @contextlib.asynccontextmanager
    async def connected(self, agent_id: int) -> AsyncIterator[None]:
        """The agent is online for as long as this context is open. A heartbeat write that
        fails is logged and the next one tries again; the context always ends its presence
        (the count, and `ws_until` when it was the agent's last socket here)."""
        await self._set_socket_until(agent_id, utcnow() + self.window)
        self._sockets[agent_id] += 1
        heartbeat = asyncio.create_task(self._heartbeat(agent_id))
        try:
            yield
        finally:
            heartbeat.cancel()
            with contextlib.suppress(BaseException):
                await heartbeat
            self._sockets[agent_id] -= 1
            if self._sockets[agent_id] <= 0:
                del self._sockets[agent_id]
                try:
                    await asyncio.shield(self._set_socket_until(agent_id, None))
                except Exception:  # ws_until runs out by itself within the window
                    log.warning("could not clear agent %s's presence", agent_id, exc_info=True)

    async def online_count(self) -> int:
        async with self._db.session() as session:
            return await queries.count_online_agents(session, now=utcnow(), window=self.window)

    async def _heartbeat(self, agent_id: int) -> None:
        while True:
            await asyncio.sleep(self.window.total_seconds() / 3)
            try:
                # Detached: the socket's close cancels this loop.
                await self._db.detached(
                    partial(self._set_socket_until, agent_id, utcnow() + self.window)
                )
            except Exception:
                log.warning("presence heartbeat for agent %s failed", agent_id, exc_info=True)

    async def _set_socket_until(self, agent_id: int, until: datetime | None) -> None:
        async with self._db.write() as session:
            await queries.set_agent_socket_until(session, agent_id=agent_id, until=until)
