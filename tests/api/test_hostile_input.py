"""What a hostile visitor sends stays with them: an error for them, nothing broken for others."""

from __future__ import annotations

import asyncio
import contextlib
import json

import pytest
import websockets

from tests.api.test_ws import message_from, next_frame, of_type
from tests.conftest import LiveServer, auth

UNSTORABLE = ["lone \ud800 surrogate", "nul \x00 byte", "bell \x07", "c1 \x85 control"]


@pytest.mark.rate_limits_off
async def test_unstorable_text_on_a_socket_is_refused_and_other_rooms_store_everything(
    server: LiveServer,
) -> None:
    room_id, token = await server.new_room()
    other_id, other_token = await server.new_room()
    async with (
        websockets.connect(f"{server.ws_url}/ws/rooms/{room_id}?token={token}") as ws,
        websockets.connect(f"{server.ws_url}/ws/rooms/{other_id}?token={other_token}") as other,
    ):
        await next_frame(ws, of_type("room"))
        await next_frame(other, of_type("room"))
        bad = [json.dumps({"type": "message", "text": text}) for text in UNSTORABLE]
        bad.append(json.dumps({"type": "message", "text": "fine", "client_id": "id\x00"}))
        good = [json.dumps({"type": "message", "text": f"other {n}"}) for n in range(20)]

        async def send_bad() -> None:
            for frame in bad:
                await ws.send(frame)

        async def send_good() -> None:
            for frame in good:
                await other.send(frame)

        await asyncio.gather(send_bad(), send_good())
        for _ in bad:
            error = await next_frame(ws, of_type("error"))
            assert error["code"] == "bad_frame" and error["detail"]
        # The socket goes on, and tab and newlines are ordinary text.
        await ws.send(json.dumps({"type": "message", "text": "still\there\nok"}))
        mine = await next_frame(ws, message_from("user"))
        assert mine["message"]["text"] == "still\there\nok" and mine["message"]["seq"] == 1
        texts = [(await next_frame(other, message_from("user")))["message"]["text"] for _ in good]
        assert texts == [f"other {n}" for n in range(20)]
    stored = await server.tandem.rooms.messages(other_id, after=0, limit=500)
    assert [m.text for m in stored if m.sender.value == "user"] == [f"other {n}" for n in range(20)]


async def test_unstorable_text_over_http_is_422_and_nothing_is_stored(
    sqlite_server: LiveServer,
) -> None:
    room_id, token = await sqlite_server.new_room()
    headers = {**auth(token), "Content-Type": "application/json"}
    url = f"/api/rooms/{room_id}/messages"
    bodies = [json.dumps({"text": text}) for text in UNSTORABLE]
    bodies.append(json.dumps({"text": "fine", "client_id": "\x1b[2J"}))
    for body in bodies:
        response = await sqlite_server.http.post(url, content=body, headers=headers)
        assert response.status_code == 422, body
        assert response.json()["detail"][0]["loc"][0] == "body"
    handoff = await sqlite_server.http.post(
        f"/api/rooms/{room_id}/handoff", content='{"reason": "\\ud800"}', headers=headers
    )
    assert handoff.status_code == 422
    ok = await sqlite_server.http.post(url, json={"text": "tab\tand\nnewline"}, headers=auth(token))
    assert ok.status_code == 201 and ok.json()["seq"] == 1


async def test_a_422_never_echoes_a_large_body(sqlite_server: LiveServer) -> None:
    room_id, token = await sqlite_server.new_room()
    url = f"/api/rooms/{room_id}/messages"
    for body in (
        {"text": "hi", "client_id": "x" * 60_000},
        {"text": ["x" * 100] * 500},
        {"text": 1, "client_id": "\ud800" * 10_000},
    ):
        content = json.dumps(body)
        assert 50_000 < len(content) < 64 * 1024
        response = await sqlite_server.http.post(
            url, content=content, headers={**auth(token), "Content-Type": "application/json"}
        )
        assert response.status_code == 422
        assert len(response.content) < 2_000, response.text[:300]
        for error in response.json()["detail"]:
            assert set(error) == {"loc", "msg", "type"} and error["loc"][0] == "body"
    broken = await sqlite_server.http.post(
        url, content="{" + "x" * 60_000, headers={**auth(token), "Content-Type": "application/json"}
    )
    assert broken.status_code == 422 and len(broken.content) < 2_000


async def test_after_beyond_the_seq_column_is_refused(server: LiveServer) -> None:
    room_id, token = await server.new_room()
    url = f"/api/rooms/{room_id}/messages"
    for after in (2**70, 2**31):
        response = await server.http.get(url, params={"after": after}, headers=auth(token))
        assert response.status_code == 422, after
    last = await server.http.get(url, params={"after": 2**31 - 1}, headers=auth(token))
    assert last.status_code == 200 and last.json() == {"messages": []}
    async with websockets.connect(f"{server.ws_url}/ws/rooms/{room_id}?token={token}") as ws:
        await next_frame(ws, of_type("room"))
        for after in (10**30, 2**31, -1):
            await ws.send(json.dumps({"type": "resume", "after": after}))
            error = await next_frame(ws, of_type("error"))
            assert error["code"] == "bad_frame" and "after" in error["detail"]
        await ws.send(json.dumps({"type": "resume", "after": 2**31 - 1}))
        await ws.send(json.dumps({"type": "ping"}))
        assert (await next_frame(ws, lambda f: f["type"] in ("pong", "error")))["type"] == "pong"


