"""Idle cost of open chats and consoles: CPU (% of one core) and RSS of each server process.

Two measurements, one stack (API + user chat + agent console as subprocesses, temp SQLite):

1. http — the apps' polling pattern replayed over HTTP, no Streamlit involved: every user chat
   asks `GET /messages?after=<last seq>` each 1.0 s; every console asks `GET /api/queue` and
   `GET /messages?after=` for each chat it holds each 1.5 s, and `GET /api/followups` every
   other time (3 s); every idle visitor (a chat page
   open with no conversation yet, or after it ended) asks `GET /healthz` each 2.0 s for the
   connection indicator. Isolates the API's share.
2. browser — the real thing: user chats and agent consoles open as Debian-chromium pages
   (Playwright), idle. Streamlit's own timers fire the fragments; what the API, both Streamlit
   servers and chromium spend is measured. By default 10 chats + 4 consoles: all 70 pages
   work (`--browser-users 50 --browser-agents 20`) but chromium then takes a whole core of
   this 2-core machine and the servers' timers run late, which flatters the figures.

CPU is read from /proc/<pid>/stat (utime+stime) before and after a quiet window; "per open
page" divides a process's whole use (idle baseline included) by the pages it serves.

    .venv/bin/python bench/ui_idle.py --users 50 --agents 20 --visitors 20 --seconds 30
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.ui.stack import CHROMIUM_ARGS, Stack, chromium_path, running_stack  # noqa: E402
from ui_common.client import TandemClient  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")
USER_POLL, AGENT_POLL = 1.0, 1.5  # ui_user/chat.py POLL_SECONDS, ui_agent/console.py POLL_SECONDS
FOLLOWUP_TICKS = 2  # ui_agent/console.py FOLLOWUPS_EVERY (3 s): every other heartbeat
VISITOR_PING = 2.0  # ui_user/chat.py PING_EVERY: a chat page with no open conversation


# ---------------------------------------------------------------- /proc


def cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)


def rss_mb(pid: int) -> float:
    """RSS for a server process; for chromium's many processes PSS, so shared pages count once."""
    path, key = Path(f"/proc/{pid}/status"), "VmRSS:"
    if "chrom" in Path(f"/proc/{pid}/comm").read_text():
        path, key = Path(f"/proc/{pid}/smaps_rollup"), "Pss:"
    try:
        for line in path.read_text().splitlines():
            if line.startswith(key):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def descendants(pid: int, name: str) -> list[int]:
    """Processes below `pid` whose command name contains `name` (chromium's many processes)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except OSError:
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            todo.append(child)
            try:
                if name in Path(f"/proc/{child}/comm").read_text():
                    found.append(child)
            except OSError:
                pass
    return found


@dataclass
class Row:
    what: str
    cpu_pct: float
    rss_mb: float
    per: int

    def line(self) -> str:
        each = f"{self.cpu_pct / self.per:.3f}" if self.per else "-"
        return f"| {self.what} | {self.cpu_pct:.1f} | {each} | {self.rss_mb:.0f} |"


def measure(groups: dict[str, tuple[list[int], int]], seconds: float) -> list[Row]:
    """CPU % of one core and RSS per group of pids over a quiet window."""
    before = {name: sum(cpu_ticks(p) for p in pids) for name, (pids, _) in groups.items()}
    start = time.monotonic()
    time.sleep(seconds)
    wall = time.monotonic() - start
    rows = []
    for name, (pids, per) in groups.items():
        used = (sum(cpu_ticks(p) for p in pids) - before[name]) / TICKS
        rows.append(Row(name, 100 * used / wall, sum(rss_mb(p) for p in pids), per))
    return rows


# ---------------------------------------------------------------- setup


@dataclass
class Scene:
    rooms: list[tuple[str, str]]  # (room id, token) per user chat
    agents: list[tuple[str, str]]  # (email, password)
    held: dict[int, list[str]]  # agent index -> room ids it holds


def build_scene(stack: Stack, users: int, agents: int) -> Scene:
    """Agents, user chats with a little history, and one chat held by each agent."""
    os.environ["TANDEM_DATABASE_URL"] = stack.api.env["TANDEM_DATABASE_URL"]
    from api.cli import add_agent
    from db.models import Role

    creds = []
    for i in range(agents):
        email = f"agent{i}@bench.local"
        asyncio.run(
            add_agent(email=email, name=f"Agent {i}", role=Role.agent, password="bench-pass")
        )
        creds.append((email, "bench-pass"))
    clients = []
    for email, password in creds:
        client = TandemClient(stack.api.url)
        client.login(email, password)
        client.queue()  # online, so handoffs queue
        clients.append(client)
    rooms = []
    held: dict[int, list[str]] = {}
    for i in range(users):
        client = TandemClient(stack.api.url)
        session = client.create_room()
        client.token = session.token
        client.send(session.room_id, "How do I return an item?")
        if i < agents:
            client.request_human(session.room_id)
            clients[i].join(session.room_id)
            held[i] = [session.room_id]
        rooms.append((session.room_id, session.token))
        client.close()
    for client in clients:
        client.close()
    return Scene(rooms=rooms, agents=creds, held=held)


# ---------------------------------------------------------------- 1. http replay


async def replay(stack: Stack, scene: Scene, stop: asyncio.Event, visitors: int) -> int:
    """Poll like the apps do until `stop`; returns the number of requests made."""
    count = 0
    async with httpx.AsyncClient(base_url=stack.api.url, timeout=10) as http:

        async def user(room_id: str, token: str) -> None:
            nonlocal count
            headers = {"Authorization": f"Bearer {token}"}
            after = 0
            while not stop.is_set():
                r = await http.get(f"/api/rooms/{room_id}/messages?after={after}", headers=headers)
                count += 1
                after = max([after, *(m["seq"] for m in r.json()["messages"])])
                await asyncio.sleep(USER_POLL)

        async def agent(index: int, email: str, password: str) -> None:
            nonlocal count
            # 20 argon2 logins at once queue in a small low-priority pool: slow on a busy machine.
            login = {"username": email, "password": password}
            r = await http.post("/api/auth/token", data=login, timeout=180)
            headers = {"Authorization": f"Bearer {r.json()['access_token']}"}
            after = dict.fromkeys(scene.held.get(index, []), 0)
            ticks = 0
            while not stop.is_set():
                await http.get("/api/queue", headers=headers)
                count += 1
                if ticks % FOLLOWUP_TICKS == 0:
                    await http.get("/api/followups?state=open", headers=headers)
                    count += 1
                ticks += 1
                for room_id, seq in after.items():
                    r = await http.get(
                        f"/api/rooms/{room_id}/messages?after={seq}", headers=headers
                    )
                    count += 1
                    after[room_id] = max([seq, *(m["seq"] for m in r.json()["messages"])])
                await asyncio.sleep(AGENT_POLL)

        async def visitor() -> None:
            nonlocal count
            while not stop.is_set():
                await http.get("/healthz")
                count += 1
                await asyncio.sleep(VISITOR_PING)

        tasks = [asyncio.create_task(user(r, t)) for r, t in scene.rooms]
        tasks += [asyncio.create_task(visitor()) for _ in range(visitors)]
        tasks += [asyncio.create_task(agent(i, e, p)) for i, (e, p) in enumerate(scene.agents)]
        await stop.wait()
        await asyncio.gather(*tasks)
    return count


def run_http(stack: Stack, scene: Scene, seconds: float, visitors: int) -> list[Row]:
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    result: dict[str, int] = {}

    def runner() -> None:
        result["requests"] = loop.run_until_complete(replay(stack, scene, stop, visitors))

    thread = threading.Thread(target=runner)
    thread.start()
    time.sleep(5)  # logins and first polls out of the way
    rows = measure(
        {
            f"API, http replay of {len(scene.rooms)} chats + {len(scene.agents)} consoles"
            f" + {visitors} idle visitors (/healthz)": (
                [stack.api.process.pid],
                len(scene.rooms) + len(scene.agents) + visitors,
            ),
            "user chat Streamlit, no page open": ([stack.user.process.pid], 0),
            "agent console Streamlit, no page open": ([stack.agent.process.pid], 0),
        },
        seconds,
    )
    loop.call_soon_threadsafe(stop.set)
    thread.join()
    print(f"  http replay: {result.get('requests', 0)} requests in total")
    return rows


# ---------------------------------------------------------------- 2. real pages


def run_browser(
    stack: Stack,
    scene: Scene,
    users: int,
    agents: int,
    seconds: float,
    settle: float,
    visitors: int = 0,
) -> list[Row]:
    """Open `users` chats and `agents` consoles (the first of the scene's) as real pages, and
    `visitors` chat pages with no conversation (they ping /healthz)."""
    from playwright.sync_api import expect, sync_playwright

    path = chromium_path()
    if path is None:
        print("  chromium is not installed: browser measurement skipped")
        return []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=path, headless=True, args=CHROMIUM_ARGS)
        try:
            started = time.monotonic()
            for room_id, token in scene.rooms[:users]:
                page = browser.new_context().new_page()
                page.goto(f"{stack.user.url}/?room={room_id}&token={token}")
                expect(page.get_by_test_id("stChatInputTextArea")).to_be_visible(timeout=60_000)
            for _ in range(visitors):
                page = browser.new_context().new_page()
                page.goto(stack.user.url)
                expect(page.get_by_test_id("stChatInputTextArea")).to_be_visible(timeout=60_000)
            for email, password in scene.agents[:agents]:
                page = browser.new_context().new_page()
                page.goto(stack.agent.url)
                page.get_by_role("textbox", name="Email").fill(email, timeout=60_000)
                page.get_by_role("textbox", name="Password").fill(password)
                page.get_by_role("button", name="Log in").click()
                expect(page.get_by_test_id("stSidebar")).to_be_visible(timeout=60_000)
            opened = time.monotonic() - started
            print(
                f"  opened {users} chats + {visitors} idle visitors + {agents} consoles"
                f" in {opened:.0f} s"
            )
            time.sleep(settle)
            chromium = descendants(os.getpid(), "chrom")
            return measure(
                {
                    f"API, {users} chat + {visitors} idle visitor + {agents} console pages": (
                        [stack.api.process.pid],
                        users + visitors + agents,
                    ),
                    f"user chat Streamlit, {users} chats + {visitors} idle visitors": (
                        [stack.user.process.pid],
                        users + visitors,
                    ),
                    f"agent console Streamlit, {agents} pages": (
                        [stack.agent.process.pid],
                        agents,
                    ),
                    f"chromium, {len(chromium)} processes (PSS)": (
                        chromium,
                        users + visitors + agents,
                    ),
                },
                seconds,
            )
        finally:
            browser.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=50, help="user chats (http replay)")
    parser.add_argument("--agents", type=int, default=20, help="agent consoles (http replay)")
    parser.add_argument("--browser-users", type=int, default=10, help="user chats as pages")
    parser.add_argument("--browser-agents", type=int, default=4, help="consoles as pages")
    parser.add_argument(
        "--visitors", type=int, default=20, help="idle chat pages pinging /healthz (http replay)"
    )
    parser.add_argument(
        "--browser-visitors", type=int, default=2, help="idle chat pages (no conversation)"
    )
    parser.add_argument("--seconds", type=float, default=30, help="measurement window")
    parser.add_argument("--settle", type=float, default=10, help="quiet time before measuring")
    parser.add_argument("--skip-browser", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, running_stack(Path(tmp), rate_limits=False) as stack:
        scene = build_scene(stack, args.users, args.agents)
        print(f"stack up; {args.users} user chats, {args.agents} agents; window {args.seconds} s")
        rows = run_http(stack, scene, args.seconds, args.visitors)
        if not args.skip_browser:
            users = min(args.browser_users, args.users)
            agents = min(args.browser_agents, args.agents)
            rows += run_browser(
                stack, scene, users, agents, args.seconds, args.settle, args.browser_visitors
            )
    print("\n| process | CPU % of a core | per open page | RSS MB |")
    print("|---|---:|---:|---:|")
    for row in rows:
        print(row.line())


if __name__ == "__main__":
    main()
