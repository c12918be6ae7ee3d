"""Saved replies and private notes through a real uvicorn, on SQLite and MariaDB.

Notes are not messages: they never reach a room's WebSocket, its messages or its NDJSON
stream, and never move `last_seq`; the holding agent's /ws/agent gets a `note` frame.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
import websockets

from api.ai.base import ReplyChunk, ReplyRequest
from tests.api.test_authz_http import held_by
from tests.api.test_ws import next_frame, of_type
from tests.conftest import LiveServer, auth

REPLY = {"shortcut": "hello", "title": "Greeting", "text": "Hi, I am {agent_name}. How can I help?"}


# ---------------------------------------------------------------- saved replies


async def test_saved_replies_crud_for_admins(server: LiveServer) -> None:
    _, admin = await server.add_agent("Ada", role="admin")
    _, agent = await server.add_agent("Al")
    created = await server.http.post("/api/replies", json=REPLY, headers=auth(admin))
    assert created.status_code == 201, created.text
    body = created.json()
    assert {k: body[k] for k in REPLY} == REPLY and isinstance(body["id"], int)

    listed = await server.http.get("/api/replies", headers=auth(agent))
    assert listed.status_code == 200
    assert [r["shortcut"] for r in listed.json()["replies"]] == ["hello"]

    changed = {**REPLY, "shortcut": "hi", "text": "Hello from {agent_name}."}
    updated = await server.http.put(f"/api/replies/{body['id']}", json=changed, headers=auth(admin))
    assert updated.status_code == 200, updated.text
    assert updated.json()["shortcut"] == "hi" and updated.json()["id"] == body["id"]
    listed = (await server.http.get("/api/replies", headers=auth(admin))).json()["replies"]
    assert [(r["shortcut"], r["text"]) for r in listed] == [("hi", "Hello from {agent_name}.")]

    deleted = await server.http.delete(f"/api/replies/{body['id']}", headers=auth(admin))
    assert deleted.status_code == 204 and deleted.content == b""
    assert (await server.http.get("/api/replies", headers=auth(agent))).json() == {"replies": []}
    for method in ("PUT", "DELETE"):
        gone = await server.http.request(
            method, f"/api/replies/{body['id']}", json=REPLY, headers=auth(admin)
        )
        assert gone.status_code == 404, (method, gone.text)


async def test_saved_replies_refusals(server: LiveServer) -> None:
    _, admin = await server.add_agent("Ada", role="admin")
    _, agent = await server.add_agent("Al")
    _, analyst = await server.add_agent("Ana", role="analyst")
    _, room_token = await server.new_room()

    assert (
        await server.http.post("/api/replies", json=REPLY, headers=auth(agent))
    ).status_code == 403
    assert (await server.http.get("/api/replies", headers=auth(analyst))).status_code == 403
    assert (await server.http.get("/api/replies", headers=auth(room_token))).status_code == 401
    assert (await server.http.get("/api/replies")).status_code == 401

    first = await server.http.post("/api/replies", json=REPLY, headers=auth(admin))
    assert first.status_code == 201
    again = await server.http.post("/api/replies", json=REPLY, headers=auth(admin))
    assert again.status_code == 409 and again.json()["code"] == "duplicate_shortcut"
    other = await server.http.post(
        "/api/replies", json={**REPLY, "shortcut": "bye"}, headers=auth(admin)
    )
    clash = await server.http.put(
        f"/api/replies/{other.json()['id']}", json=REPLY, headers=auth(admin)
    )
    assert clash.status_code == 409
    same = await server.http.put(
        f"/api/replies/{first.json()['id']}", json=REPLY, headers=auth(admin)
    )
    assert same.status_code == 200  # keeping its own shortcut is no clash

    for bad in (
        {**REPLY, "shortcut": "Hello"},
        {**REPLY, "shortcut": "with space"},
        {**REPLY, "shortcut": "x" * 33},
        {**REPLY, "text": "bell \x07"},
        {**REPLY, "title": ""},
    ):
        refused = await server.http.post("/api/replies", json=bad, headers=auth(admin))
        assert refused.status_code == 422, bad


# ---------------------------------------------------------------- notes


async def test_notes_for_the_holder_and_admins_only(server: LiveServer) -> None:
    alice, alice_token = await server.add_agent("Alice")
    _, bob_token = await server.add_agent("Bob")
    _, admin_token = await server.add_agent("Ada", role="admin")
    _, analyst_token = await server.add_agent("Ana", role="analyst")
    room_id, room_token = await held_by(server, alice_token)
    url = f"/api/rooms/{room_id}/notes"

    added = await server.http.post(url, json={"text": "VIP, be kind"}, headers=auth(alice_token))
    assert added.status_code == 201, added.text
    note = added.json()
    assert note["room_id"] == room_id and note["text"] == "VIP, be kind"
    assert note["agent"] == {"id": alice.id, "name": "Alice"} and isinstance(note["id"], int)

    by_admin = await server.http.post(url, json={"text": "ok"}, headers=auth(admin_token))
    assert by_admin.status_code == 201
    for token in (bob_token, analyst_token, room_token):
        refused = await server.http.post(url, json={"text": "x"}, headers=auth(token))
        assert refused.status_code == 403, refused.text
    assert (await server.http.post(url, json={"text": "x"})).status_code == 401
    empty = await server.http.post(url, json={"text": "  "}, headers=auth(alice_token))
    assert empty.status_code == 422

    for token in (alice_token, bob_token, admin_token):
        read = await server.http.get(url, headers=auth(token))
        assert read.status_code == 200
        assert [n["text"] for n in read.json()["notes"]] == ["VIP, be kind", "ok"]
    for token in (room_token, analyst_token):
        assert (await server.http.get(url, headers=auth(token))).status_code == 403
    other_room, other_token = await server.new_room()
    assert (await server.http.get(url, headers=auth(other_token))).status_code == 403
    missing = await server.http.get("/api/rooms/nope/notes", headers=auth(admin_token))
    assert missing.status_code == 404
    # An agent may note only a chat they hold: not a waiting one, not the AI's.
    refused = await server.http.post(
        f"/api/rooms/{other_room}/notes", json={"text": "x"}, headers=auth(alice_token)
    )
    assert refused.status_code == 403


async def test_a_note_never_reaches_the_room_and_the_holder_gets_its_frame(
    server: LiveServer,
) -> None:
    _, alice_token = await server.add_agent("Alice")
    room_id, room_token = await held_by(server, alice_token)
    before = (await server.http.get(f"/api/rooms/{room_id}", headers=auth(room_token))).json()
    room_url = f"{server.ws_url}/ws/rooms/{room_id}?token={room_token}"
    async with (
        websockets.connect(room_url) as room_ws,
        websockets.connect(f"{server.ws_url}/ws/agent?token={alice_token}") as console,
    ):
        await next_frame(room_ws, of_type("room"))
        await asyncio.sleep(0.2)  # the agent socket has subscribed
        added = await server.http.post(
            f"/api/rooms/{room_id}/notes",
            json={"text": "secret: refund approved"},
            headers=auth(alice_token),
        )
        assert added.status_code == 201
        frame = await next_frame(console, of_type("note"))
        assert frame == {"type": "note", "note": added.json()}

        # The user writes and streams after the note: nothing they can reach carries it.
        reply = await server.http.post(
            f"/api/rooms/{room_id}/messages",
            params={"stream": "true"},
            json={"text": "hello?"},
            headers=auth(room_token),
        )
        assert reply.status_code == 200
        assert "secret" not in reply.text and '"note"' not in reply.text
        seen: list[dict[str, Any]] = []
        try:
            async with asyncio.timeout(0.5):
                while True:
                    seen.append(json.loads(await room_ws.recv()))
        except TimeoutError:
            pass
        assert seen and all(f["type"] != "note" for f in seen), seen
        assert "secret" not in json.dumps(seen)

    messages = (
        await server.http.get(f"/api/rooms/{room_id}/messages", headers=auth(room_token))
    ).json()["messages"]
    assert all("secret" not in m["text"] for m in messages)
    after = (await server.http.get(f"/api/rooms/{room_id}", headers=auth(room_token))).json()
    assert after["last_seq"] == before["last_seq"] + 1  # the user's message only


async def test_transcript_json_has_the_notes_marked(server: LiveServer) -> None:
    _, alice_token = await server.add_agent("Alice")
    _, analyst_token = await server.add_agent("Ana", role="analyst")
    room_id, room_token = await held_by(server, alice_token)
    await server.http.post(
        f"/api/rooms/{room_id}/notes", json={"text": "call back"}, headers=auth(alice_token)
    )
    await server.http.post(
        f"/api/rooms/{room_id}/messages", json={"text": "thanks"}, headers=auth(room_token)
    )
    response = await server.http.get(
        f"/api/rooms/{room_id}/transcript.json", headers=auth(analyst_token)
    )
    assert response.status_code == 200
    body = response.json()
    assert [(n["kind"], n["text"], n["agent"]["name"]) for n in body["notes"]] == [
        ("note", "call back", "Alice")
    ]
    assert all(m["text"] != "call back" for m in body["messages"])
    # Placed by time: after the join notice, before the user's "thanks".
    seqs = {m["text"]: m["seq"] for m in body["messages"]}
    assert body["notes"][0]["after_seq"] == seqs["thanks"] - 1


async def test_the_ai_never_sees_a_note(
    server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An admin notes a chat the AI holds; the AI's next reply is asked for with messages only."""
    _, admin_token = await server.add_agent("Ada", role="admin")
    room_id, room_token = await server.new_room()
    assistant = server.tandem.rooms.replies.assistant
    asked: list[ReplyRequest] = []
    original = assistant.reply

    def recording(request: ReplyRequest) -> AsyncIterator[ReplyChunk]:
        asked.append(request)
        return original(request)

    monkeypatch.setattr(assistant, "reply", recording)
    added = await server.http.post(
        f"/api/rooms/{room_id}/notes",
        json={"text": "zebra-secret internal"},
        headers=auth(admin_token),
    )
    assert added.status_code == 201
    streamed = await server.http.post(
        f"/api/rooms/{room_id}/messages",
        params={"stream": "true"},
        json={"text": "what are your opening hours?"},
        headers=auth(room_token),
    )
    frames = [json.loads(line) for line in streamed.text.splitlines() if line.strip()]
    assert any(f["type"] == "message" and f["message"]["sender"] == "ai" for f in frames)
    assert all(f["type"] != "note" for f in frames) and "zebra" not in streamed.text
    assert asked and all("zebra" not in turn.text for r in asked for turn in r.history)
    assert [turn.text for turn in asked[0].history][-1] == "what are your opening hours?"
