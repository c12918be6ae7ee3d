"""The rooms of a writer batch (api/writer.py): locked and read, or taken as the writer last
wrote them.

Most batches write to rooms the writer wrote a moment ago. For those, `KnownRooms` remembers
each room's state and `last_seq` as the writer left it, and the batch skips the
`SELECT ... FOR UPDATE` that would read them again: its rooms' UPDATE only matches where
`last_seq` is still the remembered one (`room_log.append_messages_if_unchanged`), and that
takes the same row locks. A room that moved on meanwhile (a join, a close, another process's
message) fails the match: the attempt rolls back and the batch locks its rooms as before. On
MariaDB that is one round trip of four per batch saved.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from api.room_states import check_send
from db import room_log
from db.driver import Driver
from db.models import MessagePublic, RoomStatus, utcnow
from db.queries import RoomNotFound
from db.room_log import LockedRoom, MessageDraft

KNOWN_ROOMS_LIMIT = 50_000
"""Rooms remembered at most (~150 bytes each); past it the memory starts again."""
SHY_SECONDS = 2.0
"""After a room moved on under the writer, it is locked for this long: a room that another
process also writes would otherwise cost a failed attempt per batch."""


@dataclass(frozen=True, slots=True)
class StoredMessage:
    message: MessagePublic
    status: RoomStatus | None
    """The room's state when the message was stored: what decides whether the AI answers.
    None for a repeat of an earlier message (a repeat sets nothing off)."""
    agent_id: int | None
    duplicate: bool = False


class RoomsMoved(Exception):
    """A room changed since the writer last wrote it: roll back and lock the rooms."""


class KnownRooms:
    """Each room as this writer last wrote it (in a batch that may still be committing: a
    batch that then fails forgets its rooms, and the next one's match fails anyway)."""

    def __init__(self) -> None:
        self._rooms: dict[str, LockedRoom] = {}
        self._shy_until: dict[str, float] = {}

    def get(self, room_ids: Iterable[str]) -> dict[str, LockedRoom] | None:
        """All of these rooms as last written, or None if any is unknown or shy."""
        known: dict[str, LockedRoom] = {}
        for room_id in room_ids:
            room = self._rooms.get(room_id)
            if room is None:
                return None
            known[room_id] = room
        return known

    def remember(self, rooms: dict[str, LockedRoom]) -> None:
        if self._shy_until:
            now = time.monotonic()
            self._shy_until = {r: t for r, t in self._shy_until.items() if t > now}
            rooms = {r: room for r, room in rooms.items() if r not in self._shy_until}
        if len(self._rooms) + len(rooms) > KNOWN_ROOMS_LIMIT:
            self._rooms.clear()
        self._rooms.update(rooms)

    def forget(self, room_ids: Iterable[str], *, moved: bool = False) -> None:
        until = time.monotonic() + SHY_SECONDS
        for room_id in room_ids:
            self._rooms.pop(room_id, None)
            if moved:
                self._shy_until[room_id] = until


async def store_drafts(
    session: AsyncSession | Driver, drafts: Sequence[MessageDraft], known: KnownRooms
) -> list[StoredMessage | Exception]:
    """Store the drafts their room accepts (the routing rules) and answer the others with the
    reason; a refused draft takes no seq, so seqs stay gapless. Rooms this writer knows are
    not read again (see the module docstring); raises `RoomsMoved` when one moved on."""
    room_ids = {d.room_id for d in drafts}
    remembered = known.get(room_ids)
    rooms = remembered or await room_log.lock_rooms(session, room_ids=sorted(room_ids))
    answers = [_refusal(draft, rooms) for draft in drafts]
    if remembered is not None and any(answers):
        # Refused by what the writer remembers: the room may have changed since. Ask again.
        known.forget(room_ids, moved=True)
        raise RoomsMoved()
    accepted = [draft for draft, answer in zip(drafts, answers, strict=True) if answer is None]
    now = utcnow()
    if remembered is None:
        written = await room_log.append_messages(session, rooms=rooms, drafts=accepted, now=now)
    else:
        appended = await room_log.append_messages_if_unchanged(
            session, rooms=rooms, drafts=accepted, now=now
        )
        if appended is None:
            known.forget(room_ids, moved=True)
            raise RoomsMoved()
        written = appended
    stored = iter(written)
    results: list[StoredMessage | Exception] = []
    seqs: dict[str, int] = {}
    for draft, refusal in zip(drafts, answers, strict=True):
        if refusal is not None:
            results.append(refusal)
            continue
        room = rooms[draft.room_id]
        message = next(stored)
        seqs[draft.room_id] = message.seq
        results.append(StoredMessage(message, status=room.status, agent_id=room.agent_id))
    known.remember(
        {
            room_id: LockedRoom(room.status, room.agent_id, seqs.get(room_id, room.last_seq))
            for room_id, room in rooms.items()
        }
    )
    return results


def _refusal(draft: MessageDraft, rooms: dict[str, LockedRoom]) -> Exception | None:
    room = rooms.get(draft.room_id)
    try:
        if room is None:
            raise RoomNotFound(draft.room_id)
        check_send(
            room.status,
            draft.sender,
            room_agent_id=room.agent_id,
            agent_id=draft.agent_id,
            while_waiting=draft.while_waiting,
        )
    except Exception as exc:
        return exc
    return None
