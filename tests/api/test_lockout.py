"""Agents can be locked out, and logins do not stall everyone else.

`tandem agent disable|enable|reset-password` run as an operator would (a subprocess on the
server's database); the API notices within AGENT_CACHE_SECONDS (+ WATCH_SECONDS for sockets),
which the `quick` fixture lowers so the tests need not wait up to 15 s.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable

import httpx
import pytest
import sqlalchemy as sa
import websockets
from jose import jwt
from websockets.asyncio.client import ClientConnection

import api.deps
import api.routes.ws_watch
from db.models import Agent
from db.tables import agents_t
from tests.api.test_cli import tandem
from tests.conftest import LiveServer, auth

PASSWORD = "s3cret-pass"
WRONG = {"detail": "Wrong email or password."}


@pytest.fixture
def quick(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(api.deps, "AGENT_CACHE_SECONDS", 0.2)
    monkeypatch.setattr(api.routes.ws_watch, "WATCH_SECONDS", 0.2)


def test_the_real_windows_add_up_to_15_seconds_at_most() -> None:
    assert api.deps.AGENT_CACHE_SECONDS + api.routes.ws_watch.WATCH_SECONDS <= 15


async def login(server: LiveServer, email: str, password: str) -> httpx.Response:
    # Logins queue for the hashing pool (one core short of the machine): on a busy machine a
    # burst of them takes a while, which is the point; the client just waits.
    return await server.http.post(
        "/api/auth/token", data={"username": email, "password": password}, timeout=60
    )


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 5) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        assert time.monotonic() < deadline, "not within the time allowed"
        await asyncio.sleep(0.05)


async def closed_with(ws: ClientConnection, timeout: float = 5) -> tuple[int, str]:
    """Read until the server closes the socket; its close code and reason."""
    async with asyncio.timeout(timeout):
        try:
            while True:
                await ws.recv()
        except websockets.exceptions.ConnectionClosed as closed:
            assert closed.rcvd is not None, "closed without a close frame from the server"
            return closed.rcvd.code, closed.rcvd.reason


def cli(server: LiveServer, *args: str, stdin: str = "") -> str:
    done = tandem(*args, url=server.tandem.settings.database_url, stdin=stdin)
    assert done.returncode == 0, done.stderr
    return done.stdout


async def token_is_refused(server: LiveServer, token: str) -> bool:
    response = await server.http.get("/api/agents/me", headers=auth(token))
    return response.status_code == 401


async def test_logins_do_not_stall_other_requests(sqlite_server: LiveServer) -> None:
    """argon2 runs off the event loop: /healthz answers promptly while 8 logins verify."""
    agent, _ = await sqlite_server.add_agent("Busy")
    wrong = [login(sqlite_server, agent.email, f"wrong-{i}") for i in range(8)]
    logins = asyncio.gather(*wrong)
    waits: list[float] = []
    while not logins.done():
        started = time.perf_counter()
        assert (await sqlite_server.http.get("/healthz")).status_code == 200
        waits.append(time.perf_counter() - started)
    assert all(r.status_code == 401 for r in await logins)
    assert len(waits) >= 3, waits
    assert statistics.median(waits) < 0.150, waits


async def test_disable_locks_the_agent_out_and_closes_their_sockets(
    server: LiveServer, quick: None
) -> None:
    agent, token = await server.add_agent("Dee")
    room_id, _ = await server.new_room()
    ws_url = server.ws_url
    async with (
        websockets.connect(f"{ws_url}/ws/agent?token={token}") as console,
        websockets.connect(f"{ws_url}/ws/rooms/{room_id}?token={token}") as room,
    ):
        await console.recv()  # the queue: the socket is open
        await room.recv()
        assert "disabled" in cli(server, "agent", "disable", agent.email)

        await eventually(lambda: token_is_refused(server, token))
        assert await closed_with(console) == (1008, "agent disabled or signed out")
        assert await closed_with(room) == (1008, "agent disabled or signed out")

    refused = await login(server, agent.email, PASSWORD)
    assert (refused.status_code, refused.json()) == (401, WRONG)
    assert "\tdisabled" in cli(server, "agent", "list")

    cli(server, "agent", "enable", agent.email)
    again = await login(server, agent.email, PASSWORD)
    assert again.status_code == 200
    assert not await token_is_refused(server, again.json()["access_token"])
    assert await token_is_refused(server, token)  # tokens from before the disable stay void


async def test_a_new_password_voids_old_tokens(server: LiveServer, quick: None) -> None:
    agent, token = await server.add_agent("Eli")
    async with websockets.connect(f"{server.ws_url}/ws/agent?token={token}") as console:
        await console.recv()
        cli(server, "agent", "reset-password", agent.email, "--password-stdin",
            stdin="brand new password\n")  # fmt: skip
        await eventually(lambda: token_is_refused(server, token))
        assert await closed_with(console) == (1008, "agent disabled or signed out")
    assert (await login(server, agent.email, PASSWORD)).status_code == 401
    fresh = await login(server, agent.email, "brand new password")
    assert fresh.status_code == 200
    assert not await token_is_refused(server, fresh.json()["access_token"])


def test_unknown_emails_are_an_error(sqlite_url: str) -> None:
    for command in ("disable", "enable"):
        done = tandem("agent", command, "nobody@example.com", url=sqlite_url)
        assert done.returncode == 1 and "No agent with the email" in done.stderr


async def test_a_deleted_agents_token_does_not_fit_a_new_agent(
    server: LiveServer, quick: None
) -> None:
    """SQLite gives the next agent the id of the newest deleted one: the token still fails."""
    old, token = await server.add_agent("Old")
    async with server.tandem.db.write() as session:
        await session.execute(sa.delete(agents_t).where(agents_t.c.id == old.id))
    await asyncio.sleep(0.3)  # past the agent cache
    new, new_token = await server.add_agent("New")
    if server.tandem.db.dialect == "sqlite":
        assert new.id == old.id  # the reuse is real: only the token version tells them apart
    assert await token_is_refused(server, token)
    assert not await token_is_refused(server, new_token)


def short_token(server: LiveServer, claims: dict[str, object], seconds: float) -> str:
    secret = server.tandem.settings.jwt_secret.get_secret_value()
    return jwt.encode({**claims, "exp": int(time.time() + seconds)}, secret, algorithm="HS256")


async def test_sockets_close_when_their_token_expires(server: LiveServer) -> None:
    agent: Agent
    agent, _ = await server.add_agent("Fay")
    room_id, _ = await server.new_room()
    agent_claims = {"sub": str(agent.id), "role": "agent", "ver": agent.token_version}
    agent_token = short_token(server, {**agent_claims, "typ": "agent"}, 2)
    room_token = short_token(server, {"sub": room_id, "typ": "room"}, 2)
    ws_url = server.ws_url
    async with (
        websockets.connect(f"{ws_url}/ws/agent?token={agent_token}") as console,
        websockets.connect(f"{ws_url}/ws/rooms/{room_id}?token={agent_token}") as agent_room,
        websockets.connect(f"{ws_url}/ws/rooms/{room_id}?token={room_token}") as user_room,
    ):
        for ws in (console, agent_room, user_room):
            await ws.recv()  # open and working
        assert await closed_with(console) == (1008, "token expired: log in again")
        assert await closed_with(agent_room) == (1008, "token expired: log in again")
        assert await closed_with(user_room) == (1008, "room token expired")
