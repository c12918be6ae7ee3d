"""A support team's tools: saved replies and private notes.

Revision ID: 0005_team_tools
Revises: 0004_stats_rollups
Create Date: 2026-11-30

* saved_replies: canned answers (`shortcut` unique) that agents insert with `/shortcut`;
* notes: private notes on a room, for agents only. They are not messages: their own ids,
  never a room seq, never counted in rooms.last_seq or the per-sender counters.

db/schema.sql matches.
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision: str = "0005_team_tools"
down_revision: str | Sequence[str] | None = "0004_stats_rollups"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def utc_datetime() -> sa.DateTime:
    """db.models.UTCDateTime as stored: DATETIME(6) on MySQL, DATETIME elsewhere."""
    return sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql")


TABLE_OPTIONS: dict[str, Any] = {
    "mysql_engine": "InnoDB",
    "mysql_charset": "utf8mb4",
    "mysql_collate": "utf8mb4_bin",
}


def upgrade() -> None:
    op.create_table(
        "saved_replies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("shortcut", sa.String(length=32), nullable=False),
        sa.Column("title", sa.String(length=100), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", utc_datetime(), nullable=False),
        sa.Column("updated_at", utc_datetime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        **TABLE_OPTIONS,
    )
    op.create_index("ix_saved_replies_shortcut", "saved_replies", ["shortcut"], unique=True)
    op.create_table(
        "notes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("room_id", sa.String(length=32), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", utc_datetime(), nullable=False),
        sa.ForeignKeyConstraint(["room_id"], ["rooms.id"]),
        sa.ForeignKeyConstraint(["agent_id"], ["agents.id"]),
        sa.PrimaryKeyConstraint("id"),
        **TABLE_OPTIONS,
    )
    op.create_index("ix_notes_agent_id", "notes", ["agent_id"])
    op.create_index("ix_notes_room_created", "notes", ["room_id", "created_at"])


def downgrade() -> None:
    op.drop_table("notes")
    op.drop_table("saved_replies")
