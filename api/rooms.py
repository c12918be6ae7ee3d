"""The room service: applies the state machine's decisions to the database and pushes the frames.

Routes call it and stay thin; it is the only place that knows a handoff means a state change,
a system notice, an event row, a queue update and a cancelled AI reply, in that order. Its
team half (capacity, transfers, auto-assignment) is `api/transfers.py`, the transitions no
agent asks for (the system's closes, a withdrawal) `api/system_transitions.py`, and the rule
a message must pass first `api/message_rules.py`.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Collection, Coroutine
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from api import room_states
from api.ai.base import Assistant
from api.brief import Briefs
from api.frames import (
    QUEUE_CHANNEL,
    agent_channel,
    message_frame,
    queue_frame,
    room_channel,
)
from api.handoff import wants_human
from api.presence import Presence
from api.realtime.hub import Hub
from api.realtime.publisher import Publisher
from api.replies import Replies, ReplyRun
from api.system_transitions import SystemTransitions
from api.transfers import TeamRouting
from api.user_seen import UserSeen
from api.waiting import WhileWaiting
from api.waits import WaitEstimator
from api.writer import BATCH_INTERVAL_SECONDS, MessageWriter, StoredMessage
from db import queries, room_log, visitors
from db.engine import Database
from db.models import (
    Agent,
    EventKind,
    MessagePublic,
    Role,
    RoomPublic,
    RoomStatus,
    Sender,
    utcnow,
)
from db.queries import RoomNotFound
from db.room_log import MessageDraft, Transition
from db.tables import rooms_t

log = logging.getLogger(__name__)

__all__ = ["RoomNotFound", "RoomService", "SendResult"]


@dataclass(slots=True)
class SendResult:
    message: MessagePublic
    frames: list[str] = field(default_factory=list)
    """What the message set off at once (a handoff's notice and new room state)."""
    reply: ReplyRun | None = None
    """The AI reply it set off, streaming."""


class RoomService(TeamRouting, SystemTransitions):
    def __init__(
        self,
        *,
        db: Database,
        hub: Hub,
        assistant: Assistant,
        presence: Presence,
        batch_max: int = 500,
        batch_interval: float = BATCH_INTERVAL_SECONDS,
        auto_assign: bool = False,
        ai_while_waiting: bool = True,
    ) -> None:
        self.auto_assign = auto_assign
        self.db = db
        self.hub = hub
        self.presence = presence
        self.writer = MessageWriter(db, batch_max=batch_max, batch_interval=batch_interval)
        self.publisher = Publisher(hub)
        self.replies = Replies(
            db=db, hub=hub, store=self.store, assistant=assistant, hand_off=self._ai_hand_off
        )
        self._background: set[asyncio.Task[None]] = set()
        self._loop: asyncio.AbstractEventLoop  # start()'s
        self.waits = WaitEstimator(db)
        self.user_seen = UserSeen(db)
        self.briefs = Briefs(db=db, assistant=assistant, publish_queue=self._publish_queue)
        self.ai_while_waiting = ai_while_waiting
        self.while_waiting = WhileWaiting(
            db=db,
            store=self.store,
            replies=self.replies,
            withdraw=self.withdraw,
            refresh_brief=self.briefs.refresh,
            refresh_brief_after=self.briefs.refresh_after,
        )

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self.publisher.start()
        await self.writer.start()
        self.start_assigner()
        self.user_seen.start()

    async def stop(self) -> None:
        await self.stop_assigner()
        await self.user_seen.stop()
        await self.replies.stop()
        await self.briefs.stop()
        for task in list(self._background):
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        await self.writer.stop()
        await self.publisher.stop()

    # ------------------------------------------------------------ reads

    async def create_room(self, *, visitor_id: str | None = None) -> RoomPublic:
        room_id, now = uuid.uuid4().hex, utcnow()
        async with self.db.write() as session:
            await room_log.open_rooms(session, rooms=[(room_id, now)])
            if visitor_id is not None:  # api/visitors.py: the browser's signed visitor id
                await visitors.link_room(session, room_id=room_id, visitor_id=visitor_id)
        return RoomPublic(id=room_id, status=RoomStatus.ai, created_at=now)

    async def get_room(self, room_id: str) -> RoomPublic:
        async with self.db.session() as session:
            return await self._room_public(session, room_id)

    async def messages(self, room_id: str, *, after: int, limit: int) -> list[MessagePublic]:
        async with self.db.session() as session:
            return await queries.list_messages(session, room_id=room_id, after=after, limit=limit)

    async def poll(self, room_id: str, *, after: int, limit: int) -> list[MessagePublic]:
        """A client's `?after=` poll. Most polls find nothing new, so they cost one
        primary-key read of `last_seq`; the messages are read only when there are some.
        RoomNotFound for an unknown room (a poll never answers an empty list for it)."""
        async with self.db.session() as session:
            last_seq = await queries.room_last_seq(session, room_id=room_id)
            if last_seq is None:
                raise RoomNotFound(room_id)
            if last_seq <= after:
                return []
            return await queries.list_messages(session, room_id=room_id, after=after, limit=limit)

    async def room_heads(self, room_ids: Collection[str]) -> dict[str, tuple[int, int | None]]:
        """Each room's newest seq and the agent holding it (None unless `agent`), in one
        query: the process's socket backstop (api/realtime/backstop.py)."""
        if not room_ids:
            return {}
        query = sa.select(
            rooms_t.c.id, rooms_t.c.last_seq, rooms_t.c.status, rooms_t.c.agent_id
        ).where(rooms_t.c.id.in_(room_ids))
        async with self.db.session() as session:
            rows = (await session.execute(query)).all()
        held = RoomStatus.agent.value
        return {r.id: (r.last_seq, r.agent_id if r.status == held else None) for r in rows}

    async def queue(self) -> list[RoomPublic]:
        async with self.db.session() as session:
            return await queries.list_queue(session)

    async def agent_rooms(self, agent_id: int) -> list[RoomPublic]:
        async with self.db.session() as session:
            return await queries.list_agent_rooms(session, agent_id=agent_id)

    # ------------------------------------------------------------ messages

    async def send(
        self,
        room_id: str,
        *,
        text: str,
        client_id: str | None = None,
        agent: Agent | None = None,
    ) -> SendResult:
        """Store a user message (or an agent's, when `agent` is given) and set off what follows."""
        if agent is None:
            draft = MessageDraft(
                room_id=room_id, sender=Sender.user, author="User", text=text, client_id=client_id
            )
        else:
            draft = MessageDraft(
                room_id=room_id,
                sender=Sender.agent,
                author=agent.name,
                text=text,
                client_id=client_id,
                agent_id=agent.id,
            )
        stored = await self.store(draft)
        result = SendResult(stored.message)
        try:
            await self._set_off(stored, result)
        except Exception:
            # Committed is a success for its sender (the contract), whatever follows from it.
            log.exception("what message %s of room %s sets off failed", stored.message.seq, room_id)
        return result

    def send_soon(
        self,
        room_id: str,
        *,
        text: str,
        client_id: str | None = None,
        agent: Agent | None = None,
    ) -> asyncio.Task[SendResult]:
        """`send` in a task of its own, started now on the service's loop (a socket's
        messages: `asyncio.create_task` would ask the OS for the process id each time on
        Python 3.11)."""
        return self._loop.create_task(
            self.send(room_id, text=text, client_id=client_id, agent=agent)
        )

    async def _set_off(self, stored: StoredMessage, result: SendResult) -> None:
        """The AI's answer, a handoff, or the "while you wait" turn a stored message calls for."""
        message = stored.message
        if stored.status is not None and room_states.ai_may_answer_while_waiting(
            stored.status, message.sender, enabled=self.ai_while_waiting
        ):
            result.frames, result.reply = await self.while_waiting.on_user_message(message)
            return
        if stored.status is None or not room_states.ai_should_reply(stored.status, message.sender):
            return
        if wants_human(message.text):
            result.frames = await self.request_human(message.room_id, reason="phrase")
        else:
            result.reply = self.replies.start(message.room_id)

    async def store(self, draft: MessageDraft) -> StoredMessage:
        """Store a message and publish it. Committed is success: a failed publish is logged
        and the sockets catch up from the database. Published by the writer as it answers, in
        the order its batches commit (seq order per room), even if the caller is cancelled
        meanwhile (no shield: one future per message, not two)."""
        return await self.writer.submit(draft, on_stored=self._publish_stored)

    def _publish_stored(self, item: StoredMessage) -> None:
        frame = message_frame(item.message)
        items = [(room_channel(item.message.room_id), frame)]
        if item.status is RoomStatus.agent and item.agent_id is not None:
            items.append((agent_channel(item.agent_id), frame))
        self.publisher.push(items)

    # ------------------------------------------------------------ transitions

    async def request_human(
        self, room_id: str, *, reason: str, cancel_reply: bool = True
    ) -> list[str]:
        """Queue the room for a human if one is online, else say none is. Returns the frames."""
        now = utcnow()
        async with self.db.write() as session:
            room = await self._locked(session, room_id)
            online = await queries.count_online_agents(
                session, now=now, window=self.presence.window
            )
            outcome = room_states.request_human(room.status, agents_online=online, reason=reason)
            if isinstance(outcome, room_states.AlreadyQueued):
                return []
            if isinstance(outcome, room_states.NoAgent):
                change = Transition(
                    room_id=room.id,
                    kind=EventKind.no_agent,
                    reason=reason,
                    notice=room_states.NOTICE_NO_AGENT,
                    at=now,
                )
            else:
                position = len(await queries.list_queue(session)) + 1
                change = Transition(
                    room_id=room.id,
                    kind=outcome.event,
                    reason=reason,
                    notice=room_states.notice_handoff(position),
                    at=now,
                    to_status=outcome.to,
                )
            [notice] = await room_log.record_transitions(session, transitions=[change])
            changed = not isinstance(outcome, room_states.NoAgent)
            done = await self._read_back(
                session, notice, room_changed=changed, queue_changed=changed
            )
        if cancel_reply and changed:
            self.replies.cancel(room_id)
        frames = self._announce(done)
        if changed:
            self.briefs.refresh(room_id)
        return frames

    async def join(self, room_id: str, agent: Agent) -> RoomPublic:
        assert agent.id is not None
        async with self.db.write() as session:
            room = await self._locked(session, room_id)
            was = room.status
            step = room_states.join(room.status)
            await self._take(session, agent.id, own=True)  # capacity: api/transfers.py
            done = await self._transition(
                session,
                room,
                step,
                agent_id=agent.id,
                by=agent.id,
                text=room_states.notice_joined(agent.name),
                queue_changed=was is RoomStatus.waiting,
            )
        self.replies.cancel(room_id)
        self._announce(done, agent_ids=(agent.id,))
        return done.room

    async def leave(self, room_id: str, agent: Agent) -> RoomPublic:
        assert agent.id is not None
        async with self.db.write() as session:
            room = await self._locked(session, room_id)
            step = room_states.leave(room.status, room_agent_id=room.agent_id, agent_id=agent.id)
            done = await self._transition(
                session,
                room,
                step,
                agent_id=None,
                by=agent.id,
                text=room_states.notice_left(agent.name),
            )
        self._announce(done, agent_ids=(agent.id,))
        return done.room

    async def close(self, room_id: str, *, agent: Agent | None = None) -> RoomPublic:
        by = agent.name if agent is not None else "the customer"
        async with self.db.write() as session:
            room = await self._locked(session, room_id)
            was, room_agent = room.status, room.agent_id
            step = room_states.close(
                room.status,
                room_agent_id=room.agent_id,
                agent_id=agent.id if agent is not None else None,
                admin=agent is not None and agent.role is Role.admin,
            )
            if step is None:  # closed already: the answer is the room as it stands
                return await self._room_public(session, room_id)
            done = await self._transition(
                session,
                room,
                step,
                agent_id=room.agent_id,
                by=agent.id if agent is not None else None,
                text=room_states.notice_closed(by),
                queue_changed=was is RoomStatus.waiting,
            )
        self.replies.cancel(room_id)
        self._announce(done, agent_ids=tuple(a for a in (room_agent,) if a is not None))
        return done.room

    async def _publish_queue(self) -> None:
        self.publisher.push([(QUEUE_CHANNEL, queue_frame(await self.queue()))])

    async def _ai_hand_off(self, room_id: str, reason: str) -> list[str]:
        return await self.request_human(room_id, reason=reason, cancel_reply=False)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task: asyncio.Task[None] = asyncio.create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        task.add_done_callback(_log_failure)


def _log_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("background task failed", exc_info=task.exception())
