"""Soak: two API processes behind Redis, 500 user+agent msg/s over 200 rooms for N minutes,
rooms moving through their lifecycle, Redis killed and started again in the middle.

    .venv/bin/python bench/soak.py --minutes 10

Each room cycles as real chats do: its user asks the offline AI questions (the AI replies
stream; a user waits for the answer, or 5 s, before the next one), asks for a person
(handoff), waits (the AI answers while waiting), an agent joins from the queue (four agents,
two consoles on each process, the one with the fewest chats), user and agent talk, then the
agent leaves (the AI takes over again) or, one time in five, closes the chat and a new room
takes its place. Messages are spread over the rooms that take one (3 in 10 from the agent in
a held room). A transition waits until the room's messages are answered, as a person waits
for the tick. Transitions pause from Redis's kill until every socket has caught up.

Clients behave as real ones: dedupe by seq, reconnect to the other process and resume after a
close, resend what was not acknowledged; an `error` frame answers the oldest message in flight
on its socket. Printed: each process's RSS and CPU per minute; the longest catch-up after
Redis's return (until every socket had every message of its rooms stored before it came back;
at most 10 s, the issue's bound); at the end: errors (error frames, unexpected HTTP statuses,
and what the API processes logged beyond the expected broker-outage lines), messages lost (sent
and never answered; a socket behind the database on a room it follows; a console stint (join →
leave) missing a message), every room gapless in the database and each client_id stored once,
and whether RSS is flat (every sample from minute 2 on within ±10 % of minute 2's). Exit status
0 only if all hold.

MariaDB: a scratch database on the shared server (dropped afterwards); Redis: a private
redis-server on a free port. Only 127.0.0.1 is contacted; the run stops by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
import websockets

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from api.auth import hash_password  # noqa: E402
from bench.relay import PrivateRedis, api_server, database  # noqa: E402
from db import queries  # noqa: E402
from db.engine import Database  # noqa: E402
from db.tables import agents_t, rooms_t  # noqa: E402

CAUGHT_UP_SECONDS = 60.0
"""How long a console or the final check waits for a socket to catch up before counting a loss."""
RETRIES_503 = 10
"""Attempts at a transition answered 503 before the room's lifecycle gives up."""
CATCH_UP_LIMIT = 10.0
"""The issue's bound: every socket has every message within this long of Redis's return."""


QUESTIONS = (
    "How do I reset my password?",
    "Where is my parcel?",
    "Can I change my delivery address?",
    "How long does a refund take?",
    "Do you ship abroad?",
)