STATS_PATHS = ("/api/stats", "/api/stats/conversations.csv", "/api/stats/transcripts")


async def test_stats_days_out_of_range_are_422_and_the_edges_work(server: LiveServer) -> None:
    _, token = await server.add_agent("Ana", role="analyst")
    for params in (
        {"to": "0001-01-01"},
        {"from": "9999-12-25"},
        {"from": "0001-01-01", "to": "0001-01-02"},
        {"from": "9999-12-30", "to": "9999-12-31"},
        {"from": "1969-12-31", "to": "1970-01-02"},
    ):
        for path in STATS_PATHS:
            response = await server.http.get(
                path, params={**params, "q": "hi", "tz": "Pacific/Kiritimati"}, headers=auth(token)
            )
            assert response.status_code == 422, (path, params, response.text)
            assert "between" in response.json()["detail"]
    for params in ({"to": "1970-01-01"}, {"from": "9998-12-01", "to": "9998-12-31"}):
        for tz in ("Pacific/Kiritimati", "Pacific/Pago_Pago"):
            for path in STATS_PATHS:
                response = await server.http.get(
                    path, params={**params, "q": "hi", "tz": tz}, headers=auth(token)
                )
                assert response.status_code == 200, (path, params, tz, response.text)


async def test_a_chunked_body_over_the_limit_is_413_before_it_is_all_sent(
    sqlite_server: LiveServer,
) -> None:
    room_id, token = await sqlite_server.new_room()
    host, port = sqlite_server.url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(
        f"POST /api/rooms/{room_id}/messages HTTP/1.1\r\nHost: {host}\r\n"
        f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
        "Transfer-Encoding: chunked\r\n\r\n".encode()
    )
    total, chunk = 30 * 1024 * 1024, b'{"text": "' + b"x" * 65_526
    sent = 0

    async def upload() -> None:  # a client that reads the answer while it sends
        nonlocal sent
        with contextlib.suppress(ConnectionError):
            while sent < total:
                writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                await writer.drain()
                sent += len(chunk)
            writer.write(b"0\r\n\r\n")
            await writer.drain()

    uploading = asyncio.create_task(upload())
    try:
        async with asyncio.timeout(5):
            head = await reader.readuntil(b"\r\n\r\n")
            length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
            body = await reader.readexactly(length)
        assert head.startswith(b"HTTP/1.1 413"), head
        assert length < 200 and "65536" in json.loads(body)["detail"]
        assert sent < total // 2  # the server stopped reading: the upload did not go through
    finally:
        uploading.cancel()
        writer.close()
    ok = await sqlite_server.http.post(
        f"/api/rooms/{room_id}/messages", json={"text": "hi"}, headers=auth(token)
    )
    assert ok.status_code == 201 and ok.json()["seq"] == 1


async def test_a_binary_frame_is_answered_then_closed_with_1003(server: LiveServer) -> None:
    room_id, token = await server.new_room()
    _, agent_token = await server.add_agent("Alice")
    await server.http.post(f"/api/rooms/{room_id}/join", headers=auth(agent_token))
    async with websockets.connect(f"{server.ws_url}/ws/rooms/{room_id}?token={token}") as ws:
        await next_frame(ws, of_type("room"))
        for n in range(5):
            await ws.send(json.dumps({"type": "message", "text": f"before {n}"}))
        await ws.send(json.dumps({"type": "shout"}))
        await ws.send(b"\x00\x01binary")
        await ws.send(json.dumps({"type": "message", "text": "after"}))  # never read
        frames = []
        with pytest.raises(websockets.exceptions.ConnectionClosed) as closed:
            async with asyncio.timeout(5):
                while True:
                    frames.append(json.loads(await ws.recv()))
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1003
    texts = [f["message"]["text"] for f in frames if f["type"] == "message"]
    assert texts == [f"before {n}" for n in range(5)]
    errors = [f["code"] for f in frames if f["type"] == "error"]
    assert errors == ["unknown_type", "bad_frame"]
    stored = await server.tandem.rooms.messages(room_id, after=0, limit=100)
    assert [m.text for m in stored if m.sender.value == "user"] == texts
    async with websockets.connect(f"{server.ws_url}/ws/agent?token={agent_token}") as console:
        await next_frame(console, of_type("queue"))
        await console.send(b"binary")
        assert (await next_frame(console, of_type("error")))["code"] == "bad_frame"
        with pytest.raises(websockets.exceptions.ConnectionClosed) as closed:
            await console.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1003
