"""One async engine factory for both deployments, and the `Database` handle the API holds.

SQLite (embedded default) gets WAL and foreign keys and is written through one asyncio lock,
because SQLite has a single writer anyway and a lock queues writers fairly instead of letting
them collide on SQLITE_BUSY. MySQL/MariaDB gets utf8mb4 and a connection pool.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

from sqlalchemy import event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import StaticPool

from db.driver import Driver
from db.writer_connections import WriterConnections


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
        engine = create_async_engine(
            parsed,
            echo=echo,
            pool_size=pool_size,
            max_overflow=10,
            pool_recycle=1800,
            pool_reset_on_return=None,  # _reset_unless_ended does it
        )
        event.listen(engine.sync_engine, "commit", _mark_ending)
        event.listen(engine.sync_engine, "rollback", _mark_ending)
        event.listen(engine.sync_engine, "begin", _unmark_ending)
        event.listen(engine.sync_engine.pool, "reset", _reset_unless_ended)
        return engine
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


_ENDING = "tandem_transaction_ending"
"""Set in a pooled connection's info while SQLAlchemy commits or rolls back its transaction."""


def _mark_ending(connection: Any) -> None:
    if not connection.invalidated:  # (its `.connection` would try to reconnect: an error)
        connection.connection.info[_ENDING] = True


def _unmark_ending(connection: Any) -> None:
    if not connection.invalidated:
        connection.connection.info.pop(_ENDING, None)


def _reset_unless_ended(dbapi_connection: Any, record: Any, state: Any) -> None:
    """The pool's rollback when a connection comes back, unless SQLAlchemy's COMMIT or
    ROLLBACK just ended its transaction: every write batch paid a ROLLBACK round trip (one of
    its six) right after its COMMIT, and every read a second ROLLBACK. "Ended" is the server's
    word (the in-transaction flag of its last answer): a COMMIT that failed, or a statement
    run after it (a new transaction unmarks it), is still rolled back here."""
    ending = record.info.pop(_ENDING, False)
    if not state.asyncio_safe or state.transaction_was_reset:
        return  # as the pool's own reset: already rolled back, or no awaiting possible here
    if ending and not record.driver_connection.get_transaction_status():
        return
    dbapi_connection.rollback()


T = TypeVar("T")

UNAVAILABLE = (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.TimeoutError)
"""What the database raises when it is unreachable (or the pool has no connection to give):
worth retrying, unlike a bug. Answered 503 over HTTP and `unavailable` on a socket."""
RETRY_AFTER_SECONDS = 5
UNAVAILABLE_DETAIL = "The database is unavailable; retry shortly."


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
        self._detached: set[asyncio.Task[Any]] = set()
        # One shared connection (SQLite in memory): the writer cannot keep one of its own.
        shared = isinstance(self.engine.pool, StaticPool)
        self._writer_connections = None if shared else WriterConnections(self.engine)

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

    @contextlib.asynccontextmanager
    async def write_batch(self) -> AsyncIterator[AsyncSession | Driver]:
        """`write()` for the message writer's batches, whose statements all run on the
        driver (db/driver.py): a transaction on one of the writer's own connections, without a
        session (db/writer_connections.py); SQLite's under the same write lock."""
        if self._writer_connections is None:
            async with self.write() as session:
                yield session
            return
        lock = self._write_lock or contextlib.nullcontext()
        async with lock, self._writer_connections.transaction() as driver:
            yield driver
        for hook in self.after_commit:
            hook()

    async def detached(self, work: Callable[[], Awaitable[T]]) -> T:
        """`work()` (database calls) in a task of its own that the caller's cancellation does
        not reach. A task cancelled in the middle of a MariaDB answer left the connection
        half-read: the pool's reset then failed (an ERROR in the log) and, now and then, the
        cancelled task never finished. Callers that get cancelled as a matter of course (a
        socket's catch-up when it closes, the backstop's timed round, an AI reply when an
        agent joins) read through here; the work runs to its end and its connection goes back
        clean."""
        task = asyncio.ensure_future(work())
        self._detached.add(task)
        task.add_done_callback(_forget)
        task.add_done_callback(self._detached.discard)
        return await asyncio.shield(task)

    async def dispose(self) -> None:
        if self._detached:  # let cut-off work return its connections first
            await asyncio.wait(self._detached, timeout=5)
        if self._writer_connections is not None:
            await self._writer_connections.close()
        await self.engine.dispose()


def _forget(task: asyncio.Task[Any]) -> None:
    """Retrieve a detached task's failure: its caller may have left (cancelled) before it."""
    if not task.cancelled():
        task.exception()
