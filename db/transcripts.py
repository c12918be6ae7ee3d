"""Transcript exports for analysts: one row per conversation, text search, a whole transcript.

The per-conversation rows are aggregated in SQL like the statistics (same cohort: rooms created
in a `LocalWindow`, same definitions, docs/metrics.md) and streamed, so a CSV of 100,000
conversations never sits in memory at once.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import sqlalchemy as sa
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import (
    MESSAGE_COUNTS,
    TRANSFER_TO_QUEUE,
    AgentRef,
    EventKind,
    MessagePublic,
    RoomStatus,
    Sender,
)
from db.queries import agent_names
from db.ratings import rating_of, ratings_t
from db.sqltime import LocalWindow, SqlTime, seconds
from db.tables import MESSAGE_COLUMNS, events_t, message_from_row, messages_t, rooms_t
from db.team import list_notes
from db.team_models import NotePublic, RatingPublic

SENDERS = tuple(s.value for s in Sender)
SNIPPET_CHARS = 160


# ---------------------------------------------------------------- one row per conversation


@dataclass(frozen=True, slots=True)
class ConversationRow:
    id: str
    created_at: datetime
    status: str
    handed_off: bool
    first_handoff_reason: str | None
    wait_seconds: float | None
    """First handoff → the join that answered it; None if it was not answered."""
    agent_ids: tuple[int, ...]
    messages: dict[str, int]
    closed_at: datetime | None
    duration_seconds: float | None
    rating: int | None = None
    rating_comment: str | None = None
    transfers: int = 0
    """Its `transferred` events: to another agent, an admin's takeover, back to the queue."""


def _conversation_query(window: LocalWindow, time: SqlTime) -> sa.Select[Any]:
    in_cohort = sa.and_(rooms_t.c.created_at >= window.start, rooms_t.c.created_at < window.end)
    cohort = sa.select(rooms_t.c.id).where(in_cohort)
    handoffs = (
        sa.select(
            events_t.c.room_id,
            events_t.c.reason,
            events_t.c.created_at,
            events_t.c.next_kind,
            events_t.c.next_at,
            sa.func.row_number()
            .over(
                partition_by=events_t.c.room_id,
                order_by=(events_t.c.created_at, events_t.c.id),
            )
            .label("nth"),
        )
        .where(events_t.c.room_id.in_(cohort), events_t.c.kind == EventKind.handoff.value)
        .subquery("handoffs")
    )
    first_handoff = sa.select(handoffs).where(handoffs.c.nth == 1).subquery("first_handoff")
    joins = (
        sa.select(
            events_t.c.room_id,
            sa.func.group_concat(sa.distinct(events_t.c.agent_id)).label("agent_ids"),
        )
        .where(
            events_t.c.room_id.in_(cohort),
            # every stint's agent: who joined, and who received a transfer
            sa.or_(
                events_t.c.kind == EventKind.joined.value,
                sa.and_(
                    events_t.c.kind == EventKind.transferred.value,
                    events_t.c.reason != TRANSFER_TO_QUEUE,
                ),
            ),
            events_t.c.agent_id.is_not(None),
        )
        .group_by(events_t.c.room_id)
        .subquery("joins")
    )
    transfers = (
        sa.select(events_t.c.room_id, sa.func.count().label("n"))
        .where(events_t.c.room_id.in_(cohort), events_t.c.kind == EventKind.transferred.value)
        .group_by(events_t.c.room_id)
        .subquery("transfers")
    )
    wait = sa.case(
        (
            first_handoff.c.next_kind == EventKind.joined.value,
            time.micros_between(first_handoff.c.created_at, first_handoff.c.next_at),
        ),
        else_=sa.null(),
    )
    duration = sa.case(
        (
            sa.and_(rooms_t.c.status == RoomStatus.closed.value, rooms_t.c.closed_at.is_not(None)),
            time.micros_between(rooms_t.c.created_at, rooms_t.c.closed_at),
        ),
        else_=sa.null(),
    )
    return (
        sa.select(
            rooms_t.c.id,
            rooms_t.c.created_at,
            rooms_t.c.status,
            rooms_t.c.closed_at,
            first_handoff.c.reason.label("first_reason"),
            first_handoff.c.created_at.label("first_handoff_at"),
            wait.label("wait"),
            joins.c.agent_ids,
            *[rooms_t.c[column].label(f"n_{s.value}") for s, column in MESSAGE_COUNTS.items()],
            duration.label("duration"),
            ratings_t.c.score.label("rating"),
            ratings_t.c.comment.label("rating_comment"),
            sa.func.coalesce(transfers.c.n, 0).label("transfers"),
        )
        .select_from(
            rooms_t.outerjoin(first_handoff, first_handoff.c.room_id == rooms_t.c.id)
            .outerjoin(joins, joins.c.room_id == rooms_t.c.id)
            .outerjoin(ratings_t, ratings_t.c.room_id == rooms_t.c.id)
            .outerjoin(transfers, transfers.c.room_id == rooms_t.c.id)
        )
        .where(in_cohort)
        .order_by(rooms_t.c.created_at, rooms_t.c.id)
    )


