"""`tandem demo-data` writes rows the way the room service does, spans and counters included."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from db.engine import Database
from db.migrate import upgrade
from db.models import MESSAGE_COUNTS
from db.tables import events_t, rooms_t
from tests.conftest import migrate_to
from tools.demo_data import generate

COUNTERS = [rooms_t.c[column] for column in MESSAGE_COUNTS.values()]


async def spans(db: Database) -> dict[int, tuple[Any, ...]]:
    query = sa.select(
        events_t.c.id, events_t.c.next_kind, events_t.c.next_at, events_t.c.first_reply_at
    ).where(events_t.c.kind.in_(["handoff", "joined"]))
    async with db.session() as session:
        return {row.id: tuple(row)[1:] for row in (await session.execute(query)).all()}


async def counters(db: Database) -> dict[str, tuple[int, ...]]:
    query = sa.select(rooms_t.c.id, rooms_t.c.last_seq, *COUNTERS)
    async with db.session() as session:
        return {row.id: tuple(row)[1:] for row in (await session.execute(query)).all()}


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
