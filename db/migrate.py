"""Bring a database to the newest schema with Alembic, from the app or from a CLI.

`await upgrade(engine)` runs `alembic upgrade head` on the engine's database and is meant to be
called on every start: a fresh database gets its tables, an up-to-date one is only read.

The Alembic configuration is built here, not read from an .ini file, and the scripts are found
next to this module, so an installed package migrates from any working directory. Developers
generating revisions use `alembic -c db/alembic.ini revision --autogenerate -m "..."`.

Two processes starting at once: on MySQL/MariaDB the run holds a named lock (GET_LOCK) per
database, so the second one waits and then finds nothing to do; on SQLite the whole run is one
`BEGIN IMMEDIATE` transaction, which serialises writers the same way. Should a run still fail
with a database error (a race the locks do not cover), it re-checks: if another process brought
the database to head meanwhile that is success, otherwise it tries again a few times.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from db.engine import create_engine

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
LOCK_TIMEOUT_SECONDS = 120
_ATTEMPTS = 4


def alembic_config() -> Config:
    """The Alembic configuration for the scripts shipped in db/migrations."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def head_revision() -> str:
    """The revision the scripts end at: what `upgrade` brings a database to."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:  # pragma: no cover - the package always ships at least one revision
        raise RuntimeError(f"no Alembic revisions in {MIGRATIONS_DIR}")
    return head


def current_revision(connection: sa.Connection) -> str | None:
    """The revision stamped in a database's alembic_version table (None: never migrated)."""
    return MigrationContext.configure(connection).get_current_revision()


def _upgrade_sync(connection: sa.Connection) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    dialect = connection.dialect.name
    if dialect == "mysql":
        # A named lock lives as long as the session: released below, or when it disconnects.
        # MD5 keeps the name within the 64 characters MySQL allows, whatever the database name.
        lock_name = connection.execute(sa.text("SELECT CONCAT('tandem_migrate_', MD5(DATABASE()))"))
        name = lock_name.scalar_one()
        got = connection.execute(
            sa.text("SELECT GET_LOCK(:name, :timeout)"),
            {"name": name, "timeout": LOCK_TIMEOUT_SECONDS},
        ).scalar()
        if got != 1:
            raise TimeoutError(
                f"another process has been migrating this database for {LOCK_TIMEOUT_SECONDS}s"
            )
        try:
            command.upgrade(config, "head")
        finally:
            connection.execute(sa.text("SELECT RELEASE_LOCK(:name)"), {"name": name})
    else:
        if dialect == "sqlite":
            # The driver would run DDL outside a transaction: take the write lock up front, so
            # the migration is all-or-nothing and a concurrent one waits (busy_timeout).
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        command.upgrade(config, "head")


async def _is_at_head(engine: AsyncEngine) -> bool:
    async with engine.connect() as conn:
        return await conn.run_sync(current_revision) == head_revision()


async def upgrade(engine: AsyncEngine) -> None:
    """Run `alembic upgrade head` on the engine's database; a no-op when it is up to date."""
    for attempt in range(1, _ATTEMPTS + 1):
        try:
            async with engine.begin() as conn:
                await conn.run_sync(_upgrade_sync)
            return
        except DBAPIError as exc:
            if attempt == _ATTEMPTS:
                raise
            # Most likely another process created the same tables just now ("table already
            # exists", a duplicate alembic_version row): let it finish, then look again.
            await asyncio.sleep(0.2 * attempt)
            if await _is_at_head(engine):
                log.info("database migrated by another process meanwhile (%s)", exc.orig)
                return
            log.warning("migration attempt %d failed, retrying: %s", attempt, exc.orig)


def upgrade_url(url: str) -> None:
    """Synchronous `upgrade` for command-line tools: open the URL, migrate, dispose."""

    async def run() -> None:
        engine = create_engine(url)
        try:
            await upgrade(engine)
        finally:
            await engine.dispose()

    asyncio.run(run())
