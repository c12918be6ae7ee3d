"""A rolling restart: two API processes behind Redis, one gets SIGTERM while users and agents
on both send. Its clients get 1012, reconnect to the other and resume; every message a client
sent is stored once, and every client ends with every message of its rooms in seq order.
Real processes, the shared MariaDB (a scratch database) and Redis (nothing is stopped)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import websockets

from api.auth import hash_password
from db import queries, team
from db.engine import Database
from tests.api.test_restarts import stored_messages
from tests.api.test_shutdown import api_process
from tests.conftest import REDIS_URL, auth, require_service

pytestmark = [pytest.mark.mariadb, pytest.mark.redis]

CAUGHT_UP_SECONDS = 60.0
"""Every client has every message this long after the senders stop (generous: 2 busy cores)."""


class Client:
    """One WebSocket client as a real one behaves: it dedupes by seq, puts frames that arrive
    ahead of a resume back in order, and after a close reconnects to the next instance,
    resumes each room with the last seq it has and sends again what was not acknowledged
    (same client_id)."""

    def __init__(self, path: str, rooms: dict[str, int], *, console: bool, sends: bool) -> None:
        self.path = path
        self.console = console
        self.sends = sends
        self.last = dict(rooms)
        self.ahead: dict[str, set[int]] = {room_id: set() for room_id in rooms}
        self.pending: dict[str, str] = {}  # client_id → room_id: sent, not yet seen stored
        self.sent = 0
        self.connections = 0
        self.closes: list[int | None] = []
        self.disorder: list[tuple[str, int, int]] = []
        """(room, last, seq) seen out of order on a connection that never resumed."""
        self.errors: list[dict[str, Any]] = []
        self.finished = False

    async def run(
        self, bases: list[str], start: asyncio.Event, stop_sending: asyncio.Event
    ) -> None:
        index = 0
        while not self.finished:
            try:
                async with websockets.connect(bases[index] + self.path, open_timeout=60) as ws:
                    await ws.recv()  # `room` or `queue`
                    if self.connections:
                        for room_id, after in self.last.items():
                            await ws.send(json.dumps(self._resume(room_id, after)))
                        for client_id, room_id in list(self.pending.items()):
                            await ws.send(json.dumps(self._message(room_id, client_id)))
                    self.connections += 1
                    sending = asyncio.create_task(self._send(ws, start, stop_sending))
                    try:
                        async for raw in ws:
                            self._on_frame(json.loads(raw))
                    finally:
                        sending.cancel()
                        with contextlib.suppress(asyncio.CancelledError):
                            await sending
                    self.closes.append(ws.close_code)
            except websockets.ConnectionClosed as exc:
                self.closes.append(exc.rcvd.code if exc.rcvd else None)
            except OSError:
                self.closes.append(None)  # the instance is gone: try the next
            index = min(index + 1, len(bases) - 1)
            await asyncio.sleep(0.05)

    def describe(self) -> str:
        kind = "console" if self.console else "user"
        ahead = {r[:6]: sorted(s)[:3] for r, s in self.ahead.items() if s}
        return (
            f"{kind} sends={self.sends} connections={self.connections} closes={self.closes} "
            f"disorder={self.disorder[:2]} ahead={ahead} errors={self.errors[:2]}"
        )

    def _resume(self, room_id: str, after: int) -> dict[str, Any]:
        frame: dict[str, Any] = {"type": "resume", "after": after}
        if self.console:
            frame["room_id"] = room_id
        return frame

    def _message(self, room_id: str, client_id: str) -> dict[str, Any]:
        frame: dict[str, Any] = {"type": "message", "text": client_id, "client_id": client_id}
        if self.console:
            frame["room_id"] = room_id
        return frame

    async def _send(self, ws: Any, start: asyncio.Event, stop: asyncio.Event) -> None:
        """Sends once every client is connected (a console learns no room's last seq when it
        connects, so what is sent before would be a gap of the test's making)."""
        await start.wait()
        rooms = list(self.last)
        while self.sends and not stop.is_set():
            room_id = rooms[self.sent % len(rooms)]
            client_id = f"{uuid.uuid4().hex[:8]}-{self.sent}"
            self.sent += 1
            self.pending[client_id] = room_id
            await ws.send(json.dumps(self._message(room_id, client_id)))
            await asyncio.sleep(0.1)

    def _on_frame(self, frame: dict[str, Any]) -> None:
        if frame["type"] == "error":
            self.errors.append(frame)
        if frame["type"] != "message":
            return
        message = frame["message"]
        room_id, seq = message["room_id"], message["seq"]
        self.pending.pop(message.get("client_id") or "", None)
        last = self.last.get(room_id)
        if last is None or seq <= last:
            return  # a repeat around a resume
        if seq > last + 1:
            if self.connections == 1:
                self.disorder.append((room_id, last, seq))
            self.ahead[room_id].add(seq)
            return
        last = seq
        while last + 1 in self.ahead[room_id]:
            last += 1
        self.last[room_id] = last


@contextlib.asynccontextmanager
async def two_instances(mariadb_url: str) -> AsyncIterator[tuple[Any, str, str]]:
    require_service("Redis", 6379)
    env = {
        "TANDEM_DATABASE_URL": mariadb_url,
        "TANDEM_REDIS_URL": REDIS_URL,
        "TANDEM_JWT_SECRET": "test-secret-rolling-restart-0123456789",
        "TANDEM_RATE_LIMITS": "off",
        "TANDEM_DRAIN_SECONDS": "1",
    }
    async with api_process(env) as (process_a, base_a), api_process(env) as (_, base_b):
        yield process_a, base_a, base_b


async def agent_token(mariadb_url: str, http: httpx.AsyncClient) -> str:
    db = Database(mariadb_url)
    email = f"alice-{uuid.uuid4().hex[:6]}@example.com"
    try:
        async with db.write() as session:
            alice = await queries.create_agent(
                session, email=email, name="Alice", role="agent", password_hash=hash_password("pw")
            )
            assert alice.id is not None  # one agent holds every room here: room for them all
            await team.update_agent(session, agent_id=alice.id, max_chats=20)
    finally:
        await db.dispose()
    response = await http.post("/api/auth/token", data={"username": email, "password": "pw"})
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


async def connected(clients: list[Client]) -> None:
    deadline = time.monotonic() + 120
    while sum(c.connections for c in clients) < len(clients):
        assert time.monotonic() < deadline, "the clients did not all connect"
        await asyncio.sleep(0.1)


async def caught_up(clients: list[Client], mariadb_url: str, room_ids: list[str]) -> None:
    stored = await stored_messages(mariadb_url, room_ids)
    deadline = time.monotonic() + CAUGHT_UP_SECONDS
    while True:
        behind = [
            (room_id[:6], seq, len(stored[room_id]), client.describe())
            for client in clients
            for room_id, seq in client.last.items()
            if seq < len(stored[room_id])
        ]
        unsent = sum(len(client.pending) for client in clients)
        if not behind and not unsent:
            return
        assert time.monotonic() < deadline, f"behind: {behind[:5]}…, unacknowledged: {unsent}"
        await asyncio.sleep(0.2)
        stored = await stored_messages(mariadb_url, room_ids)


def check_stored(stored: dict[str, list[tuple[int, str | None]]], clients: list[Client]) -> None:
    for rows in stored.values():
        assert [seq for seq, _ in rows] == list(range(1, len(rows) + 1))
        ids = [c for _, c in rows if c is not None]
        assert len(ids) == len(set(ids)), "a message stored twice"
    for client in clients:
        assert client.errors == [], f"error frames: {client.errors[:3]}"
        assert client.disorder == [], f"out of order without a resume: {client.disorder[:5]}"


async def test_rolling_restart_moves_users_and_agents_to_the_other_instance(
    mariadb_url: str,
) -> None:
    async with two_instances(mariadb_url) as (process_a, base_a, base_b):
        ws_a, ws_b = (b.replace("http://", "ws://") for b in (base_a, base_b))
        async with httpx.AsyncClient(base_url=base_b, timeout=30) as http:
            token = await agent_token(mariadb_url, http)
            rooms = [(await http.post("/api/rooms")).json() for _ in range(6)]
            heads: dict[str, int] = {}
            for room in rooms:
                joined = await http.post(
                    f"/api/rooms/{room['room']['id']}/join", headers=auth(token)
                )
                assert joined.json()["status"] == "agent", joined.text
                heads[room["room"]["id"]] = joined.json()["last_seq"]
        room_ids = list(heads)

        def user(n: int, *, sends: bool) -> Client:
            room = rooms[n]
            path = f"/ws/rooms/{room['room']['id']}?token={room['token']}"
            return Client(
                path, {room["room"]["id"]: heads[room["room"]["id"]]}, console=False, sends=sends
            )

        on_a = [user(n, sends=True) for n in range(0, 6, 2)]
        on_a.append(Client(f"/ws/agent?token={token}", heads, console=True, sends=True))
        on_b = [user(n, sends=True) for n in range(1, 6, 2)]
        on_b += [user(n, sends=False) for n in range(6)]  # they watch and never move
        on_b.append(Client(f"/ws/agent?token={token}", heads, console=True, sends=False))

        start, stop = asyncio.Event(), asyncio.Event()
        runs = [asyncio.create_task(c.run([ws_a, ws_b], start, stop)) for c in on_a]
        runs += [asyncio.create_task(c.run([ws_b], start, stop)) for c in on_b]
        try:
            await connected(on_a + on_b)
            start.set()
            await asyncio.sleep(2.0)
            process_a.send_signal(signal.SIGTERM)
            await asyncio.to_thread(process_a.wait, 60)
            await asyncio.sleep(2.0)  # everyone still sending, now all through B
            stop.set()
            await caught_up(on_a + on_b, mariadb_url, room_ids)
        finally:
            for client in on_a + on_b:
                client.finished = True
            for run in runs:
                run.cancel()
            await asyncio.gather(*runs, return_exceptions=True)

    check_stored(await stored_messages(mariadb_url, room_ids), on_a + on_b)
    for client in on_a:
        assert 1012 in client.closes, f"closed with {client.closes}, not 1012"
        assert client.connections == 2
        assert client.sent > 10
    for client in on_b:
        assert client.connections == 1, "a client of the instance that stayed was dropped"


async def test_500_sockets_resume_at_once_on_the_other_instance(mariadb_url: str) -> None:
    """500 user sockets on 100 rooms, all on the instance that restarts: they reconnect to the
    other at once and resume while messages keep coming; every one catches up, in order."""
    async with two_instances(mariadb_url) as (process_a, base_a, base_b):
        ws_a, ws_b = (b.replace("http://", "ws://") for b in (base_a, base_b))
        async with httpx.AsyncClient(base_url=base_b, timeout=60) as http:
            rooms = [(await http.post("/api/rooms")).json() for _ in range(100)]
            clients = [
                Client(
                    f"/ws/rooms/{room['room']['id']}?token={room['token']}",
                    {room["room"]["id"]: 0},
                    console=False,
                    sends=False,
                )
                for room in rooms
                for _ in range(5)
            ]
            start, stop = asyncio.Event(), asyncio.Event()
            runs = [asyncio.create_task(c.run([ws_a, ws_b], start, stop)) for c in clients]

            async def post_all(rounds: int) -> None:
                for n in range(rounds):
                    for room in rooms:
                        response = await http.post(
                            f"/api/rooms/{room['room']['id']}/messages",
                            json={"text": f"note {n}", "client_id": f"n{n}"},
                            headers=auth(room["token"]),
                        )
                        assert response.status_code == 201, response.text

            try:
                await connected(clients)
                await post_all(1)
                process_a.send_signal(signal.SIGTERM)
                await post_all(2)  # while they move
                await asyncio.to_thread(process_a.wait, 60)
                started = time.monotonic()
                await caught_up(clients, mariadb_url, [r["room"]["id"] for r in rooms])
                took = time.monotonic() - started
                print(f"500 sockets caught up {took:.1f} s after instance A exited")
            finally:
                for client in clients:
                    client.finished = True
                for run in runs:
                    run.cancel()
                await asyncio.gather(*runs, return_exceptions=True)
    assert all(1012 in c.closes and c.connections == 2 for c in clients)
    assert took < CAUGHT_UP_SECONDS
