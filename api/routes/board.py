"""The supervisor board: `GET /api/board`, admins only (the console's Board page reads it)."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from api.deps import Admin, TandemDep
from api.responses import errors
from db import board
from db.board import ChatInProgress, WaitingRoom
from db.team import AgentState

router = APIRouter(prefix="/api", tags=["team"])

UNANSWERED_ALERT_SECONDS = 120
"""A chat whose customer has waited longer than this for an answer is highlighted."""


class Board(BaseModel):
    agents: list[AgentState]
    queue: list[WaitingRoom]
    chats: list[ChatInProgress]
    unanswered_alert_seconds: int = UNANSWERED_ALERT_SECONDS


@router.get("/board", responses=errors(401, 403))
async def get_board(_: Admin, tandem: TandemDep) -> Board:
    """Every agent (status, open chats / capacity, last seen), the queue with why each room
    waits, and the chats in progress with their customer's unanswered time."""
    agents = await tandem.rooms.agent_states()
    queue = await tandem.rooms.queue()
    async with tandem.db.session() as session:
        waiting = await board.waiting_reasons(session, rooms=queue)
        chats = await board.chats_in_progress(session)
    return Board(agents=agents, queue=waiting, chats=chats)