def _agent_ids(concatenated: str | bytes | None) -> tuple[int, ...]:
    """GROUP_CONCAT's comma list (bytes from some MySQL drivers), sorted."""
    if not concatenated:
        return ()
    text = concatenated.decode() if isinstance(concatenated, bytes) else str(concatenated)
    return tuple(sorted(int(part) for part in text.split(",")))


def _row(row: Any) -> ConversationRow:
    ids = _agent_ids(row.agent_ids)
    return ConversationRow(
        id=row.id,
        created_at=row.created_at,
        status=row.status,
        handed_off=row.first_handoff_at is not None or bool(ids),
        first_handoff_reason=row.first_reason,
        wait_seconds=seconds(row.wait),
        agent_ids=ids,
        messages={s: int(getattr(row, f"n_{s}")) for s in SENDERS},
        closed_at=row.closed_at,
        duration_seconds=seconds(row.duration),
        rating=row.rating,
        rating_comment=row.rating_comment,
        transfers=int(row.transfers),
    )


async def conversation_rows(
    session: AsyncSession, *, window: LocalWindow, batch: int = 1000
) -> AsyncIterator[list[ConversationRow]]:
    """The cohort's conversations oldest first, `batch` rows at a time (a server-side cursor
    on MariaDB), each with its aggregates."""
    query = _conversation_query(window, SqlTime(session.get_bind().dialect.name))
    result = await session.stream(query)
    async for rows in result.partitions(batch):
        yield [_row(row) for row in rows]


# ---------------------------------------------------------------- search


class SearchHit(BaseModel):
    room_id: str
    created_at: datetime
    status: RoomStatus
    matches: int
    """Messages of the conversation that contain the text."""
    seq: int
    """The first matching message."""
    sender: Sender
    snippet: str


def escape_like(text: str) -> str:
    return text.replace("/", "//").replace("%", "/%").replace("_", "/_")


