"""The production compose file is valid (no Docker engine runs here, so it is checked, not run)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

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
