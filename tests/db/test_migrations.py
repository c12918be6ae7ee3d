"""The Alembic migrations, db/schema.sql and db/models.py describe one and the same schema.

* `upgrade()` creates the tables on a fresh SQLite file and a fresh MariaDB database, is a no-op
  the second time and when two run at once, and leaves nothing for autogenerate to find
  (`compare_metadata` against SQLModel.metadata is empty).
* On both databases the migrated schema is the one `SQLModel.metadata.create_all` builds
  (SQLite: the same DDL text; MariaDB: the same information_schema rows), which also covers
  what compare_metadata does not look at, such as DATETIME(6).
* db/schema.sql loaded into MariaDB gives exactly the migrated schema, stamped at head, and
  `upgrade()` leaves such a database alone.
* 0003 keeps the agents already there, enabled and at token_version 0, and goes down again.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import SQLModel

import db
import db.models  # registers the tables on SQLModel.metadata
import db.team_models  # and the team's own tables
from db.engine import create_engine
from db.migrate import current_revision, head_revision, upgrade, upgrade_url
from tests.conftest import ScratchMariaDB, migrate_to

SCHEMA_SQL = Path(db.__file__).resolve().parent / "schema.sql"
TABLES = (
    "agents",
    "rooms",
    "messages",
    "room_events",
    "stats_rollups",
    "stats_room_folds",
    "stats_fold_state",
    "saved_replies",
    "notes",
    "ratings",
    "followups",
    "agent_sessions",
)
ALL_TABLES = (*TABLES, "alembic_version")


def sqlite_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


def _diff(sync_conn: sa.Connection) -> list[Any]:
    return list(compare_metadata(MigrationContext.configure(sync_conn), SQLModel.metadata))


async def metadata_diff(engine: AsyncEngine) -> list[Any]:
    """What `alembic revision --autogenerate` would put in a new revision for this database."""
    async with engine.connect() as conn:
        return await conn.run_sync(_diff)


async def revision_rows(engine: AsyncEngine) -> list[str]:
    async with engine.connect() as conn:
        result = await conn.execute(sa.text("SELECT version_num FROM alembic_version"))
        return list(result.scalars())


async def sqlite_schema(engine: AsyncEngine) -> dict[str, list[tuple[Any, ...]]]:
    """Each table's columns (in order, with type, NOT NULL, default, primary key), indexes
    (name, uniqueness, columns) and foreign keys, as SQLite's PRAGMAs report them: the DDL
    text itself differs once a migration has added a column with ALTER TABLE."""
    schema: dict[str, list[tuple[Any, ...]]] = {}
    async with engine.connect() as conn:

        async def rows(sql: str) -> list[tuple[Any, ...]]:
            return [tuple(row) for row in await conn.execute(sa.text(sql))]

        for table in TABLES:
            schema[f"{table} columns"] = await rows(f"PRAGMA table_xinfo({table})")
            schema[f"{table} foreign keys"] = sorted(
                row[2:5] for row in await rows(f"PRAGMA foreign_key_list({table})")
            )
            indexes = []
            for _, name, unique, origin, partial in await rows(f"PRAGMA index_list({table})"):
                columns = [row[2] for row in await rows(f"PRAGMA index_info('{name}')")]
                if origin == "pk":
                    name = "(primary key)"
                indexes.append((name, unique, origin, partial, tuple(columns)))
            schema[f"{table} indexes"] = sorted(indexes)
    return schema


# --------------------------------------------------------------------------- SQLite


async def test_upgrade_sqlite_fresh_then_noop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The scripts are found next to the db package, not through the working directory.
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    engine = create_engine(sqlite_url(tmp_path / "fresh.db"))
    try:
        await upgrade(engine)
        async with engine.connect() as conn:
            tables = await conn.run_sync(lambda c: set(sa.inspect(c).get_table_names()))
            assert await conn.run_sync(current_revision) == head_revision()
        assert tables == set(ALL_TABLES)
        before = await sqlite_schema(engine)

        await upgrade(engine)
        assert await sqlite_schema(engine) == before
        assert await revision_rows(engine) == [head_revision()]

        assert await metadata_diff(engine) == []

        # The comparison does see drift (it is not vacuously empty).
        async with engine.begin() as conn:
            await conn.execute(sa.text("DROP INDEX ix_messages_created_at"))
        diff = await metadata_diff(engine)
        assert [(d[0], d[1].name) for d in diff] == [("add_index", "ix_messages_created_at")]
    finally:
        await engine.dispose()


async def test_sqlite_migration_is_what_the_models_create(tmp_path: Path) -> None:
    migrated = create_engine(sqlite_url(tmp_path / "migrated.db"))
    created = create_engine(sqlite_url(tmp_path / "created.db"))
    try:
        await upgrade(migrated)
        async with created.begin() as conn:
            await conn.run_sync(SQLModel.metadata.create_all)
        assert await sqlite_schema(migrated) == await sqlite_schema(created)
    finally:
        await migrated.dispose()
        await created.dispose()


async def test_concurrent_upgrades_sqlite(tmp_path: Path) -> None:
    """Two processes starting at once on a fresh file: both come up, the schema is made once."""
    url = sqlite_url(tmp_path / "race.db")
    engines = [create_engine(url) for _ in range(3)]
    try:
        await asyncio.gather(*(upgrade(engine) for engine in engines))
        assert await revision_rows(engines[0]) == [head_revision()]
        assert await metadata_diff(engines[0]) == []
    finally:
        for engine in engines:
            await engine.dispose()


def test_upgrade_url_for_clis(tmp_path: Path) -> None:
    path = tmp_path / "cli.db"
    upgrade_url(sqlite_url(path))
    upgrade_url(sqlite_url(path))
    with sqlite3.connect(path) as conn:
        tables = {
            row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")
        }
        versions = [row[0] for row in conn.execute("SELECT version_num FROM alembic_version")]
    conn.close()
    assert tables == set(ALL_TABLES)
    assert versions == [head_revision()]


# --------------------------------------------------------------------------- MariaDB

Snapshot = dict[str, list[tuple[Any, ...]]]

_SNAPSHOT_QUERIES = {
    "tables": """
        SELECT TABLE_NAME, ENGINE, TABLE_COLLATION
        FROM information_schema.TABLES WHERE TABLE_SCHEMA = :schema""",
    "columns": """
        SELECT TABLE_NAME, ORDINAL_POSITION, COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE, COLUMN_KEY,
               COLUMN_DEFAULT, EXTRA, CHARACTER_SET_NAME, COLLATION_NAME
        FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = :schema""",
    "indexes": """
        SELECT TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX, COLUMN_NAME, NON_UNIQUE, INDEX_TYPE
        FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = :schema""",
    "constraints": """
        SELECT TABLE_NAME, CONSTRAINT_NAME, CONSTRAINT_TYPE
        FROM information_schema.TABLE_CONSTRAINTS WHERE TABLE_SCHEMA = :schema""",
    "key_columns": """
        SELECT TABLE_NAME, CONSTRAINT_NAME, ORDINAL_POSITION, COLUMN_NAME,
               REFERENCED_TABLE_NAME, REFERENCED_COLUMN_NAME
        FROM information_schema.KEY_COLUMN_USAGE WHERE TABLE_SCHEMA = :schema""",
    "foreign_keys": """
        SELECT TABLE_NAME, CONSTRAINT_NAME, REFERENCED_TABLE_NAME, UPDATE_RULE, DELETE_RULE
        FROM information_schema.REFERENTIAL_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = :schema""",
}


async def mariadb_snapshot(
    root: AsyncEngine, schema: str, *, tables: tuple[str, ...] = ALL_TABLES
) -> Snapshot:
    """The schema of one database as information_schema rows, sorted, for `==` with a diff."""
    snapshot: Snapshot = {}
    async with root.connect() as conn:
        for key, query in _SNAPSHOT_QUERIES.items():
            result = await conn.execute(sa.text(query), {"schema": schema})
            rows = [tuple(row) for row in result if row[0] in tables]
            snapshot[key] = sorted(rows, key=lambda row: tuple(str(value) for value in row))
    return snapshot


def without_charsets(snapshot: Snapshot) -> Snapshot:
    """Drop what only the migration sets (InnoDB, utf8mb4_bin) and the models leave out."""
    return {
        **snapshot,
        "tables": [row[:1] for row in snapshot["tables"]],
        "columns": [row[:8] for row in snapshot["columns"]],
    }


async def load_schema_sql(scratch: ScratchMariaDB, name: str) -> None:
    """Load db/schema.sql the way a person would (`mariadb <db> < schema.sql`), else statement
    by statement when no client is installed."""
    client = shutil.which("mariadb") or shutil.which("mysql")
    if client is not None:
        process = await asyncio.create_subprocess_exec(
            client,
            "--host=127.0.0.1",
            "--port=3306",
            "--user=root",
            name,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await process.communicate(SCHEMA_SQL.read_bytes())
        assert process.returncode == 0, (
            f"{client} < schema.sql failed: {err.decode()}{out.decode()}"
        )
        return
    statements = re.split(r";[ \t]*$", SCHEMA_SQL.read_text(), flags=re.MULTILINE)
    engine = create_engine(scratch.url(name))
    try:
        async with engine.begin() as conn:
            for statement in statements:
                if statement.strip():
                    await conn.exec_driver_sql(statement)
    finally:
        await engine.dispose()


async def check_table_options(root: AsyncEngine, schema: str) -> None:
    async with root.connect() as conn:
        result = await conn.execute(
            sa.text(
                "SELECT TABLE_NAME, ENGINE, TABLE_COLLATION FROM information_schema.TABLES "
                "WHERE TABLE_SCHEMA = :schema"
            ),
            {"schema": schema},
        )
        options = {row[0]: (row[1], row[2]) for row in result}
    for table in TABLES:
        assert options[table] == ("InnoDB", "utf8mb4_bin"), table


@pytest.mark.mariadb
async def test_upgrade_mariadb_fresh_then_noop(scratch_mariadb: ScratchMariaDB) -> None:
    name = await scratch_mariadb.create()
    engine = create_engine(scratch_mariadb.url(name))
    try:
        await upgrade(engine)
        before = await mariadb_snapshot(scratch_mariadb.root, name)
        assert {row[0] for row in before["tables"]} == set(ALL_TABLES)
        assert await revision_rows(engine) == [head_revision()]
        await check_table_options(scratch_mariadb.root, name)

        await upgrade(engine)
        assert await mariadb_snapshot(scratch_mariadb.root, name) == before
        assert await revision_rows(engine) == [head_revision()]

        assert await metadata_diff(engine) == []
    finally:
        await engine.dispose()


@pytest.mark.mariadb
async def test_mariadb_migration_is_what_the_models_create(
    scratch_mariadb: ScratchMariaDB,
) -> None:
    migrated_name, created_name = await scratch_mariadb.create(), await scratch_mariadb.create()
    migrated = create_engine(scratch_mariadb.url(migrated_name))
    created = create_engine(scratch_mariadb.url(created_name))
    try:
        await upgrade(migrated)
        async with created.begin() as conn:
            await conn.run_sync(SQLModel.metadata.create_all)
        root = scratch_mariadb.root
        assert without_charsets(
            await mariadb_snapshot(root, migrated_name, tables=TABLES)
        ) == without_charsets(await mariadb_snapshot(root, created_name, tables=TABLES))
    finally:
        await migrated.dispose()
        await created.dispose()


@pytest.mark.mariadb
async def test_concurrent_upgrades_mariadb(scratch_mariadb: ScratchMariaDB) -> None:
    name = await scratch_mariadb.create()
    engines = [create_engine(scratch_mariadb.url(name)) for _ in range(3)]
    try:
        await asyncio.gather(*(upgrade(engine) for engine in engines))
        assert await revision_rows(engines[0]) == [head_revision()]
        assert await metadata_diff(engines[0]) == []
    finally:
        for engine in engines:
            await engine.dispose()


@pytest.mark.mariadb
async def test_schema_sql_matches_migrations(scratch_mariadb: ScratchMariaDB) -> None:
    by_hand, migrated_name = await scratch_mariadb.create(), await scratch_mariadb.create()
    root = scratch_mariadb.root
    await load_schema_sql(scratch_mariadb, by_hand)
    hand = create_engine(scratch_mariadb.url(by_hand))
    migrated = create_engine(scratch_mariadb.url(migrated_name))
    try:
        await upgrade(migrated)
        from_sql = await mariadb_snapshot(root, by_hand)
        assert from_sql == await mariadb_snapshot(root, migrated_name)
        assert await revision_rows(hand) == [head_revision()]
        await check_table_options(root, by_hand)

        # Re-running schema.sql changes nothing, and neither does the start-up migration.
        await load_schema_sql(scratch_mariadb, by_hand)
        await upgrade(hand)
        assert await mariadb_snapshot(root, by_hand) == from_sql
        assert await revision_rows(hand) == [head_revision()]
        assert await metadata_diff(hand) == []
    finally:
        await hand.dispose()
        await migrated.dispose()


# --------------------------------------------------------------------------- 0003


async def agent_columns(engine: AsyncEngine) -> list[str]:
    async with engine.connect() as conn:
        columns = await conn.run_sync(lambda c: sa.inspect(c).get_columns("agents"))
    return [column["name"] for column in columns]


async def test_0003_keeps_existing_agents_enabled_and_goes_down_again(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        await migrate_to(engine, "0002_stats_columns")
        async with engine.begin() as conn:
            await conn.execute(
                sa.text(
                    "INSERT INTO agents (email, name, role, password_hash, created_at) "
                    "VALUES ('lee@example.com', 'Lee', 'agent', 'x', '2026-01-05 10:00:00')"
                )
            )
        await upgrade(engine)
        async with engine.connect() as conn:
            rows = (
                await conn.execute(sa.text("SELECT email, disabled, token_version FROM agents"))
            ).all()
        assert [(email, bool(disabled), version) for email, disabled, version in rows] == [
            ("lee@example.com", False, 0)
        ]
        assert await metadata_diff(engine) == []

        await migrate_to(engine, "0002_stats_columns", down=True)
        columns = await agent_columns(engine)
        assert "disabled" not in columns and "token_version" not in columns
        assert "ws_until" in columns
        await upgrade(engine)
        assert await revision_rows(engine) == [head_revision()]
    finally:
        await engine.dispose()


# --------------------------------------------------------------------------- 0005


async def table_names(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as conn:
        return await conn.run_sync(lambda c: set(sa.inspect(c).get_table_names()))


async def test_0005_adds_the_team_tables_and_goes_down_again(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        await migrate_to(engine, "0004_stats_rollups")
        assert not {"saved_replies", "notes"} & await table_names(engine)
        await upgrade(engine)
        assert {"saved_replies", "notes"} <= await table_names(engine)
        assert await metadata_diff(engine) == []

        await migrate_to(engine, "0004_stats_rollups", down=True)
        assert not {"saved_replies", "notes"} & await table_names(engine)
        await upgrade(engine)
        assert await revision_rows(engine) == [head_revision()]
    finally:
        await engine.dispose()


# --------------------------------------------------------------------------- 0007, 0008, 0009, 0010


async def column_names(engine: AsyncEngine, table: str) -> set[str]:
    async with engine.connect() as conn:
        return await conn.run_sync(
            lambda c: {col["name"] for col in sa.inspect(c).get_columns(table)}
        )


async def test_0007_adds_status_capacity_and_priority_and_goes_down_again(
    database_url: str,
) -> None:
    added = {"status", "max_chats", "last_assigned_at"}
    engine = create_engine(database_url)
    try:
        await migrate_to(engine, "0005_team_tools")
        async with engine.begin() as conn:
            await conn.execute(
                sa.text(
                    "INSERT INTO agents (email, name, role, password_hash, created_at) "
                    "VALUES ('a@example.com', 'Al', 'agent', 'x', '2026-11-30 10:00:00')"
                )
            )
        assert not added & await column_names(engine, "agents")
        await upgrade(engine)
        assert added <= await column_names(engine, "agents")
        assert "priority" in await column_names(engine, "rooms")
        assert await metadata_diff(engine) == []
        async with engine.connect() as conn:
            row = (await conn.execute(sa.text("SELECT status, max_chats FROM agents"))).one()
        assert tuple(row) == ("available", 3)  # agents already there: available, 3 chats

        await migrate_to(engine, "0005_team_tools", down=True)
        assert not added & await column_names(engine, "agents")
        assert "priority" not in await column_names(engine, "rooms")
        await upgrade(engine)
        assert await revision_rows(engine) == [head_revision()]
    finally:
        await engine.dispose()


async def test_0008_adds_ratings_and_visitors_and_goes_down_again(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        await migrate_to(engine, "0007_agent_status_transfer")
        assert "ratings" not in await table_names(engine)
        assert "visitor_id" not in await column_names(engine, "rooms")
        await upgrade(engine)
        assert "ratings" in await table_names(engine)
        assert "visitor_id" in await column_names(engine, "rooms")
        assert await metadata_diff(engine) == []

        await migrate_to(engine, "0007_agent_status_transfer", down=True)
        assert "ratings" not in await table_names(engine)
        assert "visitor_id" not in await column_names(engine, "rooms")
        await upgrade(engine)
        assert await revision_rows(engine) == [head_revision()]
    finally:
        await engine.dispose()


async def test_0009_adds_followups_sessions_user_seen_at_and_goes_down_again(
    database_url: str,
) -> None:
    engine = create_engine(database_url)

    async def room_columns() -> set[str]:
        async with engine.connect() as conn:
            return await conn.run_sync(
                lambda c: {col["name"] for col in sa.inspect(c).get_columns("rooms")}
            )

    try:
        await migrate_to(engine, "0008_ratings_visitors")
        assert not {"followups", "agent_sessions"} & await table_names(engine)
        assert "user_seen_at" not in await room_columns()
        await upgrade(engine)
        assert {"followups", "agent_sessions"} <= await table_names(engine)
        assert "user_seen_at" in await room_columns()
        assert await metadata_diff(engine) == []

        await migrate_to(engine, "0008_ratings_visitors", down=True)
        assert not {"followups", "agent_sessions"} & await table_names(engine)
        assert "user_seen_at" not in await room_columns()
        await upgrade(engine)
        assert await revision_rows(engine) == [head_revision()]
    finally:
        await engine.dispose()


async def message_columns(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as conn:
        return await conn.run_sync(
            lambda c: {col["name"] for col in sa.inspect(c).get_columns("messages")}
        )


async def test_0010_adds_while_waiting_and_goes_down_again(database_url: str) -> None:
    """Messages stored before the column exist read back as not written while waiting."""
    engine = create_engine(database_url)
    try:
        await migrate_to(engine, "0009_ux_followups")
        assert "while_waiting" not in await message_columns(engine)
        async with engine.begin() as conn:
            await conn.execute(
                sa.text(
                    "INSERT INTO rooms (id, status, last_seq, created_at) "
                    "VALUES ('r1', 'ai', 1, '2026-11-30 12:00:00')"
                )
            )
            await conn.execute(
                sa.text(
                    "INSERT INTO messages (text, room_id, seq, sender, author, created_at) "
                    "VALUES ('hi', 'r1', 1, 'user', 'User', '2026-11-30 12:00:00')"
                )
            )
        await upgrade(engine)
        assert "while_waiting" in await message_columns(engine)
        assert await metadata_diff(engine) == []
        async with engine.connect() as conn:
            flag = (await conn.execute(sa.text("SELECT while_waiting FROM messages"))).scalar()
        assert not flag

        await migrate_to(engine, "0009_ux_followups", down=True)
        assert "while_waiting" not in await message_columns(engine)
        await upgrade(engine)
        assert await revision_rows(engine) == [head_revision()]
    finally:
        await engine.dispose()
