"""/api/stats and the exports through a real uvicorn, on SQLite and MariaDB, after real chats."""

from __future__ import annotations

import asyncio
import csv
import io
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from db import models, tables
from db.models import MESSAGE_COUNTS
from db.rollup_folder import RollupFolder
from db.sqltime import LocalWindow
from db.stats import compute_exact_stats
from tests.conftest import LiveServer, auth
from tests.stats_bound import assert_percentile, assert_reported


def around_today() -> dict[str, str]:
    """Yesterday to tomorrow (UTC): today's chats, whatever the clock says during the test."""
    today = datetime.now(UTC).date()
    return {"from": str(today - timedelta(days=1)), "to": str(today + timedelta(days=1))}


@dataclass
class Scene:
    analyst: str
    agent: str
    handed: str
    ai_only: str
    no_agent: str
    ai_token: str = ""
    """The room token of `ai_only`, still open."""


async def say(server: LiveServer, room_id: str, token: str, text: str) -> None:
    response = await server.http.post(
        f"/api/rooms/{room_id}/messages", json={"text": text}, headers=auth(token)
    )
    assert response.status_code == 201, response.text
    await server.tandem.rooms.replies.idle()


@pytest.fixture
async def scene(server: LiveServer) -> Scene:
    """Three chats made through the API: one asks for a person while nobody is online, one is
    answered by the AI alone, one is handed to Alice, who answers and resolves it."""
    _, analyst = await server.add_agent("Ana", role="analyst")
    _, alice = await server.add_agent("Alice")

    lonely, lonely_token = await server.new_room()
    await say(server, lonely, lonely_token, "hello there")
    asked = await server.http.post(f"/api/rooms/{lonely}/handoff", headers=auth(lonely_token))
    assert asked.json()["status"] == "ai"  # nobody online: no_agent

    await server.http.get("/api/queue", headers=auth(alice))  # Alice is online from now on
    ai_only, ai_token = await server.new_room()
    await say(server, ai_only, ai_token, "How long does shipping take?")

    handed, token = await server.new_room()
    await say(server, handed, token, "My zebra-42 parcel is late")
    queued = await server.http.post(f"/api/rooms/{handed}/handoff", headers=auth(token))
    assert queued.json()["status"] == "waiting"
    joined = await server.http.post(f"/api/rooms/{handed}/join", headers=auth(alice))
    assert joined.json()["status"] == "agent"
    await say(server, handed, alice, "Hi, Alice here, let me check.")
    closed = await server.http.post(f"/api/rooms/{handed}/close", headers=auth(alice))
    assert closed.json()["status"] == "closed"
    return Scene(
        analyst=analyst,
        agent=alice,
        handed=handed,
        ai_only=ai_only,
        no_agent=lonely,
        ai_token=ai_token,
    )


async def test_only_analysts_and_admins_read_stats(server: LiveServer) -> None:
    _, analyst = await server.add_agent("Ana", role="analyst")
    _, admin = await server.add_agent("Ada", role="admin")
    _, agent = await server.add_agent("Al")
    for token, expected in ((analyst, 200), (admin, 200), (agent, 403)):
        response = await server.http.get("/api/stats", headers=auth(token))
        assert response.status_code == expected, response.text
    assert (await server.http.get("/api/stats")).status_code == 401
    assert (await server.http.get("/api/stats/conversations.csv")).status_code == 401
    csv_as_agent = await server.http.get("/api/stats/conversations.csv", headers=auth(agent))
    assert csv_as_agent.status_code == 403
    search_as_agent = await server.http.get(
        "/api/stats/transcripts", params={"q": "x"}, headers=auth(agent)
    )
    assert search_as_agent.status_code == 403
    default = (await server.http.get("/api/stats", headers=auth(analyst))).json()["range"]
    today = datetime.now(UTC).date()
    assert default["tz"] == "UTC" and default["to"] in (str(today), str(today + timedelta(1)))
    span = datetime.fromisoformat(default["to"]) - datetime.fromisoformat(default["from"])
    assert span == timedelta(days=29)


