"""Alembic environment for Tandem, async-aware.

Three ways in:

* `db.migrate.upgrade(engine)` hands over a live (sync-facing) connection in
  `config.attributes["connection"]`; the migrations run on it, in the caller's transaction.
* The `alembic` command line (`alembic -c db/alembic.ini ...`) opens its own async engine on
  `TANDEM_DATABASE_URL`, else `sqlalchemy.url` from the .ini, else the app's default
  `sqlite+aiosqlite:///./tandem.db`.
* `--sql` (offline) renders the DDL for that URL's dialect without connecting.

`target_metadata` is SQLModel's metadata with db.models imported, so
`alembic revision --autogenerate` compares the database against the models.
"""

from __future__ import annotations

import asyncio
import os
from logging.config import fileConfig
from typing import Any

import sqlalchemy as sa
from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlmodel import SQLModel
from sqlmodel.sql.sqltypes import AutoString

import db.models  # registers the tables on SQLModel.metadata
import db.team_models  # and the team's own tables
from db.engine import create_engine

DEFAULT_URL = "sqlite+aiosqlite:///./tandem.db"

config = context.config
target_metadata = SQLModel.metadata

connection: sa.Connection | None = config.attributes.get("connection")

if connection is None and config.config_file_name is not None:
    # Only on the command line: an application calling upgrade() keeps its own logging setup.
    fileConfig(config.config_file_name, disable_existing_loggers=False)


def database_url() -> str:
    return os.environ.get("TANDEM_DATABASE_URL") or config.get_main_option(
        "sqlalchemy.url", DEFAULT_URL
    )


def render_item(type_: str, obj: Any, autogen_context: AutogenContext) -> str | bool:
    """Render the models' custom types as the plain SQLAlchemy the revisions are written in."""
    if type_ != "type":
        return False
    if isinstance(obj, db.models.UTCDateTime):
        autogen_context.imports.add("from sqlalchemy.dialects import mysql")
        return 'sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql")'
    if isinstance(obj, AutoString):
        return f"sa.String(length={obj.length})" if obj.length else "sa.String()"
    return False


def configure_options(dialect_name: str) -> dict[str, Any]:
    return {
        "target_metadata": target_metadata,
        "render_item": render_item,
        "render_as_batch": dialect_name == "sqlite",
        "compare_type": True,
    }


def run_migrations_offline() -> None:
    url = sa.make_url(database_url())
    context.configure(
        url=url,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
        **configure_options(url.get_backend_name()),
    )
    with context.begin_transaction():
        context.run_migrations()


def do_run_migrations(conn: sa.Connection) -> None:
    context.configure(connection=conn, **configure_options(conn.dialect.name))
    with context.begin_transaction():
        context.run_migrations()


async def run_async_migrations() -> None:
    engine = create_engine(database_url())
    try:
        async with engine.begin() as conn:
            await conn.run_sync(do_run_migrations)
    finally:
        await engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
elif connection is not None:
    do_run_migrations(connection)
else:
    asyncio.run(run_async_migrations())
