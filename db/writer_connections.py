"""The message writer's own connections: checked out once, not per batch.

A write batch's statements already run on the driver's connection (db/driver.py), yet a
batch through an `AsyncSession` still paid for the session, a pool checkout and return, and
SQLAlchemy's transaction bookkeeping and COMMIT through the greenlet bridge: more CPU than
its three statements (`bench/writer_batch.py`). So the writer keeps its connections (one per
batch in flight) and runs each batch's transaction on one directly: statements, then COMMIT.

A transaction that fails is rolled back and its connection kept, unless the connection is
lost (or the rollback fails): then it is closed, and the next batch connects afresh, as the
writer's retry of a batch on a dead connection expects. A connection older than
`RECYCLE_SECONDS` is replaced, as the pool recycles its own. On SQLite `Database.write_batch`
holds the one-writer lock around each transaction, as `Database.write()` does.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from db.driver import Driver

RECYCLE_SECONDS = 1800.0
"""As the engine's `pool_recycle`: well inside MariaDB's `wait_timeout`."""


@dataclass(eq=False, slots=True)
class _Held:
    connection: AsyncConnection
    driver: Driver
    since: float


class WriterConnections:
    def __init__(self, engine: AsyncEngine, *, recycle: float = RECYCLE_SECONDS) -> None:
        self._engine = engine
        self._recycle = recycle
        self._idle: list[_Held] = []
        self._all: set[_Held] = set()
        """Idle or in a transaction; a transaction cut off by cancellation leaves its
        connection here, closed by `close()`."""

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[Driver]:
        """One transaction: committed when the block ends, rolled back if it raises."""
        held = await self._take()
        held.driver.used = False
        try:
            yield held.driver
            await held.driver.commit()
        except Exception as exc:
            await self._after_failure(held, exc)
            raise
        self._idle.append(held)

    async def close(self) -> None:
        for held in list(self._all):
            await self._discard(held)
        self._idle.clear()

    async def _take(self) -> _Held:
        while self._idle:
            held = self._idle.pop()
            if time.monotonic() - held.since < self._recycle:
                return held
            await self._discard(held)
        connection = await self._engine.connect()
        try:
            raw = await connection.get_raw_connection()
        except BaseException:
            await connection.close()
            raise
        driver = Driver(raw.driver_connection, connection.dialect, kept=True)
        held = _Held(connection, driver, time.monotonic())
        self._all.add(held)
        return held

    async def _after_failure(self, held: _Held, exc: Exception) -> None:
        lost = isinstance(exc, DBAPIError) and exc.connection_invalidated
        if not lost and held.driver.used:
            try:
                await held.driver.rollback()
            except Exception:
                lost = True
        if lost:
            await self._discard(held)
        else:
            self._idle.append(held)

    async def _discard(self, held: _Held) -> None:
        """Close without the pool's reset (a ROLLBACK on a connection that may be dead)."""
        self._all.discard(held)
        with contextlib.suppress(Exception):
            await held.connection.invalidate()
        with contextlib.suppress(Exception):
            await held.connection.close()
