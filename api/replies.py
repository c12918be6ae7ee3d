"""AI replies run as tasks beside the request that triggered them.

Each reply streams `ai.delta` frames to the room as the assistant produces text, then stores
the whole reply once as an `ai` message. At most one reply per room is in flight: user
messages that arrive meanwhile are stored at once, and when the reply ends one more reply
answers all of them together (one completion, not one per message, so a fast typist, or a
flood, costs one paid call at a time). A human taking over cancels the reply in flight and
the one owed. A `ReplyRun` also buffers its frames, so the HTTP streaming endpoint can replay
them from the start however late it starts listening.

A reply started while the room waits for a person (`while_waiting`) is stored with that mark;
the writer refuses it once an agent has joined, as it refuses any AI reply then.

Shutting down (`stop()`) does not wait for replies to finish: it cancels every reply in flight
(each still publishes its `ai.cancelled`, and stores nothing) and drops the ones owed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

from api.ai.base import Assistant, HandoffRequest, ReplyRequest, Turn
from api.frames import ai_cancelled_frame, delta_frame, message_frame, room_channel
from api.realtime.hub import Hub
from api.room_states import RoutingError
from api.writer import StoredMessage
from db import queries
from db.engine import Database
from db.models import RoomStatus, Sender
from db.room_log import MessageDraft

log = logging.getLogger(__name__)

AI_AUTHOR = "Tandem Assistant"
HISTORY_WINDOW = 40

Store = Callable[[MessageDraft], Awaitable[StoredMessage]]
"""Stores (and publishes) a message: the room service's `store`."""
HandOff = Callable[[str, str], Awaitable[list[str]]]
"""(room_id, reason) → the frames the handoff produced (system notice, room state)."""


class ReplyRun:
    """The frames of one reply, for listeners that join at any time."""

    def __init__(self, room_id: str, *, while_waiting: bool = False) -> None:
        self.room_id = room_id
        self.while_waiting = while_waiting
        self._frames: list[str] = []
        self._done = False
        self._changed = asyncio.Event()

    def emit(self, frame: str) -> None:
        self._frames.append(frame)
        self._changed.set()

    def finish(self) -> None:
        self._done = True
        self._changed.set()

    async def listen(self) -> AsyncIterator[str]:
        index = 0
        while True:
            while index < len(self._frames):
                yield self._frames[index]
                index += 1
            if self._done:
                return
            self._changed.clear()
            await self._changed.wait()


