"""Who counts as online: an agent while its console socket is open or shortly after it polled."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from api import presence as presence_module
from api.presence import Presence
from db import queries
from db.engine import Database
from db.migrate import upgrade
from db.models import utcnow


@pytest.fixture
async def db(sqlite_url: str) -> AsyncIterator[Database]:
    database = Database(sqlite_url)
    await upgrade(database.engine)
    yield database
    await database.dispose()


async def add_agent(db: Database, name: str, role: str = "agent") -> int:
    async with db.write() as session:
        agent = await queries.create_agent(
            session, email=f"{name}@example.com", name=name, role=role, password_hash="-"
        )
    assert agent.id is not None
    return agent.id


def clock_at(monkeypatch: pytest.MonkeyPatch, when: datetime) -> None:
    monkeypatch.setattr(presence_module, "utcnow", lambda: when)


async def test_an_agent_is_online_while_its_socket_is_open_and_offline_after(
    db: Database,
) -> None:
    presence = Presence(db, window_seconds=30)
    alice = await add_agent(db, "alice")
    assert await presence.online_count() == 0
    async with presence.connected(alice):
        assert await presence.online_count() == 1
        async with presence.connected(alice):  # a second tab
            assert await presence.online_count() == 1
        assert await presence.online_count() == 1  # one tab still open
    assert await presence.online_count() == 0


async def test_a_poll_keeps_an_agent_online_for_the_window(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    presence = Presence(db, window_seconds=30)
    bob = await add_agent(db, "bob")
    start = utcnow()
    clock_at(monkeypatch, start)
    await presence.polled(bob)
    assert await presence.online_count() == 1
    clock_at(monkeypatch, start + timedelta(seconds=29))
    assert await presence.online_count() == 1
    clock_at(monkeypatch, start + timedelta(seconds=31))
    assert await presence.online_count() == 0
    await presence.polled(bob)  # polling again brings them back
    assert await presence.online_count() == 1


async def test_analysts_never_count_as_online(db: Database) -> None:
    presence = Presence(db)
    ana = await add_agent(db, "ana", role="analyst")
    await presence.polled(ana)
    async with presence.connected(ana):
        assert await presence.online_count() == 0


async def test_a_failed_heartbeat_write_still_ends_the_presence(db: Database) -> None:
    """The agents table renamed away for a while: a heartbeat's write fails, and closing the
    socket still ends the presence (nothing stays counted)."""
    agent_id = await add_agent(db, "paula")
    presence = Presence(db, window_seconds=3)  # a heartbeat every second
    async with presence.connected(agent_id):
        assert await presence.online_count() == 1
        async with db.write() as session:
            await session.execute(sa.text("ALTER TABLE agents RENAME TO agents_away"))
        await asyncio.sleep(1.5)  # a heartbeat runs, and its write fails
        async with db.write() as session:
            await session.execute(sa.text("ALTER TABLE agents_away RENAME TO agents"))
    assert await presence.online_count() == 0
    assert not presence._sockets
    async with presence.connected(agent_id):
        assert await presence.online_count() == 1
    assert await presence.online_count() == 0
