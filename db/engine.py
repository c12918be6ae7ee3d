"""One async engine factory for both deployments, and the `Database` handle the API holds.

SQLite (embedded default) gets WAL and foreign keys and is written through one asyncio lock,
because SQLite has a single writer anyway and a lock queues writers fairly instead of letting
them collide on SQLITE_BUSY. MySQL/MariaDB gets utf8mb4 and a connection pool.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

from sqlalchemy import event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def create_engine(url: str, *, echo: bool = False, pool_size: int = 10) -> AsyncEngine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = create_async_engine(
            parsed, echo=echo, connect_args={"timeout": 30, "check_same_thread": False}
        )
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    if parsed.get_backend_name() == "mysql":
        if "charset" not in parsed.query:
            parsed = parsed.update_query_dict({"charset": "utf8mb4"})
        # No pre-ping: it costs a round trip per checkout on the write path. Connections are
        # recycled well inside MariaDB's wait_timeout, and the writer retries a batch whose
        # connection turned out dead.
        return create_async_engine(
            parsed, echo=echo, pool_size=pool_size, max_overflow=10, pool_recycle=1800
        )
    raise ValueError(
        f"Unsupported database URL {parsed.render_as_string(hide_password=True)!r}: "
        "use sqlite+aiosqlite:///path.db or mysql+asyncmy://user:pass@host/db"
    )


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


UNAVAILABLE = (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.TimeoutError)
"""What the database raises when it is unreachable (or the pool has no connection to give):
worth retrying, unlike a bug. Answered 503 over HTTP and `unavailable` on a socket."""
RETRY_AFTER_SECONDS = 5


class Database:
    """The engine, a session factory, and write serialisation where the engine needs it."""

    def __init__(self, url: str, *, echo: bool = False, pool_size: int = 10) -> None:
        self.url = url
        self.engine = create_engine(url, echo=echo, pool_size=pool_size)
        self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False)
        self._write_lock: asyncio.Lock | None = asyncio.Lock() if is_sqlite(url) else None
        self.after_commit: list[Callable[[], None]] = []
        """Called (cheap, synchronous) after each `write()` commits: the statistics fold's
        wake-up (db/rollups.py)."""

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextlib.asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A session for reads (and writes that need no ordering with the message writer)."""
        async with self.sessionmaker() as session:
            yield session

    @contextlib.asynccontextmanager
    async def write(self, *, notify: bool = True) -> AsyncIterator[AsyncSession]:
        """One transaction that commits on exit and rolls back on error; then `after_commit`
        (unless `notify` is False: the fold's own writes)."""
        lock = self._write_lock or contextlib.nullcontext()
        async with lock, self.sessionmaker() as session, session.begin():
            yield session
        if notify:
            for hook in self.after_commit:
                hook()

    async def dispose(self) -> None:
        await self.engine.dispose()
