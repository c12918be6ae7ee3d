"""Follow-ups through a real uvicorn, on SQLite and MariaDB: with no agent online the user
leaves an email and a message, the chat closes as `followup`, and agents work the list."""

from __future__ import annotations

import sqlalchemy as sa

from db.tables import events_t
from tests.conftest import LiveServer, auth

BODY = {"email": "ann@example.com", "text": "My order 1234 never came.\nPlease write back."}


async def close_reason(server: LiveServer, room_id: str) -> str | None:
    async with server.tandem.db.session() as session:
        return await session.scalar(
            sa.select(events_t.c.reason).where(
                events_t.c.room_id == room_id, events_t.c.kind == "closed"
            )
        )


async def test_a_user_leaves_a_followup_and_an_agent_marks_it_done(server: LiveServer) -> None:
    alice, agent = await server.add_agent("Alice")
    room_id, token = await server.new_room()
    asked = await server.http.post(f"/api/rooms/{room_id}/handoff", headers=auth(token))
    assert asked.json()["status"] == "ai"  # nobody online: the user is told so

    left = await server.http.post(f"/api/rooms/{room_id}/followup", json=BODY, headers=auth(token))
    assert left.status_code == 201, left.text
    followup = left.json()
    assert followup["room_id"] == room_id and followup["email"] == BODY["email"]
    assert followup["text"] == BODY["text"] and followup["done_at"] is None
    room = (await server.http.get(f"/api/rooms/{room_id}", headers=auth(token))).json()
    assert room["status"] == "closed"
    assert await close_reason(server, room_id) == "followup"
    messages = (
        await server.http.get(f"/api/rooms/{room_id}/messages", headers=auth(token))
    ).json()["messages"]
    assert "answer by email" in messages[-1]["text"]

    listed = (await server.http.get("/api/followups", headers=auth(agent))).json()["followups"]
    assert [f["id"] for f in listed] == [followup["id"]]
    one = await server.http.get(f"/api/followups/{followup['id']}", headers=auth(agent))
    assert one.status_code == 200 and one.json()["email"] == BODY["email"]

    done = await server.http.post(f"/api/followups/{followup['id']}/done", headers=auth(agent))
    assert done.status_code == 200, done.text
    assert done.json()["done_by"] == {"id": alice.id, "name": "Alice"} and done.json()["done_at"]
    assert (await server.http.get("/api/followups", headers=auth(agent))).json()["followups"] == []
    finished = await server.http.get("/api/followups?state=done", headers=auth(agent))
    assert [f["id"] for f in finished.json()["followups"]] == [followup["id"]]


async def test_followup_refusals(server: LiveServer) -> None:
    _, agent = await server.add_agent("Alice")
    _, analyst = await server.add_agent("Ana", role="analyst")
    room_id, token = await server.new_room()
    url = f"/api/rooms/{room_id}/followup"
    for bad in (
        {**BODY, "email": "not-an-address"},
        {**BODY, "email": "a@b"},
        {**BODY, "text": ""},
        {**BODY, "text": "bell \x07"},
        {**BODY, "email": "a\x00b@example.com"},
        {"email": BODY["email"]},
    ):
        refused = await server.http.post(url, json=bad, headers=auth(token))
        assert refused.status_code == 422, bad
    assert (await server.http.post(url, json=BODY)).status_code == 401
    assert (await server.http.post(url, json=BODY, headers=auth(agent))).status_code == 403
    other_id, other_token = await server.new_room()
    assert (
        await server.http.post(url, json=BODY, headers=auth(other_token))
    ).status_code == 403  # another room's token
    assert (await server.http.get("/api/followups", headers=auth(token))).status_code == 401
    assert (await server.http.get("/api/followups", headers=auth(analyst))).status_code == 403
    missing = await server.http.post("/api/followups/999999/done", headers=auth(agent))
    assert missing.status_code == 404

    # An agent online: ask for a person instead; nothing stored, the chat stays open.
    await server.http.get("/api/queue", headers=auth(agent))
    busy = await server.http.post(url, json=BODY, headers=auth(token))
    assert busy.status_code == 409 and busy.json()["code"] == "agents_online"
    room = (await server.http.get(f"/api/rooms/{room_id}", headers=auth(token))).json()
    assert room["status"] == "ai"
    assert (await server.http.get("/api/followups", headers=auth(agent))).json()["followups"] == []

    # A closed chat takes no follow-up.
    await server.http.post(f"/api/rooms/{other_id}/close", headers=auth(other_token))
    closed = await server.http.post(
        f"/api/rooms/{other_id}/followup", json=BODY, headers=auth(other_token)
    )
    assert closed.status_code == 409 and closed.json()["code"] == "room_closed"
