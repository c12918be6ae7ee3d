"""Fixtures for the database-layer tests: scratch MariaDB databases (or a clear skip).

MariaDB tests skip when the server on 127.0.0.1:3306 cannot be reached, unless
TANDEM_REQUIRE_SERVICES=1 (CI), which turns the skip into a failure.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from db.engine import create_engine

MARIADB_SERVER = "mysql+asyncmy://root@127.0.0.1:3306"


async def require_mariadb() -> None:
    """Skip (or, under TANDEM_REQUIRE_SERVICES=1, fail) when MariaDB does not answer."""
    engine = create_engine(f"{MARIADB_SERVER}/?connect_timeout=3")
    try:
        async with engine.connect() as conn:
            await conn.execute(sa.text("SELECT 1"))
    except (OSError, sa.exc.DBAPIError) as exc:
        detail = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        reason = f"MariaDB is not reachable on 127.0.0.1:3306 as root: {detail}"
        if os.environ.get("TANDEM_REQUIRE_SERVICES") == "1":
            pytest.fail(f"{reason}, and TANDEM_REQUIRE_SERVICES=1 requires it")
        pytest.skip(reason)
    finally:
        await engine.dispose()


class ScratchMariaDB:
    """Creates uniquely named databases on the server and drops them all at teardown."""

    def __init__(self, root: AsyncEngine) -> None:
        self.root = root
        """Connected as root without a default database: for CREATE/DROP and information_schema."""
        self.created: list[str] = []

    async def create(self) -> str:
        """A new empty utf8mb4 database; returns its name."""
        name = f"tandem_test_{uuid.uuid4().hex[:8]}"
        async with self.root.begin() as conn:
            await conn.execute(sa.text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4"))
        self.created.append(name)
        return name

    @staticmethod
    def url(name: str) -> str:
        return f"{MARIADB_SERVER}/{name}"

    async def drop_all(self) -> None:
        async with self.root.begin() as conn:
            for name in self.created:
                await conn.execute(sa.text(f"DROP DATABASE IF EXISTS `{name}`"))
        self.created.clear()


@pytest.fixture
async def scratch_mariadb() -> AsyncIterator[ScratchMariaDB]:
    await require_mariadb()
    root = create_engine(f"{MARIADB_SERVER}/")
    scratch = ScratchMariaDB(root)
    try:
        yield scratch
    finally:
        try:
            await scratch.drop_all()
        finally:
            await root.dispose()
