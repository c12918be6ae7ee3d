"""Private notes on a room, for agents: `GET/POST /api/rooms/{id}/notes` (rules: api/notes.py)."""

from __future__ import annotations

from fastapi import APIRouter, status
from pydantic import BaseModel

from api import notes
from api.deps import RoomPrincipal, TandemDep
from api.responses import errors
from db.team_models import NoteCreate, NotePublic

router = APIRouter(prefix="/api", tags=["team"])


class NoteList(BaseModel):
    notes: list[NotePublic]


@router.get("/rooms/{room_id}/notes", responses=errors(401, 403, 404))
async def list_notes(room_id: str, principal: RoomPrincipal, tandem: TandemDep) -> NoteList:
    """The room's private notes, oldest first: agents and admins (a room token: 403)."""
    return NoteList(notes=await notes.list_for(tandem, room_id, agent=principal.agent))


@router.post(
    "/rooms/{room_id}/notes",
    status_code=status.HTTP_201_CREATED,
    responses=errors(400, 401, 403, 404, 422),
)
async def add_note(
    room_id: str, body: NoteCreate, principal: RoomPrincipal, tandem: TandemDep
) -> NotePublic:
    """A private note by the agent holding the room, or an admin; pushed as a `note` frame to
    the holder's and the author's /ws/agent, never to the room."""
    return await notes.add(tandem, room_id, agent=principal.agent, text=body.text)
