"""The whole stack as subprocesses for browser tests and the idle benchmark: API + both apps.

Also the one place that knows how to launch Debian's chromium from Playwright, and the browser
tests' fixtures: `stack` (the module's stack, with the agents it names in `STACK_AGENTS`) and
`browser` (one chromium per module). A module whose tests need a world of their own (an empty
dashboard, nobody online, an API restart) gets its own stack; one that sets
`STACK_SHARED = True` uses the worker's shared stack (a session fixture: under pytest-xdist,
one per worker) with fresh agents of its own. Every test still opens its own pages and rooms.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from api.launcher import streamlit_command
from tests.conftest import free_port
from tests.ui.processes import ApiProcess, launch_api, stop, wait_api, wait_http

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

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
def running_stack(
    tmp: Path, *, rate_limits: bool = True, agents: dict[str, str] | None = None
) -> Iterator[Stack]:
    """API + user chat + agent console on free ports, with `agents` (name → role) created;
    all stopped on exit. The three start at once, and the agents are made while the apps boot."""
    api = launch_api(tmp, rate_limits=rate_limits)
    apps: list[StreamlitApp] = []
    try:
        apps.append(start_streamlit(ROOT / "ui_user" / "app.py", api.env, tmp / "user.log"))
        apps.append(start_streamlit(ROOT / "ui_agent" / "app.py", api.env, tmp / "agent.log"))
        wait_api(api)
        if agents:
            api.add_agents(agents)
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


# ---------------------------------------------------------------- fixtures for browser tests

BOOT_MS = 30_000
"""A page's first load: Streamlit starts a session and runs the script."""
LIVE_MS = 10_000
"""Something the other side did shows by itself (polls: 1 s / 1.5 s), on a loaded machine."""


@pytest.fixture(scope="session")
def shared_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The stack of the modules that set `STACK_SHARED = True`: one per pytest(-xdist) worker."""
    require_chromium()
    with running_stack(tmp_path_factory.mktemp("shared-stack")) as live:
        yield live


@pytest.fixture(scope="module")
def stack(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    """The module's stack with its `STACK_AGENTS` (name → role) made for it."""
    require_chromium()
    roster: dict[str, str] = getattr(request.module, "STACK_AGENTS", {})
    if getattr(request.module, "STACK_SHARED", False):
        shared: Stack = request.getfixturevalue("shared_stack")
        shared.api.add_agents(roster)  # new accounts under these names, for this module only
        yield shared
        return
    name = request.module.__name__.rsplit(".", 1)[-1]
    with running_stack(tmp_path_factory.mktemp(name), agents=roster) as live:
        yield live


@pytest.fixture(scope="module")
def browser(stack: Stack) -> Iterator[Browser]:
    """One chromium per module; each test opens its own contexts (cookies and storage apart)."""
    from playwright.sync_api import expect, sync_playwright

    # Streamlit reruns take longer on a loaded machine; a promise with its own bound (the
    # connection indicator) passes its timeout explicitly.
    expect.set_options(timeout=LIVE_MS)
    with sync_playwright() as pw:
        launched = pw.chromium.launch(
            executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield launched
        finally:
            launched.close()


def new_page(browser: Browser, height: int = 720, width: int = 1280) -> Page:
    """A page in a fresh context (its own cookies)."""
    page = browser.new_context(viewport={"width": width, "height": height}).new_page()
    page.set_default_timeout(LIVE_MS)
    return page


def log_in(page: Page, stack: Stack, name: str) -> None:
    """Open the console and log in as the module's agent `name` through the form."""
    from playwright.sync_api import expect

    agent = stack.api.agents[name]
    page.goto(stack.agent.url)
    expect(page.get_by_role("textbox", name="Email")).to_be_visible(timeout=BOOT_MS)
    page.get_by_role("textbox", name="Email").fill(agent.email)
    page.get_by_role("textbox", name="Password").fill(agent.password)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_test_id("stSidebar").get_by_text(agent.name)).to_be_visible()


def open_user_chat(page: Page, stack: Stack) -> None:
    from playwright.sync_api import expect

    page.goto(stack.user.url)
    expect(page.get_by_test_id("stChatInputTextArea")).to_be_visible(timeout=BOOT_MS)
