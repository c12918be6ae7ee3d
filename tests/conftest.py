"""Shared fixtures: real services (or a clear skip), and a real uvicorn serving the app.

MariaDB and Redis tests skip when the servers are not on 127.0.0.1, unless
TANDEM_REQUIRE_SERVICES=1 (CI), which turns the skip into a failure.
"""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
import uvicorn
from alembic import command
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from api.auth import hash_password
from api.config import Settings
from api.deps import Tandem
from api.main import create_app
from api.ws_protocol import WebSocketProtocol
from db import queries
from db.engine import Database, create_engine
from db.migrate import alembic_config, upgrade
from db.models import Agent

MARIADB_SERVER = "mysql+asyncmy://root@127.0.0.1:3306"
REDIS_URL = "redis://127.0.0.1:6379/0"


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def require_service(name: str, port: int) -> None:
    """Skip (or, under TANDEM_REQUIRE_SERVICES=1, fail) when a service is not listening."""
    if port_open(port):
        return
    reason = f"{name} is not running on 127.0.0.1:{port}"
    if os.environ.get("TANDEM_REQUIRE_SERVICES") == "1":
        pytest.fail(f"{reason}, and TANDEM_REQUIRE_SERVICES=1 requires it")
    pytest.skip(reason)


def free_port() -> int:
    """A port nothing listens on right now (the one place tests and bench/ get ports from)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'tandem.db'}"


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
    require_service("MariaDB", 3306)
    root = create_engine(f"{MARIADB_SERVER}/")
    scratch = ScratchMariaDB(root)
    try:
        yield scratch
    finally:
        try:
            await scratch.drop_all()
        finally:
            await root.dispose()


@pytest.fixture
async def mariadb_url(scratch_mariadb: ScratchMariaDB) -> str:
    """A scratch MariaDB database of its own, dropped afterwards."""
    return scratch_mariadb.url(await scratch_mariadb.create())


async def migrate_to(engine: AsyncEngine, revision: str, *, down: bool = False) -> None:
    """Upgrade (or downgrade) a database to an older revision, to write data the way it was
    written then and see what later migrations make of it."""

    def run(connection: sa.Connection) -> None:
        config = alembic_config()
        config.attributes["connection"] = connection
        (command.downgrade if down else command.upgrade)(config, revision)

    async with engine.begin() as conn:
        await conn.run_sync(run)


@pytest.fixture(params=["sqlite", pytest.param("mariadb", marks=pytest.mark.mariadb)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each test using it runs twice: on SQLite and on a real MariaDB."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'tandem.db'}"
    url: str = request.getfixturevalue("mariadb_url")
    return url


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    """A migrated database on each of `database_url`'s (a module may define its own `db`)."""
    database = Database(database_url)
    await upgrade(database.engine)
    try:
        yield database
    finally:
        await database.dispose()


@dataclass
class LiveServer:
    url: str
    ws_url: str
    tandem: Tandem
    http: httpx.AsyncClient
    uvicorn: uvicorn.Server

    async def add_agent(
        self, name: str = "Alice", *, role: str = "agent", password: str = "s3cret-pass"
    ) -> tuple[Agent, str]:
        """Create an agent and log in through the API; returns the agent and its JWT."""
        email = f"{name.lower()}-{uuid.uuid4().hex[:6]}@example.com"
        async with self.tandem.db.write() as session:
            agent = await queries.create_agent(
                session, email=email, name=name, role=role, password_hash=hash_password(password)
            )
        response = await self.http.post(
            "/api/auth/token", data={"username": email, "password": password}
        )
        assert response.status_code == 200, response.text
        return agent, response.json()["access_token"]

    async def new_room(self) -> tuple[str, str]:
        response = await self.http.post("/api/rooms")
        assert response.status_code == 201, response.text
        body = response.json()
        return body["room"]["id"], body["token"]


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def start_server(
    settings: Settings,
    *,
    app_setup: Callable[[FastAPI], None] | None = None,
    **uvicorn_options: Any,
) -> AsyncIterator[LiveServer]:
    """The app under a real uvicorn on a free port. `app_setup` changes the app before it
    serves; `uvicorn_options` go to `uvicorn.Config` (pings, ...)."""
    app = create_app(settings)
    if app_setup is not None:
        app_setup(app)
    port = free_port()
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="on",
        forwarded_allow_ips=settings.forwarded_allow_ips,
        ws=WebSocketProtocol,  # as `tandem serve` does
        **{"ws_per_message_deflate": False, **uvicorn_options},  # unless a test asks for it
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    for _ in range(3000):  # up to 30 s: a busy machine (CI, pytest -n) starts slowly
        if server.started or task.done():
            break
        await asyncio.sleep(0.01)
    if task.done():
        task.result()
    assert server.started, "uvicorn did not start"
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=base, timeout=10) as http:
            yield LiveServer(
                url=base,
                ws_url=f"ws://127.0.0.1:{port}",
                tandem=app.state.tandem,
                http=http,
                uvicorn=server,
            )
    finally:
        server.should_exit = True
        await task


def make_settings(database_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "database_url": database_url,
        "jwt_secret": "test-secret-" + uuid.uuid4().hex,
        # Rate-limit counters live in Redis when a test uses it: each server counts its own,
        # so tests running side by side (pytest -n) never share a client address's budget.
        "rate_limit_key_prefix": f"test-limits-{uuid.uuid4().hex[:12]}",
        "ai_chunk_delay_seconds": 0.0,
        "openai_api_key": None,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture
async def server(database_url: str, request: pytest.FixtureRequest) -> AsyncIterator[LiveServer]:
    """The app under a real uvicorn, on SQLite and on MariaDB, with the default limits
    (`@pytest.mark.rate_limits_off` for a test that needs volume)."""
    limited = request.node.get_closest_marker("rate_limits_off") is None
    async for live in start_server(make_settings(database_url, rate_limits=limited)):
        yield live


@pytest.fixture
async def sqlite_server(sqlite_url: str) -> AsyncIterator[LiveServer]:
    """The app under a real uvicorn on SQLite only, for behaviour the database does not change."""
    async for live in start_server(make_settings(sqlite_url)):
        yield live


@pytest.fixture(autouse=True)
def _no_openai_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Tests pick their assistant explicitly; a developer's key must not leak in."""
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    yield
