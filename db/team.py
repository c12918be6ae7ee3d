"""Saved replies and private notes: the team's tools, kept apart from the room log.

Notes are not messages: they have their own ids, take no room seq and touch neither
`rooms.last_seq` nor the per-sender counters, so nothing that reads messages (the AI's
prompt, a room's WebSocket, the NDJSON stream, the statistics) can ever meet one.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import AgentRef, Note, NotePublic, SavedReply, SavedReplyPublic, utcnow
from db.tables import agents_t

replies_t = SavedReply.__table__  # type: ignore[attr-defined]
notes_t = Note.__table__  # type: ignore[attr-defined]


class DuplicateShortcut(Exception):
    """Another saved reply has this shortcut."""


# ---------------------------------------------------------------- saved replies


def _reply(row: Any) -> SavedReplyPublic:
    return SavedReplyPublic(
        id=row.id,
        shortcut=row.shortcut,
        title=row.title,
        text=row.text,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


async def list_replies(session: AsyncSession) -> list[SavedReplyPublic]:
    rows = (await session.execute(sa.select(replies_t).order_by(replies_t.c.shortcut))).all()
    return [_reply(row) for row in rows]


async def get_reply(session: AsyncSession, *, reply_id: int) -> SavedReplyPublic | None:
    row = (await session.execute(sa.select(replies_t).where(replies_t.c.id == reply_id))).first()
    return None if row is None else _reply(row)


async def _shortcut_taken(session: AsyncSession, shortcut: str, *, other_than: int | None) -> bool:
    query = sa.select(replies_t.c.id).where(replies_t.c.shortcut == shortcut)
    if other_than is not None:
        query = query.where(replies_t.c.id != other_than)
    return (await session.execute(query)).first() is not None


async def create_reply(
    session: AsyncSession, *, shortcut: str, title: str, text: str
) -> SavedReplyPublic:
    """DuplicateShortcut when the shortcut is taken (checked first, and by the unique index
    should two admins race)."""
    if await _shortcut_taken(session, shortcut, other_than=None):
        raise DuplicateShortcut(shortcut)
    now = utcnow()
    reply = SavedReply(shortcut=shortcut, title=title, text=text, created_at=now, updated_at=now)
    session.add(reply)
    try:
        await session.flush()
    except IntegrityError:  # the transaction is spoilt: the caller's write() rolls it back
        raise DuplicateShortcut(shortcut) from None
    assert reply.id is not None
    return SavedReplyPublic(
        id=reply.id, shortcut=shortcut, title=title, text=text, created_at=now, updated_at=now
    )


async def update_reply(
    session: AsyncSession, *, reply_id: int, shortcut: str, title: str, text: str
) -> SavedReplyPublic | None:
    """None when there is no such reply; DuplicateShortcut when another one has `shortcut`."""
    found = await get_reply(session, reply_id=reply_id)
    if found is None:
        return None
    if await _shortcut_taken(session, shortcut, other_than=reply_id):
        raise DuplicateShortcut(shortcut)
    now = utcnow()
    try:
        await session.execute(
            sa.update(replies_t)
            .where(replies_t.c.id == reply_id)
            .values(shortcut=shortcut, title=title, text=text, updated_at=now)
        )
    except IntegrityError:
        raise DuplicateShortcut(shortcut) from None
    return found.model_copy(
        update={"shortcut": shortcut, "title": title, "text": text, "updated_at": now}
    )


async def delete_reply(session: AsyncSession, *, reply_id: int) -> bool:
    result = await session.execute(sa.delete(replies_t).where(replies_t.c.id == reply_id))
    return bool(result.rowcount)  # type: ignore[attr-defined]


# ---------------------------------------------------------------- notes


async def add_note(
    session: AsyncSession, *, room_id: str, agent: AgentRef, text: str, now: datetime | None = None
) -> NotePublic:
    created_at = now or utcnow()
    note = Note(room_id=room_id, agent_id=agent.id, text=text, created_at=created_at)
    session.add(note)
    await session.flush()
    assert note.id is not None
    return NotePublic(id=note.id, room_id=room_id, agent=agent, text=text, created_at=created_at)


async def list_notes(session: AsyncSession, *, room_id: str) -> list[NotePublic]:
    """The room's notes, oldest first, each with its author's current name."""
    query = (
        sa.select(
            notes_t.c.id,
            notes_t.c.room_id,
            notes_t.c.agent_id,
            agents_t.c.name,
            notes_t.c.text,
            notes_t.c.created_at,
        )
        .join(agents_t, agents_t.c.id == notes_t.c.agent_id)
        .where(notes_t.c.room_id == room_id)
        .order_by(notes_t.c.created_at, notes_t.c.id)
    )
    return [
        NotePublic(
            id=row.id,
            room_id=row.room_id,
            agent=AgentRef(id=row.agent_id, name=row.name),
            text=row.text,
            created_at=row.created_at,
        )
        for row in (await session.execute(query)).all()
    ]
