"""The `tandem agent` commands, run as a person would run them."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.conftest import make_settings, start_server


def tandem(*args: str, url: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TANDEM_DATABASE_URL": url}
    return subprocess.run(
        [sys.executable, "-m", "api.cli", *args],
        input=stdin,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def test_an_agent_added_on_the_command_line_can_log_in(sqlite_url: str) -> None:
    added = tandem(
        "agent", "add", "Lee@Example.com", "--name", "Lee", "--role", "admin",
        "--password-stdin", url=sqlite_url, stdin="correct horse battery\n",
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    assert "lee@example.com" in added.stdout.lower()

    listed = tandem("agent", "list", url=sqlite_url)
    assert listed.returncode == 0
    assert listed.stdout.split("\t")[1:] == ["lee@example.com", "Lee", "admin\n"]

    again = tandem(
        "agent", "add", "lee@example.com", "--name", "Lee", "--password-stdin",
        url=sqlite_url, stdin="another password\n",
    )  # fmt: skip
    assert again.returncode != 0 and "exists already" in again.stderr

    short = tandem(
        "agent", "add", "kim@example.com", "--name", "Kim", "--password-stdin",
        url=sqlite_url, stdin="short\n",
    )  # fmt: skip
    assert short.returncode != 0 and "8 characters" in short.stderr

    async for server in start_server(make_settings(sqlite_url)):
        login = await server.http.post(
            "/api/auth/token",
            data={"username": "lee@example.com", "password": "correct horse battery"},
        )
        assert login.status_code == 200
        me = await server.http.get(
            "/api/agents/me", headers={"Authorization": f"Bearer {login.json()['access_token']}"}
        )
        assert me.json()["role"] == "admin"


def test_serve_refuses_several_workers_without_redis(sqlite_url: str) -> None:
    served = tandem("serve", "--workers", "2", "--port", "1", url=sqlite_url)
    assert served.returncode != 0 and "needs TANDEM_REDIS_URL" in served.stderr
