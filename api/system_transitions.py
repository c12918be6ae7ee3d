"""The room service's transitions that no agent asks for: the system's own closes
(`followup`, `abandoned`) and the user's confirmed withdrawal from the queue.

`RoomService` inherits these methods, as it does the team half (`api/transfers.py`); they go
through its lock, transition and announce steps, so each is one more transition written by
`db/room_log.py` and pushed like the others. Callers: `api/followups.py`, `api/abandon.py`
(closes) and `api/waiting.py` (withdraw).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession

from api import room_states
from api.room_steps import RoomSteps
from db.models import Room, RoomStatus


class SystemTransitions(RoomSteps):
    """Mixed into `RoomService` (api/rooms.py)."""

    async def close_as(
        self,
        room_id: str,
        *,
        reason: str,
        notice: str,
        check: Callable[[AsyncSession, Room], Awaitable[bool]] | None = None,
    ) -> bool:
        """Close a room for a reason of the system's own (`followup`, `abandoned`). `check` runs
        under the room's lock, in the same transaction: it may decline (False), raise, or add
        rows of its own. False when nothing changed (already closed, or declined)."""
        async with self.db.write() as session:
            room = await self._locked(session, room_id)
            was, holder = room.status, room.agent_id
            step = room_states.close_as(room.status, reason=reason)
            if step is None or (check is not None and not await check(session, room)):
                return False
            done = await self._transition(
                session,
                room,
                step,
                agent_id=holder,
                by=None,
                text=notice,
                queue_changed=was is RoomStatus.waiting,
            )
        self.replies.cancel(room_id)
        self._announce(done, agent_ids=tuple(a for a in (holder,) if a is not None))
        return True

    async def withdraw(self, room_id: str) -> list[str]:
        """The user confirmed they no longer need a person: the room leaves the queue and the
        AI holds it again (`withdrawn`). Nothing when an agent joined first. The frames."""
        async with self.db.write() as session:
            room = await self._locked(session, room_id)
            try:
                step = room_states.withdraw(room.status)
            except room_states.RoutingError:
                return []
            done = await self._transition(
                session,
                room,
                step,
                agent_id=None,
                by=None,
                text=room_states.NOTICE_WITHDRAWN,
                queue_changed=True,
            )
        self.replies.cancel(room_id)  # a "while you wait" reply would now be refused
        return self._announce(done)