class Replies:
    def __init__(
        self,
        *,
        db: Database,
        hub: Hub,
        store: Store,
        assistant: Assistant,
        hand_off: HandOff,
    ) -> None:
        self._db = db
        self._hub = hub
        self._store = store
        self.assistant = assistant
        self._hand_off = hand_off
        self._tail: dict[str, asyncio.Task[None]] = {}
        """The reply in flight per room."""
        self._owed: dict[str, bool] = {}
        """Rooms with user messages that arrived while their reply was in flight (→ whether
        the newest of them came while the room waited)."""

    def start(self, room_id: str, *, while_waiting: bool = False) -> ReplyRun | None:
        """Start a reply, or, while one is in flight, owe the room one more after it
        (returns None: the message's own stream ends at its `message` frame).
        `while_waiting`: the room waits for a person; the reply is marked so."""
        if room_id in self._tail:
            self._owed[room_id] = while_waiting
            return None
        return self._begin(room_id, owed=False, while_waiting=while_waiting)

    def busy(self, room_id: str) -> bool:
        """A reply is in flight in this room (in this process)."""
        return room_id in self._tail

    def _begin(self, room_id: str, *, owed: bool, while_waiting: bool) -> ReplyRun:
        run = ReplyRun(room_id, while_waiting=while_waiting)
        task = asyncio.create_task(self._run(run, owed=owed), name=f"reply:{room_id}")
        self._tail[room_id] = task
        task.add_done_callback(lambda t: self._forget(room_id, t))
        task.add_done_callback(lambda _: run.finish())  # also when cancelled before it ran
        return run

    def cancel(self, room_id: str) -> None:
        """A human took over: the reply in flight stops, and the one owed is dropped."""
        self._owed.pop(room_id, None)
        task = self._tail.pop(room_id, None)
        if task is not None:
            task.cancel()

    async def stop(self) -> None:
        """Cancel every reply in flight, drop the owed ones, and return once they have ended."""
        tasks = list(self._tail.values())
        self._owed.clear()
        self._tail.clear()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def idle(self) -> None:
        """Wait until every reply has finished, owed ones included (tests use it). The sleep:
        on Python 3.12 a gather of finished tasks returns without yielding to the loop."""
        while self._tail:
            await asyncio.gather(*list(self._tail.values()), return_exceptions=True)
            await asyncio.sleep(0)  # their done callbacks (`_forget`: owed replies) run now

    def _forget(self, room_id: str, task: asyncio.Task[None]) -> None:
        if self._tail.get(room_id) is not task:
            return
        del self._tail[room_id]
        if room_id in self._owed and not task.cancelled():
            while_waiting = self._owed.pop(room_id)
            self._begin(room_id, owed=True, while_waiting=while_waiting)

    async def _run(self, run: ReplyRun, *, owed: bool) -> None:
        try:
            await self._reply(run, owed=owed)
        except asyncio.CancelledError:
            await self._cancelled(run)
            raise
        except RoutingError:
            await self._cancelled(run)  # a human took over in another process
        except Exception:
            log.exception("AI reply failed in room %s", run.room_id)
            await self._cancelled(run)
        finally:
            run.finish()

    async def _history(self, run: ReplyRun, *, owed: bool) -> list[Turn] | None:
        """What the AI reads, or None when the room is no longer the AI's to answer."""
        async with self._db.session() as session:
            if owed:  # the message that started a first reply was just stored in its room
                room = await queries.get_room_public(session, room_id=run.room_id)
                wanted = RoomStatus.waiting if run.while_waiting else RoomStatus.ai
                if room is None or room.status is not wanted:
                    return None  # its room changed hands (or closed) while the reply before ran
            recent = await queries.recent_messages(
                session, room_id=run.room_id, limit=HISTORY_WINDOW
            )
        return [Turn(sender=m.sender.value, author=m.author, text=m.text) for m in recent]

    async def _reply(self, run: ReplyRun, *, owed: bool) -> None:
        # Database work is detached: an agent's join cancels this task at any moment.
        history = await self._db.detached(lambda: self._history(run, owed=owed))
        if history is None:
            return
        channel = room_channel(run.room_id)
        parts: list[str] = []
        handoff: HandoffRequest | None = None
        live = True  # deltas are best-effort: once the broker fails, the stored reply is enough
        request = ReplyRequest(
            room_id=run.room_id, history=history, while_waiting=run.while_waiting
        )
        async for chunk in self.assistant.reply(request):
            if isinstance(chunk, HandoffRequest):
                handoff = chunk
                continue
            if not chunk:
                continue
            parts.append(chunk)
            frame = delta_frame(run.room_id, chunk)
            run.emit(frame)
            if live:
                try:
                    await self._hub.publish(channel, frame)
                except Exception:  # sockets get the stored reply from the database later
                    live = False
                    log.warning("could not publish ai.delta frames for room %s", run.room_id)
        text = "".join(parts).strip()
        if text:
            draft = MessageDraft(
                room_id=run.room_id,
                sender=Sender.ai,
                author=AI_AUTHOR,
                text=text,
                while_waiting=run.while_waiting,
            )
            stored = await self._store(draft)
            run.emit(message_frame(stored.message))
        if handoff is not None:
            reason = handoff.reason
            for frame in await self._db.detached(lambda: self._hand_off(run.room_id, reason)):
                run.emit(frame)

    async def _cancelled(self, run: ReplyRun) -> None:
        frame = ai_cancelled_frame(run.room_id)
        run.emit(frame)
        try:
            await asyncio.shield(self._hub.publish(room_channel(run.room_id), frame))
        except Exception:
            log.warning("could not publish ai.cancelled for room %s", run.room_id)
