"""`tandem demo-data` writes rows the way the room service does, spans and counters included."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from db.engine import Database
from db.migrate import upgrade
from db.models import MESSAGE_COUNTS
from db.ratings import credited_agent, ratings_t
from db.tables import events_t, rooms_t
from tests.conftest import migrate_to
from tools.demo_data import generate

COUNTERS = [rooms_t.c[column] for column in MESSAGE_COUNTS.values()]


async def spans(db: Database) -> dict[int, tuple[Any, ...]]:
    """The handoff and join spans, but for rooms with a transfer or a withdrawn request:
    migration 0002 derived spans before those existed (their spans are checked in
    tests/db/test_stats.py)."""
    newer = sa.select(events_t.c.room_id).where(events_t.c.kind.in_(["transferred", "withdrawn"]))
    query = sa.select(
        events_t.c.id, events_t.c.next_kind, events_t.c.next_at, events_t.c.first_reply_at
    ).where(events_t.c.kind.in_(["handoff", "joined"]), events_t.c.room_id.not_in(newer))
    async with db.session() as session:
        return {row.id: tuple(row)[1:] for row in (await session.execute(query)).all()}


async def counters(db: Database) -> dict[str, tuple[int, ...]]:
    query = sa.select(rooms_t.c.id, rooms_t.c.last_seq, *COUNTERS)
    async with db.session() as session:
        return {row.id: tuple(row)[1:] for row in (await session.execute(query)).all()}


async def test_demo_chats_have_every_section_of_the_stats_page_to_show(sqlite_url: str) -> None:
    """Transfers between agents, withdrawn requests and ratings of closed chats (credited
    the way the API credits them) appear in the mix, so the Stats page's sections are not
    empty on demo data."""
    db = Database(sqlite_url)
    try:
        await upgrade(db.engine)
        summary = await generate(db, conversations=600, days=14, seed=5)
        kinds_q = sa.select(events_t.c.kind, events_t.c.reason, sa.func.count()).group_by(
            events_t.c.kind, events_t.c.reason
        )
        rated_q = sa.select(ratings_t.c.room_id, ratings_t.c.agent_id, rooms_t.c.status).join(
            rooms_t, rooms_t.c.id == ratings_t.c.room_id
        )
        async with db.session() as session:
            kinds = {(k, r): n for k, r, n in (await session.execute(kinds_q)).all()}
            rated = (await session.execute(rated_q)).all()
            credited = {
                row.room_id: await credited_agent(session, room_id=row.room_id) for row in rated
            }
        assert kinds.get(("transferred", "agent"), 0) >= 3
        assert kinds.get(("withdrawn", "user"), 0) >= 3
        assert (
            summary.ratings == len(rated) == sum(n for (k, _), n in kinds.items() if k == "rated")
        )
        assert len(rated) >= 30 and {row.status for row in rated} == {"closed"}
        assert {row.room_id: row.agent_id for row in rated} == credited
        assert any(a is not None for a in credited.values()) and None in credited.values()
    finally:
        await db.dispose()


async def test_spans_and_counters_are_the_ones_the_rows_imply(database_url: str) -> None:
    """Generated spans and message counters equal what migration 0002 derives from the same
    events and messages (dropping the columns, then upgrading again, recomputes them)."""
    db = Database(database_url)
    try:
        await upgrade(db.engine)
        summary = await generate(db, conversations=300, days=14, seed=3)
        assert summary.conversations == 300
        generated = await spans(db)
        kinds = [kind for kind, _, _ in generated.values()]
        # A realistic mix: answered and abandoned waits, stints that ended, first replies.
        assert {"joined", "closed", "left"} <= set(kinds)
        assert sum(reply is not None for _, _, reply in generated.values()) > 20
        counted = await counters(db)
        assert all(seq == sum(per_sender) for seq, *per_sender in counted.values())

        await migrate_to(db.engine, "0001_initial", down=True)
        await upgrade(db.engine)
        assert await spans(db) == generated
        assert await counters(db) == counted
    finally:
        await db.dispose()
