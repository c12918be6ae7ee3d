"""SIGTERM drains a real API process: /readyz 503, the AI reply in flight finishes, sockets
close with 1012; and while the database is unreachable requests get 503 with Retry-After."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import websockets

from db import queries
from db.engine import Database
from tests.api.test_ws import message_from, next_frame, of_type
from tests.conftest import LiveServer, auth, free_port, make_settings, start_server
from tests.private_mariadb import PrivateMariaDB

ROOT = Path(__file__).resolve().parents[2]


@contextlib.asynccontextmanager
async def api_process(env: dict[str, str]) -> AsyncIterator[tuple[subprocess.Popen[bytes], str]]:
    """`uvicorn api.main:create_app` as its own process, as deployed; killed if still up."""
    port = free_port()
    cmd = [
        sys.executable, "-m", "uvicorn", "api.main:create_app", "--factory",
        "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
        "--ws", "api.ws_protocol:WebSocketProtocol",
    ]  # fmt: skip
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("TANDEM_", "OPENAI_"))}
    process = await asyncio.to_thread(
        subprocess.Popen, cmd, env={**full_env, **env}, cwd=ROOT, start_new_session=True
    )
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=base, timeout=10) as http:
            deadline = time.monotonic() + 60
            while True:
                assert process.poll() is None, "the API process exited at startup"
                assert time.monotonic() < deadline, "the API process did not start"
                with contextlib.suppress(httpx.TransportError):
                    if (await http.get("/healthz")).status_code == 200:
                        break
                await asyncio.sleep(0.1)
        yield process, base
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=30)


async def test_sigterm_drains_then_closes_sockets_with_1012(tmp_path: Path) -> None:
    db_url = f"sqlite+aiosqlite:///{tmp_path / 'tandem.db'}"
    env = {
        "TANDEM_DATABASE_URL": db_url,
        "TANDEM_JWT_SECRET": "test-secret-shutdown-0123456789abcdef",
        "TANDEM_RATE_LIMITS": "off",
        "TANDEM_AI_CHUNK_DELAY_SECONDS": "0.05",  # the reply is still streaming at SIGTERM
        "TANDEM_DRAIN_SECONDS": "15",
    }
    async with api_process(env) as (process, base), httpx.AsyncClient(base_url=base) as http:
        ws_base = base.replace("http://", "ws://")
        created = (await http.post("/api/rooms")).json()
        room_id, token = created["room"]["id"], created["token"]
        url = f"{ws_base}/ws/rooms/{room_id}?token={token}"
        async with websockets.connect(url) as ws:
            await next_frame(ws, of_type("room"))
            await ws.send(json.dumps({"type": "message", "text": "what are your opening hours?"}))
            await next_frame(ws, of_type("ai.delta"), timeout=20)
            process.send_signal(signal.SIGTERM)

            ready = await http.get("/readyz", timeout=5)
            assert ready.status_code == 503 and ready.json()["status"] == "draining"
            async with websockets.connect(url) as late:  # no new sockets while draining
                with pytest.raises(websockets.ConnectionClosed) as refused:
                    await asyncio.wait_for(late.recv(), timeout=10)  # not even the room frame
                assert refused.value.rcvd is not None and refused.value.rcvd.code == 1012

            answer = await next_frame(ws, message_from("ai"), timeout=20)  # the reply finished
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await asyncio.wait_for(next_frame(ws, lambda f: False, timeout=20), timeout=25)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1012
        await asyncio.to_thread(process.wait, 30)

    db = Database(db_url)
    try:
        async with db.session() as session:
            stored = await queries.list_messages(session, room_id=room_id, limit=10)
    finally:
        await db.dispose()
    assert [(m.sender.value, m.seq) for m in stored] == [("user", 1), ("ai", 2)]
    assert stored[1].text == answer["message"]["text"]


@contextlib.asynccontextmanager
async def api_on_private_mariadb() -> AsyncIterator[tuple[PrivateMariaDB, LiveServer]]:
    """An API (in this process) on a MariaDB of its own, which the test may kill."""
    with PrivateMariaDB.running() as mariadb:
        await mariadb.create_database()
        async for server in start_server(make_settings(mariadb.url)):
            yield mariadb, server


@pytest.mark.mariadb
async def test_requests_get_503_with_retry_after_while_the_database_is_down(
    tmp_path: Path,
) -> None:
    async with api_on_private_mariadb() as (mariadb, server):
        room_id, token = await server.new_room()
        url = f"{server.ws_url}/ws/rooms/{room_id}?token={token}"
        async with websockets.connect(url) as ws:
            await next_frame(ws, of_type("room"))
            mariadb.kill()
            for path in (f"/api/rooms/{room_id}", f"/api/rooms/{room_id}/messages"):
                response = await server.http.get(path, headers=auth(token))
                assert response.status_code == 503, response.text
                assert int(response.headers["Retry-After"]) > 0
            ready = await server.http.get("/readyz")
            assert ready.status_code == 503
            # A socket's catch-up is told to retry too, not that something broke.
            await ws.send(json.dumps({"type": "resume", "after": 0}))
            error = await next_frame(ws, of_type("error"), timeout=30)
            assert error["code"] == "unavailable", error
            assert error["retry_after"] > 0


@pytest.mark.mariadb
async def test_a_join_that_committed_is_answered_as_joined_though_the_database_then_goes(
    tmp_path: Path,
) -> None:
    """MariaDB is killed the moment the join's transaction commits: the agent is told it
    joined (the room as it now stands), not 503 for a join that happened."""
    import sqlalchemy as sa
    from sqlalchemy import event
    from sqlalchemy.orm import Session

    async with api_on_private_mariadb() as (mariadb, server):
        room_id, _ = await server.new_room()
        agent, token = await server.add_agent("Ada")
        armed = True

        def kill_after_commit(session: Session) -> None:
            nonlocal armed
            bind = session.get_bind()
            if armed and isinstance(bind, sa.Engine) and bind.url.port == mariadb.port:
                armed = False
                mariadb.kill()

        event.listen(Session, "after_commit", kill_after_commit)
        try:
            joined = await server.http.post(f"/api/rooms/{room_id}/join", headers=auth(token))
        finally:
            event.remove(Session, "after_commit", kill_after_commit)
        assert not armed, "no transaction committed"
        assert joined.status_code == 200, joined.text
        room = joined.json()
        assert room["status"] == "agent"
        assert room["agent"]["id"] == agent.id


@pytest.mark.mariadb
async def test_sigkill_under_load_loses_no_acknowledged_message(mariadb_url: str) -> None:
    """Kill -9 the API while 16 clients post: every 201 is stored once, seqs stay gapless."""
    env = {
        "TANDEM_DATABASE_URL": mariadb_url,
        "TANDEM_JWT_SECRET": "test-secret-sigkill-0123456789abcdef",
        "TANDEM_RATE_LIMITS": "off",
    }
    acked: dict[str, str] = {}  # client_id -> room_id
    async with api_process(env) as (process, base), httpx.AsyncClient(base_url=base) as http:
        rooms = [(await http.post("/api/rooms")).json() for _ in range(4)]

        async def poster(n: int) -> None:
            room = rooms[n % len(rooms)]
            headers = auth(room["token"])
            for i in range(10_000):
                client_id = f"c{n}-{i}"
                try:
                    response = await http.post(
                        f"/api/rooms/{room['room']['id']}/messages",
                        json={"text": f"load {client_id}", "client_id": client_id},
                        headers=headers,
                        timeout=10,
                    )
                except httpx.TransportError:
                    return  # the process is gone
                if response.status_code == 201:
                    acked[client_id] = room["room"]["id"]

        posters = [asyncio.create_task(poster(n)) for n in range(16)]
        await asyncio.sleep(2.0)
        process.send_signal(signal.SIGKILL)
        await asyncio.wait_for(asyncio.gather(*posters), timeout=30)
    assert len(acked) > 50, "the load did not get going before the kill"

    db = Database(mariadb_url)
    try:
        async with db.session() as session:
            for room in rooms:
                room_id = room["room"]["id"]
                stored = await queries.list_messages(session, room_id=room_id, limit=500)
                after = stored[-1].seq if stored else 0
                while len(
                    page := await queries.list_messages(
                        session, room_id=room_id, after=after, limit=500
                    )
                ):
                    stored += page
                    after = page[-1].seq
                assert [m.seq for m in stored] == list(range(1, len(stored) + 1))
                ids = [m.client_id for m in stored if m.client_id is not None]
                assert len(ids) == len(set(ids)), "a message stored twice"
                want = {c for c, r in acked.items() if r == room_id}
                assert want <= set(ids), f"acknowledged but not stored: {want - set(ids)}"
    finally:
        await db.dispose()
