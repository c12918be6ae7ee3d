"""Who may close a room and read its transcript, through a real uvicorn on SQLite and MariaDB."""

from __future__ import annotations

from tests.conftest import LiveServer, auth


async def held_by(server: LiveServer, agent_token: str) -> tuple[str, str]:
    """A room the user handed over and the agent took."""
    await server.http.get("/api/queue", headers=auth(agent_token))  # online
    room_id, token = await server.new_room()
    queued = await server.http.post(f"/api/rooms/{room_id}/handoff", headers=auth(token))
    assert queued.json()["status"] == "waiting"
    joined = await server.http.post(f"/api/rooms/{room_id}/join", headers=auth(agent_token))
    assert joined.status_code == 200, joined.text
    return room_id, token


async def test_an_agent_cannot_close_another_agents_chat(server: LiveServer) -> None:
    alice, alice_token = await server.add_agent("Alice")
    _, bob_token = await server.add_agent("Bob")
    room_id, token = await held_by(server, alice_token)
    refused = await server.http.post(f"/api/rooms/{room_id}/close", headers=auth(bob_token))
    assert refused.status_code == 403
    assert refused.json()["code"] == "not_your_room"
    room = (await server.http.get(f"/api/rooms/{room_id}", headers=auth(token))).json()
    assert room["status"] == "agent" and room["agent"]["id"] == alice.id
    closed = await server.http.post(f"/api/rooms/{room_id}/close", headers=auth(alice_token))
    assert closed.status_code == 200 and closed.json()["status"] == "closed"
    again = await server.http.post(f"/api/rooms/{room_id}/close", headers=auth(bob_token))
    assert again.status_code == 200 and again.json()["status"] == "closed"  # unchanged


async def test_any_agent_clears_a_waiting_room_from_the_queue(server: LiveServer) -> None:
    _, alice_token = await server.add_agent("Alice")
    await server.http.get("/api/queue", headers=auth(alice_token))
    room_id, token = await server.new_room()
    await server.http.post(f"/api/rooms/{room_id}/handoff", headers=auth(token))
    closed = await server.http.post(f"/api/rooms/{room_id}/close", headers=auth(alice_token))
    assert closed.status_code == 200 and closed.json()["status"] == "closed"
    queue = await server.http.get("/api/queue", headers=auth(alice_token))
    assert queue.json() == {"rooms": []}


async def test_the_ais_chat_closes_for_its_user_or_an_admin_only(server: LiveServer) -> None:
    _, agent_token = await server.add_agent("Al")
    _, admin_token = await server.add_agent("Ada", role="admin")
    room_id, _ = await server.new_room()
    refused = await server.http.post(f"/api/rooms/{room_id}/close", headers=auth(agent_token))
    assert refused.status_code == 403
    closed = await server.http.post(f"/api/rooms/{room_id}/close", headers=auth(admin_token))
    assert closed.status_code == 200 and closed.json()["status"] == "closed"
    other, other_token = await server.new_room()
    by_user = await server.http.post(f"/api/rooms/{other}/close", headers=auth(other_token))
    assert by_user.status_code == 200 and by_user.json()["status"] == "closed"


async def test_an_admin_closes_a_chat_an_agent_holds(server: LiveServer) -> None:
    _, alice_token = await server.add_agent("Alice")
    _, admin_token = await server.add_agent("Ada", role="admin")
    room_id, _ = await held_by(server, alice_token)
    closed = await server.http.post(f"/api/rooms/{room_id}/close", headers=auth(admin_token))
    assert closed.status_code == 200 and closed.json()["status"] == "closed"
    mine = await server.http.get("/api/agents/me/rooms", headers=auth(alice_token))
    assert mine.json() == {"rooms": []}


async def test_transcripts_for_analysts_admins_and_agents_who_held_the_chat(
    server: LiveServer,
) -> None:
    _, alice = await server.add_agent("Alice")
    _, bob = await server.add_agent("Bob")
    _, analyst = await server.add_agent("Ana", role="analyst")
    _, admin = await server.add_agent("Ada", role="admin")
    room_id, _ = await held_by(server, alice)
    left = await server.http.post(f"/api/rooms/{room_id}/leave", headers=auth(alice))
    assert left.status_code == 200  # she held it once: still her work
    url = f"/api/rooms/{room_id}/transcript.json"
    for token, expected in ((alice, 200), (analyst, 200), (admin, 200), (bob, 403)):
        response = await server.http.get(url, headers=auth(token))
        assert response.status_code == expected, response.text
    unknown = await server.http.get("/api/rooms/nope/transcript.json", headers=auth(bob))
    assert unknown.status_code == 403  # an agent learns nothing about rooms not theirs
