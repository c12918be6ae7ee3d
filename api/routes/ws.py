"""WebSockets: one per room (user or agent), and one per agent console (queue + joined rooms).

Each connection runs two loops: frames from the hub go out as they are (already JSON) through
the socket's `Cursor` (message frames deduped by seq, any gap filled from the database first;
the process's one `Backstop` re-checks every socket's rooms against the database at least
every 5 s and at once after a broker reconnect, and wakes only the sockets behind; a gap that
cannot be filled closes the socket with 1012), frames from the client are handled one at a
time (`api.routes.ws_receive`). A bad frame gets an `error` frame and the connection goes on;
a client too slow to keep up is closed with 1013 and resumes with `after`; a binary frame gets
an `error` frame and, once what was read before it is answered, 1003. A watchdog per
connection (`api.routes.ws_watch`) closes it with 1008 when its token expires or its agent is
disabled or signed out (password reset): a socket outlives the check made when it opened.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Sequence
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect, WebSocketException, status
from starlette.websockets import WebSocketDisconnected, WebSocketState

from api.deps import (
    Tandem,
    TandemWsDep,
    WsAgentPrincipal,
    WsRoomPrincipal,
    accept,
    refuse,
)
from api.frames import (
    QUEUE_CHANNEL,
    agent_channel,
    queue_frame,
    room_channel,
    room_frame,
)
from api.limits import SocketSlot, TooManySockets
from api.message_rules import check_message
from api.realtime.backstop import Backstop
from api.realtime.cursor import CatchUpFailed, Cursor
from api.realtime.drain import CLOSE_REASON, Drain
from api.realtime.hub import SubscriberOverflow, Subscription
from api.routes.ws_frames import (
    FrameError,
    frame_after,
    frame_message,
    frame_room_id,
)
from api.routes.ws_receive import BinaryFrame, Handler, NowHandler, receive
from api.routes.ws_watch import Watch, watch
from api.ws_protocol import SEND_TEXT_NOW
from db.models import Agent, MessagePublic, Role
from db.queries import RoomNotFound

router = APIRouter()
log = logging.getLogger(__name__)

CLOSE_LINGER_SECONDS = 0.1
"""Before closing on a binary frame: time for the frames of messages stored just before it to
come back through the hub (Redis included) and go out."""


@router.websocket("/ws/rooms/{room_id}")
async def room_socket(
    websocket: WebSocket, room_id: str, principal: WsRoomPrincipal, tandem: TandemWsDep
) -> None:
    try:
        room = await tandem.rooms.get_room(room_id)
    except RoomNotFound:
        raise await refuse(websocket, "room not found") from None
    await accept(websocket)
    if await _closed_for_drain(websocket):
        return
    agent = principal.agent

    cursor = _cursor(websocket, tandem, {room_id: room.last_seq})

    async def handle(frame: dict[str, Any]) -> asyncio.Task[Any] | None:
        kind = frame.get("type")
        if kind == "message":
            return await _send(tandem, room_id, frame, agent)
        if kind == "resume":
            await cursor.resume(room_id, frame_after(frame))
        elif kind == "ping":
            await websocket.send_text('{"type":"pong"}')
        else:
            raise FrameError("unknown_type", "Frame type must be 'message', 'resume' or 'ping'.")
        return None

    def handle_now(frame: dict[str, Any]) -> asyncio.Task[Any] | None:
        if frame.get("type") != "message":
            return None
        return _send_now(tandem, room_id, frame, agent)

    slot = _socket_slot(tandem, room_id=room_id, agent_id=agent.id if agent else None)
    async with slot, _subscribed(tandem, room_channel(room_id)) as subscription:
        await websocket.send_text(room_frame(room))
        del room  # sent: not kept for the socket's life (~1.4 KiB)
        await _serve(
            websocket, tandem, subscription, cursor, handle, handle_now, watch(tandem, principal)
        )


@router.websocket("/ws/agent")
async def agent_socket(
    websocket: WebSocket, principal: WsAgentPrincipal, tandem: TandemWsDep
) -> None:
    await accept(websocket)
    if await _closed_for_drain(websocket):
        return
    agent = principal.agent
    assert agent is not None and agent.id is not None
    cursor = _cursor(websocket, tandem, {}, follow_agent=agent.id)

    async def handle(frame: dict[str, Any]) -> asyncio.Task[Any] | None:
        kind = frame.get("type")
        if kind == "message":
            return await _send(tandem, frame_room_id(frame), frame, agent)
        if kind == "resume":
            room_id, after = frame_room_id(frame), frame_after(frame)
            # RoomNotFound: a `not_found` error
            room = await tandem.db.detached(lambda: tandem.rooms.get_room(room_id))
            held = room.agent is not None and room.agent.id == agent.id
            await cursor.resume(room_id, after, follow=held)
            return None
        if kind == "ping":
            await websocket.send_text('{"type":"pong"}')
            return None
        raise FrameError("unknown_type", "Frame type must be 'message', 'resume' or 'ping'.")

    def handle_now(frame: dict[str, Any]) -> asyncio.Task[Any] | None:
        if frame.get("type") != "message":
            return None
        return _send_now(tandem, frame_room_id(frame), frame, agent)

    channels = (agent_channel(agent.id), QUEUE_CHANNEL)
    presence = (
        tandem.presence.connected(agent.id)
        if agent.role is not Role.analyst
        else contextlib.nullcontext()
    )
    slot = _socket_slot(tandem, agent_id=agent.id)
    async with slot, presence, _subscribed(tandem, *channels) as subscription:
        # Read after subscribing: a message stored meanwhile comes live or as a filled gap.
        for held in await tandem.rooms.agent_rooms(agent.id):
            cursor.last[held.id] = held.last_seq
        await websocket.send_text(queue_frame(await tandem.rooms.queue()))
        await _serve(
            websocket, tandem, subscription, cursor, handle, handle_now, watch(tandem, principal)
        )


@contextlib.asynccontextmanager
async def _subscribed(tandem: Tandem, *channels: str) -> AsyncIterator[Subscription]:
    """The socket's subscription. A broker that cannot subscribe right now (Redis restarting)
    closes the socket with 1013, try again later, instead of failing the connection: the
    client reconnects and resumes."""
    subscribing = tandem.hub.subscribe(*channels)  # entered by hand: no exit stack per socket
    try:
        subscription = await subscribing.__aenter__()
    except Exception:
        log.warning("could not subscribe %s: socket closed with 1013", channels, exc_info=True)
        raise WebSocketException(
            status.WS_1013_TRY_AGAIN_LATER, "broker unavailable: reconnect shortly"
        ) from None
    try:
        yield subscription
    except BaseException as exc:
        if not await subscribing.__aexit__(type(exc), exc, exc.__traceback__):
            raise
    else:
        await subscribing.__aexit__(None, None, None)


async def _closed_for_drain(websocket: WebSocket) -> bool:
    """While the process drains, a new socket is closed with 1012 at once: reconnect elsewhere."""
    drain: Drain | None = getattr(websocket.app.state, "drain", None)
    if drain is None or not drain.draining:
        return False
    with contextlib.suppress(Exception):
        await websocket.close(status.WS_1012_SERVICE_RESTART, CLOSE_REASON)
    return True


def _cursor(
    websocket: WebSocket, tandem: Tandem, rooms: dict[str, int], *, follow_agent: int | None = None
) -> Cursor:
    async def fetch(room_id: str, after: int, limit: int) -> list[MessagePublic]:
        # Detached: a socket that closes mid catch-up cancels its loops, never a read.
        return await tandem.db.detached(
            lambda: tandem.rooms.messages(room_id, after=after, limit=limit)
        )

    return Cursor(
        websocket.send_text,
        fetch,
        rooms,
        follow_agent=follow_agent,
        page=tandem.settings.resume_page,
        send_now=(websocket.scope.get("extensions") or {}).get(SEND_TEXT_NOW),
    )


def _backstop(websocket: WebSocket, tandem: Tandem) -> Backstop:
    """The process's one backstop, made with the first socket (one per app and room service)."""
    state = websocket.app.state
    backstop: Backstop | None = getattr(state, "backstop", None)
    if backstop is None or getattr(state, "backstop_rooms", None) is not tandem.rooms:
        rooms = tandem.rooms

        async def heads(room_ids: Sequence[str]) -> dict[str, tuple[int, int | None]]:
            return await rooms.db.detached(lambda: rooms.room_heads(room_ids))  # timed rounds

        backstop = state.backstop = Backstop(heads)
        state.backstop_rooms = tandem.rooms
    return backstop


