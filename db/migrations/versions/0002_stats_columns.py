"""Columns the statistics read instead of deriving them on every request.

Revision ID: 0002_stats_columns
Revises: 0001_initial
Create Date: 2026-11-29

The statistics used to pair every transition with the next one (a window function), look up
each join's first agent message (a correlated subquery) and count every message of the period
by sender on each request: over a second on 100,000 conversations. The room service now writes
these down as they happen:

* room_events.next_kind / next_at on a handoff or join row: the room's next transition;
* room_events.first_reply_at on a join row: the stint's first agent message;
* rooms.<sender>_messages: messages per sender.

This revision adds the columns and fills them in for the rows already there. db/schema.sql
matches.
"""

from collections.abc import Iterator, Sequence
from itertools import groupby, pairwise
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision: str = "0002_stats_columns"
down_revision: str | Sequence[str] | None = "0001_initial"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SPANS = ("handoff", "joined")
SENDERS = ("user", "ai", "agent", "system")
BATCH = 5_000


def utc_datetime() -> sa.DateTime:
    """db.models.UTCDateTime as stored: DATETIME(6) on MySQL, DATETIME elsewhere."""
    return sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql")


def upgrade() -> None:
    op.add_column("room_events", sa.Column("next_kind", sa.String(length=16), nullable=True))
    op.add_column("room_events", sa.Column("next_at", utc_datetime(), nullable=True))
    op.add_column("room_events", sa.Column("first_reply_at", utc_datetime(), nullable=True))
    for sender in SENDERS:
        op.add_column(
            "rooms",
            sa.Column(f"{sender}_messages", sa.Integer(), server_default="0", nullable=False),
        )
    _backfill_spans(op.get_bind())
    _backfill_counts(op.get_bind())


def downgrade() -> None:
    for sender in reversed(SENDERS):
        op.drop_column("rooms", f"{sender}_messages")
    op.drop_column("room_events", "first_reply_at")
    op.drop_column("room_events", "next_at")
    op.drop_column("room_events", "next_kind")


def _next_transitions(connection: sa.Connection) -> Iterator[dict[str, Any]]:
    """Each span row's next transition in its room, in (created_at, id) order."""
    rows = connection.execute(
        sa.text(
            "SELECT id, room_id, kind, created_at FROM room_events "
            "WHERE kind IN ('handoff', 'joined', 'left', 'closed') "
            "ORDER BY room_id, created_at, id"
        )
    )
    for _, in_room in groupby(rows, key=lambda row: row.room_id):
        events = list(in_room)
        for event, after in pairwise(events):
            if event.kind in SPANS:
                yield {"event_id": event.id, "kind": after.kind, "at": after.created_at}


def _backfill_spans(connection: sa.Connection) -> None:
    update = sa.text("UPDATE room_events SET next_kind = :kind, next_at = :at WHERE id = :event_id")
    batch: list[dict[str, Any]] = []
    for row in _next_transitions(connection):
        batch.append(row)
        if len(batch) == BATCH:
            connection.execute(update, batch)
            batch = []
    if batch:
        connection.execute(update, batch)
    # The subquery reads messages, not room_events, so MySQL allows it in this UPDATE.
    connection.execute(
        sa.text(
            "UPDATE room_events SET first_reply_at = ("
            " SELECT MIN(m.created_at) FROM messages m"
            " WHERE m.room_id = room_events.room_id AND m.sender = 'agent'"
            " AND m.created_at >= room_events.created_at"
            " AND (room_events.next_at IS NULL OR m.created_at <= room_events.next_at)"
            ") WHERE kind = 'joined'"
        )
    )


def _backfill_counts(connection: sa.Connection) -> None:
    counts = ", ".join(
        f"{sender}_messages = (SELECT COUNT(*) FROM messages m"
        f" WHERE m.room_id = rooms.id AND m.sender = '{sender}')"
        for sender in SENDERS
    )
    connection.execute(sa.text(f"UPDATE rooms SET {counts}"))
