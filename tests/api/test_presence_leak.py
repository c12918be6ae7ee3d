"""Presence on a real database whose writes fail for a while (the table renamed away)."""

from __future__ import annotations

import asyncio

import sqlalchemy as sa

from api.auth import hash_password
from api.presence import Presence
from db import queries
from db.engine import Database
from db.migrate import upgrade


async def test_a_failed_heartbeat_write_still_ends_the_presence(sqlite_url: str) -> None:
    db = Database(sqlite_url)
    try:
        await upgrade(db.engine)
        async with db.write() as session:
            agent = await queries.create_agent(
                session,
                email="p@example.com",
                name="P",
                role="agent",
                password_hash=hash_password("x"),
            )
        assert agent.id is not None
        presence = Presence(db, window_seconds=3)  # a heartbeat every second
        async with presence.connected(agent.id):
            assert await presence.online_count() == 1
            async with db.write() as session:
                await session.execute(sa.text("ALTER TABLE agents RENAME TO agents_away"))
            await asyncio.sleep(1.5)  # a heartbeat runs, and its write fails
            async with db.write() as session:
                await session.execute(sa.text("ALTER TABLE agents_away RENAME TO agents"))
        # The context ended cleanly: the agent is offline at once and nothing is counted.
        assert await presence.online_count() == 0
        assert not presence._sockets
        async with presence.connected(agent.id):
            assert await presence.online_count() == 1
        assert await presence.online_count() == 0
    finally:
        await db.dispose()
