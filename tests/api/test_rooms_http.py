"""The HTTP contract, through a real uvicorn, on SQLite and on MariaDB."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime
from typing import Any

import pytest
import sqlalchemy as sa

from tests.conftest import LiveServer, auth


async def wait_for_messages(
    server: LiveServer, room_id: str, token: str, count: int, *, timeout: float = 5.0
) -> list[dict[str, object]]:
    """Poll the way the Streamlit apps do until the room holds `count` messages."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        response = await server.http.get(f"/api/rooms/{room_id}/messages", headers=auth(token))
        messages: list[dict[str, object]] = response.json()["messages"]
        if len(messages) >= count or asyncio.get_running_loop().time() > deadline:
            return messages
        await asyncio.sleep(0.02)


async def test_a_new_room_starts_with_the_ai_and_a_token_for_it(server: LiveServer) -> None:
    response = await server.http.post("/api/rooms")
    assert response.status_code == 201
    body = response.json()
    room = body["room"]
    assert room["status"] == "ai" and room["agent"] is None and room["queue_position"] is None
    assert datetime.fromisoformat(room["created_at"]).utcoffset() is not None
    fetched = await server.http.get(f"/api/rooms/{room['id']}", headers=auth(body["token"]))
    assert fetched.status_code == 200 and fetched.json()["id"] == room["id"]


async def test_a_user_message_is_stored_and_the_ai_answers(server: LiveServer) -> None:
    room_id, token = await server.new_room()
    response = await server.http.post(
        f"/api/rooms/{room_id}/messages",
        json={"text": "How long does shipping take?"},
        headers=auth(token),
    )
    assert response.status_code == 201
    sent = response.json()
    assert sent["seq"] == 1 and sent["sender"] == "user" and sent["room_id"] == room_id
    messages = await wait_for_messages(server, room_id, token, 2)
    assert [m["seq"] for m in messages] == [1, 2]
    assert messages[1]["sender"] == "ai" and "ship" in str(messages[1]["text"]).lower()


async def test_after_returns_only_newer_messages_in_seq_order(server: LiveServer) -> None:
    room_id, token = await server.new_room()
    for text in ("hello", "what payment methods do you accept", "thanks"):
        await server.http.post(
            f"/api/rooms/{room_id}/messages", json={"text": text}, headers=auth(token)
        )
        await server.tandem.rooms.replies.idle()
    everything = await wait_for_messages(server, room_id, token, 6)
    assert [m["seq"] for m in everything] == [1, 2, 3, 4, 5, 6]
    newer = await server.http.get(
        f"/api/rooms/{room_id}/messages", params={"after": 4, "limit": 1}, headers=auth(token)
    )
    assert [m["seq"] for m in newer.json()["messages"]] == [5]


async def test_an_idle_poll_reads_no_messages_and_still_knows_unknown_rooms(
    server: LiveServer,
) -> None:
    """Most polls find nothing new: they cost one primary-key read of the room's last seq,
    not a read of its messages, nor of the room and its queue position; an unknown room is
    still a 404, and a new message is seen on the next poll."""
    room_id, token = await server.new_room()
    await server.http.post(
        f"/api/rooms/{room_id}/messages", json={"text": "hello"}, headers=auth(token)
    )
    await server.tandem.rooms.replies.idle()
    last = len(await wait_for_messages(server, room_id, token, 2))
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(" ".join(statement.split()))

    engine = server.tandem.db.engine.sync_engine
    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        for _ in range(10):
            idle = await server.http.get(
                f"/api/rooms/{room_id}/messages", params={"after": last}, headers=auth(token)
            )
            assert idle.status_code == 200 and idle.json() == {"messages": []}
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
    assert not [s for s in seen if "FROM messages" in s], seen
    assert not [s for s in seen if "count(" in s.lower()], seen
    _, agent_token = await server.add_agent("Poller")
    unknown = await server.http.get(
        "/api/rooms/nope/messages", params={"after": 0}, headers=auth(agent_token)
    )
    assert unknown.status_code == 404
    await server.http.post(
        f"/api/rooms/{room_id}/messages", json={"text": "still there?"}, headers=auth(token)
    )
    newer = await server.http.get(
        f"/api/rooms/{room_id}/messages", params={"after": last}, headers=auth(token)
    )
    assert [m["seq"] for m in newer.json()["messages"]][:1] == [last + 1]


