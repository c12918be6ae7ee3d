"""Demo accounts get random passwords, shown once: no login is the same on every machine."""

from __future__ import annotations

from pathlib import Path

from api.launcher import DEMO_EMAIL, _ensure_demo_agent
from tests.api.test_cli import tandem
from tests.conftest import make_settings, start_server


def logins(stdout: str) -> dict[str, str]:
    """email -> what `tandem demo-data` printed as the password column."""
    rows = [line.strip().split("\t") for line in stdout.splitlines() if line.startswith("  ")]
    return {row[0]: row[-1] for row in rows if len(row) == 4}


async def test_demo_data_accounts_have_random_passwords_shown_once(sqlite_url: str) -> None:
    args = ("demo-data", "--conversations", "3", "--days", "2", "--seed", "1")
    first = tandem(*args, url=sqlite_url)
    assert first.returncode == 0, first.stderr
    passwords = logins(first.stdout)
    assert len(passwords) == 6 and len(set(passwords.values())) == 6
    assert all(len(password) >= 16 for password in passwords.values())

    again = tandem(*args, url=sqlite_url)
    assert again.returncode == 0, again.stderr
    shown = logins(again.stdout)
    assert shown.keys() == passwords.keys()
    assert all("existed already" in text for text in shown.values())
    assert not any(password in again.stdout for password in passwords.values())

    analyst = "demo-analyst@tandem.example"
    async for server in start_server(make_settings(sqlite_url)):
        for password, status in ((passwords[analyst], 200), ("demo-password", 401)):
            response = await server.http.post(
                "/api/auth/token", data={"username": analyst, "password": password}
            )
            assert response.status_code == status


async def test_tandem_up_makes_the_demo_admin_with_a_random_password(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'a.db'}"
    status, password = await _ensure_demo_agent(url)
    assert status == "created" and len(password) >= 16
    _, elsewhere = await _ensure_demo_agent(f"sqlite+aiosqlite:///{tmp_path / 'b.db'}")
    assert elsewhere != password
    assert await _ensure_demo_agent(url) == ("exists", "")  # later starts: no new password

    async for server in start_server(make_settings(url)):
        for attempt, expected in ((password, 200), ("tandem-demo", 401)):
            response = await server.http.post(
                "/api/auth/token", data={"username": DEMO_EMAIL, "password": attempt}
            )
            assert response.status_code == expected
