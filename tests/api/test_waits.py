"""The wait estimate (DECISIONS #10), on SQLite and MariaDB, from waits written through the room
log: the same hour of the week over 28 days if ≥ 5, else the last 24 hours if ≥ 5, else none."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from api.waits import median_wait
from db import room_log
from db.engine import Database
from db.models import EventKind, RoomStatus
from db.room_log import History, Transition
from tests.conftest import LiveServer, auth

NOW = datetime(2026, 11, 30, 14, 20, tzinfo=UTC)  # a Monday, 14:20 UTC


def wait(at: datetime, seconds: int, *, answered: bool = True) -> History:
    """A chat queued at `at` and taken (or closed, when not `answered`) `seconds` later."""
    room_id = uuid.uuid4().hex
    end = at + timedelta(seconds=seconds)
    return History(
        room_id=room_id,
        created_at=at - timedelta(minutes=1),
        steps=[
            Transition(room_id, EventKind.handoff, "button", "queued", at, RoomStatus.waiting),
            Transition(
                room_id,
                EventKind.joined if answered else EventKind.closed,
                "agent" if answered else "user",
                "taken" if answered else "closed",
                end,
                RoomStatus.agent if answered else RoomStatus.closed,
            ),
        ],
    )


async def load(db: Database, histories: list[History]) -> None:
    async with db.write() as session:
        await room_log.write_histories(session, histories=histories)


async def test_no_history_no_estimate(db: Database) -> None:
    assert await median_wait(db, now=NOW) is None


async def test_same_hour_of_the_week_first(db: Database) -> None:
    week_ago = NOW - timedelta(weeks=1)
    same_hour = [wait(week_ago - timedelta(minutes=m), s) for m, s in enumerate((60, 120, 900))]
    same_hour += [wait(NOW - timedelta(weeks=3, minutes=10), 240)]
    same_hour += [wait(NOW - timedelta(minutes=15), 300)]  # this hour, today
    # Busier at other hours of the last day, and a long wait that ended in a close.
    other = [wait(NOW - timedelta(hours=h), 3000) for h in range(2, 9)]
    other += [wait(week_ago, 9999, answered=False)]
    await load(db, same_hour + other)
    assert await median_wait(db, now=NOW) == 240


async def test_falls_back_to_the_last_day_then_to_none(db: Database) -> None:
    await load(db, [wait(NOW - timedelta(weeks=2), 60), wait(NOW - timedelta(weeks=4), 60)])
    await load(db, [wait(NOW - timedelta(hours=h), 100 * h) for h in (2, 3, 4, 5)])
    assert await median_wait(db, now=NOW) is None  # 2 same-hour, 4 in the last day
    await load(db, [wait(NOW - timedelta(hours=6), 600)])
    assert await median_wait(db, now=NOW) == 400  # 200, 300, 400, 500, 600


async def test_a_waiting_room_carries_the_estimate(server: LiveServer) -> None:
    _, agent = await server.add_agent("Alice")
    await server.http.get("/api/queue", headers=auth(agent))  # online
    room_id, token = await server.new_room()
    queued = await server.http.post(f"/api/rooms/{room_id}/handoff", headers=auth(token))
    assert queued.json()["status"] == "waiting"
    assert "estimated_wait_seconds" in queued.json()
    assert queued.json()["estimated_wait_seconds"] is None  # no history yet: "shortly"

    now = datetime.now(UTC)
    await load(server.tandem.db, [wait(now - timedelta(minutes=5 + i), 120) for i in range(5)])
    server.tandem.rooms.waits.forget()
    room = (await server.http.get(f"/api/rooms/{room_id}", headers=auth(token))).json()
    assert room["queue_position"] == 1 and room["estimated_wait_seconds"] == 120
    ai_room, ai_token = await server.new_room()
    other = (await server.http.get(f"/api/rooms/{ai_room}", headers=auth(ai_token))).json()
    assert other["estimated_wait_seconds"] is None  # only a waiting room has one
