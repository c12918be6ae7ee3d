"""CPU per write batch: a session's transaction vs the writer's own connection.

Stores batches of B user messages (50 rooms, the rooms known to the writer's memory, as in a
steady stream) one after another, and reports this process's CPU (user + system) per batch:
through `Database.write()` (an `AsyncSession`: pool checkout, SQLAlchemy's transaction and
COMMIT) and through `Database.write_batch()` (db/writer_connections.py). Same statements,
same database; only the transaction around them differs.

    .venv/bin/python bench/writer_batch.py --db mariadb --db sqlite --sizes 1,16,64

MariaDB: a scratch database on the local server (127.0.0.1:3306, root), dropped afterwards;
SQLite: a file in a temporary directory.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import uuid
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import uvloop

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from api.batch_rooms import KnownRooms, store_drafts
from db import room_log
from db.engine import Database, create_engine
from db.migrate import upgrade
from db.models import Sender, utcnow
from db.room_log import MessageDraft

SERVER = "mysql+asyncmy://root@127.0.0.1:3306"


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def measure(
    db: Database,
    transaction: Callable[[], AbstractAsyncContextManager[Any]],
    rooms: list[str],
    size: int,
    batches: int,
) -> float:
    """CPU µs per batch of `size` drafts."""
    known = KnownRooms()
    drafts = [
        [
            MessageDraft(
                room_id=rooms[(i * size + j) % len(rooms)],
                sender=Sender.user,
                author="User",
                text=f"hello, this is message {j} of batch {i}",
                client_id=uuid.uuid4().hex,
            )
            for j in range(size)
        ]
        for i in range(batches + 1)
    ]
    async with transaction() as session:  # warm: rooms known, connection open
        await store_drafts(session, drafts[0], known)
    start = cpu_seconds()
    for batch in drafts[1:]:
        async with transaction() as session:
            await store_drafts(session, batch, known)
    return (cpu_seconds() - start) / batches * 1e6


async def compare(url: str, label: str, sizes: list[int], batches: int) -> None:
    db = Database(url)
    try:
        await upgrade(db.engine)
        rooms = [uuid.uuid4().hex for _ in range(50)]
        async with db.write() as session:
            await room_log.open_rooms(session, rooms=[(r, utcnow()) for r in rooms])
        for size in sizes:
            through_session = await measure(db, db.write, rooms, size, batches)
            own = await measure(db, db.write_batch, rooms, size, batches)
            saved = through_session - own
            print(
                f"| {label} | {size} | {through_session:,.0f} µs | {own:,.0f} µs "
                f"| {saved:,.0f} µs |"
            )
    finally:
        await db.dispose()


async def main(databases: list[str], sizes: list[int], batches: int) -> None:
    print("| database | messages per batch | session transaction | writer's connection | saved |")
    print("|---|---:|---:|---:|---:|")
    for database in databases:
        if database == "sqlite":
            with tempfile.TemporaryDirectory() as directory:
                url = f"sqlite+aiosqlite:///{directory}/bench.db"
                await compare(url, database, sizes, batches)
            continue
        root = create_engine(f"{SERVER}/")
        name = f"bench_writer_{uuid.uuid4().hex[:8]}"
        async with root.begin() as conn:
            await conn.execute(sa.text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4"))
        try:
            await compare(f"{SERVER}/{name}", database, sizes, batches)
        finally:
            async with root.begin() as conn:
                await conn.execute(sa.text(f"DROP DATABASE IF EXISTS `{name}`"))
            await root.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", action="append", choices=["mariadb", "sqlite"])
    parser.add_argument("--sizes", default="1,16,64")
    parser.add_argument("--batches", type=int, default=400)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    uvloop.run(main(args.db or ["mariadb"], sizes, args.batches))
