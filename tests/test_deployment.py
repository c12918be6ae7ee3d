"""The production compose file is valid (no Docker engine runs here, so it is checked, not run)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent


def test_compose_file_matches_the_compose_schema() -> None:
    checker = Path(sys.executable).with_name("check-jsonschema")
    result = subprocess.run(
        [str(checker), "--builtin-schema", "vendor.compose-spec", str(ROOT / "docker-compose.yml")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_compose_runs_the_api_on_mariadb_and_redis() -> None:
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    api = services["api"]["environment"]
    assert api["TANDEM_DATABASE_URL"].startswith("mysql+asyncmy://")
    assert api["TANDEM_REDIS_URL"].startswith("redis://")
    for app in ("ui-user", "ui-agent"):
        assert services[app]["environment"]["TANDEM_API_URL"] == "http://api:8000"


def test_every_setting_is_documented_in_the_env_example() -> None:
    from api.config import Settings

    example = (ROOT / ".env.example").read_text()
    for name, field in Settings.model_fields.items():
        alias = field.validation_alias
        names = {f"TANDEM_{name.upper()}"}
        if alias is not None:
            names |= {str(choice) for choice in getattr(alias, "choices", [alias])}
        assert any(f"{n}=" in example for n in names), f"{name} is missing from .env.example"


def test_compose_starts_the_api_with_tandem_serve(monkeypatch: pytest.MonkeyPatch) -> None:
    """`tandem serve` (the uvicorn options `tandem up` uses), and the CLI accepts the command."""
    from api import cli

    command = _services()["api"]["command"]
    assert command[:2] == ["tandem", "serve"]
    served: list[tuple[str, int, int | None]] = []
    monkeypatch.setattr(cli, "_serve", lambda *args: served.append(args))
    cli.main(command[1:])
    assert served == [("0.0.0.0", 8000, 2)]


@pytest.mark.parametrize(
    ("service", "app", "port"), [("ui-user", "ui_user", 8501), ("ui-agent", "ui_agent", 8502)]
)
def test_compose_starts_the_apps_as_tandem_up_does(service: str, app: str, port: int) -> None:
    from api.launcher import streamlit_command

    expected = streamlit_command(Path(app) / "app.py", port, "0.0.0.0")
    assert expected[0] == sys.executable
    assert _services()[service]["command"] == ["python", *expected[1:]]


def _services() -> dict[str, Any]:
    services: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    return services
