"""The operational limits in `Settings` reach the places they limit (defaults: see config)."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
import websockets
from sqlalchemy.pool import QueuePool
from websockets.sync.client import connect

from api.config import Settings
from tests.api.test_ws import next_frame, of_type
from tests.conftest import ScratchMariaDB, auth, make_settings, start_server
from tests.ui.conftest import start_api, stop


def test_the_defaults_are_the_limits_tandem_always_had() -> None:
    defaults = {name: field.default for name, field in Settings.model_fields.items()}
    assert defaults["max_body_bytes"] == defaults["max_frame_bytes"] == 64 * 1024
    assert defaults["resume_page"] == 500
    assert defaults["hub_queue_size"] == 1000
    assert defaults["db_pool_size"] == 10


@pytest.mark.rate_limits_off
async def test_body_frame_and_resume_page_follow_the_settings(sqlite_url: str) -> None:
    settings = make_settings(
        sqlite_url, max_body_bytes=1000, max_frame_bytes=1024, resume_page=2, rate_limits=False
    )
    async for server in start_server(settings):
        room_id, token = await server.new_room()
        url = f"/api/rooms/{room_id}/messages"
        big = await server.http.post(url, json={"text": "x" * 1000}, headers=auth(token))
        assert big.status_code == 413 and "1000 bytes" in big.json()["detail"]
        for text in ("one", "two", "three", "four", "five"):
            stored = await server.http.post(url, json={"text": text}, headers=auth(token))
            assert stored.status_code == 201
        await server.tandem.rooms.replies.idle()
        # How many AI replies there are depends on timing (one reply answers every user message
        # since the last), so the room's log as stored is what the socket must page through.
        page = (await server.http.get(url, headers=auth(token))).json()
        stored_seqs = [m["seq"] for m in page["messages"]]
        assert len(stored_seqs) >= 7  # five user messages and AI replies: several pages of two
        async with websockets.connect(
            f"{server.ws_url}/ws/rooms/{room_id}", additional_headers=auth(token)
        ) as ws:
            await next_frame(ws, of_type("room"))
            await ws.send(json.dumps({"type": "ping", "pad": "x" * 1100}))
            error = await next_frame(ws, of_type("error"))
            assert error["code"] == "too_large" and "1 KiB" in error["detail"]
            await ws.send(json.dumps({"type": "resume", "after": 0}))
            seqs = [
                (await next_frame(ws, of_type("message")))["message"]["seq"] for _ in stored_seqs
            ]
            assert seqs == stored_seqs == list(range(1, len(stored_seqs) + 1))  # pages of two


async def test_the_pool_size_reaches_the_engine(scratch_mariadb: ScratchMariaDB) -> None:
    url = scratch_mariadb.url(await scratch_mariadb.create())
    async for server in start_server(make_settings(url, db_pool_size=3)):
        pool = server.tandem.db.engine.pool
        assert isinstance(pool, QueuePool) and pool.size() == 3


def test_tandem_serve_refuses_an_oversized_frame_before_reading_it(tmp_path: Path) -> None:
    """uvicorn gets the frame cap (`ws_max_size`): one byte over it closes the socket with 1009
    instead of the whole frame being read and then answered `too_large`."""
    api = start_api(tmp_path)
    try:
        room = httpx.post(f"{api.url}/api/rooms").json()
        ws_url = f"{api.url.replace('http://', 'ws://')}/ws/rooms/{room['room']['id']}"
        with connect(ws_url, additional_headers=auth(room["token"])) as ws:
            ws.recv(timeout=5)  # the room frame
            ping = '{"type":"ping"}'
            ws.send(ping + " " * (64 * 1024 - len(ping)))  # exactly the cap: read and answered
            assert json.loads(ws.recv(timeout=5)) == {"type": "pong"}
            ws.send(ping + " " * (64 * 1024 - len(ping) + 1))
            with pytest.raises(websockets.exceptions.ConnectionClosed) as closed:
                ws.recv(timeout=5)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009
    finally:
        stop(api.process)