class Client:
    """One socket as a real client keeps it: dedupe by seq, reorder what runs ahead of a
    resume, reconnect to the next process and resume, resend what was not acknowledged.
    A console follows the rooms its agent holds (`last`): added at a join, dropped at a leave."""

    def __init__(self, bases: list[str], path: str, rooms: dict[str, int], console: bool) -> None:
        self.bases = bases
        self.path = path
        self.console = console
        self.last = dict(rooms)
        self.ahead: dict[str, set[int]] = {room_id: set() for room_id in rooms}
        self.since: dict[str, float] = {}
        """Console: when each room was joined (a gap just after a join is the resume's)."""
        self.pending: dict[str, str] = {}
        self.inflight: list[str] = []
        """Client ids sent on this connection and not answered yet, in order: an `error` frame
        answers the oldest (a socket acknowledges in the order sent)."""
        self.rejected: list[tuple[float, str, str, str]] = []
        """(time, code, room, client_id) of every message answered with an error."""
        self.ws: Any = None
        self.connections = 0
        self.closes: list[int | None] = []
        self.disorder = 0
        self.errors: dict[str, int] = {}
        self.ai_at = 0.0
        """User socket: when the last AI message arrived."""
        self.ai_messages = 0
        self.ai_deltas = 0
        self.status = ""
        self.left = False
        """User socket: its chat closed and the user left the page (the socket stays shut)."""

    async def run(self) -> None:
        index = 0
        while not self.left:
            try:
                url = self.bases[index % len(self.bases)] + self.path
                async with websockets.connect(url, open_timeout=60, max_queue=None) as ws:
                    await ws.recv()
                    self.inflight = []
                    if self.connections:
                        for room_id, after in list(self.last.items()):
                            await ws.send(json.dumps(self._frame("resume", room_id, after=after)))
                    for client_id, room_id in list(self.pending.items()):  # sent while away
                        self.inflight.append(client_id)
                        await ws.send(json.dumps(self._message(room_id, client_id)))
                    self.connections += 1
                    self.ws = ws
                    async for raw in ws:
                        self._on_frame(json.loads(raw))
                    if not self.left:
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
        if self.console:
            text = f"Agent here, looking into it ({client_id})"
        else:
            text = f"{QUESTIONS[int(client_id[:4], 16) % len(QUESTIONS)]} (ref {client_id})"
        return self._frame("message", room_id, text=text, client_id=client_id)

    async def send(self, room_id: str) -> None:
        client_id = f"{uuid.uuid4().hex[:10]}"
        self.pending[client_id] = room_id
        if self.ws is not None:
            self.inflight.append(client_id)
            with contextlib.suppress(websockets.ConnectionClosed):
                await self.ws.send(json.dumps(self._message(room_id, client_id)))

    async def follow(self, room_id: str, after: int) -> None:
        """A console starts following a room its agent just joined: resume it after `after`."""
        self.last[room_id] = after
        self.ahead[room_id] = set()
        self.since[room_id] = time.monotonic()
        if self.ws is not None:
            with contextlib.suppress(websockets.ConnectionClosed):
                await self.ws.send(json.dumps(self._frame("resume", room_id, after=after)))

    async def leave(self) -> None:
        """The user closes the page: no reconnect. Without it every closed chat's socket
        would stay open for the rest of the run, and RSS would grow with them."""
        self.left = True
        if self.ws is not None:
            await self.ws.close()

    def unfollow(self, room_id: str) -> None:
        self.last.pop(room_id, None)
        self.ahead.pop(room_id, None)
        self.since.pop(room_id, None)

    def pending_in(self, room_id: str) -> int:
        return sum(room == room_id for room in self.pending.values())

    def _on_frame(self, frame: dict[str, Any]) -> None:
        kind = frame["type"]
        if kind == "error":
            code = frame.get("code", "?")
            self.errors[code] = self.errors.get(code, 0) + 1
            if self.inflight:
                client_id = self.inflight.pop(0)
                room_id = self.pending.pop(client_id, "?")
                self.rejected.append((time.monotonic(), code, room_id, client_id))
            return
        if kind == "ai.delta":
            self.ai_deltas += 1
            return
        if kind == "room" and not self.console:
            self.status = frame["room"]["status"]
            return
        if kind != "message":
            return
        message = frame["message"]
        room_id, seq = message["room_id"], message["seq"]
        client_id = message.get("client_id")
        if client_id and self.pending.pop(client_id, None) is not None:
            with contextlib.suppress(ValueError):
                self.inflight.remove(client_id)
        last = self.last.get(room_id)
        if last is None or seq <= last:
            return
        if message["sender"] == "ai" and not self.console:
            self.ai_messages += 1
            self.ai_at = time.monotonic()
        if seq > last + 1:
            settled = time.monotonic() - self.since.get(room_id, 0.0) > 2.0
            if self.connections == 1 and settled:
                self.disorder += 1  # a frame ahead of a gap, without a resume to explain it
            self.ahead[room_id].add(seq)
            return
        while last + 1 <= seq or last + 1 in self.ahead[room_id]:
            last += 1
        self.last[room_id] = last


async def reached(client: Client, room_id: str, seq: int) -> bool:
    """Whether `client` had every message of the room up to `seq` within CAUGHT_UP_SECONDS."""
    deadline = time.monotonic() + CAUGHT_UP_SECONDS
    while client.last.get(room_id, 0) < seq:
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.1)
    return True


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


