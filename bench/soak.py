"""Soak: two API processes behind Redis, 500 msg/s over 200 rooms for N minutes, Redis killed
and started again in the middle. Nothing may be lost, repeated or out of order.

    .venv/bin/python bench/soak.py --minutes 10

Every room is held by an agent (half by one on each process's console, so every message
crosses Redis to reach it); each room's user is on /ws/rooms/{id}, on one process or the
other. Users send 90 % of the messages, agents 10 %, each with a client_id. Clients behave as
real ones: dedupe by seq, reconnect to the other process and resume after a close, resend
what was not acknowledged. Printed: each process's RSS per minute, messages sent, error
frames, closes; the longest catch-up after Redis's return (until every socket had every
message stored before it came back); at the end, every room checked in the database (gapless,
each client_id once, everything sent stored) and every socket complete and in order.

MariaDB: a scratch database on the shared server (dropped afterwards); Redis: a private
redis-server on a free port. Only 127.0.0.1 is contacted; the run stops by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
import websockets

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from api.auth import hash_password  # noqa: E402
from bench.relay import database  # noqa: E402
from db import queries  # noqa: E402
from db.engine import Database  # noqa: E402
from db.tables import rooms_t  # noqa: E402
from tests.conftest import free_port, port_open  # noqa: E402

CAUGHT_UP_SECONDS = 60.0


class Client:
    """One socket as a real client keeps it: dedupe by seq, reorder what runs ahead of a
    resume, reconnect to the next process and resume, resend what was not acknowledged."""

    def __init__(self, bases: list[str], path: str, rooms: dict[str, int], console: bool) -> None:
        self.bases = bases
        self.path = path
        self.console = console
        self.last = dict(rooms)
        self.ahead: dict[str, set[int]] = {room_id: set() for room_id in rooms}
        self.pending: dict[str, str] = {}
        self.ws: Any = None
        self.connections = 0
        self.closes: list[int | None] = []
        self.disorder = 0
        self.errors = 0
        self.sent = 0

    async def run(self) -> None:
        index = 0
        while True:
            try:
                url = self.bases[index % len(self.bases)] + self.path
                async with websockets.connect(url, open_timeout=60, max_queue=None) as ws:
                    await ws.recv()
                    if self.connections:
                        for room_id, after in self.last.items():
                            await ws.send(json.dumps(self._frame("resume", room_id, after=after)))
                        for client_id, room_id in list(self.pending.items()):
                            await ws.send(json.dumps(self._message(room_id, client_id)))
                    self.connections += 1
                    self.ws = ws
                    async for raw in ws:
                        self._on_frame(json.loads(raw))
                    self.closes.append(ws.close_code)
            except websockets.ConnectionClosed as exc:
                self.closes.append(exc.rcvd.code if exc.rcvd else None)
            except OSError:
                self.closes.append(None)
            self.ws = None
            index += 1
            await asyncio.sleep(0.1)

    def _frame(self, kind: str, room_id: str, **fields: Any) -> dict[str, Any]:
        frame = {"type": kind, **fields}
        if self.console:
            frame["room_id"] = room_id
        return frame

    def _message(self, room_id: str, client_id: str) -> dict[str, Any]:
        return self._frame("message", room_id, text=f"soak {client_id}", client_id=client_id)

    async def send(self) -> None:
        rooms = list(self.last)
        room_id = rooms[self.sent % len(rooms)]
        client_id = f"{uuid.uuid4().hex[:10]}"
        self.sent += 1
        self.pending[client_id] = room_id
        if self.ws is not None:
            with contextlib.suppress(websockets.ConnectionClosed):
                await self.ws.send(json.dumps(self._message(room_id, client_id)))

    def _on_frame(self, frame: dict[str, Any]) -> None:
        if frame["type"] == "error":
            self.errors += 1
            return
        if frame["type"] != "message":
            return
        message = frame["message"]
        room_id, seq = message["room_id"], message["seq"]
        self.pending.pop(message.get("client_id") or "", None)
        last = self.last.get(room_id)
        if last is None or seq <= last:
            return
        if seq > last + 1:
            if self.connections == 1:
                self.disorder += 1  # a frame ahead of a gap, without a resume to explain it
            self.ahead[room_id].add(seq)
            return
        while last + 1 <= seq or last + 1 in self.ahead[room_id]:
            last += 1
        self.last[room_id] = last


class PrivateRedis:
    def __init__(self) -> None:
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        cmd = ["redis-server", "--port", str(self.port), "--save", "", "--appendonly", "no"]
        self.process = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 10
        while not port_open(self.port):
            assert time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.05)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


@contextlib.asynccontextmanager
async def api_process(db_url: str, redis_url: str, secret: str) -> AsyncIterator[tuple[str, int]]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TANDEM_", "OPENAI_"))}
    env |= {
        "TANDEM_DATABASE_URL": db_url,
        "TANDEM_REDIS_URL": redis_url,
        "TANDEM_JWT_SECRET": secret,
        "TANDEM_RATE_LIMITS": "off",  # a load test: every visitor here is the load generator
    }
    cmd = [
        sys.executable, "-m", "uvicorn", "api.main:create_app", "--factory",
        "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
        "--no-access-log",
    ]  # fmt: skip
    process = await asyncio.create_subprocess_exec(*cmd, env=env, cwd=ROOT)
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient() as client:
            for _ in range(600):
                with contextlib.suppress(httpx.HTTPError):
                    if (await client.get(f"{base}/healthz")).status_code == 200:
                        break
                await asyncio.sleep(0.1)
        yield base, process.pid
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), timeout=30)
        except TimeoutError:
            process.kill()
            await process.wait()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def heads(db: Database) -> dict[str, int]:
    async with db.session() as session:
        rows = (await session.execute(sa.select(rooms_t.c.id, rooms_t.c.last_seq))).all()
    return {row.id: row.last_seq for row in rows}


async def prepare(
    db: Database, bases: list[str], rooms: int
) -> tuple[list[str], list[tuple[str, str]], dict[str, int]]:
    """Two agents (one per process) and `rooms` rooms, each joined by one of them:
    ([agent token], [(room_id, room token)], {room_id: last_seq})."""
    run = uuid.uuid4().hex[:6]
    async with db.write() as session:
        for i in range(2):
            await queries.create_agent(
                session,
                email=f"soak{i}-{run}@bench.local",
                name=f"Agent {i}",
                role="agent",
                password_hash=hash_password("soak-pass-1"),
            )
    tokens, made, last = [], [], {}
    async with httpx.AsyncClient(base_url=bases[0], timeout=60) as http:
        for i in range(2):
            login = await http.post(
                "/api/auth/token",
                data={"username": f"soak{i}-{run}@bench.local", "password": "soak-pass-1"},
            )
            tokens.append(login.json()["access_token"])
        for i in range(rooms):
            created = (await http.post("/api/rooms")).json()
            room_id = created["room"]["id"]
            joined = await http.post(
                f"/api/rooms/{room_id}/join", headers={"Authorization": f"Bearer {tokens[i % 2]}"}
            )
            assert joined.status_code == 200, joined.text
            made.append((room_id, created["token"]))
            last[room_id] = joined.json()["last_seq"]
    return tokens, made, last


async def soak(minutes: float, rate: int, rooms: int) -> bool:
    redis = PrivateRedis()
    redis.start()
    secret = "soak-secret-" + uuid.uuid4().hex
    redis_url = f"redis://127.0.0.1:{redis.port}/0"
    try:
        async with (
            database("mariadb") as url,
            api_process(url, redis_url, secret) as (base_a, pid_a),
            api_process(url, redis_url, secret) as (base_b, pid_b),
        ):
            db = Database(url)
            try:
                return await drive(
                    db, [base_a, base_b], [pid_a, pid_b], redis, minutes, rate, rooms
                )
            finally:
                await db.dispose()
    finally:
        redis.kill()


async def drive(
    db: Database,
    bases: list[str],
    pids: list[int],
    redis: PrivateRedis,
    minutes: float,
    rate: int,
    rooms: int,
) -> bool:
    tokens, made, last = await prepare(db, bases, rooms)
    ws = [b.replace("http://", "ws://") for b in bases]
    users = [
        Client(
            ws[i % 2 :] + ws[: i % 2],
            f"/ws/rooms/{room_id}?token={token}",
            {room_id: last[room_id]},
            False,
        )
        for i, (room_id, token) in enumerate(made)
    ]
    consoles = [
        Client(
            ws[1 - i :] + ws[: 1 - i],  # agent i's console on the other process than half its users
            f"/ws/agent?token={tokens[i]}",
            {room_id: seq for n, (room_id, seq) in enumerate(last.items()) if n % 2 == i},
            True,
        )
        for i in range(2)
    ]
    clients = users + consoles
    runs = [asyncio.create_task(c.run()) for c in clients]
    deadline = time.monotonic() + 120
    while any(c.connections == 0 for c in clients):
        assert time.monotonic() < deadline, "the clients did not all connect"
        await asyncio.sleep(0.1)

    print(
        f"soak: {rooms} rooms, {rate} msg/s, {minutes:g} min, 2 API processes, "
        "Redis restart mid-run"
    )
    print(
        "minute  RSS A MiB  RSS B MiB   sent total  error frames  closes"
        "   CPU A   CPU B  CPU load generator"
    )
    watched = [*pids, os.getpid()]
    cpu = [cpu_seconds(pid) for pid in watched]
    rss: list[tuple[float, float]] = [(rss_mib(pids[0]), rss_mib(pids[1]))]
    print(f"{0:>6}  {rss[0][0]:>9.1f}  {rss[0][1]:>9.1f}  {0:>11}  {0:>12}  {0:>6}")
    started = time.monotonic()
    total = minutes * 60
    sent = 0
    restart_at, restarted, catch_up = total / 2, False, None
    next_minute = 60.0
    try:
        while (elapsed := time.monotonic() - started) < total:
            due = int(rate * elapsed) - sent
            for _ in range(max(due, 0)):
                sender = consoles[sent % 2] if sent % 10 == 9 else users[sent % len(users)]
                await sender.send()
                sent += 1
            if not restarted and elapsed >= restart_at:
                restarted = True
                await asyncio.to_thread(redis.kill)
                await asyncio.sleep(2.0)
                await asyncio.to_thread(redis.start)
                catch_up = asyncio.create_task(longest_catch_up(db, clients))
            if elapsed >= next_minute:
                rss.append((rss_mib(pids[0]), rss_mib(pids[1])))
                errors = sum(c.errors for c in clients)
                closes = sum(len(c.closes) for c in clients)
                now_cpu = [cpu_seconds(pid) for pid in watched]
                shares = "".join(
                    f"  {(b - a) / 60:>5.0%} " for a, b in zip(cpu, now_cpu, strict=True)
                )
                cpu = now_cpu
                print(
                    f"{int(next_minute // 60):>6}  {rss[-1][0]:>9.1f}  {rss[-1][1]:>9.1f}  "
                    f"{sent:>11}  {errors:>12}  {closes:>6}{shares}",
                    flush=True,
                )
                next_minute += 60
            await asyncio.sleep(0.01)
        rss.append((rss_mib(pids[0]), rss_mib(pids[1])))
        print(f"{'end':>6}  {rss[-1][0]:>9.1f}  {rss[-1][1]:>9.1f}  {sent:>11}")
        longest = await catch_up if catch_up is not None else None
        ok = await final_check(db, clients, sent)
    finally:
        for run in runs:
            run.cancel()
        await asyncio.gather(*runs, return_exceptions=True)
    if longest is not None:
        print(f"longest catch-up after Redis's return: {longest:.2f} s")
    first = 1 if len(rss) > 2 else 0  # minute 0 is before the load: warm-up
    growth = [(end / start - 1) * 100 for start, end in zip(rss[first], rss[-1], strict=True)]
    print(f"RSS from minute {first} to the end: A {growth[0]:+.1f} %, B {growth[1]:+.1f} %")
    return ok


async def longest_catch_up(db: Database, clients: list[Client]) -> float:
    """Seconds from Redis's return until every socket had every message stored by then."""
    back = time.monotonic()
    wanted = await heads(db)
    reported = 0.0
    while any(seq < wanted[room_id] for c in clients for room_id, seq in c.last.items()):
        if time.monotonic() - back > CAUGHT_UP_SECONDS:
            return float("inf")
        if time.monotonic() - back > reported + 5:
            reported += 5
            lagging = [
                (c.console, room_id[:6], seq, wanted[room_id], sorted(c.ahead[room_id])[:3])
                for c in clients
                for room_id, seq in c.last.items()
                if seq < wanted[room_id]
            ]
            print(f"{reported:.0f} s after: {len(lagging)} behind, e.g. {lagging[:3]}", flush=True)
        await asyncio.sleep(0.05)
    return time.monotonic() - back


