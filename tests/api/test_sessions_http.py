"""Console sessions through a real uvicorn, on SQLite and MariaDB: a revocable secret the
browser keeps, exchanged for a token on reload; logout and disabling end it."""

from __future__ import annotations

from db import queries
from tests.conftest import LiveServer, auth


async def new_session(server: LiveServer, token: str) -> str:
    created = await server.http.post("/api/auth/sessions", headers=auth(token))
    assert created.status_code == 201, created.text
    assert created.headers["cache-control"] == "no-store"
    secret: str = created.json()["session"]
    assert len(secret) >= 40 and created.json()["expires_at"]
    return secret


async def exchange(server: LiveServer, secret: str) -> tuple[int, str | None]:
    response = await server.http.post("/api/auth/sessions/token", json={"session": secret})
    return response.status_code, response.json().get("access_token")


async def test_a_session_survives_a_reload_until_logout(server: LiveServer) -> None:
    alice, token = await server.add_agent("Alice")
    secret = await new_session(server, token)

    status, fresh = await exchange(server, secret)  # the console, reloaded
    assert status == 200 and fresh
    me = await server.http.get("/api/agents/me", headers=auth(fresh))
    assert me.status_code == 200 and me.json()["id"] == alice.id
    assert (await exchange(server, secret))[0] == 200  # again: it is not single-use

    revoked = await server.http.post("/api/auth/sessions/revoke", json={"session": secret})
    assert revoked.status_code == 204
    assert await exchange(server, secret) == (401, None)
    again = await server.http.post("/api/auth/sessions/revoke", json={"session": secret})
    assert again.status_code == 204  # logging out twice is no error


async def test_disabling_ends_sessions_and_strangers_get_none(server: LiveServer) -> None:
    bob, token = await server.add_agent("Bob")
    secret = await new_session(server, token)
    assert bob.id is not None
    async with server.tandem.db.write() as session:
        await queries.set_agent_disabled(session, agent_id=bob.id, disabled=True)
    assert await exchange(server, secret) == (401, None)
    async with server.tandem.db.write() as session:
        await queries.set_agent_disabled(session, agent_id=bob.id, disabled=False)
    assert await exchange(server, secret) == (401, None)  # enabling does not bring it back

    assert await exchange(server, "made-up") == (401, None)
    status, none = await exchange(server, token)  # a JWT is no session (and too long for one)
    assert status in (401, 422) and none is None
    assert (await server.http.post("/api/auth/sessions")).status_code == 401
    _, room_token = await server.new_room()
    assert (
        await server.http.post("/api/auth/sessions", headers=auth(room_token))
    ).status_code == 401
    long = await server.http.post("/api/auth/sessions/token", json={"session": "x" * 500})
    assert long.status_code == 422
