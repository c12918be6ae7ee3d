"""Chats whose user is gone (`rooms.user_seen_at`, api/user_seen.py) closed as `abandoned`.

A periodic task in every
API process closes the waiting rooms whose user has not been seen, nor queued, for
`TANDEM_ABANDON_MINUTES`: the queue never shows "waiting 1363 h". Closing is idempotent
(`RoomService.close_as` does nothing to a closed room and re-checks under the room's lock), so
two processes may sweep at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from api.room_states import NOTICE_ABANDONED
from api.rooms import RoomService
from db.models import Room, RoomStatus, utcnow
from db.tables import rooms_t

log = logging.getLogger(__name__)


def gone(room: Room, *, cutoff: datetime) -> bool:
    """Waiting, queued before `cutoff`, and its user not seen since."""
    return (
        room.status is RoomStatus.waiting
        and room.waiting_since is not None
        and room.waiting_since < cutoff
        and (room.user_seen_at is None or room.user_seen_at < cutoff)
    )


async def sweep(rooms: RoomService, *, minutes: float, now: datetime | None = None) -> list[str]:
    """Close every waiting room whose user is gone; returns their ids."""
    await rooms.user_seen.flush()  # this process's users seen since its last write
    cutoff = (now or utcnow()) - timedelta(minutes=minutes)
    query = sa.select(rooms_t.c.id).where(
        rooms_t.c.status == RoomStatus.waiting.value,
        rooms_t.c.waiting_since < cutoff,
        sa.or_(rooms_t.c.user_seen_at.is_(None), rooms_t.c.user_seen_at < cutoff),
    )
    async with rooms.db.session() as session:
        candidates = list((await session.execute(query)).scalars())

    async def still_gone(_: AsyncSession, room: Room) -> bool:
        return gone(room, cutoff=cutoff)

    closed = []
    for room_id in candidates:
        if await rooms.close_as(
            room_id, reason="abandoned", notice=NOTICE_ABANDONED, check=still_gone
        ):
            closed.append(room_id)
    return closed


class Abandoner:
    """The periodic sweep, one task per API process."""

    def __init__(self, rooms: RoomService, *, minutes: float, every_seconds: float) -> None:
        self.rooms = rooms
        self.minutes = minutes
        self.every = every_seconds
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            try:
                closed = await sweep(self.rooms, minutes=self.minutes)
                if closed:
                    log.info("closed %d abandoned chats", len(closed))
            except Exception:  # a database blip: the next round tries again
                log.warning("abandoned-chat sweep failed", exc_info=True)
            await asyncio.sleep(self.every)