def snippet(text: str, needle: str, size: int = SNIPPET_CHARS) -> str:
    """`size` characters of `text` around the first case-insensitive `needle`, with ellipses."""
    flat = " ".join(text.split())
    at = flat.lower().find(needle.lower())
    if len(flat) <= size:
        return flat
    start = max(0, (at if at >= 0 else 0) - size // 3)
    end = min(len(flat), start + size)
    start = max(0, end - size)
    return ("…" if start else "") + flat[start:end] + ("…" if end < len(flat) else "")


async def search_transcripts(
    session: AsyncSession, *, text: str, window: LocalWindow, limit: int
) -> tuple[list[SearchHit], bool]:
    """Conversations of the window with a message containing `text` (case-insensitive LIKE:
    ASCII on SQLite, all of Unicode on MariaDB), newest first; and whether more matched."""
    pattern = f"%{escape_like(text.lower())}%"
    hits = (
        sa.select(
            messages_t.c.room_id,
            sa.func.count().label("matches"),
            sa.func.min(messages_t.c.seq).label("seq"),
        )
        .join(rooms_t, rooms_t.c.id == messages_t.c.room_id)
        .where(
            rooms_t.c.created_at >= window.start,
            rooms_t.c.created_at < window.end,
            sa.func.lower(messages_t.c.text).like(pattern, escape="/"),
        )
        .group_by(messages_t.c.room_id)
        .subquery("hits")
    )
    query = (
        sa.select(
            rooms_t.c.id,
            rooms_t.c.created_at,
            rooms_t.c.status,
            hits.c.matches,
            hits.c.seq,
            messages_t.c.sender,
            messages_t.c.text,
        )
        .join(hits, hits.c.room_id == rooms_t.c.id)
        .join(
            messages_t,
            sa.and_(messages_t.c.room_id == hits.c.room_id, messages_t.c.seq == hits.c.seq),
        )
        .order_by(rooms_t.c.created_at.desc(), rooms_t.c.id)
        .limit(limit + 1)
    )
    rows = (await session.execute(query)).all()
    found = [
        SearchHit(
            room_id=row.id,
            created_at=row.created_at,
            status=RoomStatus(row.status),
            matches=int(row.matches),
            seq=int(row.seq),
            sender=Sender(row.sender),
            snippet=snippet(row.text, text),
        )
        for row in rows[:limit]
    ]
    return found, len(rows) > limit


# ---------------------------------------------------------------- one transcript


class TranscriptRoom(BaseModel):
    id: str
    status: RoomStatus
    agent: AgentRef | None
    created_at: datetime
    closed_at: datetime | None
    brief: str | None


class TranscriptEvent(BaseModel):
    kind: EventKind
    from_status: RoomStatus | None
    to_status: RoomStatus | None
    reason: str | None
    agent: AgentRef | None
    created_at: datetime


class TranscriptNote(BaseModel):
    """A private note, marked as one: not a message (no seq); `after_seq` places it by time,
    after the message with that seq (0: before the first)."""

    kind: Literal["note"] = "note"
    id: int
    agent: AgentRef
    text: str
    created_at: datetime
    after_seq: int


class Transcript(BaseModel):
    room: TranscriptRoom
    messages: list[MessagePublic]
    events: list[TranscriptEvent]
    notes: list[TranscriptNote] = []
    """The agents' private notes, oldest first."""
    rating: RatingPublic | None = None
    """The user's rating of the closed chat, if given."""


def place_notes(
    messages: Sequence[MessagePublic], notes: Sequence[NotePublic]
) -> list[TranscriptNote]:
    """Each note with the seq of the last message written before (or with) it."""
    placed = []
    for note in notes:
        after = max((m.seq for m in messages if m.created_at <= note.created_at), default=0)
        placed.append(
            TranscriptNote(
                id=note.id,
                agent=note.agent,
                text=note.text,
                created_at=note.created_at,
                after_seq=after,
            )
        )
    return placed


def _agent(agent_id: int | None, names: dict[int, str]) -> AgentRef | None:
    return None if agent_id is None else AgentRef(id=agent_id, name=names.get(agent_id, "?"))


async def took_part(session: AsyncSession, *, room_id: str, agent_id: int) -> bool:
    """Whether the agent ever held this chat: a `joined` event or a message of theirs."""
    joined = sa.select(events_t.c.id).where(
        events_t.c.room_id == room_id,
        events_t.c.kind == EventKind.joined.value,
        events_t.c.agent_id == agent_id,
    )
    wrote = sa.select(messages_t.c.seq).where(
        messages_t.c.room_id == room_id,
        messages_t.c.sender == Sender.agent.value,
        messages_t.c.agent_id == agent_id,
    )
    found = await session.execute(sa.select(sa.or_(sa.exists(joined), sa.exists(wrote))))
    return bool(found.scalar())


async def transcript(session: AsyncSession, *, room_id: str) -> Transcript | None:
    """The room, every message in seq order, every event in order and the agents' private
    notes, placed by time: the whole record."""
    room = (await session.execute(sa.select(rooms_t).where(rooms_t.c.id == room_id))).first()
    if room is None:
        return None
    messages = (
        await session.execute(
            sa.select(*MESSAGE_COLUMNS)
            .where(messages_t.c.room_id == room_id)
            .order_by(messages_t.c.seq)
        )
    ).all()
    events = (
        await session.execute(
            sa.select(events_t)
            .where(events_t.c.room_id == room_id)
            .order_by(events_t.c.created_at, events_t.c.id)
        )
    ).all()
    ids: Sequence[int] = [i for i in {room.agent_id, *(e.agent_id for e in events)} if i]
    names = await agent_names(session, ids=ids)
    public = [message_from_row(m) for m in messages]
    notes = await list_notes(session, room_id=room_id)
    rating = await rating_of(session, room_id=room_id)
    return Transcript(
        rating=rating,
        room=TranscriptRoom(
            id=room.id,
            status=RoomStatus(room.status),
            agent=_agent(room.agent_id, names),
            created_at=room.created_at,
            closed_at=room.closed_at,
            brief=room.brief,
        ),
        messages=public,
        notes=place_notes(public, notes),
        events=[
            TranscriptEvent(
                kind=EventKind(e.kind),
                from_status=RoomStatus(e.from_status) if e.from_status else None,
                to_status=RoomStatus(e.to_status) if e.to_status else None,
                reason=e.reason,
                agent=_agent(e.agent_id, names),
                created_at=e.created_at,
            )
            for e in events
        ],
    )
