"""The room service's team half: capacity, transfers, and auto-assignment.

`RoomService` inherits these methods; they use its lock, transition and announce steps, so a
transfer is one more transition written by `db/room_log.py` (event `transferred`, a system
notice, the end of the previous stint) and pushed like a join.

* Capacity: joining, receiving a transfer or being auto-assigned locks the agent's row and
  counts the chats they hold (two joins by one agent cannot both pass); away agents get no
  new chats, and a transfer also needs its receiver online.
* Auto-assignment (`TANDEM_AUTO_ASSIGN=true`): a loop, woken by every transition and every
  `AUTO_ASSIGN_EVERY` seconds (rooms queued or agents freed on another process), gives the
  waiting rooms, in queue order, to the online agent with the fewest chats (ties: idle
  longest). Two processes may both try: the room's lock lets one win, the other skips it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from api import room_states
from api.frames import agent_channel
from api.room_states import RoutingError
from api.room_steps import RoomSteps
from db import team
from db.models import Agent, AgentRef, AgentStatus, Role, RoomPublic, RoomStatus, utcnow

if TYPE_CHECKING:
    from api.presence import Presence
    from api.realtime.publisher import Publisher

log = logging.getLogger(__name__)

AUTO_ASSIGN_EVERY = 2.0
"""Seconds between auto-assignment passes when nothing here woke the loop."""


class TeamRouting(RoomSteps):
    """Mixed into `RoomService` (api/rooms.py)."""

    auto_assign: bool = False
    if TYPE_CHECKING:  # RoomService's, which these methods use
        presence: Presence
        publisher: Publisher

        async def queue(self) -> list[RoomPublic]: ...
        async def get_room(self, room_id: str) -> RoomPublic: ...

    _assign_wake: asyncio.Event | None = None
    _assign_task: asyncio.Task[None] | None = None

    # ------------------------------------------------------------ capacity

    async def _take(self, session: AsyncSession, agent_id: int, *, own: bool) -> Agent:
        """Lock the agent who gets a chat and check they may (`room_states.can_take`)."""
        found = await team.lock_agent_load(session, agent_id=agent_id)
        agent = found[0] if found is not None else None
        if agent is None or found is None or agent.disabled or agent.role is Role.analyst:
            raise RoutingError("no_such_agent", "No agent with this id takes chats.", status=404)
        held = found[1]
        now = utcnow()
        online = (agent.ws_until is not None and agent.ws_until > now) or (
            agent.last_poll_at is not None and agent.last_poll_at > now - self.presence.window
        )
        room_states.can_take(
            name=agent.name,
            own=own,
            status=AgentStatus(agent.status),
            online=online,
            held=held,
            max_chats=agent.max_chats,
        )
        await team.mark_assigned(session, agent_id=agent_id, now=now)
        return agent

    async def update_agent(
        self,
        agent_id: int,
        *,
        status: AgentStatus | None = None,
        max_chats: int | None = None,
    ) -> team.AgentState:
        async with self.db.write() as session:
            await team.update_agent(session, agent_id=agent_id, status=status, max_chats=max_chats)
        self.wake_assigner()  # available again, or room for more chats
        [state] = await self.agent_states(agent_id=agent_id)
        return state

    async def agent_states(self, agent_id: int | None = None) -> list[team.AgentState]:
        async with self.db.session() as session:
            return await team.agent_states(
                session, now=utcnow(), window=self.presence.window, agent_id=agent_id
            )

    # ------------------------------------------------------------ transfer

    async def transfer(
        self,
        room_id: str,
        *,
        by: Agent,
        to_agent: int | None,
        note: str | None = None,
    ) -> RoomPublic:
        """Hand a held chat to another agent (`to_agent`; an admin's own id: a takeover) or
        back to the queue, first in line (`to_agent` None). The note, if any, is stored with
        the transfer as a private note and pushed to the agents it concerns."""
        assert by.id is not None
        async with self.db.write() as session:
            room = await self._locked(session, room_id)
            step = room_states.transfer(
                room.status,
                room_agent_id=room.agent_id,
                by=by.id,
                admin=by.role is Role.admin,
                to_agent=to_agent,
            )
            was = room.agent_id
            if to_agent is None:
                text, actor = room_states.NOTICE_BACK_IN_QUEUE, by.id
            else:
                receiver = await self._take(session, to_agent, own=to_agent == by.id)
                text, actor = room_states.notice_transferred(receiver.name), to_agent
            done = await self._transition(
                session,
                room,
                step,
                agent_id=to_agent,
                by=actor,
                text=text,
                queue_changed=to_agent is None,
                priority=to_agent is None,
            )
            stored = None
            if note and note.strip():
                author = AgentRef(id=by.id, name=by.name)
                stored = await team.add_note(
                    session, room_id=room_id, agent=author, text=note.strip()
                )
        agents = tuple(a for a in {was, by.id} if a is not None)
        self._announce(done, agent_ids=agents)
        if stored is not None:
            from api.notes import note_frame  # api.notes imports the app's deps, which import us

            frame = note_frame(stored)
            targets = {*agents, *((to_agent,) if to_agent is not None else ())}
            self.publisher.push((agent_channel(a), frame) for a in sorted(targets))
        return done.room

    # ------------------------------------------------------------ auto-assignment

    def wake_assigner(self) -> None:
        if self._assign_wake is not None:
            self._assign_wake.set()

    def start_assigner(self) -> None:
        if self.auto_assign and self._assign_task is None:
            self._assign_wake = asyncio.Event()
            self._assign_task = asyncio.create_task(self._assign_loop())

    async def stop_assigner(self) -> None:
        task, self._assign_task, self._assign_wake = self._assign_task, None, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def _assign_loop(self) -> None:
        assert self._assign_wake is not None
        wake = self._assign_wake
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), AUTO_ASSIGN_EVERY)
            wake.clear()
            try:
                await self.db.detached(self.assign_waiting)  # stop_assigner() cancels this loop
            except Exception:  # the next pass tries again
                log.warning("auto-assignment pass failed", exc_info=True)

    async def assign_waiting(self) -> int:
        """One pass: each waiting room, in queue order, to the best agent free now. Returns
        how many rooms were assigned."""
        assigned = 0
        for room in await self.queue():
            async with self.db.session() as session:
                agent_id = await team.pick_agent(session, now=utcnow(), window=self.presence.window)
            if agent_id is None:
                break
            try:
                await self._assign(room.id, agent_id)
            except RoutingError:  # taken meanwhile, or the agent filled up: next room
                continue
            assigned += 1
        return assigned

    async def _assign(self, room_id: str, agent_id: int) -> None:
        async with self.db.write() as session:
            room = await self._locked(session, room_id)
            if room.status is not RoomStatus.waiting:
                raise RoutingError("already_taken", "This chat no longer waits.")
            agent = await self._take(session, agent_id, own=False)
            step = room_states.join(room.status)
            done = await self._transition(
                session,
                room,
                room_states.Transition(step.to, step.event, "auto"),
                agent_id=agent_id,
                by=agent_id,
                text=room_states.notice_joined(agent.name),
                queue_changed=True,
            )
        self.replies.cancel(room_id)
        self._announce(done, agent_ids=(agent_id,))
