"""Sockets through the lean protocol (api/ws_protocol.py) and the socket routes served before
FastAPI's stack (api/socket_routes.py): both lean on internals, so a dependency upgrade that
changes them must fail here, not cost memory silently."""

from __future__ import annotations

import asyncio
import json
import struct
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
import uvicorn
import websockets
from fastapi import FastAPI

from api.main import create_app
from api.routes import ws
from api.socket_routes import SocketsFirstAPI
from api.ws_protocol import LeanWebSocketsProtocol, WebSocketProtocol, compatible, stock_attributes
from tests.conftest import free_port, make_settings, start_server


def test_uvicorn_still_sets_up_what_the_lean_protocol_replaces() -> None:
    assert stock_attributes() is not None, "uvicorn's source is not readable"
    assert compatible(), (
        "uvicorn's WebSocketsSansIOProtocol changed: update api/ws_protocol.py "
        "(STOCK_ATTRIBUTES and LeanWebSocketsProtocol.__init__)"
    )
    assert WebSocketProtocol is LeanWebSocketsProtocol


def test_both_socket_routes_are_served_before_fastapi(sqlite_url: str) -> None:
    app = create_app(make_settings(sqlite_url))
    assert isinstance(app, SocketsFirstAPI)
    served = {route.endpoint for route, _ in app.socket_routes()}
    assert served == {ws.room_socket, ws.agent_socket}, "FastAPI's routing changed"
    # Still registered with FastAPI (names, paths) and, as sockets, outside the schema.
    assert app.url_path_for("room_socket", room_id="r1") == "/ws/rooms/r1"
    assert not any("/ws/" in path for path in app.openapi()["paths"])


@asynccontextmanager
async def lean_server(
    sqlite_url: str, *, ping_seconds: float | None = None, through_fastapi: bool = False
) -> AsyncIterator[tuple[uvicorn.Server, str, str]]:
    """The app under uvicorn with the lean protocol: (server, http base, ws base).
    `through_fastapi`: sockets served by FastAPI's stack (a dependency override does that)."""

    def override(app: FastAPI) -> None:
        if through_fastapi:
            app.dependency_overrides[free_port] = free_port

    async for live in start_server(
        make_settings(sqlite_url),
        app_setup=override,
        ws_ping_interval=ping_seconds,
        ws_ping_timeout=ping_seconds,
    ):
        yield live.uvicorn, live.url, live.ws_url


async def new_room(base: str) -> tuple[str, str]:
    async with httpx.AsyncClient(base_url=base) as http:
        body = (await http.post("/api/rooms")).json()
    return body["room"]["id"], body["token"]


async def test_a_socket_through_the_lean_protocol_end_to_end(sqlite_url: str) -> None:
    async with lean_server(sqlite_url, ping_seconds=0.2) as (server, base, ws_base):
        room_id, token = await new_room(base)
        async with websockets.connect(
            f"{ws_base}/ws/rooms/{room_id}",
            subprotocols=[
                websockets.Subprotocol("tandem"),
                websockets.Subprotocol(f"bearer.{token}"),
            ],
        ) as conn:
            assert conn.subprotocol == "tandem"  # never the bearer one
            lean = [c for c in server.server_state.connections if isinstance(c, WebSocketProtocol)]
            assert lean and all(type(c) is LeanWebSocketsProtocol for c in lean)
            assert json.loads(await conn.recv())["type"] == "room"
            await conn.send(json.dumps({"type": "ping"}))
            assert json.loads(await conn.recv()) == {"type": "pong"}
            await (await conn.ping())  # a protocol ping is answered
            await asyncio.sleep(0.8)  # the server's keepalive pings, answered by the client
            await conn.send(json.dumps({"type": "message", "text": "hello", "client_id": "c1"}))
            while True:
                frame = json.loads(await conn.recv())
                if frame["type"] == "message" and frame["message"]["sender"] == "user":
                    assert frame["message"]["client_id"] == "c1"
                    break
            await conn.send(b"\x00")  # binary: an error frame, then 1003
            assert json.loads(await conn.recv())["code"] == "bad_frame"
            with pytest.raises(websockets.exceptions.ConnectionClosed) as closed:
                while True:
                    await conn.recv()
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1003
        # a refused token: accepted, then closed with 1008 and its reason (`?token=` too)
        with pytest.raises(websockets.exceptions.ConnectionClosed) as closed:
            async with websockets.connect(f"{ws_base}/ws/agent?token={token}") as conn:
                await conn.recv()
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
        assert closed.value.rcvd.reason == "an agent token is required"
        async with websockets.connect(f"{ws_base}/ws/rooms/{room_id}?token={token}") as conn:
            assert json.loads(await conn.recv())["type"] == "room"
        await asyncio.sleep(0.1)
        assert not [c for c in server.server_state.connections if isinstance(c, WebSocketProtocol)]


