"""What one visitor may cost: rate limits and socket caps at their defaults, through a real
uvicorn (HTTP and WebSocket), and the AI answering a burst of messages with one reply."""

from __future__ import annotations

import asyncio
import json
import math
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import websockets
from websockets.exceptions import ConnectionClosed

from tests.api.test_ws import message_from, next_frame, of_type
from tests.conftest import REDIS_URL, LiveServer, auth, make_settings, require_service, start_server


def visitor(address: str) -> dict[str, str]:
    """A browser behind the Streamlit app (a trusted proxy on 127.0.0.1)."""
    return {"X-Forwarded-For": address}


async def test_one_address_cannot_open_chats_without_end(server: LiveServer) -> None:
    created = [
        await server.http.post("/api/rooms", headers=visitor("203.0.113.7")) for _ in range(10)
    ]
    assert {r.status_code for r in created} == {201}
    refused = await server.http.post("/api/rooms", headers=visitor("203.0.113.7"))
    if refused.status_code == 201:
        # The sliding window weighs the previous minute's count down as time passes: ten
        # requests that straddled a minute's end may leave room for exactly one more.
        refused = await server.http.post("/api/rooms", headers=visitor("203.0.113.7"))
    assert refused.status_code == 429
    assert refused.json()["code"] == "rate_limited"
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    # Another visitor behind the same app is not affected.
    other = await server.http.post("/api/rooms", headers=visitor("198.51.100.2"))
    assert other.status_code == 201


async def test_x_forwarded_for_counts_only_from_a_trusted_proxy(sqlite_url: str) -> None:
    settings = make_settings(sqlite_url, forwarded_allow_ips="192.0.2.1")
    async for live in start_server(settings):
        for n in range(10):
            response = await live.http.post("/api/rooms", headers=visitor(f"198.51.100.{n}"))
            assert response.status_code == 201
        # Not from the trusted proxy: the header is ignored, all ten counted against 127.0.0.1.
        spoofed = await live.http.post("/api/rooms", headers=visitor("198.51.100.99"))
        assert spoofed.status_code == 429


def leeway(started: float, *, limit: int, period: float) -> int:
    """Requests a sliding window may let through past `limit` when the ones counted began at
    `started`: it weighs the previous window's count down as time passes, so a burst that
    straddled a window's end (and a loaded machine makes bursts slow) leaves room for about
    `limit / period` more per second it took. At least one."""
    return 1 + math.ceil(limit * (time.monotonic() - started) / period)


async def test_a_room_token_sends_a_burst_then_waits(server: LiveServer) -> None:
    room_id, token = await server.new_room()
    other_id, other_token = await server.new_room()

    async def post(text: str) -> httpx.Response:
        return await server.http.post(
            f"/api/rooms/{room_id}/messages", json={"text": text}, headers=auth(token)
        )

    started = time.monotonic()
    sent = [await post(f"hello {n}") for n in range(10)]  # the default: 10 per 10 seconds
    assert {r.status_code for r in sent} == {201}
    accepted = [f"hello {n}" for n in range(10)]
    for _ in range(leeway(started, limit=10, period=10)):
        refused = await post("one more")
        if refused.status_code != 201:
            break
        accepted.append("one more")
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
    # The socket shares the room token's budget and says so in an error frame.
    started = time.monotonic()
    async with websockets.connect(f"{server.ws_url}/ws/rooms/{room_id}?token={token}") as ws:
        await next_frame(ws, of_type("room"))
        for _ in range(leeway(started, limit=10, period=10)):
            await ws.send(json.dumps({"type": "message", "text": "and over the socket"}))
            answer = await next_frame(ws, lambda f: f["type"] == "error" or message_from("user")(f))
            if answer["type"] == "error":
                break
            accepted.append("and over the socket")
        assert answer["code"] == "rate_limited" and answer["retry_after"] >= 1
    # Nothing refused was stored, and another room is untouched.
    await server.tandem.rooms.replies.idle()
    stored = await server.tandem.rooms.messages(room_id, after=0, limit=500)
    assert [m.text for m in stored if m.sender.value == "user"] == accepted
    other = await server.http.post(
        f"/api/rooms/{other_id}/messages", json={"text": "hi"}, headers=auth(other_token)
    )
    assert other.status_code == 201


async def test_a_room_token_opens_a_few_sockets_not_hundreds(server: LiveServer) -> None:
    room_id, token = await server.new_room()
    url = f"{server.ws_url}/ws/rooms/{room_id}?token={token}"
    held = [await websockets.connect(url) for _ in range(5)]
    try:
        for ws in held:
            await next_frame(ws, of_type("room"))
        async with websockets.connect(url) as sixth:
            with pytest.raises(ConnectionClosed) as closed:
                await next_frame(sixth, of_type("room"))
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
        await held.pop().close()
        async with websockets.connect(url) as again:  # a slot given back is free again
            await next_frame(again, of_type("room"))
    finally:
        for ws in held:
            await ws.close()


async def test_an_agent_opens_at_most_ten_console_sockets(sqlite_server: LiveServer) -> None:
    _, agent_token = await sqlite_server.add_agent("Alice")
    url = f"{sqlite_server.ws_url}/ws/agent?token={agent_token}"
    held = [await websockets.connect(url) for _ in range(10)]
    try:
        for ws in held:
            await next_frame(ws, of_type("queue"))
        async with websockets.connect(url) as eleventh:
            with pytest.raises(ConnectionClosed) as closed:
                await next_frame(eleventh, of_type("queue"))
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
    finally:
        for ws in held:
            await ws.close()


