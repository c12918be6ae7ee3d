"""Abandoned chats, on SQLite and MariaDB: a room's user is "seen" through their polls (one
throttled write per 30 s), and a waiting chat whose user is gone is closed as `abandoned`."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from api.abandon import sweep
from api.room_states import NOTICE_ABANDONED
from db.models import utcnow
from db.tables import events_t, rooms_t
from tests.conftest import LiveServer, auth, make_settings, start_server


async def seen_at(server: LiveServer, room_id: str) -> datetime | None:
    async with server.tandem.db.session() as session:
        return await session.scalar(
            sa.select(rooms_t.c.user_seen_at).where(rooms_t.c.id == room_id)
        )


async def close_reason(server: LiveServer, room_id: str) -> str | None:
    async with server.tandem.db.session() as session:
        return await session.scalar(
            sa.select(events_t.c.reason).where(
                events_t.c.room_id == room_id, events_t.c.kind == "closed"
            )
        )


async def queued(server: LiveServer, agent: str) -> tuple[str, str]:
    await server.http.get("/api/queue", headers=auth(agent))  # online
    room_id, token = await server.new_room()
    asked = await server.http.post(f"/api/rooms/{room_id}/handoff", headers=auth(token))
    assert asked.json()["status"] == "waiting"
    return room_id, token


async def backdate(server: LiveServer, room_id: str, *, waiting: datetime, seen: datetime) -> None:
    """As if time had passed since the user's last visit (written first, then moved back)."""
    await server.tandem.rooms.user_seen.flush()
    async with server.tandem.db.write() as session:
        await session.execute(
            sa.update(rooms_t)
            .where(rooms_t.c.id == room_id)
            .values(waiting_since=waiting, user_seen_at=seen)
        )


async def test_a_poll_marks_the_user_seen_at_most_every_30_s(server: LiveServer) -> None:
    """Marked on each visit, written in batches (one UPDATE per process every few seconds)."""
    room_id, token = await server.new_room()
    await server.tandem.rooms.user_seen.flush()
    assert await seen_at(server, room_id) is None  # creating a room is not a visit yet
    before = utcnow()
    polled = await server.http.get(f"/api/rooms/{room_id}/messages", headers=auth(token))
    assert polled.status_code == 200
    assert await server.tandem.rooms.user_seen.flush() == 1
    first = await seen_at(server, room_id)
    assert first is not None and first >= before - timedelta(seconds=1)
    for _ in range(3):
        await server.http.get(f"/api/rooms/{room_id}/messages?after=0", headers=auth(token))
    assert await server.tandem.rooms.user_seen.flush() == 0  # throttled: no write per poll
    assert await seen_at(server, room_id) == first
    _, agent = await server.add_agent("Alice")
    await server.http.get(f"/api/rooms/{room_id}/messages", headers=auth(agent))
    assert await server.tandem.rooms.user_seen.flush() == 0  # an agent reading is not the user
    assert await seen_at(server, room_id) == first


async def test_a_waiting_chat_whose_user_is_gone_closes_as_abandoned(server: LiveServer) -> None:
    _, agent = await server.add_agent("Alice")
    gone_id, gone_token = await queued(server, agent)
    here_id, _ = await queued(server, agent)
    now = utcnow()
    await backdate(server, gone_id, waiting=now - timedelta(hours=3), seen=now - timedelta(hours=2))
    await backdate(
        server, here_id, waiting=now - timedelta(hours=3), seen=now - timedelta(minutes=5)
    )

    assert await sweep(server.tandem.rooms, minutes=30) == [gone_id]
    assert await sweep(server.tandem.rooms, minutes=30) == []  # idempotent
    assert await close_reason(server, gone_id) == "abandoned"
    queue = (await server.http.get("/api/queue", headers=auth(agent))).json()["rooms"]
    assert [r["id"] for r in queue] == [here_id]  # the one whose user still polls stays
    messages = (
        await server.http.get(f"/api/rooms/{gone_id}/messages", headers=auth(gone_token))
    ).json()["messages"]
    assert messages[-1]["text"] == NOTICE_ABANDONED


@pytest.fixture
async def impatient(database_url: str) -> AsyncIterator[LiveServer]:
    """Gone after 1.2 s without a poll, looked for every 0.2 s."""
    settings = make_settings(database_url, abandon_minutes=0.02, abandon_check_seconds=0.2)
    async for live in start_server(settings):
        yield live


async def test_the_periodic_sweep_closes_it_by_itself(impatient: LiveServer) -> None:
    _, agent = await impatient.add_agent("Alice")
    room_id, _ = await queued(impatient, agent)
    for _ in range(150):  # up to 30 s under load
        room = (await impatient.http.get(f"/api/rooms/{room_id}", headers=auth(agent))).json()
        if room["status"] == "closed":
            break
        await asyncio.sleep(0.2)
    assert room["status"] == "closed"
    assert await close_reason(impatient, room_id) == "abandoned"
