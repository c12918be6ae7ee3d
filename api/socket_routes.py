"""The WebSocket routes served before FastAPI's stack (memory: 10,000 idle sockets).

Through FastAPI a socket keeps, for as long as it is open, the middleware's closures, the
router's frames and the AsyncExitStacks of dependency solving, though these routes'
dependencies (the app's `Tandem`, the principal from the token) hold nothing open.
`SocketsFirstAPI` serves `/ws/rooms/{room_id}` and `/ws/agent` itself: it matches them with
the routes FastAPI has registered, resolves their dependencies with the same functions
(api/deps.py) and handles exceptions with the app's handlers (a `WebSocketException` closes
with its code, as in Starlette). Everything else, HTTP and any other socket, goes through
FastAPI as before; the routes stay registered there (and out of the OpenAPI schema).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIWebSocketRoute, iter_route_contexts
from starlette._exception_handler import wrap_app_handling_exceptions
from starlette.middleware.exceptions import ExceptionMiddleware
from starlette.routing import Match
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket

from api.deps import get_tandem_ws, get_ws_agent, get_ws_room_principal
from api.routes import ws

Serve = Callable[[WebSocket, dict[str, Any]], Awaitable[None]]


async def _room(websocket: WebSocket, params: dict[str, Any]) -> None:
    tandem = get_tandem_ws(websocket)
    room_id: str = params["room_id"]
    principal = await get_ws_room_principal(websocket, room_id, tandem)
    await ws.room_socket(websocket, room_id, principal, tandem)


async def _agent(websocket: WebSocket, params: dict[str, Any]) -> None:
    tandem = get_tandem_ws(websocket)
    principal = await get_ws_agent(websocket, tandem)
    await ws.agent_socket(websocket, principal, tandem)


SERVED: dict[Callable[..., Any], tuple[Serve, frozenset[Callable[..., Any]]]] = {
    ws.room_socket: (_room, frozenset({get_ws_room_principal, get_tandem_ws})),
    ws.agent_socket: (_agent, frozenset({get_ws_agent, get_tandem_ws})),
}
"""Route endpoint: how it is served here, and the dependencies it declares (FastAPI's view).
A route whose declared dependencies differ from these is left to FastAPI."""


class SocketsFirstAPI(FastAPI):
    """FastAPI, with the WebSocket routes of `SERVED` dispatched before its stack."""

    _socket_routes: list[tuple[Any, Serve]] | None = None
    _socket_handlers: tuple[dict[Any, Any], dict[int, Any]] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket" and not self._left_to_fastapi():
            if self.root_path:
                scope["root_path"] = self.root_path
            for route, serve in self.socket_routes():
                match, child = route.matches(scope)
                if match is Match.FULL:
                    scope["app"] = self
                    scope.update(child)
                    await self._serve(serve, scope, receive, send)
                    return
        await super().__call__(scope, receive, send)

    def _left_to_fastapi(self) -> bool:
        """Dependencies are overridden (a test), or FastAPI's own telemetry is on (an
        OpenTelemetry tracer is set up, and it wraps every connection): FastAPI serves all."""
        if self.dependency_overrides:
            return True
        telemetry = getattr(self, "_native_telemetry", None)
        return telemetry is not None and bool(telemetry.enabled())

    def socket_routes(self) -> list[tuple[Any, Serve]]:
        """The registered routes served here, as FastAPI has them once included (prefix and
        dependencies of the inclusion applied); found once, on the first socket."""
        if self._socket_routes is None:
            found = []
            for route in iter_route_contexts(self.router.routes):
                if not isinstance(route.original_route, APIWebSocketRoute):
                    continue
                served = SERVED.get(route.endpoint)  # type: ignore[arg-type]
                if served is not None and _dependencies(route) == served[1]:
                    found.append((route, served[0]))
            self._socket_routes = found
        return self._socket_routes

    async def _serve(self, serve: Serve, scope: Scope, receive: Receive, send: Send) -> None:
        websocket = WebSocket(scope, receive=receive, send=send)
        try:
            await serve(websocket, scope.get("path_params", {}))
        except Exception as exc:
            # Handled as Starlette's ExceptionMiddleware would, wrapped only now: nothing of
            # it stays on the stack of an open socket.
            scope["starlette.exception_handlers"] = self._handlers()
            await wrap_app_handling_exceptions(_raising(exc), websocket)(scope, receive, send)

    def _handlers(self) -> tuple[dict[Any, Any], dict[int, Any]]:
        """The handlers FastAPI's ExceptionMiddleware has (500/Exception excepted: Starlette's
        ServerErrorMiddleware passes a socket's exception on to the server)."""
        if self._socket_handlers is None:
            handlers = {
                key: value
                for key, value in self.exception_handlers.items()
                if key not in (500, Exception)
            }
            middleware = ExceptionMiddleware(self.router, handlers=handlers, debug=self.debug)
            self._socket_handlers = (middleware._exception_handlers, middleware._status_handlers)
        return self._socket_handlers


def _raising(exc: Exception) -> ASGIApp:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        raise exc

    return app


def _dependencies(route: Any) -> frozenset[Callable[..., Any]]:
    return frozenset(d.call for d in route.dependant.dependencies if d.call is not None)