def _socket_slot(tandem: Tandem, *, room_id: str = "", agent_id: int | None = None) -> SocketSlot:
    """A slot of the caller's open-socket cap, or close 1008 (the socket is accepted already)."""
    try:
        return tandem.limits.open_socket(room_id=room_id, agent_id=agent_id)
    except TooManySockets as exc:
        raise WebSocketException(status.WS_1008_POLICY_VIOLATION, str(exc)) from None


async def _serve(
    websocket: WebSocket,
    tandem: Tandem,
    subscription: Subscription,
    cursor: Cursor,
    handle: Handler,
    handle_now: NowHandler | None,
    watch: Watch,
) -> None:
    """Run the outgoing and incoming loops until either ends, `watch` says the token is no
    longer good (close with 1008) or the process drains (close with 1012), then stop the
    others."""
    drain: Drain | None = getattr(websocket.app.state, "drain", None)
    if not tandem.limits.decides_now:
        handle_now = None  # every message awaits its rate check: each frame is parsed once
    max_frame = tandem.settings.max_frame_bytes
    backstop = _backstop(websocket, tandem)
    if drain is None:
        await _serve_until(
            websocket, subscription, cursor, backstop, handle, handle_now, max_frame, watch, None
        )
        return
    with drain.socket():
        if drain.draining:  # stop accepting: clients reconnect to another process
            if isinstance(watch, asyncio.Future):
                watch.cancel()
            else:
                watch.close()
            with contextlib.suppress(Exception):
                await websocket.close(status.WS_1012_SERVICE_RESTART, CLOSE_REASON)
            return
        await _serve_until(
            websocket, subscription, cursor, backstop, handle, handle_now, max_frame, watch, drain
        )