@pytest.mark.parametrize(
    "params",
    [
        {"from": "2026-13-01"},
        {"to": "yesterday"},
        {"tz": "Mars/Olympus_Mons"},
        {"tz": "../../etc/passwd"},
        {"from": "2026-03-10", "to": "2026-03-01"},
        {"from": "2000-01-01", "to": "2026-01-01"},
    ],
)
async def test_bad_parameters_are_422(server: LiveServer, params: dict[str, str]) -> None:
    _, analyst = await server.add_agent("Ana", role="analyst")
    response = await server.http.get("/api/stats", params=params, headers=auth(analyst))
    assert response.status_code == 422, response.text
    assert response.json()["detail"]


async def folded(server: LiveServer) -> None:
    """One fold round now, as a second API process would run it (the server's own fold task
    runs too: the lease keeps the two apart), so the rollups hold every commit so far."""
    await RollupFolder(server.tandem.db).fold_now()


async def test_numbers_after_real_chats(server: LiveServer, scene: Scene) -> None:
    await folded(server)
    response = await server.http.get(
        "/api/stats", params=around_today(), headers=auth(scene.analyst)
    )
    assert response.status_code == 200
    stats = response.json()
    assert stats["conversations"] == {
        "started": 3,
        "ai_only": 2,
        "handed_off": 1,
        "served_by_agent": 1,
        "closed": 1,
        "containment_rate": 0.6667,
        "handoff_rate": 0.3333,
        "closed_by_reason": {"agent": 1},
    }
    assert stats["handoffs"]["by_reason"] == [
        {"reason": "button", "requests": 1, "conversations": 1, "rate": 0.3333}
    ]
    assert (stats["handoffs"]["answered"], stats["handoffs"]["abandoned"]) == (1, 0)
    assert stats["no_agent"]["requests"] == 1
    assert stats["no_agent"]["by_reason"][0]["reason"] == "button"
    assert stats["messages"]["by_sender"] == {"user": 3, "ai": 3, "agent": 1, "system": 4}
    assert [a["name"] for a in stats["agents"]] == ["Alice"] and stats["agents"][0]["chats"] == 1
    for key in (
        "wait_seconds",
        "first_response_seconds",
        "handle_time_seconds",
        "duration_seconds",
    ):
        assert stats[key]["count"] == 1 and stats[key]["p50"] is not None, key
    assert sum(b["count"] for b in stats["wait_histogram"]) == 1
    assert sum(d["total"] for d in stats["by_day"]) == 3 and len(stats["by_day"]) == 3
    assert sum(map(sum, stats["by_hour_of_week"])) == 3

    # The wait is the time between the handoff and the join events of the transcript.
    record = (
        await server.http.get(
            f"/api/rooms/{scene.handed}/transcript.json", headers=auth(scene.analyst)
        )
    ).json()
    when = {e["kind"]: datetime.fromisoformat(e["created_at"]) for e in record["events"]}
    expected = (when["joined"] - when["handoff"]).total_seconds()
    duration = (when["closed"] - when["created"]).total_seconds()
    # Alice's stint: joined → her message → closed, as the room service wrote it down.
    replied = next(
        datetime.fromisoformat(m["created_at"])
        for m in record["messages"]
        if m["sender"] == "agent"
    )
    first = (replied - when["joined"]).total_seconds()
    handled = (when["closed"] - when["joined"]).total_seconds()
    # /api/stats reads the rollups: percentiles within 2 % plus the ms rounding (max and
    # mean exact, rounded to the ms) ...
    assert stats["percentile_relative_error"] == 0.02
    for key, value in (
        ("wait_seconds", expected),
        ("duration_seconds", duration),
        ("first_response_seconds", first),
        ("handle_time_seconds", handled),
    ):
        assert_percentile(stats[key]["p50"], value, what=key)
        assert_reported(stats[key]["max"], value, what=key)
        assert_reported(stats[key]["mean"], value, what=key)
    assert_percentile(stats["agents"][0]["first_response_p50"], first, what="agent's first")
    # ... and the exact path gives the nearest-rank values themselves, rounded to the ms.
    today = datetime.now(UTC).date()
    window = LocalWindow.of(today - timedelta(days=1), today + timedelta(days=1))
    exact = await compute_exact_stats(server.tandem.db, window=window)
    assert_reported(exact.wait_seconds.p50, expected, what="wait")
    assert_reported(exact.duration_seconds.p50, duration, what="duration")
    assert_reported(exact.first_response_seconds.p50, first, what="first response")
    assert_reported(exact.handle_time_seconds.p50, handled, what="handle time")
    assert_reported(exact.agents[0].first_response_p50, first, what="agent's first")


