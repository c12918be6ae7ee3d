"""Ratings, visitor identity and customer history through a real uvicorn, on SQLite and MariaDB.

- A user rates their closed chat once (1–5, optional comment); it is credited to the last
  agent who held it (an AI-only chat: the AI) and shows in /api/stats, the CSV and the
  transcript.
- The visitor id is issued and signed by the server: a forged one is never adopted.
- The agent holding a chat sees the visitor's previous conversations; nobody else does.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import httpx
import pytest

from api.visitors import sign
from db.rollup_folder import RollupFolder
from tests.api.test_authz_http import held_by
from tests.conftest import (
    REDIS_URL,
    LiveServer,
    auth,
    make_settings,
    require_service,
    start_server,
)


async def say(
    server: LiveServer, room_id: str, token: str, text: str = "Where is my order?"
) -> None:
    sent = await server.http.post(
        f"/api/rooms/{room_id}/messages", json={"text": text}, headers=auth(token)
    )
    assert sent.status_code == 201, sent.text


async def close(server: LiveServer, room_id: str, token: str) -> None:
    closed = await server.http.post(f"/api/rooms/{room_id}/close", headers=auth(token))
    assert closed.status_code == 200 and closed.json()["status"] == "closed", closed.text


async def test_a_rating_is_credited_and_shows_in_the_statistics(server: LiveServer) -> None:
    alice, alice_token = await server.add_agent("Alice")
    _, analyst = await server.add_agent("Ana", role="analyst")
    room_id, token = await held_by(server, alice_token)
    await say(server, room_id, token)
    await close(server, room_id, alice_token)

    assert (await server.http.get(f"/api/rooms/{room_id}/rating", headers=auth(token))).json() == {
        "rating": None
    }
    rated = await server.http.post(
        f"/api/rooms/{room_id}/rating",
        json={"score": 5, "comment": "  Quick and kind  "},
        headers=auth(token),
    )
    assert rated.status_code == 201, rated.text
    body = rated.json()
    assert (body["score"], body["comment"]) == (5, "Quick and kind")
    assert body["agent"] == {"id": alice.id, "name": "Alice"}
    again = await server.http.post(
        f"/api/rooms/{room_id}/rating", json={"score": 1}, headers=auth(token)
    )
    assert again.status_code == 409 and again.json()["code"] == "already_rated"
    shown = await server.http.get(f"/api/rooms/{room_id}/rating", headers=auth(token))
    assert shown.json()["rating"]["score"] == 5

    # An AI-only chat is the AI's rating.
    ai_room, ai_token = await server.new_room()
    await say(server, ai_room, ai_token, "What are your opening hours?")
    await close(server, ai_room, ai_token)
    ai = await server.http.post(
        f"/api/rooms/{ai_room}/rating", json={"score": 2}, headers=auth(ai_token)
    )
    assert ai.status_code == 201 and ai.json()["agent"] is None

    await RollupFolder(server.tandem.db).fold_now()  # what /api/stats reads
    today = datetime.now(UTC).date().isoformat()
    period = {"from": today, "to": today}
    stats = (await server.http.get("/api/stats", params=period, headers=auth(analyst))).json()
    ratings = stats["ratings"]
    assert (ratings["count"], ratings["average"], ratings["csat"]) == (2, 3.5, 0.5)
    assert ratings["by_score"] == [0, 1, 0, 0, 1] and ratings["response_rate"] == 1.0
    assert [(a["name"], a["count"], a["average"]) for a in ratings["by_agent"]] == [
        ("Alice", 1, 5.0),
        ("Assistant", 1, 2.0),
    ]
    assert ratings["by_day"] == [
        {"date": today, "count": 2, "average": 3.5, "csat": 0.5, "by_score": [0, 1, 0, 0, 1]}
    ]

    exported = await server.http.get(
        "/api/stats/conversations.csv", params=period, headers=auth(analyst)
    )
    rows = {r["conversation_id"]: r for r in csv.DictReader(io.StringIO(exported.text))}
    assert (rows[room_id]["rating"], rows[room_id]["rating_comment"]) == ("5", "Quick and kind")
    assert rows[ai_room]["rating"] == "2"
    record = (
        await server.http.get(f"/api/rooms/{room_id}/transcript.json", headers=auth(analyst))
    ).json()
    assert record["rating"]["score"] == 5 and record["rating"]["agent"]["name"] == "Alice"


async def test_rating_refusals(server: LiveServer) -> None:
    _, alice_token = await server.add_agent("Alice")
    _, bob_token = await server.add_agent("Bob")
    room_id, token = await held_by(server, alice_token)
    await say(server, room_id, token)

    async def rate(room: str, bearer: str, score: object = 4) -> httpx.Response:
        return await server.http.post(
            f"/api/rooms/{room}/rating", json={"score": score}, headers=auth(bearer)
        )

    still_open = await rate(room_id, token)
    assert still_open.status_code == 409 and still_open.json()["code"] == "not_closed"
    await close(server, room_id, alice_token)
    assert (await rate(room_id, alice_token)).status_code == 403
    assert (await rate(room_id, bob_token)).status_code == 403
    other_room, other_token = await server.new_room()
    assert (await rate(room_id, other_token)).status_code == 403
    assert (await rate(room_id, token, 6)).status_code == 422
    assert (await rate(room_id, token, 0)).status_code == 422
    assert (
        await server.http.post(f"/api/rooms/{room_id}/rating", json={"score": 3})
    ).status_code == 401

    # A chat the user never wrote in cannot be rated.
    await close(server, other_room, other_token)
    silent = await rate(other_room, other_token)
    assert silent.status_code == 409 and silent.json()["code"] == "nothing_to_rate"
    assert (await rate("0" * 32, token)).status_code == 403  # a token for another room
    # Bob never held the chat: he does not read its rating; Alice does.
    assert (
        await server.http.get(f"/api/rooms/{room_id}/rating", headers=auth(bob_token))
    ).status_code == 403
    assert (
        await server.http.get(f"/api/rooms/{room_id}/rating", headers=auth(alice_token))
    ).json() == {"rating": None}


# ---------------------------------------------------------------- visitors


async def test_the_server_issues_the_visitor_and_resumes_its_open_chat(server: LiveServer) -> None:
    first = (await server.http.post("/api/rooms")).json()
    visitor = first["visitor"]
    room_id = first["room"]["id"]
    resumed = await server.http.post("/api/visitors/resume", json={"visitor": visitor})
    assert resumed.status_code == 200, resumed.text
    assert resumed.json()["room"]["id"] == room_id
    # The fresh token works for that room.
    token = resumed.json()["token"]
    assert (await server.http.get(f"/api/rooms/{room_id}", headers=auth(token))).status_code == 200

    # Once closed, there is nothing to resume; the next room keeps the same visitor.
    await close(server, room_id, token)
    gone = await server.http.post("/api/visitors/resume", json={"visitor": visitor})
    assert gone.status_code == 404
    second = (await server.http.post("/api/rooms", json={"visitor": visitor})).json()
    assert second["visitor"] == visitor and second["room"]["id"] != room_id
    back = await server.http.post("/api/visitors/resume", json={"visitor": visitor})
    assert back.json()["room"]["id"] == second["room"]["id"]

    # A visitor id the client made up (or signed with another key) is never adopted.
    forged = sign("f" * 32, secret="not-the-server-secret")
    for made_up in (forged, "f" * 32, visitor[:-2] + "xx", "x" * 200):
        fresh = (await server.http.post("/api/rooms", json={"visitor": made_up})).json()
        assert fresh["visitor"] not in (made_up, visitor)
        refused = await server.http.post("/api/visitors/resume", json={"visitor": made_up})
        assert refused.status_code == 401, made_up


# ---------------------------------------------------------------- customer history


async def test_the_agent_holding_a_chat_sees_the_visitors_previous_ones(
    server: LiveServer,
) -> None:
    _, alice_token = await server.add_agent("Alice")
    _, bob_token = await server.add_agent("Bob")
    _, admin_token = await server.add_agent("Ada", role="admin")
    _, analyst_token = await server.add_agent("Ana", role="analyst")

    earlier = (await server.http.post("/api/rooms")).json()
    visitor, earlier_id, earlier_token = earlier["visitor"], earlier["room"]["id"], earlier["token"]
    await say(server, earlier_id, earlier_token, "My parcel 1234 is late")
    await close(server, earlier_id, earlier_token)
    await server.http.post(
        f"/api/rooms/{earlier_id}/rating", json={"score": 3}, headers=auth(earlier_token)
    )
    stranger = (await server.http.post("/api/rooms")).json()  # another visitor: not linked
    await say(server, stranger["room"]["id"], stranger["token"], "Someone else")

    now = (await server.http.post("/api/rooms", json={"visitor": visitor})).json()
    room_id, token = now["room"]["id"], now["token"]
    await server.http.get("/api/queue", headers=auth(alice_token))  # online
    await server.http.post(f"/api/rooms/{room_id}/handoff", headers=auth(token))
    joined = await server.http.post(f"/api/rooms/{room_id}/join", headers=auth(alice_token))
    assert joined.status_code == 200, joined.text

    seen = await server.http.get(f"/api/rooms/{room_id}/history", headers=auth(alice_token))
    assert seen.status_code == 200, seen.text
    history = seen.json()
    assert history["count"] == 1
    [previous] = history["conversations"]
    assert previous["room"]["id"] == earlier_id
    assert "My parcel 1234 is late" in [m["text"] for m in previous["messages"]]
    assert previous["rating"]["score"] == 3
    admin = await server.http.get(f"/api/rooms/{room_id}/history", headers=auth(admin_token))
    assert admin.status_code == 200 and admin.json()["count"] == 1

    for refused in (bob_token, token, earlier_token, analyst_token):
        denied = await server.http.get(f"/api/rooms/{room_id}/history", headers=auth(refused))
        assert denied.status_code == 403, denied.text
    assert (await server.http.get(f"/api/rooms/{room_id}/history")).status_code == 401
    # The earlier room has no earlier ones; a room nobody holds is nobody's to read.
    first = await server.http.get(f"/api/rooms/{earlier_id}/history", headers=auth(admin_token))
    assert first.json() == {"count": 0, "conversations": []}
    assert (
        await server.http.get(f"/api/rooms/{earlier_id}/history", headers=auth(alice_token))
    ).status_code == 403


@pytest.mark.mariadb
@pytest.mark.redis
async def test_a_visitor_resumes_and_rates_across_two_processes(mariadb_url: str) -> None:
    """The visitor id one process signed is good on the other (one secret), and so is the
    rating rule: the second rating, on the other process, is refused."""
    require_service("Redis", 6379)
    settings = make_settings(mariadb_url, redis_url=REDIS_URL)
    async for one in start_server(settings):
        async for two in start_server(settings):
            made = (await one.http.post("/api/rooms")).json()
            resumed = await two.http.post("/api/visitors/resume", json={"visitor": made["visitor"]})
            assert resumed.status_code == 200 and resumed.json()["room"]["id"] == made["room"]["id"]
            room_id, token = made["room"]["id"], resumed.json()["token"]
            await say(two, room_id, token)
            await close(one, room_id, made["token"])
            first = await one.http.post(
                f"/api/rooms/{room_id}/rating", json={"score": 4}, headers=auth(token)
            )
            assert first.status_code == 201, first.text
            second = await two.http.post(
                f"/api/rooms/{room_id}/rating", json={"score": 1}, headers=auth(made["token"])
            )
            assert second.status_code == 409 and second.json()["code"] == "already_rated"