async def test_the_same_client_id_stores_once(server: LiveServer) -> None:
    room_id, token = await server.new_room()
    body = {"text": "where is my order", "client_id": "c-1"}
    first = await server.http.post(f"/api/rooms/{room_id}/messages", json=body, headers=auth(token))
    again = await server.http.post(f"/api/rooms/{room_id}/messages", json=body, headers=auth(token))
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    await server.tandem.rooms.replies.idle()
    messages = await wait_for_messages(server, room_id, token, 2)
    users = [m for m in messages if m["sender"] == "user"]
    assert len(users) == 1 and len([m for m in messages if m["sender"] == "ai"]) == 1


@pytest.mark.rate_limits_off
async def test_concurrent_senders_get_gapless_unique_seqs(server: LiveServer) -> None:
    room_id, token = await server.new_room()
    _agent, agent_token = await server.add_agent("Alice")
    await server.http.post(f"/api/rooms/{room_id}/join", headers=auth(agent_token))

    async def send(i: int, who: str) -> int:
        response = await server.http.post(
            f"/api/rooms/{room_id}/messages", json={"text": f"{who} {i}"}, headers=auth(who)
        )
        assert response.status_code == 201, response.text
        return int(response.json()["seq"])

    seqs = await asyncio.gather(
        *[send(i, token) for i in range(40)], *[send(i, agent_token) for i in range(40)]
    )
    assert sorted(seqs) == list(range(2, 82))  # seq 1 is the "joined" notice
    stored = await wait_for_messages(server, room_id, token, 81)
    assert [m["seq"] for m in stored] == list(range(1, 82))


async def test_streaming_post_yields_the_frames_the_websocket_gets(server: LiveServer) -> None:
    room_id, token = await server.new_room()
    frames = []
    async with server.http.stream(
        "POST",
        f"/api/rooms/{room_id}/messages",
        params={"stream": "true"},
        json={"text": "Can I return shoes I wore once?"},
        headers=auth(token),
    ) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("application/x-ndjson")
        async for line in response.aiter_lines():
            if line:
                frames.append(json.loads(line))
    assert frames[0]["type"] == "message" and frames[0]["message"]["sender"] == "user"
    deltas = [f["text"] for f in frames if f["type"] == "ai.delta"]
    assert len(deltas) > 1
    final = frames[-1]
    assert final["type"] == "message" and final["message"]["sender"] == "ai"
    assert "".join(deltas).strip() == final["message"]["text"]


async def test_asking_for_a_human_with_nobody_online_keeps_the_ai(server: LiveServer) -> None:
    room_id, token = await server.new_room()
    response = await server.http.post(
        f"/api/rooms/{room_id}/messages",
        json={"text": "I want to speak to a human"},
        headers=auth(token),
    )
    assert response.status_code == 201
    messages = await wait_for_messages(server, room_id, token, 2)
    assert messages[1]["sender"] == "system" and "No agents are online" in str(messages[1]["text"])
    room = (await server.http.get(f"/api/rooms/{room_id}", headers=auth(token))).json()
    assert room["status"] == "ai"


