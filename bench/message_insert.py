"""CPU per messages INSERT on MariaDB: SQL text vs one binary round trip (`Driver.insert_rows`).

A write batch's INSERT of B messages, then COMMIT, on two connections of one process: one
whose driver sends SQL text (as every pooled connection's does) and one kept as the writer
keeps its own (prepared statement, COM_STMT_BULK_EXECUTE). The two take turns, a round of
batches each, so whatever else the machine does falls on both alike; the first two rounds
warm up and are not counted. Same table (the migrated `messages`), same rows.

    .venv/bin/python bench/message_insert.py --sizes 1,16,64

A scratch database on the local server (127.0.0.1:3306, root), dropped afterwards.
"""

from __future__ import annotations

import argparse
import resource
import sys
import uuid
from itertools import count
from pathlib import Path

import sqlalchemy as sa
import uvloop

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from db import room_log
from db.driver import Driver
from db.engine import Database, create_engine
from db.migrate import upgrade
from db.models import Sender, utcnow

SERVER = "mysql+asyncmy://root@127.0.0.1:3306"


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def compare(db: Database, size: int, rounds: int, batches: int) -> tuple[float, float]:
    """(text, binary) CPU µs per INSERT + COMMIT of `size` messages."""
    rooms = [uuid.uuid4().hex for _ in range(50)]
    async with db.write() as session:
        await room_log.open_rooms(session, rooms=[(r, utcnow()) for r in rooms])
    seqs = count(1)
    drivers: dict[str, Driver] = {}
    connections = []
    for name, kept in (("text", False), ("binary", True)):
        connection = await db.engine.connect()
        connections.append(connection)
        raw = await connection.get_raw_connection()
        drivers[name] = Driver(raw.driver_connection, connection.dialect, kept=kept)
    used = {"text": 0.0, "binary": 0.0}
    try:
        for round_ in range(rounds + 2):
            for name in ("text", "binary") if round_ % 2 else ("binary", "text"):
                driver = drivers[name]
                stamp = driver.time(utcnow())
                work = [
                    [
                        (
                            f"hello, this is message {seq}",
                            uuid.uuid4().hex,
                            rooms[seq % len(rooms)],
                            seq,
                            Sender.user.value,
                            "User",
                            None,
                            stamp,
                            False,
                        )
                        for seq in (next(seqs) for _ in range(size))
                    ]
                    for _ in range(batches)
                ]
                start = cpu_seconds()
                for rows in work:
                    await driver.insert_rows("messages", room_log.MESSAGE_INSERT_COLUMNS, rows)
                    await driver.commit()
                if round_ >= 2:
                    used[name] += cpu_seconds() - start
    finally:
        for connection in connections:
            await connection.close()
    done = rounds * batches
    return used["text"] / done * 1e6, used["binary"] / done * 1e6


async def main(sizes: list[int], rounds: int, batches: int) -> None:
    root = create_engine(f"{SERVER}/")
    name = f"bench_insert_{uuid.uuid4().hex[:8]}"
    async with root.begin() as conn:
        await conn.execute(sa.text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4"))
    db = Database(f"{SERVER}/{name}")
    try:
        await upgrade(db.engine)
        print("| messages per INSERT | SQL text | one binary round trip | saved per message |")
        print("|---:|---:|---:|---:|")
        for size in sizes:
            text, binary = await compare(db, size, rounds, batches)
            print(
                f"| {size} | {text:,.0f} µs | {binary:,.0f} µs | {(text - binary) / size:,.1f} µs |"
            )
    finally:
        await db.dispose()
        async with root.begin() as conn:
            await conn.execute(sa.text(f"DROP DATABASE IF EXISTS `{name}`"))
        await root.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1,16,64")
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--batches", type=int, default=60)
    args = parser.parse_args()
    uvloop.run(main([int(s) for s in args.sizes.split(",")], args.rounds, args.batches))
