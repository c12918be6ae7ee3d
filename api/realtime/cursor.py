"""What one socket has sent of its rooms: never a repeat, never a silent gap.

A publish can be lost (it failed after commit, the broker reconnected, the publishing process
died between commit and publish), and a message can be published out of seq order. So every
socket keeps the last seq it sent per room and, for each message frame from the hub:

- seq ≤ last: already sent, dropped;
- seq = last + 1: sent;
- seq > last + 1: the gap is read from the database and sent first.

As a backstop, the process's `Backstop` (api/realtime/backstop.py) compares every socket's
rooms with the database's `last_seq` and hands each cursor what it found (`compare`). A room
found behind becomes a suspect with a due time: its frames, usually still in flight under load,
may arrive meanwhile; whatever is still missing then is read by `confirm`. A gap that cannot be
read raises `CatchUpFailed`: the socket closes (1012) rather than go on with a hole.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Mapping, Sequence

from api.frames import message_frame
from db.models import MessagePublic

CONFIRM_SECONDS = 1.0
"""How long a room the backstop found behind may take to catch up live before it is filled."""
HOLD_SECONDS = 0.3
"""How long a frame that arrived ahead of a gap waits for the missing ones to come live."""
MAX_HELD = 200
"""Frames held per room at most: past this the gap is read from the database at once."""
CATCH_UP_SECONDS = 10.0
"""A catch-up that takes longer than this closes the socket instead."""
PAGE = 500

Send = Callable[[str], Awaitable[None]]
SendNow = Callable[[str], bool]
"""Writes a frame without awaiting if it can (True); False: await `Send` instead."""
Fetch = Callable[[str, int, int], Awaitable[Sequence[MessagePublic]]]
"""(room_id, after, limit) → the room's messages after `after`, in seq order."""

_MESSAGE_PREFIX = '{"type":"message",'
_ROOM_PREFIX = '{"type":"room",'
_SEQ_KEY = ',"seq":'
_ROOM_KEY = ',"room_id":"'


class CatchUpFailed(Exception):
    """A gap could not be filled from the database in time: close, the client resumes."""


def message_position(frame: str) -> tuple[str, int] | None:
    """(room_id, seq) of a `message` frame, found without parsing the whole frame; None for
    other frames. In JSON text a quote inside a string is always escaped, so `,"seq":` can
    only be the key."""
    if not frame.startswith(_MESSAGE_PREFIX):
        return None
    at = frame.rfind(_SEQ_KEY)
    if at < 0:
        return _parsed_position(frame)
    start = at + len(_SEQ_KEY)
    end = frame.find(",", start)
    room_at = frame.find(_ROOM_KEY, start)
    if end < 0 or room_at != end:
        return _parsed_position(frame)
    room_start = room_at + len(_ROOM_KEY)
    room_end = frame.find('"', room_start)
    return frame[room_start:room_end], int(frame[start:end])


def _parsed_position(frame: str) -> tuple[str, int] | None:
    message = json.loads(frame).get("message") or {}
    room_id, seq = message.get("room_id"), message.get("seq")
    return (room_id, seq) if isinstance(room_id, str) and isinstance(seq, int) else None


