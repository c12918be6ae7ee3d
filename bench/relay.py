"""Relay benchmark: users → API → database → agents, over real WebSockets.

R rooms, each with a user on /ws/rooms/{id} and an agent (one per room) on /ws/agent who has
joined it. With `--workers N` (N ≥ 2) there are N API processes behind a private Redis, and each
room's agent listens on the process after its user's (every message crosses processes);
`--redis` puts a single process behind Redis too, for the like-for-like comparison.

Users send at a fixed total rate (open loop: sends are scheduled by the clock, not by replies).
Reported per step: messages/s durably stored and delivered to the agents, the user → agent
delivery latency p50/p99 (send to receipt of the agent's `message` frame), and the API's CPU per
delivered message (the steady window only: setup and logins excluded).

    .venv/bin/python bench/relay.py --db sqlite --db mariadb --rates 1000,2000,4000,6000,8000
    .venv/bin/python bench/relay.py --db mariadb --workers 2 --rates 1000,2000,3000,4000

The API runs as its own uvicorn process(es), the load generator in this one; all share the
machine's cores. Only 127.0.0.1 is contacted; every step stops by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import websockets

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from api.auth import hash_password  # noqa: E402
from db import queries  # noqa: E402
from db.engine import Database  # noqa: E402
from tests.conftest import free_port, port_open  # noqa: E402

MARIADB_ROOT = "mysql+asyncmy://root@127.0.0.1:3306"


@dataclass
class Step:
    db: str
    offered: int
    sent: int
    delivered: int
    seconds: float
    p50_ms: float
    p99_ms: float
    stored: int
    server_cpu: float
    """Share of one core the API processes used during the step (summed)."""
    client_cpu: float

    @property
    def rate(self) -> float:
        return self.delivered / self.seconds

    @property
    def cpu_us(self) -> float:
        """API CPU per delivered message, in µs (steady window: setup and logins excluded)."""
        return self.server_cpu * self.seconds * 1e6 / self.delivered if self.delivered else 0.0


@contextlib.asynccontextmanager
async def database(kind: str) -> AsyncIterator[str]:
    if kind == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            yield f"sqlite+aiosqlite:///{tmp}/relay.db"
        return
    import asyncmy

    name = f"tandem_bench_{uuid.uuid4().hex[:8]}"
    conn = await asyncmy.connect(host="127.0.0.1", port=3306, user="root", password="")
    async with conn.cursor() as cur:
        await cur.execute(f"CREATE DATABASE {name} CHARACTER SET utf8mb4")
    try:
        yield f"{MARIADB_ROOT}/{name}"
    finally:
        async with conn.cursor() as cur:
            await cur.execute(f"DROP DATABASE IF EXISTS {name}")
        conn.close()


class PrivateRedis:
    """A redis-server of our own on a free port (the shared one is never touched)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

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
async def api_servers(
    url: str, secret: str, workers: int, redis: bool
) -> AsyncIterator[list[tuple[str, int]]]:
    """`workers` API processes: in-process broker for one (unless `redis`), else a private
    Redis between them."""
    if workers == 1 and not redis:
        async with api_server(url, secret) as server:
            yield [server]
        return
    broker = PrivateRedis()
    broker.start()
    try:
        async with contextlib.AsyncExitStack() as stack:
            servers = [
                await stack.enter_async_context(api_server(url, secret, redis_url=broker.url))
                for _ in range(workers)
            ]
            yield servers
    finally:
        broker.kill()