async def test_a_client_that_never_answers_pings_is_closed_1011(sqlite_url: str) -> None:
    async with lean_server(sqlite_url, ping_seconds=0.2) as (_, base, _):
        room_id, token = await new_room(base)
        reader, writer = await asyncio.open_connection("127.0.0.1", int(base.rsplit(":", 1)[1]))
        writer.write(
            (
                f"GET /ws/rooms/{room_id}?token={token} HTTP/1.1\r\nHost: x\r\n"
                "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )
        assert (await reader.readuntil(b"\r\n\r\n")).startswith(b"HTTP/1.1 101")
        opcodes = []
        async with asyncio.timeout(5):
            while True:
                head = await reader.readexactly(2)
                length = head[1] & 0x7F
                if length == 126:
                    (length,) = struct.unpack("!H", await reader.readexactly(2))
                payload = await reader.readexactly(length)
                opcodes.append(head[0] & 0x0F)
                if head[0] & 0x0F == 0x8:  # close
                    assert struct.unpack("!H", payload[:2])[0] == 1011
                    break
        assert opcodes[0] == 0x1 and 0x9 in opcodes  # the room frame, then a ping
        writer.close()


async def test_the_inbox_hands_a_message_on_when_its_reader_is_cancelled() -> None:
    """As asyncio.Queue: a reader woken for a message, then cancelled, loses nothing."""
    from api.ws_protocol import _Inbox

    inbox = _Inbox(asyncio.get_running_loop())
    first = asyncio.create_task(inbox.get())
    second = asyncio.create_task(inbox.get())
    await asyncio.sleep(0)
    inbox.put_nowait({"type": "websocket.connect"})
    first.cancel()  # woken, not yet run
    assert await asyncio.wait_for(second, 1) == {"type": "websocket.connect"}
    assert first.cancelled() and inbox.empty()
    for n in range(3):
        inbox.put_nowait(n)
    assert [await inbox.get() for _ in range(3)] == [0, 1, 2]


@pytest.mark.parametrize("through_fastapi", [False, True])
async def test_served_first_or_by_fastapi_a_socket_behaves_the_same(
    sqlite_url: str, through_fastapi: bool
) -> None:
    async with lean_server(sqlite_url, through_fastapi=through_fastapi) as (_, base, ws_base):
        room_id, token = await new_room(base)
        _, other_token = await new_room(base)
        for url, reason in (
            (f"{ws_base}/ws/rooms/{room_id}", "invalid or missing token"),
            (f"{ws_base}/ws/rooms/{room_id}?token={other_token}", "invalid or missing token"),
            (f"{ws_base}/ws/rooms/nope?token={token}", "invalid or missing token"),
            (f"{ws_base}/ws/agent?token={token}", "an agent token is required"),
        ):
            with pytest.raises(websockets.exceptions.ConnectionClosed) as closed:
                async with websockets.connect(url) as conn:
                    await conn.recv()
            assert closed.value.rcvd is not None
            assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (1008, reason)
        with pytest.raises(websockets.exceptions.InvalidStatus) as refused:
            await websockets.connect(f"{ws_base}/ws/nowhere")
        assert refused.value.response.status_code == 403
        async with websockets.connect(f"{ws_base}/ws/rooms/{room_id}?token={token}") as conn:
            assert json.loads(await conn.recv())["room"]["id"] == room_id
