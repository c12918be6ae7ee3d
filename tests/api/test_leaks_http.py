"""Nothing leaks: no token in logs, a WebSocket token outside the URL, no formulas in the CSV,
security headers on every response. Through a real uvicorn (and `tandem serve` for the logs)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import httpx
import pytest
import websockets
from websockets.sync.client import connect
from websockets.typing import Subprotocol

from tests.api.test_stats_http import around_today
from tests.conftest import LiveServer, auth
from tests.ui.conftest import start_api, stop


def test_tandem_serve_logs_no_token(tmp_path: Path) -> None:
    api = start_api(tmp_path)
    try:
        token = httpx.post(f"{api.url}/api/rooms").json()["token"]
        refused = httpx.get(f"{api.url}/api/rooms/x?token={token}")  # logged, then 401
        assert refused.status_code == 401
        ws_url = api.url.replace("http://", "ws://")
        with (
            connect(f"{ws_url}/ws/agent?token={token}") as ws,  # a room token: refused, 1008
            pytest.raises(websockets.exceptions.ConnectionClosed),
        ):
            ws.recv(timeout=5)
    finally:
        stop(api.process)
    log = api.log.read_text()
    assert "token=[redacted]" in log and '"WebSocket /ws/agent?token=[redacted]"' in log, log
    assert token not in log and token.split(".")[-1] not in log


async def test_the_websocket_token_rides_in_a_subprotocol(server: LiveServer) -> None:
    room_id, token = await server.new_room()
    async with websockets.connect(
        f"{server.ws_url}/ws/rooms/{room_id}",
        subprotocols=[Subprotocol("tandem"), Subprotocol(f"bearer.{token}")],
    ) as ws:
        assert ws.subprotocol == "tandem"
        assert (await ws.recv(decode=True)).startswith('{"type":"room"')
    _, agent_token = await server.add_agent("Alice")
    async with websockets.connect(
        f"{server.ws_url}/ws/agent",
        subprotocols=[Subprotocol("tandem"), Subprotocol(f"bearer.{agent_token}")],
    ) as console:
        assert console.subprotocol == "tandem"
        assert (await console.recv(decode=True)).startswith('{"type":"queue"')


async def test_the_csv_neutralises_formulas(server: LiveServer) -> None:
    _, analyst = await server.add_agent("Ana", role="analyst")
    _, agent = await server.add_agent('=HYPERLINK("http://x")')
    await server.http.get("/api/queue", headers=auth(agent))
    room_id, token = await server.new_room()
    await server.http.post(f"/api/rooms/{room_id}/handoff", headers=auth(token))
    joined = await server.http.post(f"/api/rooms/{room_id}/join", headers=auth(agent))
    assert joined.status_code == 200
    response = await server.http.get(
        "/api/stats/conversations.csv", params=around_today(), headers=auth(analyst)
    )
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [r["agents"] for r in rows] == ['\'=HYPERLINK("http://x")']
    assert rows[0]["messages_system"] == "2" and rows[0]["wait_seconds"][0].isdigit()


async def test_security_headers(sqlite_server: LiveServer) -> None:
    created = await sqlite_server.http.post("/api/rooms")
    missing = await sqlite_server.http.get("/api/rooms/nope")
    health = await sqlite_server.http.get("/healthz")
    for response in (created, missing, health):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["referrer-policy"] == "no-referrer"
    assert created.headers["cache-control"] == "no-store"
    agent, _ = await sqlite_server.add_agent("Alice")
    login = await sqlite_server.http.post(
        "/api/auth/token", data={"username": agent.email, "password": "s3cret-pass"}
    )
    assert login.headers["cache-control"] == "no-store"
    assert "cache-control" not in health.headers