AGENTS = 4
"""Two per process; each may hold up to 50 chats (the default 3 would refuse most joins)."""


async def prepare(db: Database, base: str) -> list[str]:
    """AGENTS agents allowed 50 chats each: their tokens."""
    run = uuid.uuid4().hex[:6]
    async with db.write() as session:
        for i in range(AGENTS):
            await queries.create_agent(
                session,
                email=f"soak{i}-{run}@bench.local",
                name=f"Agent {i}",
                role="agent",
                password_hash=hash_password("soak-pass-1"),
            )
        await session.execute(
            sa.update(agents_t).where(agents_t.c.email.like(f"soak%-{run}@bench.local"))
            .values(max_chats=50)
        )  # fmt: skip
    tokens = []
    async with httpx.AsyncClient(base_url=base, timeout=60) as http:
        for i in range(AGENTS):
            login = await http.post(
                "/api/auth/token",
                data={"username": f"soak{i}-{run}@bench.local", "password": "soak-pass-1"},
            )
            tokens.append(login.json()["access_token"])
    return tokens


class Slot:
    """One of the `rooms` chats running at any time; a closed chat is replaced by a new one."""

    def __init__(self, room_id: str, token: str, user: Client, base: str) -> None:
        self.room_id = room_id
        self.token = token
        self.user = user
        self.base = base
        self.status = "ai"
        self.agent: int | None = None
        self.busy = False
        self.asked_at = 0.0

    def ready(self, now: float) -> bool:
        """Whether the room takes a message now. A user talking to the AI waits for its answer
        (or 5 s) and reads it for a second, as a person does; with an agent they just type."""
        if self.busy or self.status == "closed":
            return False
        if self.status == "agent" or not self.asked_at:
            return True
        answered = self.user.ai_at > self.asked_at and now - self.user.ai_at > 1.0
        return answered or now - self.asked_at > 5.0


