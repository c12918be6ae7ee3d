"""Statistics benchmark: /api/stats over a 90-day range on MariaDB with 100,000 conversations.

A scratch database is filled by the demo-data generator (~1,000,000 messages over 42 days),
the rollups are rebuilt (timed: the demo histories lie in the past, so the live fold does not
see them), then the statistics are timed three ways: the exact path (`compute_exact_stats`,
which ranks every span), `compute_stats` (the rollups) called directly, and GET /api/stats
(the rollups) through a real uvicorn process. The scratch database is dropped at the end
(`--keep` keeps it; `--database NAME` reuses one, migrating it first).

    .venv/bin/python bench/stats.py --conversations 100000 --runs 7

Only 127.0.0.1 is contacted. The machine is shared: the load average is printed with the
results, since other processes on its two cores move the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import httpx
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from api.auth import hash_password  # noqa: E402
from db import queries, room_log  # noqa: E402
from db.engine import Database, create_engine  # noqa: E402
from db.migrate import upgrade  # noqa: E402
from db.models import Sender, utcnow  # noqa: E402
from db.rollup_folder import RollupFolder  # noqa: E402
from db.rollups import rebuild_rollups  # noqa: E402
from db.sqltime import LocalWindow  # noqa: E402
from db.stats import compute_exact_stats, compute_stats  # noqa: E402
from tests.conftest import free_port  # noqa: E402
from tools.demo_data import generate  # noqa: E402

MARIADB_ROOT = "mysql+asyncmy://root@127.0.0.1:3306"
ANALYST = "demo-analyst@tandem.example"
ANALYST_PASSWORD = "bench-" + uuid.uuid4().hex
"""The demo accounts get random passwords: the bench sets the analyst's before logging in."""


@dataclass
class Timing:
    variant: str
    how: str
    first: float
    runs: list[float]

    @property
    def row(self) -> str:
        return (
            f"| {self.variant:<22} | {self.how:<16} | {self.first * 1000:>9.0f} | "
            f"{min(self.runs) * 1000:>7.0f} | {statistics.median(self.runs) * 1000:>10.0f} | "
            f"{max(self.runs) * 1000:>7.0f} |"
        )


async def timed(runs: int, call: Callable[[], Awaitable[object]]) -> tuple[float, list[float]]:
    """The first (cold) call, then `runs` more."""
    times = []
    for _ in range(runs + 1):
        started = time.perf_counter()
        await call()
        times.append(time.perf_counter() - started)
    return times[0], times[1:]


async def admin(statement: str) -> None:
    engine = create_engine(f"{MARIADB_ROOT}/")
    try:
        async with engine.begin() as conn:
            await conn.execute(sa.text(statement))
    finally:
        await engine.dispose()


