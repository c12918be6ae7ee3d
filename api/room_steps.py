"""What the room service's mixins (api/transfers.py, api/system_transitions.py) use of
`RoomService`: its database, replies and its lock, transition and announce steps, declared
once for the type checker. `RoomService` (api/rooms.py) defines them."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from api import room_states
    from api.replies import Replies
    from db.engine import Database
    from db.models import MessagePublic, Room


class RoomSteps:
    if TYPE_CHECKING:
        db: Database
        replies: Replies

        async def _locked(self, session: AsyncSession, room_id: str) -> Room: ...
        async def _transition(
            self,
            session: AsyncSession,
            room: Room,
            step: room_states.Transition,
            *,
            agent_id: int | None,
            by: int | None,
            text: str,
        ) -> MessagePublic: ...
        async def _announce(
            self,
            room_id: str,
            notice: MessagePublic,
            *,
            room_changed: bool,
            queue_changed: bool = False,
            agent_ids: tuple[int, ...] = (),
        ) -> list[str]: ...