class Run:
    """The load: rooms moving through ai → waiting → agent → ai (or closed, and a new room),
    messages spread over the rooms that take one, counters of everything unexpected."""

    def __init__(self, bases: list[str], tokens: list[str], rooms: int, rng: random.Random) -> None:
        self.bases = bases
        self.ws = [b.replace("http://", "ws://") for b in bases]
        self.tokens = tokens
        self.rooms = rooms
        self.rng = rng
        self.consoles = [
            Client(self.ws[i % 2 :] + self.ws[: i % 2], f"/ws/agent?token={tokens[i]}", {}, True)
            for i in range(AGENTS)
        ]
        self.slots: list[Slot] = []
        self.users: list[Client] = []
        self.tasks: list[asyncio.Task[None]] = []
        """The sockets."""
        self.cycles: list[asyncio.Task[None]] = []
        """The rooms' lifecycles."""
        self.http = httpx.AsyncClient(timeout=60)
        self.unexpected: dict[str, int] = {}
        self.counts: dict[str, int] = {
            "rooms": 0, "handoffs": 0, "joins": 0, "leaves": 0, "closes": 0, "full": 0,
            "user": 0, "agent": 0, "stints": 0, "stint gaps": 0, "settle timeouts": 0,
            "user gaps": 0,
        }  # fmt: skip
        self.thaw = asyncio.Event()
        self.thaw.set()
        self.history: dict[str, list[tuple[float, str]]] = {}
        """Room → (time, transition) as this load generator made them: to explain a rejection."""
        self.turn = 0

    @property
    def clients(self) -> list[Client]:
        return self.users + self.consoles

    def note(self, what: str, response: httpx.Response) -> None:
        key = f"{what} {response.status_code}"
        self.unexpected[key] = self.unexpected.get(key, 0) + 1
        if self.unexpected[key] <= 3:
            print(f"unexpected: {key} {response.text[:200]}", flush=True)

    async def post(self, url: str, what: str, **kwargs: Any) -> httpx.Response:
        """POST as a client does: a 503 (database unavailable) is counted as unexpected, then
        retried after its Retry-After, so the room's lifecycle goes on instead of stopping."""
        for _ in range(RETRIES_503 - 1):
            response = await self.http.post(url, **kwargs)
            if response.status_code != 503:
                return response
            self.note(what, response)
            await asyncio.sleep(float(response.headers.get("Retry-After", "1")))
        return await self.http.post(url, **kwargs)  # the caller notes what this one answers

    async def start(self) -> None:
        self.tasks += [asyncio.create_task(c.run()) for c in self.consoles]
        await asyncio.gather(*(self.open_room(i) for i in range(self.rooms)))

    async def open_room(self, i: int) -> None:
        """A new chat for slot i: its user on one process (alternating), then its lifecycle."""
        base = self.bases[i % 2]
        created = await self.post(f"{base}/api/rooms", "create")
        if created.status_code != 201:
            self.note("create", created)
            return
        body = created.json()
        room_id, token = body["room"]["id"], body["token"]
        ws = self.ws[i % 2 :] + self.ws[: i % 2]
        user = Client(ws, f"/ws/rooms/{room_id}?token={token}", {room_id: 0}, False)
        self.users.append(user)
        self.tasks.append(asyncio.create_task(user.run()))
        slot = Slot(room_id, token, user, base)
        if i < len(self.slots):
            self.slots[i] = slot
        else:
            self.slots.append(slot)
        self.counts["rooms"] += 1
        self.cycles.append(asyncio.create_task(self.lifecycle(i, slot)))

    async def send(self, count: int) -> int:
        """Up to `count` messages over the rooms that take one, round robin: the user's, or in
        a held room 3 in 10 the agent's. Returns how many went."""
        sent = 0
        now = time.monotonic()
        for _ in range(len(self.slots)):
            if sent == count:
                break
            self.turn += 1
            slot = self.slots[self.turn % len(self.slots)]
            if not slot.ready(now):
                continue
            if slot.status == "agent" and slot.agent is not None and self.turn % 10 < 3:
                await self.consoles[slot.agent].send(slot.room_id)
                self.counts["agent"] += 1
            else:
                await slot.user.send(slot.room_id)
                self.counts["user"] += 1
                if slot.status != "agent":
                    slot.asked_at = now
            sent += 1
        return sent

    async def settle(self, slot: Slot) -> None:
        """Before a transition: wait (bounded) until the room's sent messages are acknowledged,
        so no message of the old state crosses the new one (a real user waits for the tick)."""
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            pending = slot.user.pending_in(slot.room_id)
            if slot.agent is not None:
                pending += self.consoles[slot.agent].pending_in(slot.room_id)
            if not pending:
                return
            await asyncio.sleep(0.05)
        self.counts["settle timeouts"] += 1

    async def transition(self, slot: Slot, what: str) -> httpx.Response | None:
        await self.thaw.wait()
        slot.busy = True
        try:
            await self.settle(slot)
            url = f"{slot.base}/api/rooms/{slot.room_id}/{what}"
            if what in ("leave", "close") and slot.agent is not None:
                agent = slot.agent
                url = f"{self.bases[agent % 2]}/api/rooms/{slot.room_id}/{what}"
                response = await self.post(url, what, headers=self.bearer(agent))
            else:
                response = await self.post(
                    url, what, headers={"Authorization": f"Bearer {slot.token}"}
                )
            if response.status_code != 200:
                self.note(what, response)
                return None
            # The new state before the room takes messages again: nothing is sent to a room
            # its agent just left or closed.
            slot.status = response.json()["status"]
            self.history.setdefault(slot.room_id, []).append((time.monotonic(), what))
            if what in ("leave", "close"):
                slot.agent = None
                slot.asked_at = 0.0
            return response
        finally:
            slot.busy = False

    def bearer(self, agent: int) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[agent]}"}

    async def lifecycle(self, i: int, slot: Slot) -> None:
        """ai (user and AI) → handoff → waiting → an agent joins from the queue → agent (user
        and agent) → leave (back to the AI) or, one time in five, close and a new room."""
        rng = self.rng
        await asyncio.sleep(rng.uniform(0, 10))
        while True:
            await asyncio.sleep(rng.uniform(6, 15))
            handed = await self.transition(slot, "handoff")
            if handed is None:
                return
            if slot.status != "waiting":
                self.note("handoff not waiting", handed)
                return
            self.counts["handoffs"] += 1
            await asyncio.sleep(rng.uniform(1, 4))
            if not await self.join(slot):
                return
            await asyncio.sleep(rng.uniform(15, 35))
            closing = rng.random() < 0.2
            agent = slot.agent
            assert agent is not None
            left = await self.transition(slot, "close" if closing else "leave")
            if left is None:
                return
            last_seq = left.json()["last_seq"]
            await self.end_stint(slot, agent, last_seq)
            if closing:
                await self.user_leaves(slot, last_seq)
                self.counts["closes"] += 1
                await self.open_room(i)
                return
            self.counts["leaves"] += 1

    async def join(self, slot: Slot) -> bool:
        """The agent with the fewest chats joins (on its own process); a full one is skipped."""
        await self.thaw.wait()
        slot.busy = True
        try:
            await self.settle(slot)
            order = sorted(range(AGENTS), key=lambda a: len(self.consoles[a].last))
            for agent in order:
                response = await self.post(
                    f"{self.bases[agent % 2]}/api/rooms/{slot.room_id}/join",
                    "join",
                    headers=self.bearer(agent),
                )
                if response.status_code == 409 and response.json().get("code") == "agent_full":
                    self.counts["full"] += 1
                    continue
                if response.status_code != 200:
                    self.note("join", response)
                    return False
                await self.consoles[agent].follow(slot.room_id, response.json()["last_seq"])
                self.history.setdefault(slot.room_id, []).append((time.monotonic(), "join"))
                slot.agent, slot.status = agent, "agent"
                self.counts["joins"] += 1
                self.counts["stints"] += 1
                return True
            return False
        finally:
            slot.busy = False

    async def end_stint(self, slot: Slot, agent: int, last_seq: int) -> None:
        """The console must have had every message of the stint (all before the leave's
        notice, seq `last_seq`) within CAUGHT_UP_SECONDS; then it stops following the room."""
        console = self.consoles[agent]
        if not await reached(console, slot.room_id, last_seq - 1):
            self.counts["stint gaps"] += 1
            print(
                f"stint gap: room {slot.room_id[:8]} console {agent} at "
                f"{console.last.get(slot.room_id)} of {last_seq - 1}",
                flush=True,
            )
        console.unfollow(slot.room_id)

    async def user_leaves(self, slot: Slot, last_seq: int) -> None:
        """The user of a closed chat reads it to its closing notice (seq `last_seq`) within
        CAUGHT_UP_SECONDS, then leaves the page."""
        if not await reached(slot.user, slot.room_id, last_seq):
            self.counts["user gaps"] += 1
            print(f"user gap: room {slot.room_id[:8]} at {slot.user.last.get(slot.room_id)}")
        await slot.user.leave()

    async def stop_cycles(self) -> None:
        for task in self.cycles:
            task.cancel()
        await asyncio.gather(*self.cycles, return_exceptions=True)

    async def stop(self) -> None:
        await self.stop_cycles()
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        await self.http.aclose()


