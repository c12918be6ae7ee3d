"""Rooms and their messages over HTTP; WebSockets carry the same frames live (routes/ws.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from api import visitors
from api.auth import create_room_token
from api.deps import ChatAgent, ClientAddress, CurrentAgent, RoomPrincipal, TandemDep
from api.frames import message_frame
from api.message_rules import check_message
from api.responses import errors
from api.rooms import SendResult
from db.models import SEQ_MAX, MessageCreate, MessagePublic, Role, RoomPublic
from db.text import StorableText

router = APIRouter(prefix="/api", tags=["rooms"])


class RoomCreated(BaseModel):
    room: RoomPublic
    token: str
    visitor: str
    """The signed visitor id (api/visitors.py): the one sent if this server issued it, else a
    new one. The user chat keeps it and sends it with its next room (and to resume)."""


class RoomCreate(BaseModel):
    visitor: str | None = None
    """A signed visitor id from an earlier RoomCreated; anything else gets a new one."""


class MessageList(BaseModel):
    messages: list[MessagePublic]


class QueueList(BaseModel):
    rooms: list[RoomPublic]


class HandoffRequestBody(BaseModel):
    reason: StorableText = "button"


@router.post("/rooms", status_code=status.HTTP_201_CREATED, responses=errors(400, 422, 429))
async def create_room(
    tandem: TandemDep, address: ClientAddress, body: RoomCreate | None = None
) -> RoomCreated:
    await tandem.limits.room_created(address)
    visitor_id, signed = visitors.resolve(tandem, body.visitor if body else None)
    room = await tandem.rooms.create_room(visitor_id=visitor_id)
    token = create_room_token(
        room_id=room.id,
        secret=tandem.settings.jwt_secret.get_secret_value(),
        days=tandem.settings.room_token_expire_days,
    )
    return RoomCreated(room=room, token=token, visitor=signed)


@router.get("/rooms/{room_id}", responses=errors(401, 403, 404))
async def get_room(room_id: str, _: RoomPrincipal, tandem: TandemDep) -> RoomPublic:
    return await tandem.rooms.get_room(room_id)


@router.get("/rooms/{room_id}/messages", responses=errors(401, 403, 404, 422))
async def list_messages(
    room_id: str,
    _: RoomPrincipal,
    tandem: TandemDep,
    after: Annotated[int, Query(ge=0, le=SEQ_MAX)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> MessageList:
    return MessageList(messages=await tandem.rooms.poll(room_id, after=after, limit=limit))


@router.post(
    "/rooms/{room_id}/messages",
    status_code=status.HTTP_201_CREATED,
    response_model=None,
    responses={
        200: {
            "description": "With `stream=true`: the frames the message set off, one JSON per line",
            "content": {"application/x-ndjson": {"schema": {"type": "string"}}},
        },
        **errors(400, 401, 403, 404, 409, 413, 422, 429),
    },
)
async def post_message(
    room_id: str,
    body: MessageCreate,
    principal: RoomPrincipal,
    tandem: TandemDep,
    stream: bool = False,
) -> MessagePublic | StreamingResponse:
    agent = principal.agent
    text = check_message(body.text, agent=agent, max_chars=tandem.settings.max_message_chars)
    await tandem.limits.message(room_id=room_id, agent_id=agent.id if agent else None)
    result = await tandem.rooms.send(room_id, text=text, client_id=body.client_id, agent=agent)
    if not stream:
        return result.message
    return StreamingResponse(_ndjson(result), media_type="application/x-ndjson")


async def _ndjson(result: SendResult) -> AsyncIterator[str]:
    yield message_frame(result.message) + "\n"
    for frame in result.frames:
        yield frame + "\n"
    if result.reply is not None:
        async for frame in result.reply.listen():
            yield frame + "\n"


@router.post("/rooms/{room_id}/handoff", responses=errors(400, 401, 403, 404, 409, 413, 422))
async def request_handoff(
    room_id: str,
    principal: RoomPrincipal,
    tandem: TandemDep,
    body: HandoffRequestBody | None = None,
) -> RoomPublic:
    """The "Talk to a person" button: the same path as a typed request, reason `button`."""
    if principal.agent is not None:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "Only the room's user asks for a person.")
    reason = "button" if body is None or body.reason not in {"button", "phrase"} else body.reason
    await tandem.rooms.request_human(room_id, reason=reason)
    return await tandem.rooms.get_room(room_id)


@router.post("/rooms/{room_id}/join", responses=errors(401, 403, 404, 409))
async def join(room_id: str, agent: ChatAgent, tandem: TandemDep) -> RoomPublic:
    return await tandem.rooms.join(room_id, agent)


@router.post("/rooms/{room_id}/leave", responses=errors(401, 403, 404))
async def leave(room_id: str, agent: ChatAgent, tandem: TandemDep) -> RoomPublic:
    return await tandem.rooms.leave(room_id, agent)


@router.post("/rooms/{room_id}/close", responses=errors(401, 403, 404))
async def close(room_id: str, principal: RoomPrincipal, tandem: TandemDep) -> RoomPublic:
    agent = principal.agent
    if agent is not None and agent.role is Role.analyst:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, "Analysts can read chats but not close them."
        )
    return await tandem.rooms.close(room_id, agent=agent)


@router.get("/queue", responses=errors(401))
async def queue(agent: CurrentAgent, tandem: TandemDep) -> QueueList:
    """Waiting rooms, oldest first. Polling it is also the console's presence heartbeat."""
    if agent.id is not None and agent.role is not Role.analyst:
        await tandem.presence.polled(agent.id)
    return QueueList(rooms=await tandem.rooms.queue())


@router.get("/agents/me/rooms", responses=errors(401, 403))
async def my_rooms(agent: ChatAgent, tandem: TandemDep) -> QueueList:
    """The chats this agent has joined and not left: the console's "my chats" list."""
    assert agent.id is not None
    return QueueList(rooms=await tandem.rooms.agent_rooms(agent.id))
