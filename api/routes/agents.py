"""Agents' status and capacity, and transfers: `GET /api/agents`, `PATCH /api/agents/{id}`,
`POST /api/rooms/{id}/transfer` (rules: api/room_states.py, api/transfers.py)."""

from __future__ import annotations

from typing import Annotated, Self

from fastapi import APIRouter, HTTPException, Path, status
from pydantic import BaseModel, Field, model_validator

from api.deps import ChatAgent, TandemDep
from api.responses import errors
from db.models import MAX_CHATS_LIMIT, SEQ_MAX, AgentStatus, Role, RoomPublic
from db.team import AgentState
from db.team_models import NOTE_TEXT_MAX
from db.text import StorableText

router = APIRouter(prefix="/api", tags=["team"])


class AgentList(BaseModel):
    agents: list[AgentState]


class AgentUpdate(BaseModel):
    status: AgentStatus | None = None
    """The agent themself, or an admin."""
    max_chats: Annotated[int, Field(ge=1, le=MAX_CHATS_LIMIT)] | None = None
    """Admins only."""


AgentId = Annotated[int, Field(ge=1, le=SEQ_MAX)]
"""An agents.id (a 32-bit INT column): anything larger is 422, not a database error."""


class TransferRequest(BaseModel):
    agent_id: AgentId | None = None
    """To this agent (available, online, under capacity); an admin's own id takes it over."""
    queue: bool = False
    """Back to the queue, first in line."""
    note: Annotated[StorableText, Field(max_length=NOTE_TEXT_MAX)] | None = None
    """Stored as a private note on the room (agents only)."""

    @model_validator(mode="after")
    def _one_target(self) -> Self:
        if (self.agent_id is None) == (not self.queue):
            raise ValueError('give either "agent_id" or "queue": true')
        return self


@router.get("/agents", responses=errors(401, 403))
async def list_agents(_: ChatAgent, tandem: TandemDep) -> AgentList:
    """Every agent who takes chats, with status, open chats and capacity: whom to transfer to."""
    return AgentList(agents=await tandem.rooms.agent_states())


@router.patch("/agents/{agent_id}", responses=errors(400, 401, 403, 404, 422))
async def update_agent(
    agent_id: Annotated[int, Path(ge=1, le=SEQ_MAX)],
    body: AgentUpdate,
    agent: ChatAgent,
    tandem: TandemDep,
) -> AgentState:
    """Status: the agent themself or an admin. Capacity (`max_chats`): admins only."""
    admin = agent.role is Role.admin
    if body.status is not None and agent_id != agent.id and not admin:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "Only admins set another agent's status.")
    if body.max_chats is not None and not admin:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "Only admins set how many chats one holds.")
    if not await tandem.rooms.agent_states(agent_id=agent_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "No agent with this id takes chats.")
    return await tandem.rooms.update_agent(agent_id, status=body.status, max_chats=body.max_chats)


@router.post("/rooms/{room_id}/transfer", responses=errors(400, 401, 403, 404, 409, 422))
async def transfer(
    room_id: str, body: TransferRequest, agent: ChatAgent, tandem: TandemDep
) -> RoomPublic:
    """The holding agent or an admin hands the chat on: to an agent, or back to the queue."""
    to_agent = None if body.queue else body.agent_id
    return await tandem.rooms.transfer(room_id, by=agent, to_agent=to_agent, note=body.note)
