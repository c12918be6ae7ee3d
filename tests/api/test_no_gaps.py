"""No gaps, ever: a live socket gets every message of its rooms, in seq order, through lost
publishes and broker outages (real MariaDB, a private Redis killed and restarted for real)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import sqlalchemy as sa
import websockets
from websockets.asyncio.client import ClientConnection

from api.frames import message_frame
from api.realtime.backstop import CHECK_SECONDS
from api.realtime.cursor import Cursor, message_position
from db.models import MessagePublic, Sender
from db.room_log import MessageDraft
from tests.api.test_ws import next_frame, of_type
from tests.conftest import LiveServer, auth, free_port, make_settings, port_open, start_server

CATCH_UP_TIMEOUT = 20.0
"""Generous on a shared 2-core machine: the backstop runs every 5 s, a catch-up takes ms."""
BACK_IN = 10.0
"""Every socket has every message this long after the broker is back (the issue's bound)."""


def test_message_position_reads_seq_and_room_without_being_fooled_by_the_text() -> None:
    text = 'a ,"seq":99,"room_id":"evil" \\",\\"seq\\":7'
    frame = (
        '{"type":"message","message":{"text":' + json.dumps(text) + ',"client_id":null,'
        '"seq":12,"room_id":"abc","sender":"user","author":"x","created_at":"t"}}'
    )
    assert message_position(frame) == ("abc", 12)
    assert message_position('{"type":"room","room":{}}') is None


@contextlib.contextmanager
def private_redis(port: int) -> Iterator[subprocess.Popen[bytes]]:
    """A redis-server of our own (never the shared one), killed at the end."""
    process = subprocess.Popen(
        ["redis-server", "--port", str(port), "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 10
        while not port_open(port):
            assert time.monotonic() < deadline, "private redis-server did not start"
            time.sleep(0.05)
        yield process
    finally:
        process.kill()
        process.wait(timeout=10)


class Collector:
    """Every message frame a socket receives, in order, read in the background."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.seqs: dict[str, list[int]] = {}
        self._task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        with contextlib.suppress(websockets.ConnectionClosed):
            async for raw in self.ws:
                frame: dict[str, Any] = json.loads(raw)
                if frame["type"] == "message":
                    message = frame["message"]
                    self.seqs.setdefault(message["room_id"], []).append(message["seq"])

    async def until(self, room_id: str, expected: list[int], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while self.seqs.get(room_id, []) != expected:
            got = self.seqs.get(room_id, [])
            assert got == expected[: len(got)], f"out of order or repeated: {got}"
            assert time.monotonic() < deadline, f"{room_id}: got {got}, want {expected}"
            await asyncio.sleep(0.05)

    async def close(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


@contextlib.asynccontextmanager
async def collecting(url: str, first: str) -> AsyncIterator[Collector]:
    async with websockets.connect(url) as ws:
        await next_frame(ws, of_type(first))
        collector = Collector(ws)
        try:
            yield collector
        finally:
            await collector.close()


async def post(server: LiveServer, room_id: str, token: str, text: str) -> int:
    response = await server.http.post(
        f"/api/rooms/{room_id}/messages", json={"text": text}, headers=auth(token)
    )
    assert response.status_code == 201, response.text
    return int(response.json()["seq"])


@pytest.mark.mariadb
@pytest.mark.redis
async def test_sockets_on_two_processes_get_every_message_through_a_redis_outage(
    mariadb_url: str,
) -> None:
    port = free_port()
    with private_redis(port) as redis:
        # Rate limits at their defaults: counted in this Redis, they stop metering while it is
        # down instead of failing the sends.
        settings = make_settings(mariadb_url, redis_url=f"redis://127.0.0.1:{port}/0")
        async for one in start_server(settings):
            async for two in start_server(settings):
                _, agent_token = await two.add_agent("Alice")
                room_id, token = await one.new_room()
                joined = await two.http.post(
                    f"/api/rooms/{room_id}/join", headers=auth(agent_token)
                )
                assert joined.json()["status"] == "agent"
                seq = joined.json()["last_seq"]
                room_url = f"/ws/rooms/{room_id}?token={token}"
                async with (
                    collecting(f"{two.ws_url}/ws/agent?token={agent_token}", "queue") as console,
                    collecting(f"{one.ws_url}{room_url}", "room") as user_one,
                    collecting(f"{two.ws_url}{room_url}", "room") as user_two,
                ):
                    sockets = (console, user_one, user_two)
                    seq = await post(one, room_id, token, "before the outage")
                    for socket in sockets:
                        await socket.until(room_id, [seq], CATCH_UP_TIMEOUT)

                    redis.send_signal(signal.SIGKILL)
                    redis.wait(timeout=10)
                    # Stored is success: every publish fails, every sender still gets 201.
                    during = [await post(one, room_id, token, f"during {n}") for n in range(5)]
                    assert during == list(range(seq + 1, seq + 6))
                    # The backstop delivers them with the broker still down.
                    for socket in sockets:
                        await socket.until(room_id, list(range(seq, seq + 6)), CATCH_UP_TIMEOUT)

                    with private_redis(port):
                        returned = time.monotonic()
                        after = [await post(two, room_id, token, f"after {n}") for n in range(3)]
                        assert after == list(range(seq + 6, seq + 9))
                        want = list(range(seq, seq + 9))
                        for socket in sockets:
                            left = BACK_IN - (time.monotonic() - returned)
                            await socket.until(room_id, want, max(left, 0.1))


async def test_agent_socket_resumes_a_room_and_dedupes_live_frames(
    sqlite_server: LiveServer,
) -> None:
    server = sqlite_server
    _, agent_token = await server.add_agent("Alice")
    room_id, token = await server.new_room()
    await server.http.post(f"/api/rooms/{room_id}/join", headers=auth(agent_token))
    for n in range(3):
        await post(server, room_id, token, f"m{n}")  # seqs 2, 3, 4 (1: the join notice)
    async with websockets.connect(f"{server.ws_url}/ws/agent?token={agent_token}") as console:
        await next_frame(console, of_type("queue"))
        await console.send(json.dumps({"type": "resume", "room_id": room_id, "after": 1}))
        got = [(await next_frame(console, of_type("message")))["message"]["seq"] for _ in range(3)]
        assert got == [2, 3, 4]
        await post(server, room_id, token, "live")
        live = await next_frame(console, of_type("message"))
        assert live["message"]["seq"] == 5
        await console.send(json.dumps({"type": "resume", "room_id": "nope", "after": 0}))
        error = await next_frame(console, of_type("error"))
        assert error["code"] == "not_found"
        await console.send(json.dumps({"type": "resume", "room_id": room_id, "after": -1}))
        assert (await next_frame(console, of_type("error")))["code"] == "bad_frame"


@pytest.mark.rate_limits_off
async def test_one_backstop_per_process_catches_every_socket_up_with_one_read_per_round(
    server: LiveServer,
) -> None:
    """A message stored but never published (its publish lost) still reaches every socket;
    the process reads last_seq for all its sockets' rooms in one query per round, not one
    query per socket."""
    rooms = [await server.new_room() for _ in range(6)]
    reads: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if "rooms.last_seq" in statement and "rooms.agent_id" in statement:
            reads.append(statement)

    engine = server.tandem.db.engine.sync_engine
    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        async with contextlib.AsyncExitStack() as stack:
            sockets: list[tuple[str, Collector]] = []
            for room_id, token in rooms:
                for _ in range(5):  # 30 sockets on 6 rooms
                    url = f"{server.ws_url}/ws/rooms/{room_id}?token={token}"
                    sockets.append(
                        (room_id, await stack.enter_async_context(collecting(url, "room")))
                    )
            reads.clear()
            started = time.monotonic()
            for room_id, _ in rooms:  # stored, never published: only the backstop can tell
                draft = MessageDraft(
                    room_id=room_id, sender=Sender.user, author="User", text="lost"
                )
                assert (await server.tandem.rooms.writer.store(draft)).message.seq == 1
            for room_id, socket in sockets:
                await socket.until(room_id, [1], CATCH_UP_TIMEOUT)
            elapsed = time.monotonic() - started
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)
    rounds_at_most = elapsed / CHECK_SECONDS + 2
    assert len(reads) <= rounds_at_most, f"{len(reads)} last_seq reads for 30 sockets"


async def room_of_five(server: LiveServer) -> tuple[str, dict[int, str]]:
    """A room with five messages (seqs 1-5), and each one's `message` frame by seq."""
    room_id, _ = await server.new_room()
    for n in range(5):
        draft = MessageDraft(room_id=room_id, sender=Sender.user, author="User", text=f"m{n}")
        await server.tandem.rooms.writer.store(draft)
    frames = {
        m.seq: message_frame(m)
        for m in await server.tandem.rooms.messages(room_id, after=0, limit=10)
    }
    return room_id, frames


async def test_a_frame_that_overtakes_an_earlier_one_waits_for_it_instead_of_a_read(
    server: LiveServer,
) -> None:
    """Two processes publish one room, so seq 3 can arrive before seq 2: the cursor holds 3
    until 2 comes (no database read), and reads a gap that stays open past the hold."""
    room_id, frames = await room_of_five(server)
    sent: list[int] = []
    reads: list[int] = []

    async def send(frame: str) -> None:
        position = message_position(frame)
        assert position is not None
        sent.append(position[1])

    async def fetch(room: str, after: int, limit: int) -> list[MessagePublic]:
        reads.append(after)
        return await server.tandem.rooms.messages(room, after=after, limit=limit)

    cursor = Cursor(send, fetch, {room_id: 1})
    await cursor.deliver(frames[3])
    assert sent == [] and cursor.due is not None  # held
    await cursor.deliver(frames[2])
    assert sent == [2, 3] and reads == [] and cursor.due is None

    await cursor.deliver(frames[5])  # 4 never comes live
    assert sent == [2, 3]
    due = cursor.due
    assert due is not None
    await asyncio.sleep(max(due - asyncio.get_running_loop().time(), 0) + 0.01)
    await cursor.confirm()
    assert sent == [2, 3, 4, 5] and reads == [3]
    await cursor.deliver(frames[5])  # a repeat
    assert sent == [2, 3, 4, 5]


async def test_only_the_next_frame_of_a_room_is_sent_at_once(server: LiveServer) -> None:
    """The hub hands a socket's frame to `deliver_now` while the socket's task waits: it sends
    only the next message of a room with nothing held or being filled, and only if the socket
    takes it at once; anything else is left, untouched, for `deliver` (in order, gaps read)."""
    room_id, frames = await room_of_five(server)
    sent: list[tuple[str, int]] = []
    taking = True

    async def send(frame: str) -> None:
        position = message_position(frame)
        assert position is not None
        sent.append(("awaited", position[1]))

    def send_now(frame: str) -> bool:
        position = message_position(frame)
        assert position is not None
        if taking:
            sent.append(("at once", position[1]))
        return taking

    async def fetch(room: str, after: int, limit: int) -> list[MessagePublic]:
        return await server.tandem.rooms.messages(room, after=after, limit=limit)

    cursor = Cursor(send, fetch, {room_id: 1}, send_now=send_now)
    assert cursor.deliver_now(frames[2]) and sent == [("at once", 2)]
    assert not cursor.deliver_now(frames[2])  # a repeat
    assert not cursor.deliver_now('{"type":"queue","rooms":[]}')  # not a message
    assert not cursor.deliver_now(frames[4])  # ahead of a gap
    await cursor.deliver(frames[4])  # held for 3
    assert not cursor.deliver_now(frames[3])  # 3 is next, but 4 is held behind it
    await cursor.deliver(frames[3])
    assert sent == [("at once", 2), ("awaited", 3), ("awaited", 4)]
    taking = False  # the socket would have to wait (flow control)
    assert not cursor.deliver_now(frames[5])
    await cursor.deliver(frames[5])
    assert sent[-1] == ("awaited", 5)
    before = len(sent)
    assert not Cursor(send, fetch, {room_id: 1}).deliver_now(frames[2])  # no way to send now
    assert len(sent) == before


@pytest.mark.redis
async def test_a_socket_opened_while_the_broker_is_down_is_told_to_try_again(
    sqlite_url: str,
) -> None:
    """No subscription, no socket: closed with 1013 (try again later), so the client
    reconnects, instead of the connection failing with a server error; once Redis is back a
    new socket works and gets the room's messages."""
    port = free_port()
    with private_redis(port) as redis:
        settings = make_settings(sqlite_url, redis_url=f"redis://127.0.0.1:{port}/0")
        async for server in start_server(settings):
            room_id, token = await server.new_room()
            url = f"{server.ws_url}/ws/rooms/{room_id}?token={token}"
            redis.kill()
            redis.wait(timeout=10)
            async with websockets.connect(url) as ws:
                with pytest.raises(websockets.ConnectionClosed) as closed:
                    for _ in range(10):
                        await asyncio.wait_for(ws.recv(), timeout=30)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1013
    with private_redis(port):
        async for server in start_server(settings):
            async with collecting(url.replace(url.split("/ws")[0], server.ws_url), "room") as c:
                seq = await post(server, room_id, token, "back")
                await c.until(room_id, [seq, seq + 1], CATCH_UP_TIMEOUT)  # and the AI's answer


async def stint_until(
    console: Collector, room_id: str, expected: list[int], timeout: float
) -> None:
    """The console has `expected` for the room, in order (anything after is the room's later
    messages, sent while it stopped following)."""
    deadline = time.monotonic() + timeout
    while len(got := console.seqs.get(room_id, [])) < len(expected):
        assert got == expected[: len(got)], f"out of order or repeated: {got}"
        assert time.monotonic() < deadline, f"{room_id}: the console got {got}, want {expected}"
        await asyncio.sleep(0.05)
    assert got[: len(expected)] == expected, got


async def test_a_console_gets_the_end_of_a_stint_whose_publishes_were_lost(
    server: LiveServer,
) -> None:
    """Messages stored while an agent holds a room but never published (a lost publish), then
    the agent leaves: the console's `room` frame says it no longer holds the room, and before
    it stops following it the console gets those messages and the leave's notice. It used to
    drop the room at once: the stint ended with a silent gap."""
    _, agent_token = await server.add_agent("Alice")
    room_id, token = await server.new_room()
    joined = await server.http.post(f"/api/rooms/{room_id}/join", headers=auth(agent_token))
    assert joined.status_code == 200, joined.text
    async with collecting(f"{server.ws_url}/ws/agent?token={agent_token}", "queue") as console:
        seq = await post(server, room_id, token, "before")
        await console.until(room_id, [seq], CATCH_UP_TIMEOUT)
        for n in range(3):  # stored, never published
            draft = MessageDraft(room_id=room_id, sender=Sender.user, author="User", text=f"{n}")
            await server.tandem.rooms.writer.store(draft)
        left = await server.http.post(f"/api/rooms/{room_id}/leave", headers=auth(agent_token))
        assert left.status_code == 200, left.text
        end = left.json()["last_seq"]
        assert end == seq + 4  # three messages and the leave's notice
        await stint_until(console, room_id, list(range(seq, end + 1)), CATCH_UP_TIMEOUT)


@pytest.mark.mariadb
@pytest.mark.redis
async def test_a_console_gets_the_end_of_a_stint_it_leaves_while_redis_is_down(
    mariadb_url: str,
) -> None:
    """Redis is down: the user's last messages and the agent's leave are stored (201) and never
    published. The backstop then finds the room held by nobody; the console gets the stint's
    end from the database before it stops following the room, instead of dropping it with a
    silent gap (what the soak's console stints showed after its Redis restart)."""
    port = free_port()
    with private_redis(port) as redis:
        settings = make_settings(mariadb_url, redis_url=f"redis://127.0.0.1:{port}/0")
        async for server in start_server(settings):
            _, agent_token = await server.add_agent("Alice")
            room_id, token = await server.new_room()
            joined = await server.http.post(f"/api/rooms/{room_id}/join", headers=auth(agent_token))
            assert joined.status_code == 200, joined.text
            url = f"{server.ws_url}/ws/agent?token={agent_token}"
            async with collecting(url, "queue") as console:
                seq = await post(server, room_id, token, "before the outage")
                await console.until(room_id, [seq], CATCH_UP_TIMEOUT)
                redis.kill()
                redis.wait(timeout=10)
                during = [await post(server, room_id, token, f"during {n}") for n in range(3)]
                left = await server.http.post(
                    f"/api/rooms/{room_id}/leave", headers=auth(agent_token)
                )
                assert left.status_code == 200, left.text
                end = left.json()["last_seq"]
                assert during == [seq + 1, seq + 2, seq + 3] and end == seq + 4
                # The backstop looks every 5 s: well within the bound.
                await stint_until(console, room_id, list(range(seq, end + 1)), BACK_IN + 5)
