"""Returning visitors and their history: `POST /api/visitors/resume` (the user chat, with its
signed visitor id) and `GET /api/rooms/{id}/history` (the room's agent). Rules: api/visitors.py,
api/history.py."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from api import history, visitors
from api.deps import RoomPrincipal, TandemDep
from api.responses import errors
from api.routes.rooms import RoomCreated
from db.text import StorableText
from db.transcripts import Transcript

router = APIRouter(prefix="/api", tags=["visitors"])


class ResumeBody(BaseModel):
    visitor: StorableText


class History(BaseModel):
    count: int
    """How many conversations the same visitor opened before this one."""
    conversations: list[Transcript]
    """The newest of them (at most 20), newest first, each with its rating."""


@router.post("/visitors/resume", responses=errors(400, 401, 404, 422))
async def resume(body: ResumeBody, tandem: TandemDep) -> RoomCreated:
    """The visitor's newest open chat and a fresh room token for it (404: none open)."""
    room, token = await visitors.resume(tandem, body.visitor)
    return RoomCreated(room=room, token=token, visitor=body.visitor)


@router.get("/rooms/{room_id}/history", responses=errors(401, 403, 404))
async def room_history(room_id: str, principal: RoomPrincipal, tandem: TandemDep) -> History:
    """The visitor's previous conversations, for the agent holding this chat (or an admin)."""
    count, conversations = await history.previous(tandem, room_id, agent=principal.agent)
    return History(count=count, conversations=conversations)