async def soak(minutes: float, rate: int, rooms: int) -> bool:
    redis = PrivateRedis()
    redis.start()
    secret = "soak-secret-" + uuid.uuid4().hex
    redis_url = f"redis://127.0.0.1:{redis.port}/0"
    logs = Path(tempfile.mkdtemp(prefix="soak-"))
    ok = False
    try:
        async with (
            database("mariadb") as url,
            api_server(url, secret, redis_url=redis_url, log=logs / "a.log", deflate=True) as (
                base_a,
                pid_a,
            ),
            api_server(url, secret, redis_url=redis_url, log=logs / "b.log", deflate=True) as (
                base_b,
                pid_b,
            ),
        ):
            db = Database(url)
            try:
                ok = await drive(db, [base_a, base_b], [pid_a, pid_b], redis, minutes, rate, rooms)
            finally:
                await db.dispose()
    finally:
        redis.kill()
    return server_log(logs) and ok


def server_log(logs: Path) -> bool:
    """What the API processes logged (their stderr), headlines counted. Expected: the broker
    outage (`Redis ...`, `publishing ... failed`, `could not publish`) and the drain at the
    end; anything else is an error."""
    expected = (
        "Redis pub/sub",
        "publishing ",
        "could not publish",
        "could not subscribe",  # a socket opened during the outage: closed 1013, it retries
        "SIGTERM: draining",
    )
    counts: dict[str, int] = {}
    for name in ("a.log", "b.log"):
        in_traceback = False
        for line in (logs / name).read_text(errors="replace").splitlines():
            # A traceback (chained ones included) belongs to the headline logged before it.
            if line.startswith(("Traceback", "During handling", "The above exception")):
                in_traceback = True
                continue
            if not line or line[0].isspace():
                continue
            if in_traceback:  # the exception line that ends a traceback
                in_traceback = False
                continue
            key = " ".join(line.split()[:4])
            counts[key] = counts.get(key, 0) + 1
    bad = {k: n for k, n in counts.items() if not k.startswith(expected) and "alembic" not in k}
    print(
        f"API logs ({logs}): expected {sum(counts.values()) - sum(bad.values())} lines; "
        f"errors {bad or 0}"
    )
    return not bad