class Cursor:
    """The last seq sent per room, for one socket. `follow_agent`: an agent console, which
    follows the rooms it holds as `room` frames and message frames show them."""

    def __init__(
        self,
        send: Send,
        fetch: Fetch,
        rooms: dict[str, int],
        *,
        follow_agent: int | None = None,
        page: int = PAGE,
        send_now: SendNow | None = None,
    ) -> None:
        self._page = page
        self._send = send
        self._send_now = send_now
        self._fetch = fetch
        self.last = dict(rooms)
        self._agent = follow_agent
        self._lock = asyncio.Lock()
        self._suspects: dict[str, int] = {}
        """Rooms the backstop found behind: room → the last_seq it saw."""
        self._suspects_due: float | None = None
        self._released: set[str] = set()
        """Console: suspects it no longer holds, dropped once filled (the end of the stint)."""
        self._held: dict[str, dict[int, str]] = {}
        """Frames that arrived ahead of a gap, by room and seq: two processes publish one
        room's messages, so a later seq can overtake an earlier one on the way here."""
        self._hold_until: dict[str, float] = {}

    @property
    def due(self) -> float | None:
        """Loop time at which `confirm` should run (a suspect or a held gap is due); None:
        nothing to do."""
        times = [*self._hold_until.values()]
        if self._suspects_due is not None:
            times.append(self._suspects_due)
        return min(times) if times else None

    def deliver_now(self, frame: str) -> bool:
        """`deliver` without awaiting, in its usual case (the next message of a room, nothing
        being filled or held) when the socket takes the frame at once. False: nothing was
        done, `deliver` it. The hub calls this while the socket's task waits, so a message
        does not wake that task (per socket, the larger part of sending it)."""
        if self._send_now is None or (position := message_position(frame)) is None:
            return False
        room_id, seq = position
        if not self._in_line(room_id, seq) or not self._send_now(frame):
            return False
        self.last[room_id] = seq
        return True

    def _in_line(self, room_id: str, seq: int) -> bool:
        """The usual case: the room's next message, nothing being filled, nothing held."""
        return (
            seq == self.last.get(room_id, -1) + 1
            and not self._lock.locked()
            and room_id not in self._held
        )

    async def deliver(self, frame: str) -> None:
        """Send a frame from the hub, in order with what was sent before. A frame ahead of a
        gap is held up to HOLD_SECONDS for the missing ones to arrive live (usually they do,
        from the other process); then the gap is read from the database."""
        position = message_position(frame)
        if position is None:
            if self._agent is not None and frame.startswith(_ROOM_PREFIX):
                await self._follow(frame)
            await self._send(frame)
            return
        room_id, seq = position
        if self._in_line(room_id, seq):
            self.last[room_id] = seq  # the usual case: next in line, nothing filling
            await self._send(frame)
            return
        async with self._lock:
            last = self.last.get(room_id)
            if last is None:
                if self._agent is not None:  # a room this console just started to hold
                    self.last[room_id] = seq
                await self._send(frame)
                return
            if seq <= last:
                return
            if seq > last + 1:
                held = self._held.setdefault(room_id, {})
                held[seq] = frame
                self._hold_until.setdefault(
                    room_id, asyncio.get_running_loop().time() + HOLD_SECONDS
                )
                if len(held) > MAX_HELD:
                    await self._fill(room_id, last)
                return
            self.last[room_id] = seq
            await self._send(frame)
            await self._release(room_id)

    async def resume(self, room_id: str, after: int, *, follow: bool = True) -> None:
        """Send every message after `after` (repeats are the client's to drop, by seq)."""
        async with self._lock:
            sent = await self._page_through(room_id, after)
            if room_id in self.last:
                self.last[room_id] = max(self.last[room_id], sent)
                await self._release(room_id)
            elif follow:
                self.last[room_id] = sent

    def compare(
        self, asked: Mapping[str, int], heads: Mapping[str, tuple[int, int | None]], *, due: float
    ) -> bool:
        """Take the backstop's reading: `heads` (room → last_seq, holder) for the rooms this
        cursor had sent up to `asked` when the round began. A room behind becomes a suspect,
        due at `due`. A console stops following a room it no longer holds, once it has the
        messages stored before (its publishes may be the ones lost). Returns whether there are
        suspects."""
        for room_id, seq in asked.items():
            head = heads.get(room_id)
            if self._agent is not None and (head is None or head[1] != self._agent):
                if self.last.get(room_id) != seq:
                    continue
                if head is not None and head[0] > seq:
                    self._suspects[room_id] = max(head[0], self._suspects.get(room_id, 0))
                    self._released.add(room_id)
                else:
                    self._drop(room_id)
                continue
            if head is None:
                continue
            self._released.discard(room_id)  # held (again)
            newest = head[0]
            if newest > self.last.get(room_id, newest):
                self._suspects[room_id] = max(newest, self._suspects.get(room_id, 0))
        if self._suspects:
            self._suspects_due = due if self._suspects_due is None else min(self._suspects_due, due)
        return bool(self._suspects)

    async def confirm(self) -> None:
        """Fill the gaps held past HOLD_SECONDS, and the suspects (once due) still behind what
        the database had when the backstop looked."""
        now = asyncio.get_running_loop().time()
        for room_id, until in list(self._hold_until.items()):
            if until <= now:
                async with self._lock:
                    last = self.last.get(room_id)
                    if room_id in self._held and last is not None:
                        await self._fill(room_id, last)
        if self._suspects_due is None or self._suspects_due > now:
            return
        suspects, self._suspects, self._suspects_due = self._suspects, {}, None
        for room_id, seq in suspects.items():
            await self._fill_to(room_id, seq)
            if room_id in self._released:
                self._drop(room_id)

    async def _fill_to(self, room_id: str, seq: int) -> None:
        if seq <= self.last.get(room_id, seq):
            return
        async with self._lock:
            last = self.last.get(room_id)
            if last is not None and seq > last:
                await self._fill(room_id, last)

    async def _fill(self, room_id: str, after: int) -> None:
        """Send the room's messages after `after` from the database (the caller holds the
        lock), then what was held that is still ahead."""
        try:
            async with asyncio.timeout(CATCH_UP_SECONDS):
                self.last[room_id] = await self._page_through(room_id, after)
                await self._release(room_id)
        except Exception as exc:
            raise CatchUpFailed(f"room {room_id}: messages after {after}") from exc

    async def _release(self, room_id: str) -> None:
        """Send the held frames that are now next in line; forget those already sent."""
        held = self._held.get(room_id)
        if held is None:
            return
        last = self.last[room_id]
        while (frame := held.pop(last + 1, None)) is not None:
            last += 1
            self.last[room_id] = last
            await self._send(frame)
        for seq in [seq for seq in held if seq <= last]:
            del held[seq]
        if not held:
            self._drop_held(room_id)

    def _drop_held(self, room_id: str) -> None:
        self._held.pop(room_id, None)
        self._hold_until.pop(room_id, None)

    def _drop(self, room_id: str) -> None:
        """Stop following a room (a console's, no longer held)."""
        self.last.pop(room_id, None)
        self._drop_held(room_id)
        self._released.discard(room_id)
        self._suspects.pop(room_id, None)

    async def _page_through(self, room_id: str, after: int) -> int:
        """Send the room's messages after `after`; returns the last seq sent (or `after`)."""
        while True:
            page = await self._fetch(room_id, after, self._page)
            for message in page:
                await self._send(message_frame(message))
            if page:
                after = page[-1].seq
            if len(page) < self._page:
                return after

    async def _follow(self, frame: str) -> None:
        """A console's room changed hands: follow it if this agent holds it now; else stop,
        after sending what was stored before the change (those publishes may have been lost,
        and the stint must be whole)."""
        room = json.loads(frame)["room"]
        holder = (room.get("agent") or {}).get("id")
        room_id = room["id"]
        if room["status"] == "agent" and holder == self._agent:
            self.last.setdefault(room_id, room.get("last_seq", 0))
            self._released.discard(room_id)
            return
        await self._fill_to(room_id, room.get("last_seq", 0))
        self._drop(room_id)
