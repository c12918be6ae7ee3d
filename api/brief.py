"""The brief an agent reads in the queue, kept current while the user waits (#12).

Written when a room joins the queue and rewritten after each user message while it waits:
the user's latest need, why a person was asked for, what the AI tried, and what the user
said while waiting. The assistant writes it: a model when one is configured, extractive
otherwise. One rewrite per room at a time; rewrites asked for meanwhile run once after it,
so a fast typist costs one model call at a time, and the newest text always gets a brief.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime

import sqlalchemy as sa

from api.ai.base import Assistant, Turn
from api.replies import ReplyRun
from db import queries
from db.engine import Database
from db.models import EventKind, MessagePublic, Sender
from db.tables import events_t
from db.text import without_unstorable

log = logging.getLogger(__name__)

HISTORY_WINDOW = 40
BRIEF_MAX_CHARS = 1000
"""The `rooms.brief` column's length."""

PublishQueue = Callable[[], Awaitable[None]]


def turns(messages: Sequence[MessagePublic], waiting_since: datetime | None) -> list[Turn]:
    """The messages as an assistant reads them; the user's lines since the room joined the
    queue, and the AI's answers then, are marked `while_waiting`."""
    result = []
    for m in messages:
        waiting = m.while_waiting or (
            m.sender is Sender.user and waiting_since is not None and m.created_at >= waiting_since
        )
        result.append(
            Turn(sender=m.sender.value, author=m.author, text=m.text, while_waiting=waiting)
        )
    return result


def storable(brief: str) -> str:
    """A model's brief, cleaned of what db/text.py refuses rather than refused."""
    return without_unstorable(brief).strip()[:BRIEF_MAX_CHARS]


class Briefs:
    def __init__(self, *, db: Database, assistant: Assistant, publish_queue: PublishQueue) -> None:
        self._db = db
        self._assistant = assistant
        self._publish_queue = publish_queue
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._again: set[str] = set()
        self._after: set[asyncio.Task[None]] = set()
        """Rewrites waiting for an AI answer to finish (what the AI tried changes with it)."""

    def refresh(self, room_id: str) -> None:
        """Rewrite the room's brief in the background (after the one in progress, if any)."""
        if room_id in self._tasks:
            self._again.add(room_id)
            return
        task = asyncio.create_task(self._write(room_id), name=f"brief:{room_id}")
        self._tasks[room_id] = task
        task.add_done_callback(lambda t: self._done(room_id, t))

    def refresh_after(self, run: ReplyRun) -> None:
        """Rewrite the room's brief once this AI answer has ended (stored or cancelled)."""

        async def later() -> None:
            async for _ in run.listen():
                pass
            self.refresh(run.room_id)

        task = asyncio.create_task(later(), name=f"brief-after:{run.room_id}")
        self._after.add(task)
        task.add_done_callback(self._after.discard)

    async def idle(self) -> None:
        """Wait until every rewrite has finished, the owed ones included (tests use it). The
        sleep: on Python 3.12 a gather of finished tasks returns without yielding to the loop."""
        while self._tasks or self._after:
            tasks = [*self._tasks.values(), *self._after]
            await asyncio.gather(*tasks, return_exceptions=True)
            await asyncio.sleep(0)  # their done callbacks (`_done`: owed rewrites) run now

    async def stop(self) -> None:
        self._again.clear()
        tasks = [*self._tasks.values(), *self._after]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _done(self, room_id: str, task: asyncio.Task[None]) -> None:
        if self._tasks.get(room_id) is task:
            del self._tasks[room_id]
        if task.cancelled():
            return
        if task.exception() is not None:
            log.error("brief failed in room %s", room_id, exc_info=task.exception())
        if room_id in self._again:
            self._again.discard(room_id)
            self.refresh(room_id)

    async def _write(self, room_id: str) -> None:
        async with self._db.session() as session:
            room = await queries.get_room_public(session, room_id=room_id)
            if room is None:
                return
            recent = await queries.recent_messages(session, room_id=room_id, limit=HISTORY_WINDOW)
            reason = await session.scalar(
                sa.select(events_t.c.reason)
                .where(events_t.c.room_id == room_id, events_t.c.kind == EventKind.handoff.value)
                .order_by(events_t.c.id.desc())
                .limit(1)
            )
        history = turns(recent, room.waiting_since)
        brief = storable(await self._assistant.brief(history, reason=reason))
        if not brief:
            return
        async with self._db.write() as session:
            await queries.set_room_briefs(session, briefs={room_id: brief})
        await self._publish_queue()
