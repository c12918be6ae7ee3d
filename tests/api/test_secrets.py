"""No known signing key: the example value and short keys are refused, SQLite makes and keeps a
random one beside the database, other databases refuse to start without one."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from jose import jwt
from pydantic import ValidationError

from api.jwt_secret import resolve_jwt_secret, secret_file
from api.main import create_app
from tests.conftest import auth, make_settings, start_server

EXAMPLE = "change-me-in-production"


def serve(env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """`tandem serve` as an operator runs it, with only these TANDEM_ settings."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("TANDEM_", "OPENAI_"))}
    return subprocess.run(
        [sys.executable, "-m", "api.cli", "serve", "--port", "1"],
        env={**clean, **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def one_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) == 1, text
    return lines[0]


@pytest.mark.parametrize("secret", [EXAMPLE, "sixteen-bytes-xx"])
def test_the_example_or_a_short_secret_does_not_start(
    secret: str, sqlite_url: str, tmp_path: Path
) -> None:
    with pytest.raises(ValidationError, match="TANDEM_JWT_SECRET"):
        make_settings(sqlite_url, jwt_secret=secret)
    done = serve({"TANDEM_DATABASE_URL": sqlite_url, "TANDEM_JWT_SECRET": secret}, tmp_path)
    assert done.returncode == 1
    line = one_line(done.stderr)
    assert "TANDEM_JWT_SECRET" in line and "secrets.token_urlsafe" in line
    if secret != EXAMPLE:
        assert secret not in line  # a refused value may be a real secret: not echoed to logs


async def test_a_token_forged_with_the_example_secret_is_refused(sqlite_url: str) -> None:
    """With no secret set, the key is random: the value the old example shipped signs nothing."""
    async for server in start_server(make_settings(sqlite_url, jwt_secret="")):
        agent, token = await server.add_agent("Ada", role="admin")
        assert (await server.http.get("/api/agents/me", headers=auth(token))).status_code == 200
        claims = {
            "sub": str(agent.id),
            "role": "admin",
            "ver": agent.token_version,
            "typ": "agent",
            "exp": int(time.time()) + 600,
        }
        forged = jwt.encode(claims, EXAMPLE, algorithm="HS256")
        response = await server.http.get("/api/agents/me", headers=auth(forged))
        assert response.status_code == 401
        assert server.tandem.settings.jwt_secret.get_secret_value() != EXAMPLE


async def test_the_generated_secret_is_private_and_kept_across_restarts(
    sqlite_url: str, tmp_path: Path
) -> None:
    key_file = tmp_path / "tandem.db.jwt-secret"
    token = ""
    async for server in start_server(make_settings(sqlite_url, jwt_secret="")):
        _, token = await server.add_agent("Bo")
    assert key_file.exists()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    first = key_file.read_text()
    async for server in start_server(make_settings(sqlite_url, jwt_secret="")):
        # The login from before the restart still works: same key.
        assert (await server.http.get("/api/agents/me", headers=auth(token))).status_code == 200
    assert key_file.read_text() == first


def test_processes_starting_at_once_agree_on_one_key(sqlite_url: str) -> None:
    settings = make_settings(sqlite_url, jwt_secret="")
    with ThreadPoolExecutor(max_workers=8) as pool:
        keys = list(pool.map(lambda _: resolve_jwt_secret(settings), range(16)))
    assert len({s.jwt_secret.get_secret_value() for s in keys}) == 1
    path = secret_file(sqlite_url)
    assert path is not None
    assert path.read_text().strip() == keys[0].jwt_secret.get_secret_value()


def test_in_memory_sqlite_gets_a_key_per_process_and_no_file(tmp_path: Path) -> None:
    settings = make_settings("sqlite+aiosqlite:///:memory:", jwt_secret="")
    first, second = resolve_jwt_secret(settings), resolve_jwt_secret(settings)
    assert len(first.jwt_secret.get_secret_value()) >= 32
    assert first.jwt_secret.get_secret_value() != second.jwt_secret.get_secret_value()
    assert secret_file("sqlite+aiosqlite:///:memory:") is None


def test_mariadb_without_a_secret_refuses_to_start_with_one_line(tmp_path: Path) -> None:
    url = "mysql+asyncmy://tandem:pw@127.0.0.1:3306/tandem"
    with pytest.raises(SystemExit) as refused:
        create_app(make_settings(url, jwt_secret=""))
    assert "TANDEM_JWT_SECRET is not set" in str(refused.value.code)

    done = serve({"TANDEM_DATABASE_URL": url, "TANDEM_JWT_SECRET": ""}, tmp_path)
    assert done.returncode == 1
    line = one_line(done.stderr)
    assert line.startswith("TANDEM_JWT_SECRET is not set") and "secrets.token_urlsafe" in line
    assert not list(tmp_path.iterdir())  # and no key file made anywhere