async def test_the_whole_handoff_story(server: LiveServer) -> None:
    _agent, agent_token = await server.add_agent("Alice")
    queue = await server.http.get("/api/queue", headers=auth(agent_token))  # Alice is online now
    assert queue.json() == {"rooms": []}
    room_id, token = await server.new_room()
    await server.http.post(
        f"/api/rooms/{room_id}/messages", json={"text": "do you ship abroad?"}, headers=auth(token)
    )
    await server.tandem.rooms.replies.idle()

    await server.http.post(
        f"/api/rooms/{room_id}/messages",
        json={"text": "connect me to an agent"},
        headers=auth(token),
    )
    room = (await server.http.get(f"/api/rooms/{room_id}", headers=auth(token))).json()
    assert room["status"] == "waiting" and room["queue_position"] == 1
    queued = (await server.http.get("/api/queue", headers=auth(agent_token))).json()["rooms"]
    assert [r["id"] for r in queued] == [room_id] and queued[0]["queue_position"] == 1

    # The AI stays quiet while the user waits; the agent will see this message.
    await server.http.post(
        f"/api/rooms/{room_id}/messages", json={"text": "hello? anyone?"}, headers=auth(token)
    )
    joined = await server.http.post(f"/api/rooms/{room_id}/join", headers=auth(agent_token))
    assert joined.status_code == 200
    assert joined.json()["status"] == "agent" and joined.json()["agent"]["name"] == "Alice"
    assert (await server.http.get("/api/queue", headers=auth(agent_token))).json()["rooms"] == []

    reply = await server.http.post(
        f"/api/rooms/{room_id}/messages",
        json={"text": "Hi, Alice here."},
        headers=auth(agent_token),
    )
    assert reply.status_code == 201 and reply.json()["sender"] == "agent"
    assert reply.json()["author"] == "Alice"

    left = await server.http.post(f"/api/rooms/{room_id}/leave", headers=auth(agent_token))
    assert left.json()["status"] == "ai" and left.json()["agent"] is None
    await server.http.post(
        f"/api/rooms/{room_id}/messages",
        json={"text": "how do I reset my password"},
        headers=auth(token),
    )
    await server.tandem.rooms.replies.idle()

    history = await wait_for_messages(server, room_id, token, 10)
    senders = [m["sender"] for m in history]
    assert senders == [
        "user", "ai",          # shipping question and answer
        "user", "system",      # handoff request, queued notice
        "user",                # written while waiting: no AI reply
        "system", "agent",     # Alice joined, Alice speaks
        "system",              # Alice left
        "user", "ai",          # the AI is back
    ]  # fmt: skip
    assert [m["seq"] for m in history] == list(range(1, 11))

    closed = await server.http.post(f"/api/rooms/{room_id}/close", headers=auth(token))
    assert closed.json()["status"] == "closed"
    refused = await server.http.post(
        f"/api/rooms/{room_id}/messages", json={"text": "one more thing"}, headers=auth(token)
    )
    assert refused.status_code == 409


async def test_exactly_one_of_two_racing_agents_gets_the_room(server: LiveServer) -> None:
    _, alice = await server.add_agent("Alice")
    _, bob = await server.add_agent("Bob")
    await server.http.get("/api/queue", headers=auth(alice))
    room_id, token = await server.new_room()
    await server.http.post(f"/api/rooms/{room_id}/handoff", headers=auth(token))
    results = await asyncio.gather(
        server.http.post(f"/api/rooms/{room_id}/join", headers=auth(alice)),
        server.http.post(f"/api/rooms/{room_id}/join", headers=auth(bob)),
    )
    assert sorted(r.status_code for r in results) == [200, 409]
    loser = next(r for r in results if r.status_code == 409)
    assert "already" in loser.json()["detail"]


async def test_the_talk_to_a_person_button_queues_the_room(server: LiveServer) -> None:
    _, agent_token = await server.add_agent("Alice")
    await server.http.get("/api/queue", headers=auth(agent_token))
    room_id, token = await server.new_room()
    response = await server.http.post(f"/api/rooms/{room_id}/handoff", headers=auth(token))
    assert response.status_code == 200 and response.json()["status"] == "waiting"
