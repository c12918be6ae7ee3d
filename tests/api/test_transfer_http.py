"""Agent status and capacity, transfers and auto-assignment, through a real uvicorn, on SQLite
and MariaDB (and across two processes sharing Redis).

* away: not online for handoffs, no new chats (join, transfer, auto-assignment);
* capacity: a join or a transfer beyond `max_chats` is 409 `agent_full`;
* a transfer is an event and a system notice the user sees; the receiving agent holds the chat,
  sees the note, and their /ws/agent (on any process) gets the notice and the room;
* back to the queue: first in line, `waiting_since` not back-dated.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
import sqlalchemy as sa
import websockets

from db.tables import events_t
from tests.api.test_authz_http import held_by
from tests.api.test_ws import next_frame, of_type
from tests.conftest import (
    REDIS_URL,
    LiveServer,
    auth,
    make_settings,
    require_service,
    start_server,
)


async def patch_agent(server: LiveServer, token: str, agent_id: int, **body: Any) -> Any:
    return await server.http.patch(f"/api/agents/{agent_id}", json=body, headers=auth(token))


async def online(server: LiveServer, *tokens: str) -> None:
    for token in tokens:
        assert (await server.http.get("/api/queue", headers=auth(token))).status_code == 200


async def queued_room(server: LiveServer, *, assigning: bool = False) -> tuple[str, str]:
    """A room whose user asked for a person (`assigning`: auto-assignment may already have
    given it to an agent by the time the handoff answers)."""
    room_id, token = await server.new_room()
    queued = await server.http.post(f"/api/rooms/{room_id}/handoff", headers=auth(token))
    assert queued.status_code == 200, queued.text
    assert queued.json()["status"] in (("waiting", "agent") if assigning else ("waiting",))
    return room_id, token


async def transfer(server: LiveServer, token: str, room_id: str, **body: Any) -> Any:
    return await server.http.post(f"/api/rooms/{room_id}/transfer", json=body, headers=auth(token))


async def user_texts(server: LiveServer, room_id: str, token: str) -> list[str]:
    response = await server.http.get(f"/api/rooms/{room_id}/messages", headers=auth(token))
    return [m["text"] for m in response.json()["messages"]]


# ---------------------------------------------------------------- status and capacity


async def test_status_is_the_agents_own_or_an_admins_and_capacity_an_admins(
    server: LiveServer,
) -> None:
    alice, alice_token = await server.add_agent("Alice")
    bob, bob_token = await server.add_agent("Bob")
    _, admin_token = await server.add_agent("Ada", role="admin")
    _, analyst_token = await server.add_agent("Ana", role="analyst")
    _, room_token = await server.new_room()
    assert alice.id is not None and bob.id is not None

    own = await patch_agent(server, alice_token, alice.id, status="away")
    assert own.status_code == 200, own.text
    assert own.json()["status"] == "away" and own.json()["max_chats"] == 3
    assert (await patch_agent(server, bob_token, alice.id, status="available")).status_code == 403
    assert (await patch_agent(server, alice_token, alice.id, max_chats=9)).status_code == 403
    assert (await patch_agent(server, analyst_token, alice.id, status="away")).status_code == 403
    assert (await patch_agent(server, room_token, alice.id, status="away")).status_code == 401
    by_admin = await patch_agent(server, admin_token, alice.id, status="available", max_chats=5)
    assert by_admin.status_code == 200
    assert (by_admin.json()["status"], by_admin.json()["max_chats"]) == ("available", 5)
    for bad in ({"status": "asleep"}, {"max_chats": 0}, {"max_chats": 51}):
        assert (await patch_agent(server, admin_token, alice.id, **bad)).status_code == 422
    assert (await patch_agent(server, admin_token, 999_999, status="away")).status_code == 404

    listed = await server.http.get("/api/agents", headers=auth(bob_token))
    assert listed.status_code == 200
    names = {a["name"]: a for a in listed.json()["agents"]}
    assert set(names) == {"Alice", "Bob", "Ada"}  # analysts take no chats
    assert names["Alice"]["max_chats"] == 5 and names["Alice"]["open_chats"] == 0
    assert (await server.http.get("/api/agents", headers=auth(analyst_token))).status_code == 403


async def test_an_away_agent_is_not_online_and_takes_no_new_chats(server: LiveServer) -> None:
    alice, alice_token = await server.add_agent("Alice")
    assert alice.id is not None
    await online(server, alice_token)
    await patch_agent(server, alice_token, alice.id, status="away")
    room_id, token = await server.new_room()
    asked = await server.http.post(f"/api/rooms/{room_id}/handoff", headers=auth(token))
    assert asked.json()["status"] == "ai"  # nobody online: the AI keeps helping
    assert "No agents are online" in (await user_texts(server, room_id, token))[-1]

    await patch_agent(server, alice_token, alice.id, status="available")
    queued = await server.http.post(f"/api/rooms/{room_id}/handoff", headers=auth(token))
    assert queued.json()["status"] == "waiting"
    await patch_agent(server, alice_token, alice.id, status="away")
    refused = await server.http.post(f"/api/rooms/{room_id}/join", headers=auth(alice_token))
    assert refused.status_code == 409 and refused.json()["code"] == "agent_away"
    assert "away" in refused.json()["detail"]


async def test_a_join_beyond_capacity_is_refused(server: LiveServer) -> None:
    alice, alice_token = await server.add_agent("Alice")
    _, admin_token = await server.add_agent("Ada", role="admin")
    assert alice.id is not None
    await patch_agent(server, admin_token, alice.id, max_chats=2)
    await held_by(server, alice_token)
    await held_by(server, alice_token)
    room_id, token = await queued_room(server)
    refused = await server.http.post(f"/api/rooms/{room_id}/join", headers=auth(alice_token))
    assert refused.status_code == 409 and refused.json()["code"] == "agent_full"
    assert refused.json()["detail"].startswith("You have 2 open chats, the maximum of 2")
    room = (await server.http.get(f"/api/rooms/{room_id}", headers=auth(token))).json()
    assert room["status"] == "waiting"  # still in the queue for someone else
    await patch_agent(server, admin_token, alice.id, max_chats=3)
    joined = await server.http.post(f"/api/rooms/{room_id}/join", headers=auth(alice_token))
    assert joined.status_code == 200


# ---------------------------------------------------------------- transfer


async def test_a_transfer_to_another_agent_with_a_note(server: LiveServer) -> None:
    alice, alice_token = await server.add_agent("Alice")
    ben, ben_token = await server.add_agent("Ben")
    assert alice.id is not None and ben.id is not None
    await online(server, ben_token)
    room_id, token = await held_by(server, alice_token)
    async with websockets.connect(f"{server.ws_url}/ws/agent?token={ben_token}") as console:
        await next_frame(console, of_type("queue"))
        moved = await transfer(
            server, alice_token, room_id, agent_id=ben.id, note="Refund approved, send label"
        )
        assert moved.status_code == 200, moved.text
        assert moved.json()["status"] == "agent" and moved.json()["agent"]["id"] == ben.id
        notice = await next_frame(console, of_type("message"))
        assert notice["message"]["text"] == "You're being transferred to Ben."
        state = await next_frame(console, of_type("room"))
        assert state["room"]["agent"] == {"id": ben.id, "name": "Ben"}
        note = await next_frame(console, of_type("note"))
        assert note["note"]["text"] == "Refund approved, send label"

    assert (await user_texts(server, room_id, token))[-1] == "You're being transferred to Ben."
    mine = (await server.http.get("/api/agents/me/rooms", headers=auth(ben_token))).json()
    assert [r["id"] for r in mine["rooms"]] == [room_id]
    theirs = (await server.http.get("/api/agents/me/rooms", headers=auth(alice_token))).json()
    assert theirs["rooms"] == []
    notes = (await server.http.get(f"/api/rooms/{room_id}/notes", headers=auth(ben_token))).json()[
        "notes"
    ]
    assert [(n["agent"]["name"], n["text"]) for n in notes] == [
        ("Alice", "Refund approved, send label")
    ]
    assert all("Refund" not in t for t in await user_texts(server, room_id, token))
    # Alice no longer holds it: she can neither write nor transfer it again.
    refused = await transfer(server, alice_token, room_id, queue=True)
    assert refused.status_code == 403 and refused.json()["code"] == "not_your_room"
    async with server.tandem.db.session() as session:
        kinds = (
            await session.execute(
                sa.select(events_t.c.kind, events_t.c.reason, events_t.c.agent_id)
                .where(events_t.c.room_id == room_id)
                .order_by(events_t.c.id)
            )
        ).all()
    assert [tuple(k) for k in kinds][-1] == ("transferred", "agent", ben.id)


async def test_transfer_refusals(server: LiveServer) -> None:
    alice, alice_token = await server.add_agent("Alice")
    full, full_token = await server.add_agent("Fay")
    away, away_token = await server.add_agent("Walt")
    offline, _ = await server.add_agent("Otto")
    _, bob_token = await server.add_agent("Bob")
    _, admin_token = await server.add_agent("Ada", role="admin")
    _, analyst_token = await server.add_agent("Ana", role="analyst")
    assert full.id is not None and away.id is not None and offline.id is not None
    assert alice.id is not None
    await patch_agent(server, admin_token, full.id, max_chats=1)
    await held_by(server, full_token)
    await online(server, away_token)
    await patch_agent(server, away_token, away.id, status="away")
    room_id, token = await held_by(server, alice_token)
    before = await user_texts(server, room_id, token)

    for target, code in (
        (full.id, "agent_full"),
        (away.id, "agent_away"),
        (offline.id, "agent_offline"),
    ):
        refused = await transfer(server, alice_token, room_id, agent_id=target)
        assert refused.status_code == 409, refused.text
        assert refused.json()["code"] == code
    assert (await transfer(server, alice_token, room_id, agent_id=alice.id)).json()["code"] == (
        "same_agent"
    )
    missing = await transfer(server, alice_token, room_id, agent_id=999_999)
    assert missing.status_code == 404
    by_other = await transfer(server, bob_token, room_id, queue=True)
    assert by_other.status_code == 403 and by_other.json()["code"] == "not_your_room"
    assert (await transfer(server, analyst_token, room_id, queue=True)).status_code == 403
    assert (await transfer(server, token, room_id, queue=True)).status_code == 401
    for bad in (
        {},
        {"agent_id": full.id, "queue": True},
        {"queue": False},
        {"queue": True, "note": "\x07"},
    ):
        assert (await transfer(server, alice_token, room_id, **bad)).status_code == 422, bad
    waiting, _ = await queued_room(server)
    not_held = await transfer(server, admin_token, waiting, queue=True)
    assert not_held.status_code == 409 and not_held.json()["code"] == "not_held"
    assert (await transfer(server, alice_token, "nope", queue=True)).status_code == 404

    assert await user_texts(server, room_id, token) == before  # nothing happened
    room = (await server.http.get(f"/api/rooms/{room_id}", headers=auth(token))).json()
    assert room["agent"]["id"] == alice.id


async def test_admin_takeover_is_a_transfer_to_self_and_a_plain_join_stays_409(
    server: LiveServer,
) -> None:
    _, alice_token = await server.add_agent("Alice")
    ada, admin_token = await server.add_agent("Ada", role="admin")
    room_id, token = await held_by(server, alice_token)
    join = await server.http.post(f"/api/rooms/{room_id}/join", headers=auth(admin_token))
    assert join.status_code == 409 and join.json()["code"] == "already_taken"
    taken = await transfer(server, admin_token, room_id, agent_id=ada.id)
    assert taken.status_code == 200, taken.text
    assert taken.json()["agent"]["id"] == ada.id
    assert (await user_texts(server, room_id, token))[-1] == "You're being transferred to Ada."
    sent = await server.http.post(
        f"/api/rooms/{room_id}/messages", json={"text": "Ada here"}, headers=auth(admin_token)
    )
    assert sent.status_code == 201
    refused = await server.http.post(
        f"/api/rooms/{room_id}/messages", json={"text": "me?"}, headers=auth(alice_token)
    )
    assert refused.status_code == 403


async def test_back_to_the_queue_first_in_line_without_back_dating(server: LiveServer) -> None:
    _, alice_token = await server.add_agent("Alice")
    room_id, token = await held_by(server, alice_token)
    older, _ = await queued_room(server)
    newer, _ = await queued_room(server)
    await asyncio.sleep(0.05)
    moved = await transfer(server, alice_token, room_id, queue=True, note="needs billing")
    assert moved.status_code == 200, moved.text
    room = moved.json()
    assert room["status"] == "waiting" and room["agent"] is None
    assert room["priority"] is True and room["queue_position"] == 1
    queue = (await server.http.get("/api/queue", headers=auth(alice_token))).json()["rooms"]
    assert [r["id"] for r in queue] == [room_id, older, newer]
    assert [r["queue_position"] for r in queue] == [1, 2, 3]
    # Not back-dated: it has waited since the transfer, after the two others queued.
    assert queue[0]["waiting_since"] > queue[2]["waiting_since"]
    assert (await user_texts(server, room_id, token))[-1].startswith("You're back in the queue")
    other = (await server.http.get(f"/api/rooms/{older}", headers=auth(alice_token))).json()
    assert other["queue_position"] == 2 and other["priority"] is False
    rejoined = await server.http.post(f"/api/rooms/{room_id}/join", headers=auth(alice_token))
    assert rejoined.json()["priority"] is False


# ---------------------------------------------------------------- auto-assignment


@pytest.fixture
async def assigning(database_url: str) -> AsyncIterator[LiveServer]:
    async for live in start_server(make_settings(database_url, auto_assign=True)):
        yield live


async def wait_for_holder(server: LiveServer, room_id: str, token: str) -> Any:
    async with asyncio.timeout(15):
        while True:
            room = (await server.http.get(f"/api/rooms/{room_id}", headers=auth(token))).json()
            if room["status"] != "waiting":
                return room
            await asyncio.sleep(0.1)


async def test_auto_assignment_to_the_least_busy_then_longest_idle(assigning: LiveServer) -> None:
    server = assigning
    busy, busy_token = await server.add_agent("Busy")
    idle, idle_token = await server.add_agent("Idle")
    away, away_token = await server.add_agent("Away")
    assert busy.id is not None and idle.id is not None and away.id is not None
    await patch_agent(server, away_token, away.id, status="away")
    await online(server, busy_token, idle_token, away_token)
    first, first_token = await queued_room(server, assigning=True)
    taken = await wait_for_holder(server, first, first_token)
    assert taken["status"] == "agent"
    got_first = taken["agent"]["id"]
    assert got_first in (busy.id, idle.id)  # never the away agent
    second, second_token = await queued_room(server, assigning=True)
    room = await wait_for_holder(server, second, second_token)
    assert room["agent"]["id"] != got_first  # the one with fewer chats
    assert (await user_texts(server, second, second_token))[-1].endswith("joined the chat.")
    # Both hold one; the one idle longest (assigned first) gets the third.
    third, third_token = await queued_room(server, assigning=True)
    assert (await wait_for_holder(server, third, third_token))["agent"]["id"] == got_first
    states = (await server.http.get("/api/agents", headers=auth(idle_token))).json()["agents"]
    assert {a["name"]: a["open_chats"] for a in states} == {
        "Busy": 2 if got_first == busy.id else 1,
        "Idle": 2 if got_first == idle.id else 1,
        "Away": 0,
    }


async def test_without_auto_assignment_rooms_wait_for_an_agent(server: LiveServer) -> None:
    _, alice_token = await server.add_agent("Alice")
    await online(server, alice_token)
    room_id, token = await queued_room(server)
    await asyncio.sleep(2.5)  # longer than one auto-assignment period
    room = (await server.http.get(f"/api/rooms/{room_id}", headers=auth(token))).json()
    assert room["status"] == "waiting"


# ---------------------------------------------------------------- two processes


@pytest.mark.mariadb
@pytest.mark.redis
async def test_the_receiving_agents_socket_on_another_process_learns_of_it(
    mariadb_url: str,
) -> None:
    require_service("Redis", 6379)
    settings = make_settings(mariadb_url, redis_url=REDIS_URL)
    async for one in start_server(settings):
        async for two in start_server(settings):
            _, alice_token = await one.add_agent("Alice")
            ben, ben_token = await two.add_agent("Ben")
            room_id, token = await held_by(one, alice_token)
            async with websockets.connect(f"{two.ws_url}/ws/agent?token={ben_token}") as console:
                await next_frame(console, of_type("queue"))
                moved = await transfer(one, alice_token, room_id, agent_id=ben.id, note="vip")
                assert moved.status_code == 200, moved.text
                notice = await next_frame(console, of_type("message"), timeout=10)
                assert notice["message"]["room_id"] == room_id
                state = await next_frame(console, of_type("room"), timeout=10)
                assert state["room"]["agent"]["id"] == ben.id
                await next_frame(console, of_type("note"), timeout=10)
                # Ben answers over his socket on process two; the user sees it.
                sent = await two.http.post(
                    f"/api/rooms/{room_id}/messages",
                    json={"text": "Ben here"},
                    headers=auth(ben_token),
                )
                assert sent.status_code == 201
            assert (await user_texts(one, room_id, token))[-1] == "Ben here"


# ---------------------------------------------------------------- the board


async def test_the_board_is_for_admins_and_shows_the_floor(server: LiveServer) -> None:
    alice, alice_token = await server.add_agent("Alice")
    _, admin_token = await server.add_agent("Ada", role="admin")
    _, analyst_token = await server.add_agent("Ana", role="analyst")
    held, held_token = await held_by(server, alice_token)
    await server.http.post(
        f"/api/rooms/{held}/messages", json={"text": "hello?"}, headers=auth(held_token)
    )
    answered, answered_token = await held_by(server, alice_token)
    await server.http.post(
        f"/api/rooms/{answered}/messages", json={"text": "hi"}, headers=auth(answered_token)
    )
    await server.http.post(
        f"/api/rooms/{answered}/messages", json={"text": "Hello!"}, headers=auth(alice_token)
    )
    waiting, waiting_token = await queued_room(server)

    for token in (alice_token, analyst_token):
        assert (await server.http.get("/api/board", headers=auth(token))).status_code == 403
    for headers in (auth(waiting_token), {}):  # a room token is no agent's
        assert (await server.http.get("/api/board", headers=headers)).status_code == 401
    response = await server.http.get("/api/board", headers=auth(admin_token))
    assert response.status_code == 200, response.text
    board = response.json()
    assert board["unanswered_alert_seconds"] == 120
    states = {a["name"]: a for a in board["agents"]}
    assert states["Alice"]["open_chats"] == 2 and states["Alice"]["online"] is True
    assert "Ana" not in states
    assert [(q["room"]["id"], q["reason"]) for q in board["queue"]] == [(waiting, "button")]
    chats = {c["room"]["id"]: c for c in board["chats"]}
    assert set(chats) == {held, answered}
    assert chats[held]["unanswered_since"] == chats[held]["last_user_message_at"] is not None
    assert chats[answered]["unanswered_since"] is None
    assert board["chats"][0]["room"]["id"] == held  # the unanswered first
    assert alice.id is not None


@pytest.mark.mariadb
@pytest.mark.redis
async def test_two_processes_auto_assigning_never_exceed_capacity(mariadb_url: str) -> None:
    """Both processes' assigners race for the same rooms and the same agent: the room and
    agent locks let each room go once and the agent get no more than `max_chats`."""
    require_service("Redis", 6379)
    settings = make_settings(mariadb_url, redis_url=REDIS_URL, auto_assign=True)
    async for one in start_server(settings):
        async for two in start_server(settings):
            solo, solo_token = await one.add_agent("Solo")
            ada, admin_token = await two.add_agent("Ada", role="admin")
            assert solo.id is not None
            await patch_agent(one, admin_token, solo.id, max_chats=2)
            # Ada, an admin, would take chats too: away, so only Solo does.
            assert ada.id is not None
            await patch_agent(one, admin_token, ada.id, status="away")
            await online(one, solo_token)
            rooms = [await queued_room(one if i % 2 else two, assigning=True) for i in range(4)]
            async with asyncio.timeout(20):
                while True:
                    held = (
                        await one.http.get("/api/agents/me/rooms", headers=auth(solo_token))
                    ).json()["rooms"]
                    if len(held) >= 2:
                        break
                    await asyncio.sleep(0.1)
            await asyncio.sleep(3)  # more passes on both processes: still two
            held = (await one.http.get("/api/agents/me/rooms", headers=auth(solo_token))).json()
            assert len(held["rooms"]) == 2
            statuses = [
                (await one.http.get(f"/api/rooms/{r}", headers=auth(t))).json()["status"]
                for r, t in rooms
            ]
            assert sorted(statuses) == ["agent", "agent", "waiting", "waiting"]
