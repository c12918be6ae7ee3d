"""`tandem up`: the API and both Streamlit apps as child processes, stopped together.

Ctrl-C (SIGINT) or SIGTERM stops all three; so does any one of them dying. On an empty
embedded (SQLite) database it first creates a demo admin to log in with, with a random
password shown once (a fixed one would be a known login on every machine that ran this).
"""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from types import FrameType

from api.auth import hash_password_off_loop
from api.config import get_settings
from api.jwt_secret import resolve_jwt_secret
from db import queries
from db.engine import Database, is_sqlite
from db.migrate import upgrade

ROOT = Path(__file__).resolve().parent.parent
API_PORT, USER_PORT, AGENT_PORT = 8000, 8501, 8502
DEMO_EMAIL = "demo@tandem.local"
READY_TIMEOUT = 60.0


async def _ensure_demo_agent(url: str) -> tuple[str, str]:
    """('created', its password) on an empty database, ('exists', '') when the demo agent is
    there, else ('', '')."""
    password = secrets.token_urlsafe(12)
    password_hash = await hash_password_off_loop(password)
    db = Database(url)
    try:
        await upgrade(db.engine)
        async with db.write() as session:
            if await queries.count_agents(session) > 0:
                demo = await queries.get_agent_by_email(session, email=DEMO_EMAIL)
                return ("exists" if demo is not None else ""), ""
            await queries.create_agent(
                session,
                email=DEMO_EMAIL,
                name="Demo Agent",
                role="admin",
                password_hash=password_hash,
            )
            return "created", password
    finally:
        await db.dispose()


def streamlit_command(app: Path, port: int, host: str = "127.0.0.1") -> list[str]:
    """How every Streamlit app of Tandem is started (`tandem up`, the browser tests, bench).

    - No forced `gc.collect(2)` after every run: Streamlit does one by default, also after each
      timed fragment rerun, a real share of a core per open page polling every second. Python's
      own GC still runs. (bench/ui_idle.py measures it; figures in README, Idle cost.)
    - No file watcher: `watchdog` is not a dependency, and without it Streamlit polls files.
    - No developer toolbar (Deploy, Rerun): the people using these apps are not developers.
    - Only the primary colour is themed, once for light and once for dark: a plain
      `theme.primaryColor` made a single light custom theme that ignored the visitor's
      system; with both, light or dark follows the system (`prefers-color-scheme`). The tab
      icon is a local file (`page_icon`), nothing fetched.
    """
    return [
        sys.executable, "-m", "streamlit", "run", str(app),
        "--server.port", str(port), "--server.address", host,
        "--server.headless", "true", "--browser.gatherUsageStats", "false",
        "--runner.postScriptGC", "false", "--server.fileWatcherType", "none",
        "--client.toolbarMode", "minimal",
        "--theme.light.primaryColor", "#4F46E5", "--theme.dark.primaryColor", "#818CF8",
    ]  # fmt: skip


def _port_taken(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host if host not in ("0.0.0.0", "") else "127.0.0.1", port)) == 0


def _wait_ready(url: str, processes: list[subprocess.Popen[bytes]], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(p.poll() is not None for p in processes):
            return False
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return True
        except OSError:
            pass
        time.sleep(0.2)
    return False


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def run_stack(*, host: str = "127.0.0.1") -> None:
    # Once here, before the API process starts: a refusal stops `tandem up` with its one line.
    settings = resolve_jwt_secret(get_settings())
    ports = {"API": API_PORT, "User chat": USER_PORT, "Agent console": AGENT_PORT}
    taken = [f"{name} (:{port})" for name, port in ports.items() if _port_taken(host, port)]
    if taken:
        raise SystemExit(f"Port in use, is Tandem running already? {', '.join(taken)}")
    demo, demo_password = "", ""
    if is_sqlite(settings.database_url):
        demo, demo_password = asyncio.run(_ensure_demo_agent(settings.database_url))
    local = "127.0.0.1" if host in ("0.0.0.0", "") else host
    env = {**os.environ, "TANDEM_API_URL": f"http://{local}:{API_PORT}"}
    api = [sys.executable, "-m", "api.cli", "serve", "--host", host, "--port", str(API_PORT)]
    commands = {
        "API": api,
        "User chat": streamlit_command(ROOT / "ui_user" / "app.py", USER_PORT, host),
        "Agent console": streamlit_command(ROOT / "ui_agent" / "app.py", AGENT_PORT, host),
    }
    # Ctrl-C and `kill` stop the children too (also when started in the background, where a
    # shell leaves SIGINT ignored).
    signal.signal(signal.SIGINT, _raise_interrupt)
    signal.signal(signal.SIGTERM, _raise_interrupt)
    processes: list[subprocess.Popen[bytes]] = []
    try:
        processes = [subprocess.Popen(cmd, env=env) for cmd in commands.values()]
        ready = _wait_ready(f"http://{local}:{API_PORT}/healthz", processes, READY_TIMEOUT)
        if not ready:
            print("\n  Tandem did not start; see the output above.\n", flush=True)
            return
        print(
            f"\n  API            http://{local}:{API_PORT}/docs"
            f"\n  User chat      http://{local}:{USER_PORT}"
            f"\n  Agent console  http://{local}:{AGENT_PORT}\n"
        )
        if demo == "created":
            print(
                f"  Demo agent created: log in as {DEMO_EMAIL} / {demo_password}\n"
                "  (the password is shown only this once)\n"
            )
        elif demo == "exists":
            print(
                f"  Demo agent: log in as {DEMO_EMAIL} with the password shown when it was "
                "created.\n  Lost it? tandem agent reset-password "
                f"{DEMO_EMAIL} --password-stdin\n"
            )
        print("  Ctrl-C stops all three.\n", flush=True)
        while all(p.poll() is None for p in processes):
            time.sleep(0.5)
        for name, process in zip(commands, processes, strict=True):
            if process.poll() is not None:
                print(f"\n  {name} exited ({process.returncode}); stopping the others.", flush=True)
    except KeyboardInterrupt:
        pass
    finally:
        _stop_all(processes)


def _stop_all(processes: list[subprocess.Popen[bytes]]) -> None:
    """SIGINT first (what Ctrl-C sends, and what uvicorn and Streamlit stop cleanly on)."""
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
    deadline = time.monotonic() + 10
    for process in processes:
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
