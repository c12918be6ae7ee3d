"""Bad requests get a status and a message a person can act on, and break nothing."""

from __future__ import annotations

from tests.conftest import LiveServer, auth


async def test_room_endpoints_need_a_token(sqlite_server: LiveServer) -> None:
    room_id, _ = await sqlite_server.new_room()
    for method, path in [
        ("GET", f"/api/rooms/{room_id}"),
        ("GET", f"/api/rooms/{room_id}/messages"),
        ("POST", f"/api/rooms/{room_id}/close"),
        ("GET", "/api/queue"),
        ("GET", "/api/agents/me"),
    ]:
        response = await sqlite_server.http.request(method, path)
        assert response.status_code == 401, path
        assert "token" in response.json()["detail"].lower()


async def test_a_room_token_opens_only_its_own_room(sqlite_server: LiveServer) -> None:
    _, token_a = await sqlite_server.new_room()
    room_b, _ = await sqlite_server.new_room()
    response = await sqlite_server.http.get(f"/api/rooms/{room_b}", headers=auth(token_a))
    assert response.status_code == 403
    queue = await sqlite_server.http.get("/api/queue", headers=auth(token_a))
    assert queue.status_code == 401


async def test_a_forged_token_is_refused(sqlite_server: LiveServer) -> None:
    room_id, token = await sqlite_server.new_room()
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    response = await sqlite_server.http.get(f"/api/rooms/{room_id}", headers=auth(forged))
    assert response.status_code == 401


async def test_wrong_password_is_401(sqlite_server: LiveServer) -> None:
    agent, _ = await sqlite_server.add_agent("Alice")
    response = await sqlite_server.http.post(
        "/api/auth/token", data={"username": agent.email, "password": "nope-nope"}
    )
    assert response.status_code == 401
    assert response.json()["detail"] == "Wrong email or password."


async def test_agents_me_returns_the_logged_in_agent(sqlite_server: LiveServer) -> None:
    agent, token = await sqlite_server.add_agent("Alice", role="admin")
    me = (await sqlite_server.http.get("/api/agents/me", headers=auth(token))).json()
    assert me == {"id": agent.id, "email": agent.email, "name": "Alice", "role": "admin"}


async def test_unknown_room_is_404_for_an_agent(sqlite_server: LiveServer) -> None:
    _, token = await sqlite_server.add_agent("Alice")
    for path in ("/api/rooms/nope", "/api/rooms/nope/messages"):
        response = await sqlite_server.http.get(path, headers=auth(token))
        assert response.status_code == 404
    response = await sqlite_server.http.post("/api/rooms/nope/join", headers=auth(token))
    assert response.status_code == 404


async def test_bad_message_bodies(sqlite_server: LiveServer) -> None:
    room_id, token = await sqlite_server.new_room()
    url = f"/api/rooms/{room_id}/messages"
    assert (await sqlite_server.http.post(url, json={}, headers=auth(token))).status_code == 422
    blank = await sqlite_server.http.post(url, json={"text": "   "}, headers=auth(token))
    assert blank.status_code == 422
    long = await sqlite_server.http.post(url, json={"text": "x" * 5000}, headers=auth(token))
    assert long.status_code == 413 and "4000" in long.json()["detail"]
    huge = await sqlite_server.http.post(url, json={"text": "x" * 100_000}, headers=auth(token))
    assert huge.status_code == 413
    bad_after = await sqlite_server.http.get(url, params={"after": -1}, headers=auth(token))
    assert bad_after.status_code == 422
    # Nothing was stored, and the room still works.
    ok = await sqlite_server.http.post(url, json={"text": "hi"}, headers=auth(token))
    assert ok.status_code == 201 and ok.json()["seq"] == 1


async def test_an_agent_must_join_before_writing(sqlite_server: LiveServer) -> None:
    room_id, _ = await sqlite_server.new_room()
    _, agent_token = await sqlite_server.add_agent("Alice")
    response = await sqlite_server.http.post(
        f"/api/rooms/{room_id}/messages", json={"text": "hello"}, headers=auth(agent_token)
    )
    assert response.status_code == 403 and "Join" in response.json()["detail"]


async def test_leaving_a_room_you_do_not_hold_is_403(sqlite_server: LiveServer) -> None:
    room_id, _ = await sqlite_server.new_room()
    _, alice = await sqlite_server.add_agent("Alice")
    _, bob = await sqlite_server.add_agent("Bob")
    await sqlite_server.http.post(f"/api/rooms/{room_id}/join", headers=auth(alice))
    response = await sqlite_server.http.post(f"/api/rooms/{room_id}/leave", headers=auth(bob))
    assert response.status_code == 403


async def test_analysts_read_but_do_not_take_chats(sqlite_server: LiveServer) -> None:
    room_id, _ = await sqlite_server.new_room()
    _, analyst = await sqlite_server.add_agent("Ana", role="analyst")
    assert (
        await sqlite_server.http.get(f"/api/rooms/{room_id}", headers=auth(analyst))
    ).status_code == 200
    joined = await sqlite_server.http.post(f"/api/rooms/{room_id}/join", headers=auth(analyst))
    assert joined.status_code == 403


async def test_health_and_readiness(sqlite_server: LiveServer) -> None:
    assert (await sqlite_server.http.get("/healthz")).status_code == 200
    ready = await sqlite_server.http.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ok", "database": "ok", "broker": "ok"}