async def drive(
    db: Database,
    bases: list[str],
    pids: list[int],
    redis: PrivateRedis,
    minutes: float,
    rate: int,
    rooms: int,
) -> bool:
    tokens = await prepare(db, bases[0])
    run = Run(bases, tokens, rooms, random.Random(7))
    try:
        await run.start()
        deadline = time.monotonic() + 120
        while any(c.connections == 0 for c in run.clients):
            assert time.monotonic() < deadline, "the clients did not all connect"
            await asyncio.sleep(0.1)
        return await load(db, run, pids, redis, minutes, rate)
    finally:
        await run.stop()


def tally(run: Run) -> str:
    c = run.counts
    errors = sum(sum(client.errors.values()) for client in run.clients)
    return (
        f"{c['user'] + c['agent']:>8} {c['handoffs']:>5} {c['joins']:>5} {c['leaves']:>5} "
        f"{c['closes']:>5} {sum(u.ai_messages for u in run.users):>6} "
        f"{errors + sum(run.unexpected.values()):>6} {sum(len(x.closes) for x in run.clients):>6}"
    )


async def load(
    db: Database, run: Run, pids: list[int], redis: PrivateRedis, minutes: float, rate: int
) -> bool:
    print(
        f"soak: {run.rooms} rooms cycling ai → waiting → agent → ai/closed, {rate} user+agent "
        f"msg/s, {minutes:g} min, 2 API processes, {AGENTS} agents, Redis restart mid-run"
    )
    print(
        "minute  RSS A MiB  RSS B MiB     sent  hand- joins  lea-  clo- AI re- errors closes"
        "  CPU A  CPU B  CPU gen\n"
        "                                       offs        ves   ses  plies"
    )
    watched = [*pids, os.getpid()]
    cpu = [cpu_seconds(pid) for pid in watched]
    rss: list[tuple[float, float]] = [(rss_mib(pids[0]), rss_mib(pids[1]))]
    print(f"{0:>6}  {rss[0][0]:>9.1f}  {rss[0][1]:>9.1f}  {tally(run)}")
    started = time.monotonic()
    total = minutes * 60
    sent = 0
    restart_at, restarted, catch_up = total / 2, False, None
    next_minute = 60.0
    while (elapsed := time.monotonic() - started) < total:
        due = int(rate * elapsed) - sent
        if due > 0:
            sent += await run.send(min(due, rate))
        if not restarted and elapsed >= restart_at:
            restarted = True
            run.thaw.clear()  # no transitions from the kill until every socket caught up
            await asyncio.to_thread(redis.kill)
            await asyncio.sleep(2.0)
            await asyncio.to_thread(redis.start)
            catch_up = asyncio.create_task(longest_catch_up(db, run))
        if elapsed >= next_minute:
            rss.append((rss_mib(pids[0]), rss_mib(pids[1])))
            now_cpu = [cpu_seconds(pid) for pid in watched]
            shares = "".join(f" {(b - a) / 60:>5.0%} " for a, b in zip(cpu, now_cpu, strict=True))
            cpu = now_cpu
            print(
                f"{int(next_minute // 60):>6}  {rss[-1][0]:>9.1f}  {rss[-1][1]:>9.1f}  "
                f"{tally(run)}{shares}",
                flush=True,
            )
            next_minute += 60
        await asyncio.sleep(0.01)
    rss.append((rss_mib(pids[0]), rss_mib(pids[1])))
    print(f"{'end':>6}  {rss[-1][0]:>9.1f}  {rss[-1][1]:>9.1f}  {tally(run)}")
    longest = await catch_up if catch_up is not None else None
    await run.stop_cycles()
    ok = await final_check(db, run, sent, total)
    if longest is not None:
        print(f"longest catch-up after Redis's return: {longest:.2f} s")
    flat = rss_flat(rss)
    caught_up = longest is not None and longest <= CATCH_UP_LIMIT
    print(f"caught up within {CATCH_UP_LIMIT:g} s of Redis's return: {caught_up}")
    return ok and flat and caught_up