async def test_failed_logins_back_off_per_account_and_address(server: LiveServer) -> None:
    agent, _ = await server.add_agent("Alice", password="right-password")

    async def login(password: str, address: str) -> httpx.Response:
        return await server.http.post(
            "/api/auth/token",
            data={"username": agent.email, "password": password},
            headers=visitor(address),
            timeout=60,  # logins queue for the hashing pool; a loaded machine is slow
        )

    started = time.monotonic()
    wrong = [await login("wrong-password", "203.0.113.9") for _ in range(5)]  # 5 per minute
    assert {r.status_code for r in wrong} == {401}
    for _ in range(leeway(started, limit=5, period=60) - 1):  # slow hashing: see `leeway`
        more = await login("wrong-password", "203.0.113.9")
        if more.status_code == 429:
            break
        assert more.status_code == 401
    blocked = await login("right-password", "203.0.113.9")
    assert blocked.status_code == 429
    assert 1 <= int(blocked.headers["Retry-After"]) <= 15 * 60
    # Whoever guesses from elsewhere cannot lock the agent out.
    assert (await login("right-password", "198.51.100.4")).status_code == 200


async def test_rate_limits_off_lets_a_load_test_through(sqlite_url: str) -> None:
    async for live in start_server(make_settings(sqlite_url, rate_limits=False)):
        created = [await live.http.post("/api/rooms") for _ in range(30)]
        assert {r.status_code for r in created} == {201}


@pytest.fixture
async def two_servers_on_redis(
    mariadb_url: str,
) -> AsyncIterator[tuple[LiveServer, LiveServer]]:
    require_service("Redis", 6379)
    settings = make_settings(
        mariadb_url, redis_url=REDIS_URL, rate_limit_key_prefix=f"test-{uuid.uuid4().hex}"
    )
    second = settings.model_copy()
    async for a in start_server(settings):
        async for b in start_server(second):
            yield a, b


@pytest.mark.mariadb
@pytest.mark.redis
async def test_api_processes_share_one_budget_through_redis(
    two_servers_on_redis: tuple[LiveServer, LiveServer],
) -> None:
    a, b = two_servers_on_redis
    for n in range(10):
        response = await (a if n % 2 else b).http.post("/api/rooms", headers=visitor("203.0.113.5"))
        assert response.status_code == 201
    assert (await a.http.post("/api/rooms", headers=visitor("203.0.113.5"))).status_code == 429
    assert (await b.http.post("/api/rooms", headers=visitor("203.0.113.5"))).status_code == 429


@pytest.mark.mariadb
@pytest.mark.redis
async def test_a_socket_burst_spends_the_budget_shared_through_redis(
    two_servers_on_redis: tuple[LiveServer, LiveServer],
) -> None:
    """Counted in Redis, a socket's messages are checked by awaiting Redis (not as their
    frames are read): a burst sent at once is stored in order up to the room token's budget,
    the rest refused with `rate_limited`, and the other process refuses the same token too."""
    a, b = two_servers_on_redis
    room_id, token = await a.new_room()
    started = time.monotonic()
    async with websockets.connect(f"{b.ws_url}/ws/rooms/{room_id}?token={token}") as ws:
        await next_frame(ws, of_type("room"))
        burst = [f"burst {n}" for n in range(10 + leeway(started, limit=10, period=10) + 2)]
        for text in burst:
            await ws.send(json.dumps({"type": "message", "text": text}))
        errors: list[dict[str, Any]] = []
        async with asyncio.timeout(10):
            while len(errors) < 2:
                frame = await next_frame(ws, of_type("error"))
                errors.append(frame)
    assert {e["code"] for e in errors} == {"rate_limited"}
    assert all(e["retry_after"] >= 1 for e in errors)
    await b.tandem.rooms.replies.idle()
    stored = await b.tandem.rooms.messages(room_id, after=0, limit=500)
    texts = [m.text for m in stored if m.sender.value == "user"]
    assert len(texts) >= 10 and texts == burst[: len(texts)]
    refused = await a.http.post(
        f"/api/rooms/{room_id}/messages", json={"text": "one more"}, headers=auth(token)
    )
    assert refused.status_code == 429


async def test_messages_sent_while_the_ai_replies_get_one_answer_together(
    database_url: str,
) -> None:
    settings = make_settings(database_url, ai_chunk_delay_seconds=0.01)
    async for live in start_server(settings):
        room_id, token = await live.new_room()
        async with websockets.connect(f"{live.ws_url}/ws/rooms/{room_id}?token={token}") as ws:
            await next_frame(ws, of_type("room"))
            await ws.send(json.dumps({"type": "message", "text": "how do I return an item?"}))
            await next_frame(ws, of_type("ai.delta"))  # the first reply is streaming
            # Meanwhile the user goes on typing, over HTTP with a stream this time.
            async with live.http.stream(
                "POST",
                f"/api/rooms/{room_id}/messages?stream=true",
                json={"text": "and how long does a refund take?"},
                headers=auth(token),
            ) as response:
                lines = [json.loads(line) async for line in response.aiter_lines() if line]
            # Its own stream ends with its own message: no second reply streams into it.
            assert [f["type"] for f in lines] == ["message"]
            await ws.send(json.dumps({"type": "message", "text": "also, do you ship abroad?"}))
            await next_frame(ws, message_from("ai"))
            await next_frame(ws, message_from("ai"))
        await live.tandem.rooms.replies.idle()
        await asyncio.sleep(0.1)
        await live.tandem.rooms.replies.idle()
        stored = await live.tandem.rooms.messages(room_id, after=0, limit=50)
        # Two paid replies, not three: the second answers both later questions.
        assert [m.sender.value for m in stored] == ["user", "user", "user", "ai", "ai"]
