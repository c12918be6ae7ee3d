"""The supervisor board's reads: the queue with why each room waits, and the chats in progress
with how long their customer's last message has gone unanswered.

A few indexed reads over the rooms that wait or are held, never a scan of the messages: the
last user and agent message of each held room come from the (room_id, sender, created_at)
index."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel

from db.models import EventKind, RoomPublic, RoomStatus, Sender
from db.queries import _room_public_query, _to_public
from db.tables import events_t, messages_t, rooms_t


class WaitingRoom(SQLModel):
    room: RoomPublic
    reason: str | None
    """Why it waits: the handoff's reason (button, phrase, ...) or `queue` (transferred back)."""


class ChatInProgress(SQLModel):
    room: RoomPublic
    last_user_message_at: datetime | None
    last_agent_message_at: datetime | None
    unanswered_since: datetime | None
    """The customer's last message when no agent message has come after it (else null)."""


async def waiting_reasons(
    session: AsyncSession, *, rooms: Sequence[RoomPublic]
) -> list[WaitingRoom]:
    ids = [r.id for r in rooms]
    reasons: dict[str, str | None] = {}
    if ids:
        query = (
            sa.select(events_t.c.room_id, events_t.c.reason)
            .where(
                events_t.c.room_id.in_(ids),
                events_t.c.kind.in_([EventKind.handoff.value, EventKind.transferred.value]),
            )
            .order_by(events_t.c.id)
        )
        for row in (await session.execute(query)).all():
            reasons[row.room_id] = row.reason  # the last one wins
    return [WaitingRoom(room=r, reason=reasons.get(r.id)) for r in rooms]


async def chats_in_progress(session: AsyncSession) -> list[ChatInProgress]:
    """Every held chat, the longest-unanswered first, then the oldest."""
    query = _room_public_query().where(rooms_t.c.status == RoomStatus.agent.value)
    rooms = [_to_public(row, None) for row in (await session.execute(query)).all()]
    last: dict[tuple[str, str], datetime] = {}
    if rooms:
        stamps = (
            sa.select(
                messages_t.c.room_id,
                messages_t.c.sender,
                sa.func.max(messages_t.c.created_at).label("at"),
            )
            .where(
                messages_t.c.room_id.in_([r.id for r in rooms]),
                messages_t.c.sender.in_([Sender.user.value, Sender.agent.value]),
            )
            .group_by(messages_t.c.room_id, messages_t.c.sender)
        )
        for row in (await session.execute(stamps)).all():
            at = row.at if isinstance(row.at, datetime) else datetime.fromisoformat(str(row.at))
            last[(row.room_id, str(row.sender))] = at
    chats = []
    for room in rooms:
        user = _aware(last.get((room.id, Sender.user.value)))
        agent = _aware(last.get((room.id, Sender.agent.value)))
        waiting = user if user is not None and (agent is None or agent < user) else None
        chats.append(
            ChatInProgress(
                room=room,
                last_user_message_at=user,
                last_agent_message_at=agent,
                unanswered_since=waiting,
            )
        )
    chats.sort(key=lambda c: (c.unanswered_since is None, c.unanswered_since or c.room.created_at))
    return chats


def _aware(moment: datetime | None) -> datetime | None:
    from datetime import UTC

    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)