@contextlib.asynccontextmanager
async def api_server(
    url: str,
    secret: str,
    *,
    redis_url: str | None = None,
    log: Path | None = None,
    deflate: bool = False,
) -> AsyncIterator[tuple[str, int]]:
    """One API process (uvicorn) for a benchmark: (base URL, pid) once `/readyz` answers;
    SIGTERM at the end (it drains: sockets close with 1012), killed if it lingers.

    `redis_url`: the broker (default: the in-process one). `log`: where its stderr goes
    (default: this process's). `deflate`: permessage-deflate offered as browsers use it (off
    for raw relay throughput). Only this machine's TANDEM_/OPENAI_ variables are dropped: the
    process sees the settings given here and nothing left over from the shell."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TANDEM_", "OPENAI_"))}
    env |= {
        "TANDEM_DATABASE_URL": url,
        "TANDEM_JWT_SECRET": secret,
        "TANDEM_RATE_LIMITS": "off",  # a load test: every visitor here is the load generator
    }
    if redis_url is not None:
        env["TANDEM_REDIS_URL"] = redis_url
    cmd = [
        sys.executable, "-m", "uvicorn", "api.main:create_app", "--factory",
        "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
        "--ws", "api.ws_protocol:WebSocketProtocol", "--no-access-log",
        "--ws-per-message-deflate", "true" if deflate else "false",
    ]  # fmt: skip
    with contextlib.ExitStack() as files:
        stderr = files.enter_context(log.open("wb")) if log is not None else None
        process = await asyncio.create_subprocess_exec(*cmd, env=env, cwd=ROOT, stderr=stderr)
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient() as client:
            for _ in range(600):
                with contextlib.suppress(httpx.HTTPError):
                    if (await client.get(f"{base}/readyz")).status_code == 200:
                        break
                await asyncio.sleep(0.1)
            else:
                raise RuntimeError(f"the API on port {port} never became ready")
        yield base, process.pid
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), timeout=30)
        except TimeoutError:
            process.kill()
            await process.wait()


async def prepare(base: str, url: str, rooms: int) -> list[tuple[str, str, str]]:
    """Rooms with one joined agent each: [(room_id, room_token, agent_token)]."""
    run = uuid.uuid4().hex[:6]
    password_hash = hash_password("bench-pass-1")
    db = Database(url)
    async with db.write() as session:
        for i in range(rooms):
            await queries.create_agent(
                session,
                email=f"agent{i}-{run}@bench.local",
                name=f"Agent {i}",
                role="agent",
                password_hash=password_hash,
            )
    await db.dispose()
    pairs = []
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        for i in range(rooms):
            email = f"agent{i}-{run}@bench.local"
            login = await client.post(
                "/api/auth/token", data={"username": email, "password": "bench-pass-1"}
            )
            agent_token = login.json()["access_token"]
            created = (await client.post("/api/rooms")).json()
            room_id, room_token = created["room"]["id"], created["token"]
            joined = await client.post(
                f"/api/rooms/{room_id}/join", headers={"Authorization": f"Bearer {agent_token}"}
            )
            assert joined.status_code == 200, joined.text
            pairs.append((room_id, room_token, agent_token))
    return pairs


async def run_step(
    bases: list[str],
    pairs: list[tuple[str, str, str]],
    rate: int,
    seconds: float,
    db: str,
    pids: list[int],
    profile: Path | None = None,
) -> Step:
    ws_bases = [base.replace("http://", "ws://") for base in bases]
    latencies: list[float] = []
    sent_at: dict[str, float] = {}
    total = int(rate * seconds)
    users = []
    agents = []
    for i, (room_id, room_token, agent_token) in enumerate(pairs):
        user_base, agent_base = ws_bases[i % len(bases)], ws_bases[(i + 1) % len(bases)]
        users.append(
            await websockets.connect(
                f"{user_base}/ws/rooms/{room_id}?token={room_token}", compression=None
            )
        )
        agents.append(
            await websockets.connect(f"{agent_base}/ws/agent?token={agent_token}", compression=None)
        )
    for ws in (*users, *agents):
        await ws.recv()  # the room / queue frame on connect
    done = asyncio.Event()
    received = 0

    async def agent_reader(ws: websockets.ClientConnection) -> None:
        nonlocal received
        async for raw in ws:
            now = time.perf_counter()
            frame = json.loads(raw)
            if frame["type"] != "message" or frame["message"]["sender"] != "user":
                continue
            started = sent_at.pop(frame["message"]["client_id"], None)
            if started is not None:
                latencies.append(now - started)
                received += 1
                if received >= total:
                    done.set()

    async def user_drain(ws: websockets.ClientConnection) -> None:
        async for _ in ws:
            pass

    readers = [asyncio.create_task(agent_reader(ws)) for ws in agents]
    drains = [asyncio.create_task(user_drain(ws)) for ws in users]
    interval = 1.0 / rate
    spy = await start_profile(pids[0], seconds, profile) if profile else None
    start = time.perf_counter()
    server_ticks, client_cpu = sum(map(cpu_ticks, pids)), time.process_time()
    sent = 0
    run = uuid.uuid4().hex[:6]
    while sent < total:
        due = start + sent * interval
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        # Send everything that is due now (open loop: a late loop catches up, it never waits).
        now = time.perf_counter()
        while sent < total and start + sent * interval <= now:
            client_id = f"{run}-{sent}"
            sent_at[client_id] = now
            ws = users[sent % len(users)]
            await ws.send(
                json.dumps({"type": "message", "text": f"msg {sent}", "client_id": client_id})
            )
            sent += 1
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(done.wait(), timeout=10)
    elapsed = time.perf_counter() - start
    server_cpu = (sum(map(cpu_ticks, pids)) - server_ticks) / os.sysconf("SC_CLK_TCK") / elapsed
    client_cpu = (time.process_time() - client_cpu) / elapsed
    for task in (*readers, *drains):
        task.cancel()
    for ws in (*users, *agents):
        await ws.close()
    await asyncio.gather(*readers, *drains, return_exceptions=True)
    if spy is not None:
        await spy.wait()
    latencies.sort()
    stored = await count_stored(bases[0], pairs)
    return Step(
        db=db,
        offered=rate,
        sent=sent,
        delivered=len(latencies),
        seconds=elapsed,
        p50_ms=1000 * statistics.median(latencies) if latencies else float("nan"),
        p99_ms=1000 * latencies[int(len(latencies) * 0.99) - 1] if latencies else float("nan"),
        stored=stored,
        server_cpu=server_cpu,
        client_cpu=client_cpu,
    )


async def start_profile(pid: int, seconds: float, out: Path) -> asyncio.subprocess.Process:
    """py-spy (`pip install py-spy`) samples the API over the step's send window."""
    cmd = [
        str(Path(sys.executable).with_name("py-spy")), "record", "--native", "-p", str(pid),
        "-d", str(max(1, int(seconds))), "-f", "raw", "-o", str(out),
    ]  # fmt: skip
    return await asyncio.create_subprocess_exec(*cmd, stdout=asyncio.subprocess.DEVNULL)


