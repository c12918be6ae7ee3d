"""Idle sockets benchmark: N user WebSockets on N rooms of one API process.

Steps, each reported: open N rooms; the connect storm (every room's user socket opened, with
the server's pings on, uvicorn's default); the API's RSS per socket (RSS after the storm minus
RSS before it, over N); the API's CPU while the sockets sit idle; then one message into each of
M rooms (sent on its socket) and the time until every one of those sockets has received its
message back as stored (`message` frame), measured from the first send.

    .venv/bin/python bench/sockets.py --sockets 10000 --messages 1000

The load generator (this process) and the API run in separate processes, as the per-process
file limit here (20,000) would not hold both ends of 10,000 sockets; the bench raises its own
soft limit to the hard one (the API inherits it). Only 127.0.0.1 is contacted; it stops by
itself.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import websockets

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.relay import api_server, cpu_ticks, database  # noqa: E402

TICKS = 100  # os.sysconf("SC_CLK_TCK") on Linux


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


async def open_rooms(base: str, count: int) -> list[tuple[str, str]]:
    rooms: list[tuple[str, str]] = []
    gate = asyncio.Semaphore(32)
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:

        async def one() -> None:
            async with gate:
                body = (await client.post("/api/rooms")).json()
                rooms.append((body["room"]["id"], body["token"]))

        await asyncio.gather(*(one() for _ in range(count)))
    return rooms


class Socket:
    """One user socket: remembers when each of its stored messages came back."""

    def __init__(self, connection: Any) -> None:
        self.connection = connection
        self.arrived: dict[str, float] = {}
        self.task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for raw in self.connection:
            frame = json.loads(raw)
            if frame.get("type") == "message" and frame["message"]["sender"] == "user":
                client_id = frame["message"].get("client_id")
                if client_id:
                    self.arrived[client_id] = time.monotonic()


async def storm(ws_base: str, rooms: list[tuple[str, str]], parallel: int) -> list[Socket]:
    sockets: list[Socket] = []
    gate = asyncio.Semaphore(parallel)

    async def one(room_id: str, token: str) -> None:
        async with gate:
            connection = await websockets.connect(
                f"{ws_base}/ws/rooms/{room_id}",
                subprotocols=[
                    websockets.Subprotocol("tandem"),
                    websockets.Subprotocol(f"bearer.{token}"),
                ],
                open_timeout=60,
                ping_interval=None,  # the server pings; the client answers
                max_queue=None,
            )
            sockets.append(Socket(connection))

    await asyncio.gather(*(one(room_id, token) for room_id, token in rooms))
    return sockets


async def bench(db: str, count: int, messages: int, idle_seconds: float, parallel: int) -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    need = count + 200
    if hard < need:
        raise SystemExit(f"file limit {hard} < {need}: lower --sockets")
    async with database(db) as url, api_server(url, "bench-" + uuid.uuid4().hex * 2) as (base, pid):
        ws_base = base.replace("http://", "ws://")
        started = time.monotonic()
        rooms = await open_rooms(base, count)
        print(f"{count} rooms opened in {time.monotonic() - started:.1f} s", flush=True)
        await asyncio.sleep(2)
        before = rss_kib(pid)
        ticks = cpu_ticks(pid)
        started = time.monotonic()
        sockets = await storm(ws_base, rooms, parallel)
        storm_seconds = time.monotonic() - started
        storm_cpu = (cpu_ticks(pid) - ticks) / TICKS
        await asyncio.sleep(3)
        after = rss_kib(pid)
        print(
            f"connect storm: {len(sockets)} sockets in {storm_seconds:.1f} s "
            f"(API CPU {storm_cpu:.1f} s); RSS {before / 1024:.0f} → {after / 1024:.0f} MiB, "
            f"{(after - before) / len(sockets):.1f} KiB per socket",
            flush=True,
        )
        ticks = cpu_ticks(pid)
        await asyncio.sleep(idle_seconds)
        idle_cpu = (cpu_ticks(pid) - ticks) / TICKS / idle_seconds
        print(f"idle {idle_seconds:.0f} s: API {idle_cpu:.1%} of a core", flush=True)

        chosen = sockets[:messages]
        ids = [f"m-{i}" for i in range(len(chosen))]
        first = time.monotonic()
        sent_at = {}
        for socket, client_id in zip(chosen, ids, strict=True):
            sent_at[client_id] = time.monotonic()
            await socket.connection.send(
                json.dumps({"type": "message", "text": "hello", "client_id": client_id})
            )
        deadline = first + 30
        while time.monotonic() < deadline:
            if all(c in s.arrived for s, c in zip(chosen, ids, strict=True)):
                break
            await asyncio.sleep(0.01)
        got = [s.arrived[c] for s, c in zip(chosen, ids, strict=True) if c in s.arrived]
        latencies = sorted(
            (s.arrived[c] - sent_at[c]) * 1000
            for s, c in zip(chosen, ids, strict=True)
            if c in s.arrived
        )
        print(
            f"{len(got)}/{len(chosen)} messages back on their sockets; all within "
            f"{(max(got) - first) * 1000:.0f} ms of the first send "
            f"(sending took {(max(sent_at.values()) - first) * 1000:.0f} ms); per message "
            f"p50 {statistics.median(latencies):.0f} ms, max {latencies[-1]:.0f} ms",
            flush=True,
        )
        for socket in sockets:
            socket.task.cancel()
        await asyncio.gather(*(s.connection.close() for s in sockets), return_exceptions=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", default="mariadb", choices=["sqlite", "mariadb"])
    parser.add_argument("--sockets", type=int, default=10_000)
    parser.add_argument("--messages", type=int, default=1_000)
    parser.add_argument("--idle-seconds", type=float, default=30.0)
    parser.add_argument("--parallel", type=int, default=200, help="connects in flight")
    args = parser.parse_args()
    asyncio.run(bench(args.db, args.sockets, args.messages, args.idle_seconds, args.parallel))


if __name__ == "__main__":
    main()