async def _serve_until(
    websocket: WebSocket,
    subscription: Subscription,
    cursor: Cursor,
    backstop: Backstop,
    handle: Handler,
    handle_now: NowHandler | None,
    max_frame: int,
    watch: Watch,
    drain: Drain | None,
) -> None:
    """Two tasks per socket (the loops); the watchdog of a user's socket and the drain are
    futures, not tasks (memory: 10,000 idle sockets)."""
    outgoing = asyncio.create_task(_forward(subscription, cursor, backstop))
    incoming = asyncio.create_task(
        receive(websocket, handle, max_frame=max_frame, handle_now=handle_now)
    )
    watchdog = watch if isinstance(watch, asyncio.Future) else asyncio.create_task(watch)
    tasks: set[asyncio.Future[Any]] = {outgoing, incoming, watchdog}
    closing = None
    if drain is not None:
        closing = drain.closing_future()  # shared by every socket: never cancelled here
        tasks.add(closing)
    done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    if incoming in done and isinstance(incoming.exception(), BinaryFrame):
        await asyncio.wait({outgoing}, timeout=CLOSE_LINGER_SECONDS)
    if closing is not None:
        pending.discard(closing)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    for task in done:
        exc = task.exception()
        if task is closing:
            with contextlib.suppress(Exception):
                await websocket.close(status.WS_1012_SERVICE_RESTART, CLOSE_REASON)
        elif task is watchdog and exc is None:
            with contextlib.suppress(Exception):
                await websocket.close(status.WS_1008_POLICY_VIOLATION, task.result())
        elif isinstance(exc, SubscriberOverflow):
            with contextlib.suppress(Exception):
                await websocket.close(status.WS_1013_TRY_AGAIN_LATER, "too slow: resume with after")
        elif isinstance(exc, CatchUpFailed):
            log.warning("socket could not catch up (%s): closing 1012", exc, exc_info=exc)
            with contextlib.suppress(Exception):
                await websocket.close(status.WS_1012_SERVICE_RESTART, "catching up failed: resume")
        elif isinstance(exc, BinaryFrame):
            with contextlib.suppress(Exception):
                await websocket.close(status.WS_1003_UNSUPPORTED_DATA, "frames must be text")
        elif exc is not None and not isinstance(exc, (WebSocketDisconnect, WebSocketDisconnected)):
            if websocket.application_state is WebSocketState.DISCONNECTED or _closed_by_server(exc):
                continue  # it was still sending when the socket closed: nobody left to tell
            raise exc


