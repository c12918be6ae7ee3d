"""The AI while the user waits for a person (#12): answers marked `while_waiting`, silence
when the user only wants the person or an agent has joined, a withdrawal confirmed before the
room leaves the queue, and a brief that follows what the user adds. Through the real uvicorn,
on SQLite and MariaDB; the model path against the local OpenAI-compatible test server."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
import websockets

from api.brief import storable
from api.waiting import CONFIRM_WITHDRAW, KEPT_IN_QUEUE, Step, decide, is_no, is_yes
from db.models import MessagePublic, Sender, utcnow
from db.rollups import rebuild_rollups
from db.sqltime import LocalWindow
from db.stats import compute_exact_stats, compute_stats
from tests.api.ai.fake_openai import FakeOpenAI, Script
from tests.api.test_ws import message_from, next_frame, of_type
from tests.conftest import (
    REDIS_URL,
    LiveServer,
    auth,
    make_settings,
    require_service,
    start_server,
)

QUESTION = "how do I reset my password?"


async def waiting_room(server: LiveServer) -> tuple[str, str, str]:
    """An online agent and a room queued for a person: (room id, room token, agent token)."""
    _, agent_token = await server.add_agent("Alice")
    await server.http.get("/api/queue", headers=auth(agent_token))  # Alice is online
    room_id, token = await server.new_room()
    response = await server.http.post(f"/api/rooms/{room_id}/handoff", headers=auth(token))
    assert response.json()["status"] == "waiting"
    return room_id, token, agent_token


async def say(server: LiveServer, room_id: str, token: str, text: str) -> list[dict[str, Any]]:
    """Send as the user with `stream=true` and read the NDJSON frames to the end."""
    async with server.http.stream(
        "POST",
        f"/api/rooms/{room_id}/messages",
        params={"stream": "true"},
        json={"text": text},
        headers=auth(token),
    ) as response:
        assert response.status_code == 200
        return [json.loads(line) async for line in response.aiter_lines() if line]


async def settled(server: LiveServer) -> None:
    async with asyncio.timeout(20):
        await server.tandem.rooms.replies.idle()
        await server.tandem.rooms.briefs.idle()


async def history(server: LiveServer, room_id: str, token: str) -> list[dict[str, Any]]:
    response = await server.http.get(f"/api/rooms/{room_id}/messages", headers=auth(token))
    messages: list[dict[str, Any]] = response.json()["messages"]
    return messages


async def room_of(server: LiveServer, room_id: str, token: str) -> dict[str, Any]:
    room: dict[str, Any] = (
        await server.http.get(f"/api/rooms/{room_id}", headers=auth(token))
    ).json()
    return room


# --- answers while waiting ------------------------------------------------------------------


async def test_a_question_while_waiting_is_answered_and_marked(server: LiveServer) -> None:
    room_id, token, agent_token = await waiting_room(server)
    frames = await say(server, room_id, token, QUESTION)
    [answer] = [
        f["message"] for f in frames if f["type"] == "message" and f["message"]["sender"] == "ai"
    ]
    assert answer["while_waiting"] is True and "password" in answer["text"].lower()
    assert "talk to an agent" not in answer["text"]  # they already asked for one
    assert any(f["type"] == "ai.delta" for f in frames)
    await settled(server)
    stored = await history(server, room_id, token)
    assert [(m["sender"], m["while_waiting"]) for m in stored] == [
        ("system", False),  # queued
        ("user", False),
        ("ai", True),
    ]
    # Still in the queue, for the agent.
    assert (await room_of(server, room_id, token))["status"] == "waiting"
    queue = (await server.http.get("/api/queue", headers=auth(agent_token))).json()["rooms"]
    assert [r["id"] for r in queue] == [room_id]


async def test_the_answer_reaches_the_room_socket_marked(server: LiveServer) -> None:
    room_id, token, _ = await waiting_room(server)
    async with websockets.connect(f"{server.ws_url}/ws/rooms/{room_id}?token={token}") as ws:
        await next_frame(ws, of_type("room"))
        await ws.send(json.dumps({"type": "message", "text": QUESTION}))
        mine = await next_frame(ws, message_from("user"))
        answer = await next_frame(ws, message_from("ai"), timeout=20)
    assert mine["message"]["while_waiting"] is False
    assert answer["message"]["while_waiting"] is True


async def test_no_answer_once_the_user_only_wants_the_person(server: LiveServer) -> None:
    room_id, token, _ = await waiting_room(server)
    await say(server, room_id, token, "I just want to talk to a real person")
    await say(server, room_id, token, QUESTION)
    await settled(server)
    assert [m["sender"] for m in await history(server, room_id, token)] == [
        "system",
        "user",
        "user",
    ]


async def test_checking_in_gets_no_answer(server: LiveServer) -> None:
    room_id, token, _ = await waiting_room(server)
    await say(server, room_id, token, "hello? anyone there?")
    await settled(server)
    assert [m["sender"] for m in await history(server, room_id, token)] == ["system", "user"]


async def test_silent_once_an_agent_has_joined(server: LiveServer) -> None:
    room_id, token, agent_token = await waiting_room(server)
    joined = await server.http.post(f"/api/rooms/{room_id}/join", headers=auth(agent_token))
    assert joined.status_code == 200
    await say(server, room_id, token, QUESTION)
    await settled(server)
    assert [m["sender"] for m in await history(server, room_id, token)] == [
        "system",
        "system",
        "user",
    ]


async def test_the_setting_off_keeps_the_ai_silent_while_waiting(database_url: str) -> None:
    settings = make_settings(database_url, ai_while_waiting=False)
    async for server in start_server(settings):
        room_id, token, _ = await waiting_room(server)
        await say(server, room_id, token, QUESTION)
        await say(server, room_id, token, "never mind, it's fixed")
        await settled(server)
        assert [m["sender"] for m in await history(server, room_id, token)] == [
            "system",
            "user",
            "user",
        ]
        assert (await room_of(server, room_id, token))["status"] == "waiting"


# --- withdrawing, confirmed -------------------------------------------------------------------


async def test_withdrawal_is_confirmed_then_the_room_leaves_the_queue(server: LiveServer) -> None:
    room_id, token, agent_token = await waiting_room(server)
    async with websockets.connect(f"{server.ws_url}/ws/agent?token={agent_token}") as console:
        queue = await next_frame(console, of_type("queue"))
        assert [r["id"] for r in queue["rooms"]] == [room_id]

        frames = await say(server, room_id, token, "never mind, it's fixed now")
        asked = [f["message"] for f in frames if f["type"] == "message"][-1]
        assert asked["sender"] == "ai" and asked["text"] == CONFIRM_WITHDRAW
        assert asked["while_waiting"] is True
        assert (await room_of(server, room_id, token))["status"] == "waiting"  # not yet

        frames = await say(server, room_id, token, "yes please")
        room_frames = [f["room"] for f in frames if f["type"] == "room"]
        assert room_frames and room_frames[-1]["status"] == "ai"
        # The console's queue empties live, and its HTTP poll agrees.
        await next_frame(console, lambda f: f["type"] == "queue" and f["rooms"] == [])
    queue_now = (await server.http.get("/api/queue", headers=auth(agent_token))).json()
    assert queue_now["rooms"] == []
    assert (await room_of(server, room_id, token))["status"] == "ai"

    # The AI holds the room again and answers as before (not marked).
    await say(server, room_id, token, QUESTION)
    await settled(server)
    last = (await history(server, room_id, token))[-1]
    assert last["sender"] == "ai" and last["while_waiting"] is False


async def test_no_to_the_confirmation_keeps_the_place_in_the_queue(server: LiveServer) -> None:
    room_id, token, agent_token = await waiting_room(server)
    await say(server, room_id, token, "never mind, it's fixed now")
    frames = await say(server, room_id, token, "no, keep me in the queue")
    assert [f["message"]["text"] for f in frames if f["type"] == "message"][-1] == KEPT_IN_QUEUE
    await settled(server)
    assert (await room_of(server, room_id, token))["status"] == "waiting"
    queue = (await server.http.get("/api/queue", headers=auth(agent_token))).json()["rooms"]
    assert [r["id"] for r in queue] == [room_id]


async def test_anything_else_after_the_question_changes_nothing(server: LiveServer) -> None:
    room_id, token, _ = await waiting_room(server)
    await say(server, room_id, token, "never mind, it's fixed now")
    await say(server, room_id, token, QUESTION)  # not an answer to the question
    await say(server, room_id, token, "yes")  # the question is no longer the last AI line
    await settled(server)
    assert (await room_of(server, room_id, token))["status"] == "waiting"


async def test_a_withdrawn_request_counts_as_withdrawn_in_the_statistics(
    server: LiveServer,
) -> None:
    """Exact path and rollups agree; `/api/stats` (the rollups) reports it."""
    room_id, token, _ = await waiting_room(server)
    await say(server, room_id, token, "never mind, it's fixed now")
    await say(server, room_id, token, "yes")
    await waiting_room(server)  # another room, still waiting
    await settled(server)
    assert (await room_of(server, room_id, token))["status"] == "ai"

    today = utcnow().date()
    window = LocalWindow.of(today - timedelta(days=1), today + timedelta(days=1))
    exact = await compute_exact_stats(server.tandem.db, window=window)
    assert exact.handoffs.withdrawn == 1 and exact.handoffs.still_waiting == 1
    assert exact.handoffs.answered == exact.handoffs.abandoned == 0
    await rebuild_rollups(server.tandem.db)
    rolled = await compute_stats(server.tandem.db, window=window)
    assert rolled.handoffs == exact.handoffs
    _, analyst = await server.add_agent("Ann", role="analyst")
    response = await server.http.get(
        "/api/stats",
        params={
            "from": (today - timedelta(days=1)).isoformat(),
            "to": (today + timedelta(days=1)).isoformat(),
        },
        headers=auth(analyst),
    )
    assert response.status_code == 200, response.text
    assert response.json()["handoffs"]["withdrawn"] == 1


# --- the brief ----------------------------------------------------------------------------------


async def test_the_brief_follows_what_the_user_adds_while_waiting(server: LiveServer) -> None:
    _, agent_token = await server.add_agent("Alice")
    await server.http.get("/api/queue", headers=auth(agent_token))
    room_id, token = await server.new_room()
    await say(server, room_id, token, "the courier says delivered but there's nothing at my door")
    await settled(server)
    await say(server, room_id, token, "talk to a human please")
    await settled(server)
    [queued] = (await server.http.get("/api/queue", headers=auth(agent_token))).json()["rooms"]
    assert "nothing at my door" in queued["brief"]
    assert "Handoff: asked for a person" in queued["brief"]

    async with websockets.connect(f"{server.ws_url}/ws/agent?token={agent_token}") as console:
        await next_frame(console, of_type("queue"))
        await say(server, room_id, token, "it was order 5521, the neighbour has nothing either")
        update = await next_frame(
            console,
            lambda f: f["type"] == "queue" and "order 5521" in (f["rooms"][0]["brief"] or ""),
            timeout=20,
        )
    brief = update["rooms"][0]["brief"]
    assert 'While waiting: "it was order 5521' in brief
    assert "nothing at my door" in brief

    # An answer given while waiting is what the AI tried too, once it has been given.
    await say(server, room_id, token, QUESTION)
    await settled(server)
    [queued] = (await server.http.get("/api/queue", headers=auth(agent_token))).json()["rooms"]
    assert "Resetting your password" in queued["brief"]
    assert "order 5521" in queued["brief"] and "reset my password" in queued["brief"]


# --- the decision, unit by unit -----------------------------------------------------------------


def message(seq: int, sender: Sender, text: str) -> MessagePublic:
    return MessagePublic(
        seq=seq, room_id="r", sender=sender, author="x", text=text, created_at=utcnow()
    )


@pytest.mark.parametrize(
    ("text", "yes", "no"),
    [
        ("yes", True, False),
        ("Yes please!", True, False),
        ("ok, cancel it", True, False),
        ("oui", True, False),
        ("no", False, True),
        ("no, keep me in the queue", False, True),
        ("yes but I still need the refund", False, False),
        ("what?", False, False),
    ],
)
def test_yes_and_no(text: str, yes: bool, no: bool) -> None:
    assert is_yes(text) is yes and is_no(text) is no


def test_decide_needs_the_question_just_before() -> None:
    asked = [message(1, Sender.system, "queued"), message(2, Sender.ai, CONFIRM_WITHDRAW)]
    assert decide([*asked, message(3, Sender.user, "yes")]) is Step.withdraw
    assert decide([*asked, message(3, Sender.user, "nope")]) is Step.keep
    assert decide([message(1, Sender.system, "queued"), message(2, Sender.user, "yes")]) is (
        Step.silent
    )
    assert decide([message(1, Sender.user, "never mind, it's fixed")]) is Step.ask


# --- the model path ------------------------------------------------------------------------------


@pytest.fixture
async def model_server(database_url: str, fake: FakeOpenAI) -> AsyncIterator[LiveServer]:
    settings = make_settings(
        database_url,
        openai_api_key="test-key",
        openai_base_url=fake.url + "/v1",
        ai_timeout_seconds=2.0,
        ai_backoff_seconds=0.01,
    )
    async for live in start_server(settings):
        yield live


async def test_the_model_answers_while_waiting_told_so_without_the_handoff_tool(
    model_server: LiveServer, fake: FakeOpenAI
) -> None:
    server = model_server
    room_id, token, _ = await waiting_room(server)
    await settled(server)
    fake.requests.clear()
    fake.script(
        Script(chunks=["Refunds take ", "5 to 10 days."], stream=True),
        Script(chunks=["A brief."], stream=False),
    )
    frames = await say(server, room_id, token, QUESTION)
    answer = [f["message"] for f in frames if f["type"] == "message"][-1]
    assert answer["text"] == "Refunds take 5 to 10 days." and answer["while_waiting"] is True
    await settled(server)
    streamed = next(r for r in fake.requests if r.get("stream"))
    assert "tools" not in streamed
    assert "waiting in the queue" in streamed["messages"][0]["content"]


async def test_the_model_writes_the_brief_with_what_the_user_said_while_waiting(
    model_server: LiveServer, fake: FakeOpenAI
) -> None:
    server = model_server
    room_id, token, agent_token = await waiting_room(server)
    await settled(server)
    fake.requests.clear()
    fake.default = Script(chunks=["Wants order 5521 found; handed over by button."])
    await say(server, room_id, token, "it was order 5521, can you check it?")
    await settled(server)
    briefs = [r for r in fake.requests if not r.get("stream")]
    assert briefs, "the brief was not asked of the model"
    transcript = briefs[-1]["messages"][-1]["content"]
    assert "reason: button" in transcript
    assert "user (while waiting): it was order 5521, can you check it?" in transcript
    [queued] = (await server.http.get("/api/queue", headers=auth(agent_token))).json()["rooms"]
    assert queued["brief"] == "Wants order 5521 found; handed over by button."


# --- two API processes ------------------------------------------------------------------------


@pytest.mark.mariadb
@pytest.mark.redis
async def test_the_confirmation_holds_across_two_processes(mariadb_url: str) -> None:
    """The question is asked by one process and answered through the other: the state lives
    in the room's messages, not in a process's memory."""
    require_service("Redis", 6379)
    settings = make_settings(mariadb_url, redis_url=REDIS_URL)
    async for one in start_server(settings):
        async for two in start_server(settings):
            room_id, token, agent_token = await waiting_room(one)
            async with websockets.connect(f"{two.ws_url}/ws/agent?token={agent_token}") as console:
                await next_frame(console, lambda f: f["type"] == "queue" and f["rooms"])
                asked = await say(one, room_id, token, "never mind, it's fixed now")
                assert asked[-1]["message"]["text"] == CONFIRM_WITHDRAW
                await say(two, room_id, token, "yes")
                await next_frame(console, lambda f: f["type"] == "queue" and f["rooms"] == [])
            assert (await room_of(one, room_id, token))["status"] == "ai"


def test_a_models_brief_is_stored_without_unstorable_characters() -> None:
    assert storable(" Wants\x00 a refund\ud800.\x1b ") == "Wants a refund."
    assert len(storable("x" * 5000)) == 1000
