"""The app factory and its lifespan: everything with state is built here, once, and torn down."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.abandon import Abandoner
from api.ai import make_assistant
from api.config import Settings, get_settings
from api.deps import Tandem
from api.jwt_secret import resolve_jwt_secret
from api.limits import Limits, RateLimited
from api.logs import install as install_log_redaction
from api.message_rules import MessageRefused
from api.presence import Presence
from api.realtime.drain import Drain
from api.realtime.hub import Hub
from api.room_states import RoutingError
from api.rooms import RoomService
from api.routes import (
    agents,
    auth,
    board,
    config,
    followups,
    health,
    notes,
    ratings,
    rooms,
    saved_replies,
    stats,
    visitors,
    ws,
)
from api.security import SecurityHeaders
from api.socket_routes import SocketsFirstAPI
from db.engine import RETRY_AFTER_SECONDS, UNAVAILABLE, UNAVAILABLE_DETAIL, Database
from db.migrate import upgrade
from db.queries import RoomNotFound
from db.rollup_folder import RollupFolder

log = logging.getLogger(__name__)

MAX_ERRORS = 20
"""Validation errors listed in a 422 at most: enough to act on, never a body's worth."""
MAX_ERROR_CHARS = 200


GC_YOUNG_THRESHOLD = 20_000
"""Allocations between young collections while serving (CPython's default is 700)."""
GC_FULL_THRESHOLD = 100
"""Middle-generation collections between full ones while serving (CPython's default is 10): a
full pass walks every socket's objects and stalls the loop ~1.1 s with 10,000 open."""


@contextmanager
def _steady_gc() -> Iterator[None]:
    """While the app serves: what startup built (~150,000 objects: modules, models, the AI's
    data) is frozen out of the collector's scans, and young and full collections run less often.
    Relaying a message allocates many short-lived containers; with the defaults the cyclic
    collector took about a quarter of the API's CPU under load (see README, Relay benchmark).
    Undone on the way out, so a process that builds many apps (the tests) leaks nothing."""
    threshold = gc.get_threshold()
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_YOUNG_THRESHOLD, threshold[1], GC_FULL_THRESHOLD)
    try:
        yield
    finally:
        gc.set_threshold(*threshold)
        gc.unfreeze()


