"""WebSockets: one per room (user or agent), and one per agent console (queue + joined rooms).

Each connection runs two loops: frames from the hub go out as they are (already JSON), frames
from the client are handled one at a time. A bad frame gets an `error` frame and the
connection goes on; a client too slow to keep up is closed with 1013 and resumes with `after`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect, status
from starlette.websockets import WebSocketDisconnected

from api.deps import Tandem, TandemWsDep, WsAgent, WsRoomPrincipal, accept, refuse
from api.frames import (
    QUEUE_CHANNEL,
    agent_channel,
    error_frame,
    message_frame,
    queue_frame,
    room_channel,
    room_frame,
)
from api.realtime.hub import SubscriberOverflow, Subscription
from api.routing import RoutingError
from db.models import Agent, Role
from db.queries import RoomNotFound

router = APIRouter()
log = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any]], Awaitable["asyncio.Task[Any] | None"]]
"""Handles one frame; returns the task of work it started but did not wait for, if any."""
RESUME_PAGE = 500
MAX_IN_FLIGHT = 256
"""Messages one connection may have waiting for storage before reading its next frame waits."""
_in_flight: set[asyncio.Task[Any]] = set()


class FrameError(Exception):
    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


@router.websocket("/ws/rooms/{room_id}")
async def room_socket(
    websocket: WebSocket, room_id: str, principal: WsRoomPrincipal, tandem: TandemWsDep
) -> None:
    try:
        room = await tandem.rooms.get_room(room_id)
    except RoomNotFound:
        raise await refuse(websocket, "room not found") from None
    await accept(websocket)
    agent = principal.agent

    async def handle(frame: dict[str, Any]) -> asyncio.Task[Any] | None:
        kind = frame.get("type")
        if kind == "message":
            return _send(tandem, room_id, frame, agent)
        if kind == "resume":
            await _resume(websocket, tandem, room_id, frame.get("after", 0))
        elif kind == "ping":
            await websocket.send_text('{"type":"pong"}')
        else:
            raise FrameError("unknown_type", "Frame type must be 'message', 'resume' or 'ping'.")
        return None

    async with tandem.hub.subscribe(room_channel(room_id)) as subscription:
        await websocket.send_text(room_frame(room))
        await _serve(websocket, subscription, handle)


@router.websocket("/ws/agent")
async def agent_socket(websocket: WebSocket, agent: WsAgent, tandem: TandemWsDep) -> None:
    await accept(websocket)
    assert agent.id is not None

    async def handle(frame: dict[str, Any]) -> asyncio.Task[Any] | None:
        kind = frame.get("type")
        if kind == "message":
            room_id = frame.get("room_id")
            if not isinstance(room_id, str) or not room_id:
                raise FrameError("bad_frame", "A message frame on /ws/agent needs a 'room_id'.")
            return _send(tandem, room_id, frame, agent)
        if kind == "ping":
            await websocket.send_text('{"type":"pong"}')
            return None
        raise FrameError("unknown_type", "Frame type must be 'message' or 'ping'.")

    channels = (agent_channel(agent.id), QUEUE_CHANNEL)
    presence = (
        tandem.presence.connected(agent.id)
        if agent.role is not Role.analyst
        else contextlib.nullcontext()
    )
    async with presence, tandem.hub.subscribe(*channels) as subscription:
        await websocket.send_text(queue_frame(await tandem.rooms.queue()))
        await _serve(websocket, subscription, handle)


async def _serve(websocket: WebSocket, subscription: Subscription, handle: Handler) -> None:
    """Run the outgoing and incoming loops until either ends, then stop the other."""
    outgoing = asyncio.create_task(_forward(websocket, subscription))
    incoming = asyncio.create_task(_receive(websocket, handle))
    done, pending = await asyncio.wait({outgoing, incoming}, return_when=asyncio.FIRST_COMPLETED)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    for task in done:
        exc = task.exception()
        if isinstance(exc, SubscriberOverflow):
            with contextlib.suppress(Exception):
                await websocket.close(status.WS_1013_TRY_AGAIN_LATER, "too slow: resume with after")
        elif exc is not None and not isinstance(exc, (WebSocketDisconnect, WebSocketDisconnected)):
            raise exc


async def _forward(websocket: WebSocket, subscription: Subscription) -> None:
    async for event in subscription:
        await websocket.send_text(event.message)


async def _receive(websocket: WebSocket, handle: Handler) -> None:
    """Read frames and start their work without waiting for it.

    A message is queued for storage the moment its frame is read, so one connection can have
    many in flight (the writer batches them) while they are still stored in the order sent.
    Their outcomes are acknowledged in that order by `_acknowledge`: errors as `error` frames.
    """
    outcomes: asyncio.Queue[asyncio.Task[Any] | str] = asyncio.Queue(maxsize=MAX_IN_FLIGHT)
    acknowledging = asyncio.create_task(_acknowledge(websocket, outcomes))
    try:
        while True:
            raw = await websocket.receive_text()
            try:
                started = await handle(_parse(raw))
            except (WebSocketDisconnect, WebSocketDisconnected):
                raise
            except Exception as exc:
                await outcomes.put(_error_text(exc))
                continue
            if started is not None:
                _in_flight.add(started)
                started.add_done_callback(_in_flight.discard)
                await outcomes.put(started)
    finally:
        acknowledging.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await acknowledging


async def _acknowledge(
    websocket: WebSocket, outcomes: asyncio.Queue[asyncio.Task[Any] | str]
) -> None:
    while True:
        outcome = await outcomes.get()
        if isinstance(outcome, str):
            await websocket.send_text(outcome)
            continue
        try:
            await outcome
        except Exception as exc:
            await websocket.send_text(_error_text(exc))


def _error_text(exc: Exception) -> str:
    if isinstance(exc, FrameError | RoutingError):
        return error_frame(exc.code, exc.detail)
    if isinstance(exc, RoomNotFound):
        return error_frame("not_found", "No such room.")
    log.error("frame failed", exc_info=exc)
    return error_frame("internal", "That failed on our side; retry.")


def _parse(raw: str) -> dict[str, Any]:
    if len(raw) > 64 * 1024:
        raise FrameError("too_large", "Frames are limited to 64 KiB.")
    try:
        frame = json.loads(raw)
    except ValueError:
        raise FrameError("bad_json", "Frames must be JSON objects.") from None
    if not isinstance(frame, dict):
        raise FrameError("bad_frame", "Frames must be JSON objects with a 'type'.")
    return frame


def _send(
    tandem: Tandem, room_id: str, frame: dict[str, Any], agent: Agent | None
) -> asyncio.Task[Any]:
    """Check the frame now; store it in a task that is queued before this returns."""
    text = frame.get("text")
    client_id = frame.get("client_id")
    if not isinstance(text, str) or not text.strip():
        raise FrameError("bad_frame", "A message frame needs a non-empty 'text' string.")
    if client_id is not None and (not isinstance(client_id, str) or not 0 < len(client_id) <= 64):
        raise FrameError("bad_frame", "'client_id' must be a string of 1 to 64 characters.")
    text = text.strip()
    limit = tandem.settings.max_message_chars
    if len(text) > limit:
        raise FrameError(
            "too_long", f"The message is {len(text)} characters; the limit is {limit}."
        )
    if agent is not None and agent.role is Role.analyst:
        raise FrameError("forbidden", "Analysts can read chats but not write.")
    # Tasks start in creation order and queue their draft before their first await, so the
    # writer sees one connection's messages in the order they were sent.
    return asyncio.create_task(
        tandem.rooms.send(room_id, text=text, client_id=client_id, agent=agent)
    )


async def _resume(websocket: WebSocket, tandem: Tandem, room_id: str, after: object) -> None:
    if not isinstance(after, int) or isinstance(after, bool) or after < 0:
        raise FrameError("bad_frame", "'after' must be a whole number >= 0.")
    while True:
        page = await tandem.rooms.messages(room_id, after=after, limit=RESUME_PAGE)
        for message in page:
            await websocket.send_text(message_frame(message))
        if len(page) < RESUME_PAGE:
            return
        after = page[-1].seq