def cpu_ticks(pid: int) -> int:
    """utime + stime of a process, in clock ticks."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


async def count_stored(base: str, pairs: list[tuple[str, str, str]]) -> int:
    total = 0
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        for room_id, room_token, _ in pairs:
            after = 0
            while True:
                page = (
                    await client.get(
                        f"/api/rooms/{room_id}/messages",
                        params={"after": after, "limit": 500},
                        headers={"Authorization": f"Bearer {room_token}"},
                    )
                ).json()["messages"]
                total += sum(1 for m in page if m["sender"] == "user")
                if len(page) < 500:
                    break
                after = page[-1]["seq"]
    return total


async def bench(
    db: str,
    rooms: int,
    rates: list[int],
    seconds: float,
    profile: Path | None = None,
    *,
    workers: int = 1,
    redis: bool = False,
) -> list[Step]:
    steps = []
    async with database(db) as url:
        secret = uuid.uuid4().hex
        async with api_servers(url, secret, workers, redis) as servers:
            bases, pids = [b for b, _ in servers], [p for _, p in servers]
            pairs = await prepare(bases[0], url, rooms)
            stored_before = 0
            for rate in rates:
                out = profile and profile.with_name(f"{profile.stem}-{db}-{rate}{profile.suffix}")
                step = await run_step(bases, pairs, rate, seconds, db, pids, out)
                step.stored -= stored_before
                stored_before += step.stored
                steps.append(step)
                print(
                    f"  {db:8s} offered {rate:6d}/s  delivered {step.rate:8.0f}/s  "
                    f"p50 {step.p50_ms:7.2f} ms  p99 {step.p99_ms:7.2f} ms  "
                    f"stored {step.stored}/{step.sent}  "
                    f"cpu api {step.server_cpu:.0%} ({step.cpu_us:.0f} µs/msg) "
                    f"client {step.client_cpu:.0%}",
                    flush=True,
                )
                await asyncio.sleep(1)
    return steps


def table(steps: list[Step], rooms: int, seconds: float, workers: int, redis: bool) -> str:
    setup = (
        "one uvicorn process, in-memory broker"
        if workers == 1 and not redis
        else f"{workers} uvicorn process(es) behind a private Redis (API CPU summed)"
    )
    lines = [
        f"rooms={rooms}, {seconds:g} s per step, {setup}",
        "",
        "| database | offered msg/s | delivered msg/s | p50 ms | p99 ms | stored / sent "
        "| API CPU | API CPU per message | load-generator CPU |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for s in steps:
        lines.append(
            f"| {s.db} | {s.offered:,} | {s.rate:,.0f} | {s.p50_ms:.2f} | {s.p99_ms:.2f} "
            f"| {s.stored:,} / {s.sent:,} | {s.server_cpu:.0%} | {s.cpu_us:.0f} µs "
            f"| {s.client_cpu:.0%} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", action="append", choices=["sqlite", "mariadb"])
    parser.add_argument("--rooms", type=int, default=50)
    parser.add_argument("--rates", default="1000,2000,4000,6000")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument(
        "--profile",
        type=Path,
        help="py-spy raw output per step (FILE-<db>-<rate>.txt): where the API's CPU goes",
    )
    parser.add_argument("--workers", type=int, default=1, help="API processes (2+: via Redis)")
    parser.add_argument("--redis", action="store_true", help="one process behind Redis too")
    args = parser.parse_args()
    rates = [int(r) for r in args.rates.split(",")]
    steps: list[Step] = []
    for db in args.db or ["sqlite", "mariadb"]:
        steps += asyncio.run(
            bench(
                db,
                args.rooms,
                rates,
                args.seconds,
                args.profile,
                workers=args.workers,
                redis=args.redis,
            )
        )
    print()
    print(table(steps, args.rooms, args.seconds, args.workers, args.redis))


if __name__ == "__main__":
    main()
