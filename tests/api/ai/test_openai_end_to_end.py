"""The model path through the real app: rooms, WebSockets, handoff, cancellation."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest
import websockets

from api.ai.resilience import FALLBACK_NOTICE
from tests.api.ai.fake_openai import FakeOpenAI, Script
from tests.api.test_ws import message_from, next_frame, of_type
from tests.conftest import LiveServer, auth, make_settings, start_server


@pytest.fixture
async def server(sqlite_url: str, fake: FakeOpenAI) -> AsyncIterator[LiveServer]:
    settings = make_settings(
        sqlite_url,
        openai_api_key="test-key",
        openai_base_url=fake.url + "/v1",
        ai_timeout_seconds=1.0,
        ai_backoff_seconds=0.01,
    )
    async for live in start_server(settings):
        yield live


async def test_model_tokens_reach_the_room_as_deltas_and_are_stored_once(
    server: LiveServer, fake: FakeOpenAI
) -> None:
    fake.script(Script(chunks=["We ship ", "to 30 ", "countries."]))
    room_id, token = await server.new_room()
    async with websockets.connect(f"{server.ws_url}/ws/rooms/{room_id}?token={token}") as ws:
        await next_frame(ws, of_type("room"))
        await ws.send(json.dumps({"type": "message", "text": "do you ship abroad?"}))
        deltas = [(await next_frame(ws, of_type("ai.delta")))["text"] for _ in range(3)]
        final = await next_frame(ws, message_from("ai"))
    assert deltas == ["We ship ", "to 30 ", "countries."]
    assert final["message"]["text"] == "We ship to 30 countries."
    stored = await server.tandem.rooms.messages(room_id, after=0, limit=10)
    assert [m.sender.value for m in stored] == ["user", "ai"]


async def test_a_tool_call_hands_the_room_to_a_human(server: LiveServer, fake: FakeOpenAI) -> None:
    _, agent_token = await server.add_agent("Alice")
    await server.http.get("/api/queue", headers=auth(agent_token))  # Alice is online
    fake.script(Script(chunks=["I'll get a colleague."], tool_call="request_human_agent"))
    room_id, token = await server.new_room()
    await server.http.post(
        f"/api/rooms/{room_id}/messages",
        json={"text": "this charge on my card is fraud"},
        headers=auth(token),
    )
    await server.tandem.rooms.replies.idle()
    room = (await server.http.get(f"/api/rooms/{room_id}", headers=auth(token))).json()
    assert room["status"] == "waiting"
    history = await server.tandem.rooms.messages(room_id, after=0, limit=10)
    assert [m.sender.value for m in history] == ["user", "ai", "system"]
    assert "queue" in history[-1].text
    async with server.tandem.db.session() as session:
        from sqlmodel import col, select

        from db.models import RoomEvent

        events = (
            await session.execute(select(RoomEvent).where(col(RoomEvent.room_id) == room_id))
        ).scalars()
        assert [(e.kind.value, e.reason) for e in events] == [
            ("created", None),
            ("handoff", "tool_call"),
        ]


async def test_a_failing_model_still_answers_and_says_so(
    server: LiveServer, fake: FakeOpenAI
) -> None:
    fake.default = Script(status=503)
    room_id, token = await server.new_room()
    await server.http.post(
        f"/api/rooms/{room_id}/messages", json={"text": "how do I reset my password?"},
        headers=auth(token),
    )  # fmt: skip
    await server.tandem.rooms.replies.idle()
    history = await server.tandem.rooms.messages(room_id, after=0, limit=10)
    assert [m.sender.value for m in history] == ["user", "ai"]
    assert history[1].text.startswith(FALLBACK_NOTICE.strip())
    assert "password" in history[1].text.lower()


async def test_an_agent_joining_mid_stream_cancels_the_model_reply(
    server: LiveServer, fake: FakeOpenAI
) -> None:
    _, agent_token = await server.add_agent("Alice")
    fake.script(Script(chunks=["word "] * 40, delay=0.05))
    room_id, token = await server.new_room()
    async with websockets.connect(f"{server.ws_url}/ws/rooms/{room_id}?token={token}") as ws:
        await next_frame(ws, of_type("room"))
        await ws.send(json.dumps({"type": "message", "text": "tell me everything about returns"}))
        await next_frame(ws, of_type("ai.delta"))
        await server.http.post(f"/api/rooms/{room_id}/join", headers=auth(agent_token))
        await next_frame(ws, of_type("ai.cancelled"))
    await server.tandem.rooms.replies.idle()
    history = await server.tandem.rooms.messages(room_id, after=0, limit=10)
    assert [m.sender.value for m in history] == ["user", "system"]
    assert fake.disconnected == 1  # the stream to the model was closed, not left running
