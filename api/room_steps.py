"""The steps every room transition shares, written once: lock the room, record the
transition, read the room (and the queue) back in the same transaction, and after the commit
push the notice and the new state.

The read-back happens before the commit, so nothing after the commit can fail: a join whose
transaction committed is answered as a join, never as a 503 because a later read met the
database away. `RoomService` (api/rooms.py) and its mixins (api/transfers.py,
api/system_transitions.py) inherit these steps.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from api.frames import (
    QUEUE_CHANNEL,
    agent_channel,
    message_frame,
    queue_frame,
    room_channel,
    room_frame,
)
from db import queries, room_log
from db.models import MessagePublic, Room, RoomPublic, RoomStatus, utcnow
from db.queries import RoomNotFound
from db.room_log import Transition

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from api import room_states
    from api.realtime.publisher import Publisher
    from api.replies import Replies
    from api.waits import WaitEstimator
    from db.engine import Database


@dataclass(frozen=True, slots=True)
class Committed:
    """A transition as its own transaction saw it."""

    notice: MessagePublic
    room: RoomPublic
    """The room after it (the answer to whoever asked for the transition)."""
    room_changed: bool = True
    """False: only a notice (no agent online); the room's state frame is not pushed."""
    queue: list[RoomPublic] | None = None
    """The queue after it, when the transition changed the queue."""


class RoomSteps:
    if TYPE_CHECKING:
        db: Database
        replies: Replies
        publisher: Publisher
        waits: WaitEstimator

        def wake_assigner(self) -> None: ...

    async def _locked(self, session: AsyncSession, room_id: str) -> Room:
        room = await queries.lock_room(session, room_id=room_id)
        if room is None:
            raise RoomNotFound(room_id)
        return room

    async def _room_public(self, session: AsyncSession, room_id: str) -> RoomPublic:
        room = await queries.get_room_public(session, room_id=room_id)
        if room is None:
            raise RoomNotFound(room_id)
        if room.status is RoomStatus.waiting:
            room.estimated_wait_seconds = await self.waits.estimate()
        return room

    async def _transition(
        self,
        session: AsyncSession,
        room: Room,
        step: room_states.Transition,
        *,
        agent_id: int | None,
        by: int | None,
        text: str,
        queue_changed: bool = False,
        priority: bool = False,
    ) -> Committed:
        """Record `step` (its event, notice and span ends: db/room_log.py) and read back.
        `priority`: into the queue ahead of the others (a transfer back to the queue)."""
        change = Transition(
            room_id=room.id,
            kind=step.event,
            reason=step.reason,
            notice=text,
            at=utcnow(),
            to_status=step.to,
            holder=agent_id,
            by=by,
            priority=priority,
        )
        [notice] = await room_log.record_transitions(session, transitions=[change])
        return await self._read_back(session, notice, queue_changed=queue_changed)

    async def _read_back(
        self,
        session: AsyncSession,
        notice: MessagePublic,
        *,
        room_changed: bool = True,
        queue_changed: bool = False,
    ) -> Committed:
        """The room and, if it changed, the queue, inside the transition's transaction."""
        room = await self._room_public(session, notice.room_id)
        queue = await queries.list_queue(session) if queue_changed else None
        return Committed(notice, room, room_changed, queue)

    def _announce(self, done: Committed, *, agent_ids: tuple[int, ...] = ()) -> list[str]:
        """Push a committed transition's notice and new state to the room, its agents and the
        queue. Returns the frames (the notice, then the room's state if it changed).

        The notice goes to the publisher at once (the transition has just committed: in seq
        order with the writer's messages); the room and queue frames follow."""
        self.wake_assigner()  # a room queued, or an agent freed (api/transfers.py)
        notice_frame = message_frame(done.notice)
        frames = [notice_frame]
        channels = [room_channel(done.notice.room_id), *(agent_channel(a) for a in agent_ids)]
        self.publisher.push((c, notice_frame) for c in channels)
        items: list[tuple[str, str]] = []
        if done.room_changed:
            state = room_frame(done.room)
            frames.append(state)
            holder = done.room.agent
            if holder is not None and holder.id not in agent_ids:
                extra = agent_channel(holder.id)
                items.append((extra, notice_frame))
                channels.append(extra)
            items += [(c, state) for c in channels]
        if done.queue is not None:
            items.append((QUEUE_CHANNEL, queue_frame(done.queue)))
        self.publisher.push(items)
        return frames
