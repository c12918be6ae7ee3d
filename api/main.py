"""The app factory and its lifespan: everything with state is built here, once, and torn down."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from api.ai import make_assistant
from api.config import Settings, get_settings
from api.deps import Tandem
from api.logs import install as install_log_redaction
from api.presence import Presence
from api.realtime.hub import Hub
from api.rooms import RoomService
from api.routes import auth, health, rooms, stats, ws
from api.routing import RoutingError
from api.security import SecurityHeaders
from db.engine import Database
from db.migrate import upgrade
from db.queries import RoomNotFound

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 64 * 1024


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        db = Database(settings.database_url)
        await upgrade(db.engine)
        hub = Hub(settings.broker_url)
        await hub.connect()
        assistant = make_assistant(settings)
        presence = Presence(db, window_seconds=settings.presence_seconds)
        service = RoomService(
            db=db,
            hub=hub,
            assistant=assistant,
            presence=presence,
            batch_max=settings.write_batch_max,
        )
        await service.start()
        app.state.tandem = Tandem(
            settings=settings, db=db, hub=hub, presence=presence, rooms=service
        )
        try:
            yield
        finally:
            await service.stop()
            await assistant.aclose()
            await hub.disconnect()
            await db.dispose()

    app = FastAPI(title="Tandem", version="0.1.0", lifespan=lifespan)
    app.add_middleware(BodySizeLimit, max_bytes=MAX_BODY_BYTES)
    app.add_middleware(SecurityHeaders)  # outermost: its own 413s get the headers too
    install_log_redaction()
    for module in (auth, rooms, health, ws, stats):
        app.include_router(module.router)

    @app.exception_handler(RoutingError)
    async def routing_error(_: Request, exc: RoutingError) -> JSONResponse:
        return JSONResponse({"detail": exc.detail, "code": exc.code}, status_code=exc.status)

    @app.exception_handler(RoomNotFound)
    async def room_not_found(_: Request, exc: RoomNotFound) -> JSONResponse:
        return JSONResponse({"detail": "Room not found."}, status_code=404)

    return app


class BodySizeLimit:
    """Refuse request bodies over `max_bytes` with 413 before reading them into memory."""

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            length = dict(scope["headers"]).get(b"content-length")
            if length is not None and length.isdigit() and int(length) > self.max_bytes:
                response = JSONResponse(
                    {"detail": f"Request body over {self.max_bytes} bytes."}, status_code=413
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
