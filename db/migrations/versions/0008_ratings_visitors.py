"""Ratings and visitors: the user's "How did we do?" and the browser a room was opened from.

Revision ID: 0008_ratings_visitors
Revises: 0007_agent_status_transfer
Create Date: 2026-11-30

* ratings: one per room (the key), its score 1–5, an optional comment and the agent it is
  credited to (NULL: the AI). The room log also writes a `rated` event with it, so the
  statistics fold sees the room change after it was closed.
* rooms.visitor_id: the server-issued visitor id (api/visitors.py) that links a visitor's
  rooms for the agents' "Previous conversations"; NULL for rooms opened without one.

db/schema.sql matches.
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision: str = "0008_ratings_visitors"
down_revision: str | Sequence[str] | None = "0007_agent_status_transfer"
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
    op.add_column("rooms", sa.Column("visitor_id", sa.String(length=32), nullable=True))
    op.create_index("ix_rooms_visitor_id", "rooms", ["visitor_id"])
    op.create_table(
        "ratings",
        sa.Column("room_id", sa.String(length=32), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("agent_id", sa.Integer(), nullable=True),
        sa.Column("created_at", utc_datetime(), nullable=False),
        sa.ForeignKeyConstraint(["room_id"], ["rooms.id"]),
        sa.ForeignKeyConstraint(["agent_id"], ["agents.id"]),
        sa.PrimaryKeyConstraint("room_id"),
        **TABLE_OPTIONS,
    )
    op.create_index("ix_ratings_agent_id", "ratings", ["agent_id"])


def downgrade() -> None:
    op.execute("DELETE FROM room_events WHERE kind = 'rated'")
    op.drop_table("ratings")
    op.drop_index("ix_rooms_visitor_id", table_name="rooms")
    op.drop_column("rooms", "visitor_id")
