"""The WebSocket contract with a real client against a real uvicorn."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import pytest
import websockets
from websockets.asyncio.client import ClientConnection
from websockets.frames import Frame as WireFrame
from websockets.frames import Opcode

from tests.conftest import LiveServer, auth

Frame = dict[str, Any]


async def next_frame(
    ws: ClientConnection, want: Callable[[Frame], bool], timeout: float = 5
) -> Frame:
    """The next frame matching `want`, skipping others."""
    async with asyncio.timeout(timeout):
        while True:
            frame: Frame = json.loads(await ws.recv())
            if want(frame):
                return frame


def of_type(kind: str) -> Callable[[Frame], bool]:
    return lambda frame: frame["type"] == kind


def message_from(sender: str) -> Callable[[Frame], bool]:
    return lambda f: f["type"] == "message" and f["message"]["sender"] == sender


async def test_room_socket_sends_state_then_streams_the_ai_reply(server: LiveServer) -> None:
    room_id, token = await server.new_room()
    async with websockets.connect(f"{server.ws_url}/ws/rooms/{room_id}?token={token}") as ws:
        hello = json.loads(await ws.recv())
        assert hello == {"type": "room", "room": hello["room"]} and hello["room"]["id"] == room_id
        await ws.send(json.dumps({"type": "message", "text": "what are your opening hours?"}))
        mine = await next_frame(ws, of_type("message"))
        assert mine["message"]["sender"] == "user" and mine["message"]["seq"] == 1
        deltas = []
        while True:
            frame = await next_frame(ws, lambda f: f["type"] in ("ai.delta", "message"))
            if frame["type"] == "message":
                break
            assert frame["room_id"] == room_id
            deltas.append(frame["text"])
        assert frame["message"]["sender"] == "ai" and frame["message"]["seq"] == 2
        assert len(deltas) > 1 and "".join(deltas).strip() == frame["message"]["text"]


async def test_resume_replays_what_was_missed(server: LiveServer) -> None:
    room_id, token = await server.new_room()
    for text in ("hi", "do you have gift cards?"):
        await server.http.post(
            f"/api/rooms/{room_id}/messages", json={"text": text}, headers=auth(token)
        )
        await server.tandem.rooms.replies.idle()
    async with websockets.connect(
        f"{server.ws_url}/ws/rooms/{room_id}", additional_headers=auth(token)
    ) as ws:
        await next_frame(ws, of_type("room"))
        await ws.send(json.dumps({"type": "resume", "after": 1}))
        seqs = [(await next_frame(ws, of_type("message")))["message"]["seq"] for _ in range(3)]
        assert seqs == [2, 3, 4]


async def test_bad_frames_get_error_frames_and_the_socket_goes_on(server: LiveServer) -> None:
    room_id, token = await server.new_room()
    other_id, other_token = await server.new_room()
    async with (
        websockets.connect(f"{server.ws_url}/ws/rooms/{room_id}?token={token}") as ws,
        websockets.connect(f"{server.ws_url}/ws/rooms/{other_id}?token={other_token}") as other,
    ):
        await next_frame(ws, of_type("room"))
        await next_frame(other, of_type("room"))
        for bad, code in [
            ("not json", "bad_json"),
            ("[1, 2]", "bad_frame"),
            (json.dumps({"type": "shout"}), "unknown_type"),
            (json.dumps({"type": "message"}), "bad_frame"),
            (json.dumps({"type": "message", "text": 5}), "bad_frame"),
            (json.dumps({"type": "message", "text": "x" * 4001}), "too_long"),
            (json.dumps({"type": "resume", "after": "yesterday"}), "bad_frame"),
        ]:
            await ws.send(bad)
            error = await next_frame(ws, of_type("error"))
            assert error["code"] == code and error["detail"]
        await ws.send(json.dumps({"type": "message", "text": "still here", "client_id": "k"}))
        mine = await next_frame(ws, message_from("user"))
        assert mine["message"]["seq"] == 1 and mine["message"]["client_id"] == "k"
        # The other room saw none of it, and still works.
        await other.send(json.dumps({"type": "message", "text": "hello"}))
        assert (await next_frame(other, message_from("user")))["message"]["room_id"] == other_id


@pytest.mark.rate_limits_off
async def test_answers_come_in_the_order_the_frames_came(server: LiveServer) -> None:
    """A console's burst, past the number of messages one socket may have in flight: the
    refusals known at once (bad JSON, an unknown type) and those known only once storage
    tried (a room the agent does not hold) come back in the order the frames were sent; every
    message to her room is stored in order; a binary frame closes the socket 1003 only once
    everything before it was answered."""
    _, agent_token = await server.add_agent("Alice")
    mine, _ = await server.new_room()
    other, _ = await server.new_room()
    await server.http.post(f"/api/rooms/{mine}/join", headers=auth(agent_token))
    refusals = {40: ("to", other), 150: ("bad", "not json"), 151: ("to", other)}
    refusals |= {200: ("bad", json.dumps({"type": "shout"})), 399: ("to", other)}
    expected_codes = ["not_your_room", "bad_json", "not_your_room", "unknown_type"]
    expected_codes += ["not_your_room", "bad_frame"]
    async with websockets.connect(f"{server.ws_url}/ws/agent?token={agent_token}") as console:
        await next_frame(console, of_type("queue"))
        sent: list[str] = []
        for n in range(400):
            kind, what = refusals.get(n, ("to", mine))
            if kind == "bad":
                await console.send(what)
                continue
            await console.send(json.dumps({"type": "message", "room_id": what, "text": f"m{n}"}))
            if what == mine:
                sent.append(f"m{n}")
        await console.send(b"\x00")
        codes: list[str] = []
        texts: list[str] = []
        with pytest.raises(websockets.exceptions.ConnectionClosed) as closed:
            async with asyncio.timeout(20):
                while True:
                    frame = json.loads(await console.recv())
                    if frame["type"] == "error":
                        codes.append(frame["code"])
                    elif frame["type"] == "message" and frame["message"]["sender"] == "agent":
                        texts.append(frame["message"]["text"])
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1003
    assert codes == expected_codes
    assert texts == sent
    stored = await server.tandem.rooms.messages(mine, after=0, limit=1000)
    assert [m.text for m in stored if m.sender.value == "agent"] == sent
    assert not [m for m in await server.tandem.rooms.messages(other, after=0, limit=10)]


async def test_frames_read_together_are_answered_in_the_order_sent(server: LiveServer) -> None:
    """Frames that arrive in one read, messages (started as they are read) between frames
    only the socket's loop answers (bad JSON, an unknown type): the refusals still come back
    in the order sent, and the messages are stored in order."""
    _, agent_token = await server.add_agent("Alice")
    mine, _ = await server.new_room()
    other, _ = await server.new_room()
    await server.http.post(f"/api/rooms/{mine}/join", headers=auth(agent_token))

    def to(room: str, text: str) -> str:
        return json.dumps({"type": "message", "room_id": room, "text": text})

    frames = [to(other, "o1"), "not json", to(other, "o2"), to(mine, "m1"), to(mine, "m2")]
    frames += [json.dumps({"type": "shout"}), to(mine, "m3"), to(other, "o3"), to(mine, "m4")]
    async with websockets.connect(f"{server.ws_url}/ws/agent?token={agent_token}") as console:
        await next_frame(console, of_type("queue"))
        stream = (WireFrame(Opcode.TEXT, f.encode()).serialize(mask=True) for f in frames)
        console.transport.write(b"".join(stream))
        codes: list[str] = []
        async with asyncio.timeout(10):
            while len(codes) < 5:
                codes.append((await next_frame(console, of_type("error")))["code"])
    assert codes == ["not_your_room", "bad_json", "not_your_room", "unknown_type", "not_your_room"]
    stored = await server.tandem.rooms.messages(mine, after=0, limit=100)
    assert [m.text for m in stored if m.sender.value == "agent"] == ["m1", "m2", "m3", "m4"]


async def test_sockets_refuse_missing_or_foreign_tokens_with_1008(server: LiveServer) -> None:
    room_id, _ = await server.new_room()
    _, other_token = await server.new_room()
    for url in (
        f"{server.ws_url}/ws/rooms/{room_id}",
        f"{server.ws_url}/ws/rooms/{room_id}?token={other_token}",
        f"{server.ws_url}/ws/agent?token={other_token}",
    ):
        with pytest.raises(websockets.exceptions.ConnectionClosed) as closed:
            async with websockets.connect(url) as ws:
                await ws.recv()
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008


async def test_agent_socket_gets_queue_changes_and_joined_room_messages(server: LiveServer) -> None:
    agent, agent_token = await server.add_agent("Alice")
    room_id, token = await server.new_room()
    async with (
        websockets.connect(f"{server.ws_url}/ws/agent?token={agent_token}") as console,
        websockets.connect(f"{server.ws_url}/ws/rooms/{room_id}?token={token}") as user,
    ):
        first = await next_frame(console, of_type("queue"))
        assert first["rooms"] == []
        await next_frame(user, of_type("room"))
        # The open socket alone makes Alice online: the handoff goes to the queue.
        await user.send(json.dumps({"type": "message", "text": "talk to a human please"}))
        queued = await next_frame(console, lambda f: f["type"] == "queue" and f["rooms"])
        assert [r["id"] for r in queued["rooms"]] == [room_id]
        waiting = await next_frame(user, of_type("room"))
        assert waiting["room"]["status"] == "waiting" and waiting["room"]["queue_position"] == 1

        await server.http.post(f"/api/rooms/{room_id}/join", headers=auth(agent_token))
        # The queue empties (a brief may update it first: skip that frame).
        await next_frame(console, lambda f: f["type"] == "queue" and f["rooms"] == [])
        joined = await next_frame(user, of_type("room"))
        assert joined["room"]["agent"] == {"id": agent.id, "name": "Alice"}

        await user.send(json.dumps({"type": "message", "text": "my parcel is late"}))
        seen = await next_frame(console, message_from("user"))
        assert seen["message"]["text"] == "my parcel is late"

        await console.send(
            json.dumps({"type": "message", "room_id": room_id, "text": "Let me check."})
        )
        answer = await next_frame(user, message_from("agent"))
        assert answer["message"]["author"] == "Alice"


async def test_an_agent_joining_cancels_the_ai_reply_in_flight(sqlite_url: str) -> None:
    from tests.conftest import make_settings, start_server

    settings = make_settings(sqlite_url, ai_chunk_delay_seconds=0.05)
    async for server in start_server(settings):
        _, agent_token = await server.add_agent("Alice")
        room_id, token = await server.new_room()
        async with websockets.connect(f"{server.ws_url}/ws/rooms/{room_id}?token={token}") as ws:
            await next_frame(ws, of_type("room"))
            await ws.send(json.dumps({"type": "message", "text": "tell me about your returns"}))
            await next_frame(ws, of_type("ai.delta"))
            await server.http.post(f"/api/rooms/{room_id}/join", headers=auth(agent_token))
            await next_frame(ws, of_type("ai.cancelled"))
        await server.tandem.rooms.replies.idle()
        history = await server.tandem.rooms.messages(room_id, after=0, limit=100)
        assert [m.sender.value for m in history] == ["user", "system"]


async def test_an_agent_is_offline_once_its_console_socket_closes(
    sqlite_server: LiveServer,
) -> None:
    _, agent_token = await sqlite_server.add_agent("Alice")
    presence = sqlite_server.tandem.presence
    assert await presence.online_count() == 0
    async with websockets.connect(f"{sqlite_server.ws_url}/ws/agent?token={agent_token}") as ws:
        await next_frame(ws, of_type("queue"))
        assert await presence.online_count() == 1
    for _ in range(100):  # the server notices the close asynchronously
        if await presence.online_count() == 0:
            break
        await asyncio.sleep(0.02)
    assert await presence.online_count() == 0
    # Polling the queue is a heartbeat of its own.
    await sqlite_server.http.get("/api/queue", headers=auth(agent_token))
    assert await presence.online_count() == 1


@pytest.mark.rate_limits_off
async def test_a_burst_from_one_socket_is_stored_in_the_order_sent(server: LiveServer) -> None:
    room_id, token = await server.new_room()
    _, agent_token = await server.add_agent("Alice")
    await server.http.post(f"/api/rooms/{room_id}/join", headers=auth(agent_token))
    async with websockets.connect(f"{server.ws_url}/ws/rooms/{room_id}?token={token}") as ws:
        await next_frame(ws, of_type("room"))
        for n in range(200):
            await ws.send(
                json.dumps({"type": "message", "text": f"burst {n}", "client_id": f"b{n}"})
            )
        await ws.send(json.dumps({"type": "message", "text": ""}))  # one bad frame in the burst
        texts = [
            (await next_frame(ws, message_from("user")))["message"]["text"] for _ in range(200)
        ]
        assert texts == [f"burst {n}" for n in range(200)]
        assert (await next_frame(ws, of_type("error")))["code"] == "bad_frame"
    stored = await server.tandem.rooms.messages(room_id, after=0, limit=500)
    users = [m for m in stored if m.sender.value == "user"]
    assert [m.text for m in users] == [f"burst {n}" for n in range(200)]
    assert [m.seq for m in stored] == list(range(1, 202))