async def get_stats(server: LiveServer, token: str) -> dict[str, Any]:
    response = await server.http.get("/api/stats", params=around_today(), headers=auth(token))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_the_running_fold_picks_up_later_chats(server: LiveServer, scene: Scene) -> None:
    """After a fold, more happens in a chat and a new one starts: the API's own fold task
    (woken after the commits) brings /api/stats up to date without any help."""
    await folded(server)
    before = await get_stats(server, scene.analyst)
    assert before["conversations"]["started"] == 3
    assert before["messages"]["total"] == 11

    room, token = await server.new_room()
    await say(server, room, token, "Is my order on its way?")  # + the AI's answer
    asked = await server.http.post(f"/api/rooms/{room}/handoff", headers=auth(token))
    assert asked.status_code == 200, asked.text  # + a system notice
    deadline = asyncio.get_running_loop().time() + 10
    while True:
        after = await get_stats(server, scene.analyst)
        requests = after["handoffs"]["requests"] + after["no_agent"]["requests"]
        if (after["conversations"]["started"], after["messages"]["total"], requests) == (
            4,
            14,
            3,
        ):
            break
        assert asyncio.get_running_loop().time() < deadline, after
        await asyncio.sleep(0.1)
    rollups = models.stats_rollups
    async with server.tandem.db.session() as session:
        rows_before = (await session.execute(sa.select(rollups))).all()
    assert await RollupFolder(server.tandem.db).fold_now() == 0  # nothing left to fold
    async with server.tandem.db.session() as session:
        assert (await session.execute(sa.select(rollups))).all() == rows_before


