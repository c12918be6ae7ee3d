"""A MariaDB connection back in the pool: rolled back unless SQLAlchemy's commit or rollback
just ended its transaction (db/engine.py), so a write and a read each save a round trip and a
read never leaks its snapshot."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import sqlalchemy as sa

from db.engine import Database
from db.migrate import upgrade
from db.models import utcnow
from db.room_log import open_rooms

pytestmark = pytest.mark.mariadb


@pytest.fixture
async def db(mariadb_url: str) -> AsyncIterator[Database]:
    database = Database(mariadb_url, pool_size=1)  # one pooled connection: every session reuses it
    await upgrade(database.engine)
    yield database
    await database.dispose()


async def rollbacks(db: Database) -> int:
    """ROLLBACKs the pooled connection has run (this counting read adds one as it closes)."""
    async with db.session() as session:
        row = (await session.execute(sa.text("SHOW SESSION STATUS LIKE 'Com_rollback'"))).one()
    return int(row[1])


async def rooms_seen(db: Database) -> int:
    async with db.session() as session:
        return int((await session.execute(sa.text("SELECT COUNT(*) FROM rooms"))).scalar_one())


async def test_a_committed_write_goes_back_to_the_pool_without_a_rollback(db: Database) -> None:
    before = await rollbacks(db)
    for n in range(3):
        async with db.write() as session:
            await open_rooms(session, rooms=[(f"room{n}", utcnow())])
    assert await rollbacks(db) == before + 1  # only the first count's own return


async def test_a_read_is_still_rolled_back_and_sees_later_commits(
    db: Database, mariadb_url: str
) -> None:
    assert await rooms_seen(db) == 0  # a snapshot taken (REPEATABLE READ), then returned
    other = Database(mariadb_url)
    try:
        async with other.write() as session:
            await open_rooms(session, rooms=[("from elsewhere", utcnow())])
    finally:
        await other.dispose()
    assert await rooms_seen(db) == 1


async def test_a_statement_after_a_commit_is_rolled_back(db: Database) -> None:
    async with db.engine.connect() as conn:
        await conn.execute(sa.text("SELECT 1"))
        await conn.commit()
        await conn.execute(sa.text("SELECT COUNT(*) FROM rooms"))  # a new transaction
    before = await rollbacks(db)
    async with db.engine.connect() as conn:
        await conn.execute(sa.text("SELECT 1"))
        await conn.commit()
        await conn.execute(sa.text("SELECT COUNT(*) FROM rooms"))
    assert await rollbacks(db) == before + 2  # that connection's, and the count's