def start_api(url: str, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TANDEM_", "OPENAI_"))}
    env.update(TANDEM_DATABASE_URL=url, TANDEM_JWT_SECRET="bench-" + uuid.uuid4().hex)
    port = free_port()
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "api.main:create_app", "--factory",
             "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
            env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the API exited: {log.read_text()[-2000:]}")
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return process, base
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    process.terminate()
    raise TimeoutError("the API did not start within 60 s")


async def time_variant(
    variant: str, db: Database, url: str, window: LocalWindow, runs: int
) -> list[Timing]:
    first, times = await timed(runs, lambda: compute_exact_stats(db, window=window))
    results = [Timing("exact (spans)", "compute_exact()", first, times)]
    first, times = await timed(runs, lambda: compute_stats(db, window=window))
    results.append(Timing(variant, "compute_stats()", first, times))
    # An idle fold round with its backstop (every open room's last_seq against its fold): what
    # each API process pays every 30 s whatever the traffic; without it, every 2–5 s.
    folder = RollupFolder(db)
    first, times = await timed(runs, folder.fold_now)
    results.append(Timing("fold round", "with backstop", first, times))
    first, times = await timed(runs, lambda: folder.fold_now(backstop=False))
    results.append(Timing("fold round", "events only", first, times))
    with tempfile.TemporaryDirectory() as tmp:
        process, base = start_api(url, Path(tmp) / "api.log")
        try:
            async with httpx.AsyncClient(base_url=base, timeout=120) as http:
                login = await http.post(
                    "/api/auth/token", data={"username": ANALYST, "password": ANALYST_PASSWORD}
                )
                headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
                params = {"from": str(window.first_day), "to": str(window.last_day), "tz": "UTC"}

                async def get() -> None:
                    response = await http.get("/api/stats", params=params, headers=headers)
                    response.raise_for_status()

                first, times = await timed(runs, get)
                results.append(Timing(variant, "GET /api/stats", first, times))
        finally:
            process.terminate()
            process.wait(timeout=30)
    return results


RELAY_ROOMS = 50
"""As bench/relay.py: the rooms a burst of traffic lands in."""


async def time_fold_paths(db: Database, messages: int, runs: int) -> list[Timing]:
    """What finding the changed rooms costs a fold round after 30 s of relay traffic
    (`messages` new messages in RELAY_ROOMS open rooms): the range scan of recent messages the
    fold used to run every round, against a round over the rooms the writer names."""
    rooms = [f"burst{uuid.uuid4().hex[:10]}{i:02d}" for i in range(RELAY_ROOMS)]
    async with db.write(notify=False) as session:
        await room_log.open_rooms(session, rooms=[(r, utcnow()) for r in rooms])
    batch = 500
    for start in range(0, messages, batch):
        async with db.write(notify=False) as session:
            locked = await room_log.lock_rooms(session, room_ids=rooms)
            drafts = [
                room_log.MessageDraft(rooms[i % RELAY_ROOMS], Sender.user, "User", "bench")
                for i in range(start, min(messages, start + batch))
            ]
            await room_log.append_messages(session, rooms=locked, drafts=drafts)
    since = utcnow() - timedelta(seconds=30)

    async def scan() -> None:
        async with db.session() as session:
            found = await session.execute(
                sa.text("SELECT DISTINCT room_id FROM messages WHERE created_at >= :since"),
                {"since": since.replace(tzinfo=None)},
            )
            assert len(found.all()) >= RELAY_ROOMS

    folder = RollupFolder(db)

    async def named() -> None:
        async with db.write(notify=False) as session:  # one more message in each room
            locked = await room_log.lock_rooms(session, room_ids=rooms)
            drafts = [room_log.MessageDraft(r, Sender.user, "User", "bench") for r in rooms]
            await room_log.append_messages(session, rooms=locked, drafts=drafts)
        folder.notify(rooms)
        started = time.perf_counter()
        assert await folder.fold_now(backstop=False) == RELAY_ROOMS
        named_times.append(time.perf_counter() - started)

    named_times: list[float] = []
    first, times = await timed(runs, scan)
    results = [Timing("before: find rooms", f"scan {messages // 1000}k msgs", first, times)]
    await timed(runs, named)
    results.append(
        Timing("after: fold round", f"{RELAY_ROOMS} rooms named", named_times[0], named_times[1:])
    )
    return results


async def main(args: argparse.Namespace) -> None:
    name = args.database or f"tandem_bench_stats_{uuid.uuid4().hex[:8]}"
    url = f"{MARIADB_ROOT}/{name}"
    await admin(f"CREATE DATABASE IF NOT EXISTS `{name}` CHARACTER SET utf8mb4")
    db = Database(url)
    try:
        await upgrade(db.engine)
        async with db.session() as session:
            existing = int(await session.scalar(sa.text("SELECT COUNT(*) FROM rooms")) or 0)
        if existing == 0:
            summary = await generate(db, conversations=args.conversations, days=42, seed=1)
            print(
                f"demo data: {summary.conversations:,} conversations, {summary.messages:,} "
                f"messages, {summary.events:,} events in {summary.seconds:.1f} s "
                f"({summary.messages / summary.seconds:,.0f} messages/s)"
            )
        else:
            print(f"reusing {name}: {existing:,} conversations")
        async with db.write() as session:
            analyst = await queries.get_agent_by_email(session, email=ANALYST)
            assert analyst is not None and analyst.id is not None
            password_hash = hash_password(ANALYST_PASSWORD)
            await queries.set_agent_password(
                session, agent_id=analyst.id, password_hash=password_hash
            )
        started = time.perf_counter()
        folded = await rebuild_rollups(db)  # demo histories are in the past: not live-folded
        print(f"rollups rebuilt: {folded:,} conversations in {time.perf_counter() - started:.1f} s")
        async with db.session() as session:
            await session.execute(
                sa.text("ANALYZE TABLE rooms, messages, room_events, stats_rollups")
            )
            slots = await session.scalar(sa.text("SELECT COUNT(*) FROM stats_rollups"))
            open_rooms = await session.scalar(
                sa.text("SELECT COUNT(*) FROM rooms WHERE status <> 'closed'")
            )
        print(f"stats_rollups: {int(slots or 0):,} rows; open rooms: {int(open_rooms or 0):,}")
        today = date.today()
        window = LocalWindow.of(today - timedelta(days=89), today, "UTC")
        results = await time_variant("rollups", db, url, window, args.runs)
        results += await time_fold_paths(db, args.burst, args.runs)
    finally:
        await db.dispose()
        if not args.keep:
            await admin(f"DROP DATABASE IF EXISTS `{name}`")
    print()
    print("command: " + " ".join([".venv/bin/python", "bench/stats.py", *sys.argv[1:]]))
    print(f"range: {window.first_day} .. {window.last_day} (90 days, UTC), {args.runs} runs each")
    print(f"load average (1, 5, 15 min): {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(
        "| path                   | call             | first, ms | min, ms | median, ms | max, ms |"
    )
    print(
        "|------------------------|------------------|----------:|--------:|-----------:|--------:|"
    )
    for timing in results:
        print(timing.row)
    print(f"scratch database {name} " + ("kept" if args.keep else "dropped"))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--conversations", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--database", help="reuse (or create) this database instead of a new one")
    parser.add_argument("--keep", action="store_true", help="do not drop the database")
    parser.add_argument(
        "--burst", type=int, default=120_000, help="messages of the 30 s fold-path test"
    )
    asyncio.run(main(parser.parse_args()))