async def final_check(db: Database, clients: list[Client], sent: int) -> bool:
    deadline = time.monotonic() + CAUGHT_UP_SECONDS
    while True:
        newest = await heads(db)
        behind = sum(seq < newest[r] for c in clients for r, seq in c.last.items())
        pending = sum(len(c.pending) for c in clients)
        if (not behind and not pending) or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.5)
    async with db.session() as session:
        rows = (
            await session.execute(
                sa.text("SELECT room_id, seq, client_id FROM messages ORDER BY room_id, seq")
            )
        ).all()
    by_room: dict[str, list[int]] = {}
    client_ids = [row.client_id for row in rows if row.client_id is not None]
    for row in rows:
        by_room.setdefault(row.room_id, []).append(row.seq)
    gapless = all(seqs == list(range(1, len(seqs) + 1)) for seqs in by_room.values())
    once = len(client_ids) == len(set(client_ids))
    disorder = sum(c.disorder for c in clients)
    errors = sum(c.errors for c in clients)
    print(
        f"sent {sent}, stored with a client_id {len(client_ids)}, never acknowledged {pending}, "
        f"sockets behind the database {behind}, out of order {disorder}, error frames {errors}"
    )
    print(f"database: seqs gapless {gapless}, each client_id once {once}")
    return gapless and once and not pending and not behind and not disorder and not errors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--rate", type=int, default=500, help="messages per second")
    parser.add_argument("--rooms", type=int, default=200)
    args = parser.parse_args()
    ok = asyncio.run(soak(args.minutes, args.rate, args.rooms))
    print("PASS" if ok else "FAIL")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
