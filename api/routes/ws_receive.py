"""A socket's frames from the client: read one at a time, the work each starts (storing a
message) begun without waiting for it, and the outcomes acknowledged in the order the frames
came, errors as `error` frames (`api/routes/ws.py` serves the sockets). A message frame read
while the loop waits with nothing queued is started by the protocol's call, without waking
the loop (`TAKE_TEXT_NOW`); any other frame, and any refusal, is the loop's."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import WebSocket, WebSocketDisconnect
from starlette.websockets import WebSocketDisconnected

from api.frames import error_frame
from api.limits import RateLimited
from api.message_rules import MessageRefused
from api.room_states import RoutingError
from api.routes.ws_frames import FrameError, parse_frame
from api.ws_protocol import TAKE_TEXT_NOW
from db.engine import RETRY_AFTER_SECONDS, UNAVAILABLE, UNAVAILABLE_DETAIL
from db.queries import RoomNotFound

log = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any]], Awaitable["asyncio.Task[Any] | None"]]
"""Handles one frame; returns the task of work it started but did not wait for, if any."""
NowHandler = Callable[[dict[str, Any]], "asyncio.Task[Any] | None"]
"""Starts a message frame's work without awaiting and returns its task; None for a frame it
leaves to `Handler` (any other type, or a check that has to await). Raises as `Handler` would."""
MAX_IN_FLIGHT = 256
"""Messages one connection may have waiting for storage before reading its next frame waits."""
_in_flight: set[asyncio.Task[Any]] = set()
Outcome = asyncio.Task[Any] | str
"""What a socket owes its client next: a message being stored, or an error frame."""


class BinaryFrame(Exception):
    """The client sent a binary frame: answered and acknowledged up to it; close with 1003."""


async def receive(
    websocket: WebSocket, handle: Handler, *, max_frame: int, handle_now: NowHandler | None = None
) -> None:
    """Read frames and start their work without waiting for it.

    A message is queued for storage the moment its frame is read, so one connection can have
    many in flight (the writer batches them) while they are still stored in the order sent.
    Their outcomes are acknowledged in that order (`_Answers`): errors as `error` frames.
    """
    answers = _Answers(websocket, handle_now=handle_now, max_frame=max_frame)
    extensions = websocket.scope.get("extensions") or {}
    take_texts_with = extensions.get(TAKE_TEXT_NOW) if handle_now is not None else None
    if take_texts_with is not None:
        take_texts_with(answers.take)  # one object per socket: see `_Answers.take`
    try:
        while True:
            received = await websocket.receive()
            if received["type"] == "websocket.disconnect":
                raise WebSocketDisconnect(received.get("code", 1000), received.get("reason"))
            raw = received.get("text")
            if raw is None:  # binary: answer, acknowledge everything before it, then close
                detail = "Frames must be JSON text; binary frames are not accepted."
                await answers.put(error_frame("bad_frame", detail))
                await answers.drained()
                raise BinaryFrame()
            try:
                started = await handle(parse_frame(raw, max_frame))
            except (WebSocketDisconnect, WebSocketDisconnected):
                raise
            except Exception as exc:
                await answers.put(error_text(exc))
                continue
            if started is not None:
                _keep(started)
                try:
                    await answers.put(started)
                except BaseException:  # closed while too many were in flight
                    started.add_done_callback(_unacknowledged)
                    raise
    finally:
        if take_texts_with is not None:
            take_texts_with(None)
        await answers.close()


class _Answers:
    """What one socket owes its client, in the order its frames came: messages being stored
    and error frames. A stored message is answered by its own `message` frame (from the hub),
    so it is dropped here by a done callback, without waking a task: per message, that was two
    task steps and a queue. A task that sends error frames starts with the first one (most
    sockets never need it)."""

    def __init__(
        self, websocket: WebSocket, *, handle_now: NowHandler | None, max_frame: int
    ) -> None:
        self._websocket = websocket
        self._handle_now = handle_now
        self._max_frame = max_frame
        self._owed: deque[Outcome] = deque()
        self._sender: asyncio.Task[None] | None = None
        self._sending = False
        """The sender took an error frame off `_owed` and is sending it."""
        self._wake: asyncio.Future[None] | None = None
        """The sender waits on it for the next error frame."""
        self._waiters: list[asyncio.Future[None]] = []
        """`put` waiting for room, `drained` for the end: woken when `_owed` shrinks."""
        self._closed = False

    def take(self, raw: str) -> bool:
        """A frame read while `receive` waits for one: a message is started now (True);
        anything else is declined (False) and queued for the loop, which answers a refusal
        in its turn. A method, not a closure: every object a socket keeps for its life makes
        the collector's full passes longer (10,000 sockets)."""
        if len(self._owed) >= MAX_IN_FLIGHT or self._closed or self._handle_now is None:
            return False
        try:
            started = self._handle_now(parse_frame(raw, self._max_frame))
        except Exception:
            return False  # the loop reads it again and words the error
        if started is None:
            return False
        _keep(started)
        self.put_now(started)
        return True

    async def put(self, outcome: Outcome) -> None:
        while len(self._owed) >= MAX_IN_FLIGHT:
            await self._change()
        self.put_now(outcome)

    def put_now(self, outcome: Outcome) -> None:
        """`put` when fewer than `MAX_IN_FLIGHT` are owed."""
        self._owed.append(outcome)
        if isinstance(outcome, asyncio.Task) and not outcome.done():
            outcome.add_done_callback(self._settled)
        else:
            self._settle()

    async def drained(self) -> None:
        """Every outcome put so far is answered (its error frame sent, if any)."""
        while self._owed or self._sending:
            await self._change()

    async def close(self) -> None:
        """Stop answering. The messages still being stored can only log a failure."""
        self._closed = True
        if self._sender is not None:
            self._sender.cancel()
            # It may have ended on its own: a send to a socket already closed.
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._sender
        for left in self._owed:
            if isinstance(left, asyncio.Task):
                left.add_done_callback(_unacknowledged)
        self._owed.clear()
        self._notify()

    def _settled(self, _task: asyncio.Task[Any]) -> None:
        self._settle()

    def _settle(self) -> None:
        """Drop the stored messages at the head; wake the sender if an error frame is next."""
        if self._closed:
            return
        owed, dropped = self._owed, False
        while owed and _stored(owed[0]):
            owed.popleft()
            dropped = True
        if owed and _failed(owed[0]):
            if self._sender is None:
                self._sender = asyncio.create_task(self._send_errors())
                self._sender.add_done_callback(lambda _: self._notify())
            elif self._wake is not None and not self._wake.done():
                self._wake.set_result(None)
        if dropped:
            self._notify()

    async def _send_errors(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            while self._owed and _failed(self._owed[0]):
                text = _error_text(self._owed.popleft())
                self._sending = True
                try:
                    await self._websocket.send_text(text)
                finally:
                    self._sending = False
                self._notify()
                self._settle()  # messages stored meanwhile, behind that error
            self._wake = loop.create_future()
            await self._wake

    async def _change(self) -> None:
        """Wait until `_owed` shrinks; raise if the sender failed (it cannot shrink again)."""
        if self._sender is not None and self._sender.done():
            self._sender.result()
            raise WebSocketDisconnected("the socket closed")
        if self._closed:
            raise WebSocketDisconnected("the socket closed")
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        await waiter

    def _notify(self) -> None:
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)


def _keep(started: asyncio.Task[Any]) -> None:
    """Hold a message's task until it is done: the loop keeps only a weak reference."""
    _in_flight.add(started)
    started.add_done_callback(_in_flight.discard)


def _stored(outcome: Outcome) -> bool:
    """A message stored (or given up by the server, cancelled): nothing to answer."""
    return (
        isinstance(outcome, asyncio.Task)
        and outcome.done()
        and (outcome.cancelled() or outcome.exception() is None)
    )


def _failed(outcome: Outcome) -> bool:
    """`outcome` is answered with an error frame (and it is known which)."""
    return isinstance(outcome, str) or (
        outcome.done() and not outcome.cancelled() and outcome.exception() is not None
    )


def _error_text(failed: Outcome) -> str:
    if isinstance(failed, str):
        return failed
    return error_text(failed.exception())  # type: ignore[arg-type]  # an Exception: tasks raise those


def _unacknowledged(task: asyncio.Task[Any]) -> None:
    """A message whose socket closed before its answer: its failure can only be logged."""
    if not task.cancelled() and (exc := task.exception()) is not None:
        log.info("a message's socket closed before its error could be sent: %r", exc)


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
