"""The room log's fixed statements, run on the driver's own connection.

Going through SQLAlchemy costs CPU per statement (compilation cache lookups, bind processing,
result set-up, the greenlet bridge) however few messages a write batch holds: most of the
API's CPU at moderate load (README, "Relay benchmark"). These statements are fixed, so they are
written once per dialect and executed on the asyncmy / aiosqlite connection that SQLAlchemy's
transaction already holds: same transaction, same commit. Their errors are raised as
SQLAlchemy's (`IntegrityError`, `OperationalError`, ...), as the ORM would, so callers can tell
a refused row from a lock conflict without knowing the driver.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

_DRIVER = "tandem_driver"
"""Where `Driver.of` keeps a session's driver, with the transaction it belongs to."""


class Driver:
    def __init__(self, connection: Any, dialect: Dialect, *, kept: bool = False) -> None:
        self._connection = connection
        self._dialect = dialect
        self.mysql = dialect.name == "mysql"
        self.mark = "%s" if self.mysql else "?"
        self.used = False
        """Whether a statement was sent since the owner last cleared it (db/writer_connections.py:
        a transaction that sent none has nothing to roll back)."""
        self._prepared: dict[str, Any] | None = {} if kept and self.mysql else None
        """`execute_rows`' prepared statements by SQL, on a connection its owner keeps (the
        writer's): a pooled connection would carry them to every later user. None: text only."""

    @classmethod
    async def of(cls, session: AsyncSession | Driver) -> Driver:
        """The driver connection of `session`'s transaction (a Driver is its own: the message
        writer's transactions, db/writer_connections.py). Kept in the session for that
        transaction: finding it takes two greenlet hops, and a write batch asks three times."""
        if isinstance(session, Driver):
            return session
        transaction = session.sync_session.get_transaction()
        cached = session.info.get(_DRIVER)
        if cached is not None and transaction is not None and cached[0] is transaction:
            driver: Driver = cached[1]
            return driver
        connection = await session.connection()
        raw = await connection.get_raw_connection()
        driver = cls(raw.driver_connection, connection.dialect)
        session.info[_DRIVER] = (session.sync_session.get_transaction(), driver)
        return driver

    @contextmanager
    def _translated(self, sql: str) -> Iterator[None]:
        """Re-raise the driver's errors as SQLAlchemy's, without the rows (message texts)."""
        base = self._dialect.loaded_dbapi.Error
        self.used = True
        try:
            yield
        except base as exc:
            raise DBAPIError.instance(
                sql,
                None,
                exc,
                base,
                hide_parameters=True,
                connection_invalidated=self._dialect.is_disconnect(exc, None, None),
                dialect=self._dialect,
            ) from exc

    def marks(self, count: int) -> str:
        return ", ".join([self.mark] * count)

    def time(self, value: datetime) -> Any:
        """A UTC time as SQLAlchemy stores it: naive DATETIME(6), or SQLite's text form."""
        naive = value.astimezone(UTC).replace(tzinfo=None)
        return naive if self.mysql else naive.strftime("%Y-%m-%d %H:%M:%S.%f")

    @staticmethod
    def read_time(value: Any) -> datetime:
        parsed = value if isinstance(value, datetime) else datetime.fromisoformat(value)
        return parsed.replace(tzinfo=UTC)

    async def commit(self) -> None:
        with self._translated("COMMIT"):
            await _maybe_await(self._connection.commit())

    async def rollback(self) -> None:
        with self._translated("ROLLBACK"):
            await _maybe_await(self._connection.rollback())

    async def fetchall(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        with self._translated(sql):
            if self.mysql:
                async with self._connection.cursor() as cursor:
                    await cursor.execute(sql, params)
                    return list(await _maybe_await(cursor.fetchall()))
            async with self._connection.execute(sql, params) as cursor:
                return list(await cursor.fetchall())

    async def execute(self, sql: str, params: Sequence[Any]) -> int:
        """Run `sql`; the rows it matched (an UPDATE's) or wrote."""
        with self._translated(sql):
            if self.mysql:
                async with self._connection.cursor() as cursor:
                    await cursor.execute(sql, params)
                    return int(cursor.rowcount)
            async with self._connection.execute(sql, params) as cursor:
                return int(cursor.rowcount)

    @property
    def binds_rows(self) -> bool:
        """`execute_rows` may bind rows in binary (else it returns None at once)."""
        return self._prepared is not None

    async def insert_rows(
        self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
    ) -> None:
        """INSERT `rows`: bound in one binary round trip where `execute_rows` can, with no
        escaping or SQL text per row, the larger part of the driver's CPU per message
        (bench/message_insert.py). That command refuses a column whose values are all NULL,
        so such a column is written as a literal NULL (one prepared statement per set of
        them)."""
        names = ", ".join(columns)
        if self._prepared is not None and rows:
            nulls = [i for i in range(len(columns)) if all(row[i] is None for row in rows)]
            marks = ", ".join("NULL" if i in nulls else "?" for i in range(len(columns)))
            bound = (
                [[v for i, v in enumerate(row) if i not in nulls] for row in rows]
                if nulls
                else rows
            )
            sql = f"INSERT INTO {table} ({names}) VALUES ({marks})"
            if await self.execute_rows(sql, bound) is not None:
                return
        await self.executemany(
            f"INSERT INTO {table} ({names}) VALUES ({self.marks(len(columns))})", rows
        )

    async def execute_rows(self, sql: str, rows: Sequence[Sequence[Any]]) -> int | None:
        """Run `sql` (`?` marks) once per row in one round trip, the rows bound in binary (a
        prepared statement and COM_STMT_BULK_EXECUTE) on a kept MariaDB connection. The rows
        it matched or wrote in all; None where it cannot (SQL text only, MySQL, rows the
        command cannot bind: found before anything is sent): the caller sends SQL text."""
        if self._prepared is None or not rows:
            return None
        with self._translated(sql):
            try:
                statement = self._prepared.get(sql)
                if statement is None:
                    statement = self._prepared[sql] = await self._connection.prepare(sql)
                return int((await statement.execute_bulk(rows)).affected_rows)
            except (ValueError, self._dialect.loaded_dbapi.NotSupportedError):
                self._prepared = None  # the text protocol from now on
                return None

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        with self._translated(sql):
            if self.mysql:
                async with self._connection.cursor() as cursor:
                    await cursor.executemany(sql, rows)  # asyncmy sends one multi-row INSERT
                return
            await self._connection.executemany(sql, rows)


async def _maybe_await(value: Any) -> Any:
    return await value if hasattr(value, "__await__") else value