def _closed_by_server(exc: BaseException) -> bool:
    """A send after uvicorn closed the connection itself (e.g. a keepalive ping unanswered),
    which the ASGI server reports as a RuntimeError rather than a disconnect."""
    return isinstance(exc, RuntimeError) and "after sending 'websocket.close'" in str(exc)


async def _forward(subscription: Subscription, cursor: Cursor, backstop: Backstop) -> None:
    """Send the hub's frames through the cursor (dedupe, gaps filled). The backstop wakes this
    loop when it finds the socket behind; when the hub says events were lost, it asks the
    backstop for a round at once and fills from it (or closes 1012 if that fails)."""
    loop = asyncio.get_running_loop()
    armed: float | None = None  # when the subscription's timer wakes this loop
    # The usual frame is sent by the hub's call, without waking this loop (it still waits).
    subscription.direct = lambda event: cursor.deliver_now(event.message)
    try:
        with backstop.watching(cursor, subscription.wake_at):
            while True:
                if subscription.missed:
                    subscription.missed = False
                    try:
                        await backstop.check_now()
                    except Exception as exc:
                        raise CatchUpFailed(
                            "the broker reconnected; the database did not answer"
                        ) from exc
                    await cursor.confirm()
                    continue
                due = cursor.due
                if due is not None and loop.time() >= due:
                    await cursor.confirm()  # a gap held too long, or one the backstop found
                    continue
                if due is not None and due != armed:
                    subscription.wake_at(due)
                    armed = due
                event = await subscription.next()
                if event is not None:
                    await cursor.deliver(event.message)
                elif cursor.due is not None:  # the timer fired a hair early (clock resolution)
                    armed = None
    finally:
        subscription.direct = None


async def _send(
    tandem: Tandem, room_id: str, frame: dict[str, Any], agent: Agent | None
) -> asyncio.Task[Any]:
    """Check the frame and the sender's rate now; store it in a task that is queued before
    this returns (only a valid message counts against the rate)."""
    text, client_id = _checked(tandem, frame, agent)
    await tandem.limits.message(room_id=room_id, agent_id=agent.id if agent else None)
    # Tasks start in creation order and queue their draft before their first await, so the
    # writer sees one connection's messages in the order they were sent.
    return tandem.rooms.send_soon(room_id, text=text, client_id=client_id, agent=agent)


def _send_now(
    tandem: Tandem, room_id: str, frame: dict[str, Any], agent: Agent | None
) -> asyncio.Task[Any] | None:
    """`_send` without awaiting: None, with nothing counted, when the sender's rate can only
    be checked by awaiting (the counters are in Redis)."""
    text, client_id = _checked(tandem, frame, agent)
    if not tandem.limits.message_now(room_id=room_id, agent_id=agent.id if agent else None):
        return None
    return tandem.rooms.send_soon(room_id, text=text, client_id=client_id, agent=agent)


def _checked(tandem: Tandem, frame: dict[str, Any], agent: Agent | None) -> tuple[str, str | None]:
    """The message's text as it is stored, and its client_id; or why it is refused."""
    text, client_id = frame_message(frame)
    return check_message(text, agent=agent, max_chars=tandem.settings.max_message_chars), client_id