async def test_the_csv_has_one_row_per_conversation(server: LiveServer, scene: Scene) -> None:
    response = await server.http.get(
        "/api/stats/conversations.csv", params=around_today(), headers=auth(scene.analyst)
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [r["conversation_id"] for r in rows] == [scene.no_agent, scene.ai_only, scene.handed]
    handed = rows[2]
    assert handed["status"] == "closed" and handed["handed_off"] == "yes"
    assert handed["first_handoff_reason"] == "button" and handed["agents"] == "Alice"
    assert float(handed["wait_seconds"]) >= 0 and float(handed["duration_seconds"]) > 0
    counts = [handed[f"messages_{s}"] for s in ("user", "ai", "agent", "system", "total")]
    assert counts == ["1", "1", "1", "3", "6"]
    ai_only = rows[1]
    assert (ai_only["handed_off"], ai_only["first_handoff_reason"], ai_only["agents"]) == (
        "no", "", ""
    )  # fmt: skip
    assert (ai_only["status"], ai_only["duration_seconds"], ai_only["messages_total"]) == (
        "ai", "", "2"
    )  # fmt: skip
    assert rows[0]["messages_system"] == "1" and rows[0]["handed_off"] == "no"
    assert datetime.fromisoformat(rows[0]["created_at_utc"]).utcoffset() == timedelta(0)


async def test_the_csv_counts_each_conversations_transfers(
    server: LiveServer, scene: Scene
) -> None:
    """A chat handed from Alice to Ben and by Ben back to the queue shows 2 transfers in its CSV
    row, the others 0, and the column adds up to `transfers.total` of /api/stats; both agents
    who held it are in its `agents` column."""
    ben, ben_token = await server.add_agent("Ben")
    assert ben.id is not None
    await server.http.get("/api/queue", headers=auth(ben_token))  # Ben is online
    moved, token = await server.new_room()
    await server.http.post(f"/api/rooms/{moved}/handoff", headers=auth(token))
    joined = await server.http.post(f"/api/rooms/{moved}/join", headers=auth(scene.agent))
    assert joined.status_code == 200, joined.text
    for by, body in ((scene.agent, {"agent_id": ben.id}), (ben_token, {"queue": True})):
        done = await server.http.post(f"/api/rooms/{moved}/transfer", json=body, headers=auth(by))
        assert done.status_code == 200, done.text

    response = await server.http.get(
        "/api/stats/conversations.csv", params=around_today(), headers=auth(scene.analyst)
    )
    assert response.status_code == 200
    rows = {r["conversation_id"]: r for r in csv.DictReader(io.StringIO(response.text))}
    assert {room: r["transfers"] for room, r in rows.items()} == {
        scene.no_agent: "0",
        scene.ai_only: "0",
        scene.handed: "0",
        moved: "2",
    }
    assert rows[moved]["agents"] == "Alice; Ben"
    await folded(server)
    stats = await get_stats(server, scene.analyst)
    assert stats["transfers"]["total"] == sum(int(r["transfers"]) for r in rows.values()) == 2
    reasons = {r["reason"]: r["requests"] for r in stats["transfers"]["by_reason"]}
    assert reasons == {"agent": 1, "queue": 1}


async def test_transcript_download_and_search(server: LiveServer, scene: Scene) -> None:
    for token in (scene.analyst, scene.agent):
        response = await server.http.get(
            f"/api/rooms/{scene.handed}/transcript.json", headers=auth(token)
        )
        assert response.status_code == 200
    assert response.headers["content-disposition"] == (
        f'attachment; filename="transcript-{scene.handed}.json"'
    )
    record = response.json()
    assert record["room"]["status"] == "closed" and record["room"]["agent"]["name"] == "Alice"
    assert [m["sender"] for m in record["messages"]] == [
        "user", "ai", "system", "system", "agent", "system"
    ]  # fmt: skip
    assert [e["kind"] for e in record["events"]] == ["created", "handoff", "joined", "closed"]
    missing = await server.http.get("/api/rooms/nope/transcript.json", headers=auth(scene.analyst))
    assert missing.status_code == 404
    assert (await server.http.get(f"/api/rooms/{scene.handed}/transcript.json")).status_code == 401

    found = await server.http.get(
        "/api/stats/transcripts",
        params={"q": "ZEBRA-42", **around_today()},
        headers=auth(scene.analyst),
    )
    assert found.status_code == 200
    body = found.json()
    assert [hit["room_id"] for hit in body["results"]] == [scene.handed]
    assert "zebra-42" in body["results"][0]["snippet"] and body["truncated"] is False
    empty = await server.http.get(
        "/api/stats/transcripts", params={"q": "  "}, headers=auth(scene.analyst)
    )
    assert empty.status_code == 422


async def test_waits_stints_and_counters_are_written_as_they_happen(server: LiveServer) -> None:
    """Two stints of Alice in one chat: each join keeps its own first reply and end, each
    handoff the join that answered it, and the room counts messages per sender."""
    _, alice = await server.add_agent("Alice")
    await server.http.get("/api/queue", headers=auth(alice))  # online
    room, token = await server.new_room()
    for _ in range(2):
        await say(server, room, token, "I want to speak to a human")
        joined = await server.http.post(f"/api/rooms/{room}/join", headers=auth(alice))
        assert joined.status_code == 200, joined.text
        await say(server, room, alice, "Alice here")
        await say(server, room, alice, "Anything else?")
        left = await server.http.post(f"/api/rooms/{room}/leave", headers=auth(alice))
        assert left.status_code == 200, left.text
    record = (
        await server.http.get(f"/api/rooms/{room}/transcript.json", headers=auth(alice))
    ).json()
    agent_times = [
        datetime.fromisoformat(m["created_at"])
        for m in record["messages"]
        if m["sender"] == "agent"
    ]

    events_t = tables.events_t
    async with server.tandem.db.session() as session:
        rows = (
            await session.execute(
                sa.select(events_t)
                .where(events_t.c.room_id == room, events_t.c.kind.in_(["handoff", "joined"]))
                .order_by(events_t.c.id)
            )
        ).all()
        counts = (
            await session.execute(
                sa.select(*(tables.rooms_t.c[c] for c in MESSAGE_COUNTS.values())).where(
                    tables.rooms_t.c.id == room
                )
            )
        ).one()
    assert [r.kind for r in rows] == ["handoff", "joined"] * 2
    assert [r.next_kind for r in rows] == ["joined", "left"] * 2
    for handoff, join in (rows[0:2], rows[2:4]):
        assert handoff.next_at == join.created_at and handoff.first_reply_at is None
    first_replies = [r.first_reply_at for r in rows if r.kind == "joined"]
    assert first_replies == [agent_times[0], agent_times[2]]
    by_sender: dict[str, int] = {}
    for m in record["messages"]:
        by_sender[m["sender"]] = by_sender.get(m["sender"], 0) + 1
    assert dict(zip(MESSAGE_COUNTS, counts, strict=True)) == {
        s: by_sender.get(s, 0) for s in MESSAGE_COUNTS
    }


async def test_messages_alone_reach_the_stats_in_seconds(server: LiveServer, scene: Scene) -> None:
    """More messages in an open chat, with no transition: the writer hands the room to the
    running fold, which counts them without any help (and without re-reading messages)."""
    await folded(server)
    before = (await get_stats(server, scene.analyst))["messages"]["total"]
    await say(server, scene.ai_only, scene.ai_token, "And to Norway?")  # + the AI's answer
    deadline = asyncio.get_running_loop().time() + 15
    while (await get_stats(server, scene.analyst))["messages"]["total"] != before + 2:
        assert asyncio.get_running_loop().time() < deadline
        await asyncio.sleep(0.1)


async def test_live_figures_come_from_the_queue_and_team_now(server: LiveServer) -> None:
    _, analyst = await server.add_agent("Ana", role="analyst")
    _, admin = await server.add_agent("Ada", role="admin")
    _, alice = await server.add_agent("Alice")

    async def live(token: str = analyst) -> dict[str, Any]:
        response = await server.http.get("/api/stats/live", headers=auth(token))
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    assert (await server.http.get("/api/stats/live")).status_code == 401
    assert (await server.http.get("/api/stats/live", headers=auth(alice))).status_code == 403
    empty = await live(admin)
    assert {k: empty[k] for k in ("waiting", "longest_wait_seconds", "with_agent")} == {
        "waiting": 0,
        "longest_wait_seconds": None,
        "with_agent": 0,
    }
    assert empty["agents_online"] == 0

    await server.http.get("/api/queue", headers=auth(alice))  # Alice is online from now on
    rooms = []
    for _ in range(2):
        room, token = await server.new_room()
        queued = await server.http.post(f"/api/rooms/{room}/handoff", headers=auth(token))
        assert queued.json()["status"] == "waiting"
        rooms.append(room)
        await asyncio.sleep(1.2)
    now = await live()
    assert (now["waiting"], now["with_agent"], now["agents_online"]) == (2, 0, 1)
    assert 2.0 <= now["longest_wait_seconds"] < 120

    joined = await server.http.post(f"/api/rooms/{rooms[0]}/join", headers=auth(alice))
    assert joined.json()["status"] == "agent"
    later = await live()
    assert (later["waiting"], later["with_agent"], later["agents_online"]) == (1, 1, 1)
    assert 1.0 <= later["longest_wait_seconds"] < now["longest_wait_seconds"]