def rss_flat(rss: list[tuple[float, float]]) -> bool:
    """Flat: from minute 2 (minute 1 in a shorter run; minute 0 is before the load) to the
    end, no sample of a process more than 10 % above or below its first one."""
    first = 2 if len(rss) > 3 else 1
    flat = True
    for name, samples in zip("AB", zip(*rss[first:], strict=True), strict=True):
        low, high = min(samples) / samples[0] - 1, max(samples) / samples[0] - 1
        end = samples[-1] / samples[0] - 1
        flat = flat and low >= -0.10 and high <= 0.10
        print(
            f"RSS {name} from minute {first} to the end: {end:+.1%} (range {low:+.1%} to "
            f"{high:+.1%})"
        )
    print(f"RSS flat within 10 %: {flat}")
    return flat


async def longest_catch_up(db: Database, run: Run) -> float:
    """Seconds from Redis's return until every socket had every message of its rooms that was
    stored by then (inf past CAUGHT_UP_SECONDS). Transitions, paused since the kill, resume
    then."""
    try:
        return await _catch_up(db, run)
    finally:
        run.thaw.set()


async def _catch_up(db: Database, run: Run) -> float:
    back = time.monotonic()
    wanted = await heads(db)
    reported = 0.0
    clients = run.clients
    while any(seq < wanted.get(room_id, 0) for c in clients for room_id, seq in c.last.items()):
        if time.monotonic() - back > CAUGHT_UP_SECONDS:
            return float("inf")
        if time.monotonic() - back > reported + 5:
            reported += 5
            lagging = [
                (c.console, room_id[:6], seq, wanted[room_id])
                for c in clients
                for room_id, seq in c.last.items()
                if seq < wanted.get(room_id, 0)
            ]
            print(f"{reported:.0f} s after: {len(lagging)} behind, e.g. {lagging[:3]}", flush=True)
        await asyncio.sleep(0.05)
    return time.monotonic() - back


