"""Initial schema: agents, rooms, messages, room_events.

Revision ID: 0001_initial
Revises:
Create Date: 2024-11-24

Written out by hand to match db/models.py exactly (columns in model order, the index and
constraint names SQLAlchemy derives from the models), for SQLite and MySQL/MariaDB alike.
db/schema.sql is the same schema as plain MySQL DDL: change both together.
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

# revision identifiers, used by Alembic.
revision: str = "0001_initial"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Binary collation: comparisons behave as on SQLite (case-sensitive), so a client_id that
# differs only in case is a different key on both databases.
MYSQL_TABLE: dict[str, Any] = {
    "mysql_engine": "InnoDB",
    "mysql_charset": "utf8mb4",
    "mysql_collate": "utf8mb4_bin",
}


def utc_datetime() -> sa.DateTime:
    """db.models.UTCDateTime as stored: DATETIME(6) on MySQL, DATETIME elsewhere."""
    return sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql")


def upgrade() -> None:
    op.create_table(
        "agents",
        sa.Column("email", sa.String(length=255), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False, autoincrement=True),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("created_at", utc_datetime(), nullable=False),
        sa.Column("last_poll_at", utc_datetime(), nullable=True),
        sa.Column("ws_until", utc_datetime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        **MYSQL_TABLE,
    )
    op.create_index("ix_agents_email", "agents", ["email"], unique=True)

    op.create_table(
        "rooms",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=True),
        sa.Column("last_seq", sa.Integer(), nullable=False),
        sa.Column("created_at", utc_datetime(), nullable=False),
        sa.Column("waiting_since", utc_datetime(), nullable=True),
        sa.Column("closed_at", utc_datetime(), nullable=True),
        sa.Column("brief", sa.String(length=1000), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.ForeignKeyConstraint(["agent_id"], ["agents.id"]),
        **MYSQL_TABLE,
    )
    op.create_index("ix_rooms_agent_id", "rooms", ["agent_id"], unique=False)
    op.create_index(
        "ix_rooms_status_waiting_since", "rooms", ["status", "waiting_since"], unique=False
    )

    op.create_table(
        "messages",
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=True),
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=False,
            autoincrement=True,
        ),
        sa.Column("room_id", sa.String(length=32), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("sender", sa.String(length=8), nullable=False),
        sa.Column("author", sa.String(length=100), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=True),
        sa.Column("created_at", utc_datetime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("room_id", "seq", name="uq_messages_room_seq"),
        sa.UniqueConstraint("client_id", "room_id", name="uq_messages_room_client_id"),
        sa.ForeignKeyConstraint(["room_id"], ["rooms.id"]),
        sa.ForeignKeyConstraint(["agent_id"], ["agents.id"]),
        **MYSQL_TABLE,
    )
    op.create_index("ix_messages_created_at", "messages", ["created_at"], unique=False)
    op.create_index(
        "ix_messages_room_sender_created",
        "messages",
        ["room_id", "sender", "created_at"],
        unique=False,
    )

    op.create_table(
        "room_events",
        sa.Column("id", sa.Integer(), nullable=False, autoincrement=True),
        sa.Column("room_id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("from_status", sa.String(length=16), nullable=True),
        sa.Column("to_status", sa.String(length=16), nullable=True),
        sa.Column("reason", sa.String(length=32), nullable=True),
        sa.Column("agent_id", sa.Integer(), nullable=True),
        sa.Column("created_at", utc_datetime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.ForeignKeyConstraint(["room_id"], ["rooms.id"]),
        sa.ForeignKeyConstraint(["agent_id"], ["agents.id"]),
        **MYSQL_TABLE,
    )
    op.create_index("ix_room_events_room_id", "room_events", ["room_id"], unique=False)
    op.create_index("ix_room_events_agent_id", "room_events", ["agent_id"], unique=False)
    op.create_index(
        "ix_room_events_kind_created_at", "room_events", ["kind", "created_at"], unique=False
    )


def downgrade() -> None:
    op.drop_table("room_events")
    op.drop_table("messages")
    op.drop_table("rooms")
    op.drop_table("agents")
