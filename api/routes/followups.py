"""Follow-ups over HTTP: the user leaves one, agents work through them (rules: api/followups.py)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Path, Query, status
from pydantic import BaseModel

from api import followups
from api.deps import ChatAgent, RoomPrincipal, TandemDep
from api.responses import errors
from db.models import SEQ_MAX
from db.team_models import FollowupCreate, FollowupPublic

router = APIRouter(prefix="/api", tags=["followups"])

FollowupId = Annotated[int, Path(ge=1, le=SEQ_MAX)]


class FollowupList(BaseModel):
    followups: list[FollowupPublic]


@router.post(
    "/rooms/{room_id}/followup",
    status_code=status.HTTP_201_CREATED,
    responses=errors(400, 401, 403, 404, 409, 422),
)
async def leave_followup(
    room_id: str, body: FollowupCreate, principal: RoomPrincipal, tandem: TandemDep
) -> FollowupPublic:
    """The room's user, while no agent is online: an email and a message for the team. The
    room closes with reason `followup`."""
    if principal.agent is not None:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "Only the room's user leaves a follow-up.")
    return await followups.leave(tandem, room_id, email=body.email, text=body.text)


@router.get("/followups", responses=errors(401, 403, 422))
async def list_followups(
    _: ChatAgent,
    tandem: TandemDep,
    state: Literal["open", "done", "all"] = "open",
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> FollowupList:
    """Open follow-ups oldest first (default), done ones newest first, or all newest first."""
    done = {"open": False, "done": True, "all": None}[state]
    return FollowupList(followups=await followups.listing(tandem, done=done, limit=limit))


@router.get("/followups/{followup_id}", responses=errors(401, 403, 404, 422))
async def get_followup(followup_id: FollowupId, _: ChatAgent, tandem: TandemDep) -> FollowupPublic:
    return await followups.get(tandem, followup_id)


@router.post("/followups/{followup_id}/done", responses=errors(401, 403, 404, 422))
async def mark_done(followup_id: FollowupId, agent: ChatAgent, tandem: TandemDep) -> FollowupPublic:
    """Answered: kept, with who marked it and when (marking twice keeps the first mark)."""
    assert agent.id is not None
    return await followups.mark_done(tandem, followup_id, agent_id=agent.id)