async def final_check(db: Database, run: Run, sent: int, seconds: float) -> bool:
    """Lost: a message sent and never acknowledged, a seq gap or repeat in the database, a
    socket that ends behind the database on a room it follows, a stint the console missed."""
    clients = run.clients
    async with db.session() as session:
        held = {
            (row.id, row.agent_id)
            for row in await session.execute(
                sa.select(rooms_t.c.id, rooms_t.c.agent_id).where(rooms_t.c.status == "agent")
            )
        }
        ids = (await session.execute(sa.select(agents_t.c.id, agents_t.c.email))).all()
    agent_ids = {row.email.split("-")[0]: row.id for row in ids if row.email.startswith("soak")}
    for n, console in enumerate(run.consoles):
        for room_id in list(console.last):  # a leave cut short by the end of the run
            if (room_id, agent_ids[f"soak{n}"]) not in held:
                console.unfollow(room_id)
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
                sa.text(
                    "SELECT room_id, seq, client_id, sender FROM messages ORDER BY room_id, seq"
                )
            )
        ).all()
    by_room: dict[str, list[int]] = {}
    client_ids = [row.client_id for row in rows if row.client_id is not None]
    senders: dict[str, int] = {}
    for row in rows:
        by_room.setdefault(row.room_id, []).append(row.seq)
        senders[row.sender] = senders.get(row.sender, 0) + 1
    gapless = all(seqs == list(range(1, len(seqs) + 1)) for seqs in by_room.values())
    once = len(client_ids) == len(set(client_ids))
    disorder = sum(c.disorder for c in clients)
    frames: dict[str, int] = {}
    for c in clients:
        for code, n in c.errors.items():
            frames[code] = frames.get(code, 0) + n
    k = run.counts
    print(
        f"sent {sent} ({sent / seconds:.0f}/s: users {k['user']}, agents {k['agent']}); rooms "
        f"{k['rooms']}, handoffs {k['handoffs']}, joins {k['joins']} (agent_full skipped "
        f"{k['full']}), leaves {k['leaves']}, closes {k['closes']}"
    )
    print(
        f"stored by sender {dict(sorted(senders.items()))}; AI replies received on user sockets "
        f"{sum(u.ai_messages for u in run.users)} ({sum(u.ai_deltas for u in run.users)} "
        "ai.delta frames)"
    )
    print(
        f"stored with a client_id {len(client_ids)}, never acknowledged {pending}, sockets "
        f"behind the database {behind}, out of order {disorder}, console stints "
        f"{k['stints']} of which incomplete {k['stint gaps']}, closed chats whose user did not "
        f"get the closing notice {k['user gaps']}"
    )
    print(f"errors: frames {frames or 0}, unexpected HTTP {run.unexpected or 0}")
    rejected = sorted(r for client in clients for r in client.rejected)
    print(
        f"  rooms with a rejection {len({r[2] for r in rejected})}; transitions made with "
        f"messages still unanswered after 30 s: {k['settle timeouts']}"
    )
    for client in clients:
        for client_id, room_id in list(client.pending.items())[:2]:
            steps = [what for _, what in run.history.get(room_id, [])]
            print(
                f"  unanswered {client_id} in room {room_id[:8]} (console {client.console}, "
                f"{client.connections} connections, {len(client.inflight)} in flight); {steps}"
            )
    for at, code, room_id, client_id in rejected[:5]:
        story = [(round(t - at, 2), what) for t, what in run.history.get(room_id, [])]
        print(f"  rejected {code}: {client_id} in room {room_id[:8]}; transitions (s) {story}")
    print(f"database: seqs gapless {gapless}, each client_id once {once}")
    rejected_ids = {r[3] for client in clients for r in client.rejected}
    stored_ids = set(client_ids)
    print(
        f"answered with an error {len(rejected_ids)}, of which stored all the same "
        f"{len(rejected_ids & stored_ids)}; sent - stored - rejected unstored = "
        f"{sent - len(stored_ids) - len(rejected_ids - stored_ids)}"
    )
    lost = pending + behind + k["stint gaps"] + k["user gaps"]
    print(f"messages lost: {lost}")
    return gapless and once and not lost and not disorder and not frames and not run.unexpected


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