def create_app(settings: Settings | None = None) -> FastAPI:
    # Here rather than in the lifespan: a refusal is one line before uvicorn starts, not a
    # traceback from a failed startup.
    settings = resolve_jwt_secret(settings or get_settings())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        db = Database(settings.database_url, pool_size=settings.db_pool_size)
        await upgrade(db.engine)
        hub = Hub(settings.broker_url, max_queue=settings.hub_queue_size)
        await hub.connect()
        assistant = make_assistant(settings)
        presence = Presence(db, window_seconds=settings.presence_seconds)
        service = RoomService(
            db=db,
            hub=hub,
            assistant=assistant,
            presence=presence,
            batch_max=settings.write_batch_max,
            batch_interval=settings.write_batch_interval_ms / 1000,
            auto_assign=settings.auto_assign,
            ai_while_waiting=settings.ai_while_waiting,
        )
        await service.start()
        folder = RollupFolder(db)  # statistics rollups, folded in after commits
        await folder.start()
        abandoner = Abandoner(
            service,
            minutes=settings.abandon_minutes,
            every_seconds=settings.abandon_check_seconds,
        )
        abandoner.start()
        service.writer.on_commit.append(folder.notify)  # fold the rooms it wrote to
        limits = Limits(settings)
        app.state.tandem = Tandem(
            settings=settings, db=db, hub=hub, presence=presence, rooms=service, limits=limits
        )
        drain = app.state.drain = Drain()
        drain.install(service.replies.idle, settings.drain_seconds)
        try:
            with _steady_gc():
                yield
        finally:
            drain.uninstall()
            await abandoner.stop()
            await folder.stop()
            await service.stop()
            await limits.aclose()
            await assistant.aclose()
            await hub.disconnect()
            await db.dispose()

    # FastAPI, with the sockets served before its stack (memory per idle socket).
    app = SocketsFirstAPI(title="Tandem", version="0.1.0", lifespan=lifespan)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(SecurityHeaders)  # outermost: its own 413s get the headers too
    install_log_redaction()
    for module in (
        auth,
        rooms,
        health,
        ws,
        stats,
        saved_replies,
        notes,
        config,
        agents,
        board,
        ratings,
        visitors,
        followups,
    ):
        app.include_router(module.router)

    @app.exception_handler(RoutingError)
    async def routing_error(_: Request, exc: RoutingError) -> JSONResponse:
        return JSONResponse({"detail": exc.detail, "code": exc.code}, status_code=exc.status)

    @app.exception_handler(RateLimited)
    async def rate_limited(_: Request, exc: RateLimited) -> JSONResponse:
        return JSONResponse(
            {"detail": exc.detail, "code": "rate_limited"},
            status_code=429,
            headers={"Retry-After": str(exc.retry_after)},
        )

    @app.exception_handler(MessageRefused)
    async def message_refused(_: Request, exc: MessageRefused) -> JSONResponse:
        return JSONResponse({"detail": exc.detail}, status_code=exc.status)

    @app.exception_handler(RoomNotFound)
    async def room_not_found(_: Request, exc: RoomNotFound) -> JSONResponse:
        return JSONResponse({"detail": "Room not found."}, status_code=404)

    async def database_unavailable(_: Request, exc: Exception) -> JSONResponse:
        """The database is unreachable (or the pool has no connection to give): the request
        may be retried, unlike a bug's 500."""
        log.warning("database unavailable: %s", type(exc).__name__)
        return JSONResponse(
            {"detail": UNAVAILABLE_DETAIL, "code": "unavailable"},
            status_code=503,
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )

    for unavailable in UNAVAILABLE:
        app.add_exception_handler(unavailable, database_unavailable)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"detail": validation_detail(exc.errors())}, status_code=422)

    return app


def validation_detail(errors: Sequence[Any]) -> list[dict[str, Any]]:
    """FastAPI's 422 `detail` list (`loc`, `msg`, `type`) without the `input` it echoes: a big
    body would come back whole, and a lone surrogate in it made the default handler fail (500)."""
    return [
        {
            "loc": [_printable(part) for part in error.get("loc", ())],
            "msg": _printable(error.get("msg", "")),
            "type": _printable(error.get("type", "")),
        }
        for error in errors[:MAX_ERRORS]
    ]


def _printable(value: object) -> int | str:
    """Short, and encodable as UTF-8 (a lone surrogate becomes its escape, `\\ud800`)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value  # a list index in `loc`
    text = str(value).encode("utf-8", "backslashreplace").decode("utf-8")
    return text if len(text) <= MAX_ERROR_CHARS else text[:MAX_ERROR_CHARS] + "…"


class BodyTooLarge(HTTPException):
    """Raised by `BodySizeLimit`'s `receive`; FastAPI lets an HTTPException raised while it reads
    a body through (others become a 400), so the route answers 413 itself."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(413, f"Request body over {max_bytes} bytes.")


class BodySizeLimit:
    """Refuse request bodies over `max_bytes` with 413 without reading them into memory: at once
    when Content-Length says so, else (chunked) as soon as the bytes received pass the limit."""

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope["headers"]).get(b"content-length", b"")
        if length.isdigit() and (len(length) > 12 or int(length) > self.max_bytes):
            await self._refuse(scope, receive, send)
            return
        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)
            return message

        async def watching_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, watching_send)
        except BodyTooLarge:
            if not started:  # read outside a route's body parsing: answer here
                await self._refuse(scope, receive, send)
            # else a response is under way: stop; the server closes the connection

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = JSONResponse(
            {"detail": f"Request body over {self.max_bytes} bytes."}, status_code=413
        )
        await response(scope, receive, send)
