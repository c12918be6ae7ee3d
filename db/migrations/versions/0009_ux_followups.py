"""Follow-ups, when a room's user was last seen, and agents' console sessions.

Revision ID: 0009_ux_followups
Revises: 0008_ratings_visitors
Create Date: 2026-11-30

* followups: an email and a message a user left while no agent was online (their room closes
  with reason `followup`); agents mark them done. Tandem sends no mail.
* rooms.user_seen_at: the last time the room's user polled or wrote (written at most once per
  30 s per room), so a periodic task can close the rooms whose user is gone (`abandoned`);
* agent_sessions: a console's revocable "stay logged in" (the SHA-256 of a secret the
  browser keeps), exchanged for a JWT on reload; logout and disabling void it.

db/schema.sql matches.
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision: str = "0009_ux_followups"
down_revision: str | Sequence[str] | None = "0008_ratings_visitors"
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
    op.add_column("rooms", sa.Column("user_seen_at", utc_datetime(), nullable=True))
    op.create_table(
        "followups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("room_id", sa.String(length=32), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", utc_datetime(), nullable=False),
        sa.Column("done_at", utc_datetime(), nullable=True),
        sa.Column("done_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["room_id"], ["rooms.id"]),
        sa.ForeignKeyConstraint(["done_by"], ["agents.id"]),
        sa.PrimaryKeyConstraint("id"),
        **TABLE_OPTIONS,
    )
    op.create_index("ix_followups_room_id", "followups", ["room_id"], unique=True)
    op.create_index("ix_followups_done_created", "followups", ["done_at", "created_at"])
    op.create_table(
        "agent_sessions",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("token_version", sa.Integer(), nullable=False),
        sa.Column("created_at", utc_datetime(), nullable=False),
        sa.Column("expires_at", utc_datetime(), nullable=False),
        sa.Column("revoked_at", utc_datetime(), nullable=True),
        sa.ForeignKeyConstraint(["agent_id"], ["agents.id"]),
        sa.PrimaryKeyConstraint("id"),
        **TABLE_OPTIONS,
    )
    op.create_index("ix_agent_sessions_agent_id", "agent_sessions", ["agent_id"])


def downgrade() -> None:
    op.drop_table("agent_sessions")
    op.drop_table("followups")
    op.drop_column("rooms", "user_seen_at")
