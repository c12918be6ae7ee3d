"""Customer history: the agent holding a chat sees the visitor's previous conversations.

Rooms are linked by the server-issued visitor id (api/visitors.py). Only the room's current
agent and admins read a room's history: a room token, an analyst or another agent gets 403
(analysts have the transcript exports instead).
"""

from __future__ import annotations

from fastapi import HTTPException, status

from api.deps import Tandem
from db import transcripts, visitors
from db.models import Agent, Role, RoomStatus
from db.transcripts import Transcript


async def previous(
    tandem: Tandem, room_id: str, *, agent: Agent | None
) -> tuple[int, list[Transcript]]:
    if agent is None or agent.role is Role.analyst:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "Customer history is for the chat's agent.")
    room = await tandem.rooms.get_room(room_id)  # RoomNotFound: 404
    holds = room.status is RoomStatus.agent and room.agent is not None
    if agent.role is not Role.admin and not (holds and room.agent and room.agent.id == agent.id):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, "Only the agent holding this chat (or an admin) reads it."
        )
    async with tandem.db.session() as session:
        count, ids = await visitors.previous_rooms(session, room_id=room_id)
        found = [await transcripts.transcript(session, room_id=other) for other in ids]
    return count, [t for t in found if t is not None]
