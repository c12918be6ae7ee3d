"""A socket's frames from the client: read one at a time, the work each starts (storing a
message) begun without waiting for it, and the outcomes acknowledged in the order the frames
came, errors as `error` frames (`api/routes/ws.py` serves the sockets)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import WebSocket, WebSocketDisconnect
from starlette.websockets import WebSocketDisconnected

from api.frames import error_frame
from api.limits import RateLimited
from api.message_rules import MessageRefused
from api.room_states import RoutingError
from api.routes.ws_frames import FrameError, parse_frame
from db.engine import RETRY_AFTER_SECONDS, UNAVAILABLE, UNAVAILABLE_DETAIL
from db.queries import RoomNotFound

log = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any]], Awaitable["asyncio.Task[Any] | None"]]
"""Handles one frame; returns the task of work it started but did not wait for, if any."""
MAX_IN_FLIGHT = 256
"""Messages one connection may have waiting for storage before reading its next frame waits."""
_in_flight: set[asyncio.Task[Any]] = set()
Outcome = asyncio.Task[Any] | str | None
"""What `_acknowledge` answers next: a message being stored, an error frame, or None: stop."""


class BinaryFrame(Exception):
    """The client sent a binary frame: answered and acknowledged up to it; close with 1003."""


async def receive(websocket: WebSocket, handle: Handler, *, max_frame: int) -> None:
    """Read frames and start their work without waiting for it.

    A message is queued for storage the moment its frame is read, so one connection can have
    many in flight (the writer batches them) while they are still stored in the order sent.
    Their outcomes are acknowledged in that order by `_acknowledge`: errors as `error` frames.
    """
    # Made with the first outcome: an idle socket (most of 10,000) never needs them.
    outcomes: asyncio.Queue[Outcome] | None = None
    acknowledging: asyncio.Task[None] | None = None

    async def put(outcome: Outcome) -> asyncio.Task[None]:
        nonlocal outcomes, acknowledging
        if outcomes is None or acknowledging is None:
            outcomes = asyncio.Queue(maxsize=MAX_IN_FLIGHT)
            acknowledging = asyncio.create_task(_acknowledge(websocket, outcomes))
        await outcomes.put(outcome)
        return acknowledging

    try:
        while True:
            received = await websocket.receive()
            if received["type"] == "websocket.disconnect":
                raise WebSocketDisconnect(received.get("code", 1000), received.get("reason"))
            raw = received.get("text")
            if raw is None:  # binary: answer, acknowledge everything before it, then close
                detail = "Frames must be JSON text; binary frames are not accepted."
                await put(error_frame("bad_frame", detail))
                await (await put(None))
                raise BinaryFrame()
            try:
                started = await handle(parse_frame(raw, max_frame))
            except (WebSocketDisconnect, WebSocketDisconnected):
                raise
            except Exception as exc:
                await put(error_text(exc))
                continue
            if started is not None:
                _in_flight.add(started)
                started.add_done_callback(_in_flight.discard)
                try:
                    await put(started)
                except BaseException:  # closed while the queue was full
                    started.add_done_callback(_unacknowledged)
                    raise
    finally:
        if acknowledging is not None:
            acknowledging.cancel()
            # It may have ended on its own: a send to a socket already closed.
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await acknowledging
        while outcomes is not None and not outcomes.empty():  # never acknowledged: gone
            left = outcomes.get_nowait()
            if isinstance(left, asyncio.Task):
                left.add_done_callback(_unacknowledged)


def _unacknowledged(task: asyncio.Task[Any]) -> None:
    """A message whose socket closed before its answer: its failure can only be logged."""
    if not task.cancelled() and (exc := task.exception()) is not None:
        log.info("a message's socket closed before its error could be sent: %r", exc)


async def _acknowledge(websocket: WebSocket, outcomes: asyncio.Queue[Outcome]) -> None:
    while True:
        outcome = await outcomes.get()
        if outcome is None:
            return
        if isinstance(outcome, str):
            await websocket.send_text(outcome)
            continue
        try:
            await outcome
        except Exception as exc:
            await websocket.send_text(error_text(exc))


def error_text(exc: Exception) -> str:
    if isinstance(exc, RateLimited):
        return error_frame("rate_limited", exc.detail, retry_after=exc.retry_after)
    if isinstance(exc, FrameError | RoutingError | MessageRefused):
        return error_frame(exc.code, exc.detail)
    if isinstance(exc, RoomNotFound):
        return error_frame("not_found", "No such room.")
    if isinstance(exc, UNAVAILABLE):
        log.warning("database unavailable: %s", type(exc).__name__)
        return error_frame("unavailable", UNAVAILABLE_DETAIL, retry_after=RETRY_AFTER_SECONDS)
    log.error("frame failed", exc_info=exc)
    return error_frame("internal", "That failed on our side; retry.")
