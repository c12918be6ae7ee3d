"""The whole stack as subprocesses for browser tests and the idle benchmark: API + both apps.

Also the one place that knows how to launch Debian's chromium from Playwright.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from api.launcher import streamlit_command
from tests.conftest import free_port
from tests.ui.conftest import ApiProcess, start_api, stop, wait_http

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--no-first-run", "--disable-quic",
]  # fmt: skip
STREAMLIT_BOOT_SECONDS = 45.0


def chromium_path() -> str | None:
    return CHROMIUM if os.path.exists(CHROMIUM) else shutil.which("chromium")


def require_chromium() -> None:
    """Skip a browser test without Debian's chromium (fail under TANDEM_REQUIRE_SERVICES=1)."""
    if chromium_path() is not None:
        return
    reason = "Debian's chromium is not installed (apt-get install -y chromium)"
    if os.environ.get("TANDEM_REQUIRE_SERVICES") == "1":
        pytest.fail(f"{reason}, and TANDEM_REQUIRE_SERVICES=1 requires it")
    pytest.skip(reason)


@dataclass
class StreamlitApp:
    url: str
    process: subprocess.Popen[bytes]
    log: Path


@dataclass
class Stack:
    api: ApiProcess
    user: StreamlitApp
    agent: StreamlitApp


def start_streamlit(script: Path, env: dict[str, str], log: Path) -> StreamlitApp:
    port = free_port()
    with log.open("wb") as out:
        process = subprocess.Popen(
            streamlit_command(script, port), env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT
        )
    return StreamlitApp(url=f"http://127.0.0.1:{port}", process=process, log=log)


@contextmanager
def running_stack(tmp: Path, *, rate_limits: bool = True) -> Iterator[Stack]:
    """API + user chat + agent console on free ports; all stopped on exit."""
    api = start_api(tmp, rate_limits=rate_limits)
    apps: list[StreamlitApp] = []
    try:
        apps.append(start_streamlit(ROOT / "ui_user" / "app.py", api.env, tmp / "user.log"))
        apps.append(start_streamlit(ROOT / "ui_agent" / "app.py", api.env, tmp / "agent.log"))
        for app in apps:
            try:
                wait_http(
                    f"{app.url}/_stcore/health", timeout=STREAMLIT_BOOT_SECONDS, process=app.process
                )
            except (RuntimeError, TimeoutError) as exc:
                tail = app.log.read_text(errors="replace")[-3000:]
                raise RuntimeError(f"{exc}\n--- log ---\n{tail}") from None
        yield Stack(api=api, user=apps[0], agent=apps[1])
    finally:
        for app in apps:
            stop(app.process)
        stop(api.process)
