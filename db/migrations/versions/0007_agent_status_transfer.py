"""Agent status and capacity, and rooms transferred back to the queue.

Revision ID: 0007_agent_status_transfer
Revises: 0005_team_tools
Create Date: 2026-11-30

* agents.status: `available` or `away` (away: not online for handoffs, gets no new chats);
* agents.max_chats: most chats the agent holds at once (default 3, admins set it);
* agents.last_assigned_at: when the agent last got a chat (auto-assignment's "longest idle");
* rooms.priority: set while a room waits after a transfer back to the queue, which puts it
  ahead of the rooms that never had an agent (its `waiting_since` is not back-dated).

db/schema.sql matches.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision: str = "0007_agent_status_transfer"
down_revision: str | Sequence[str] | None = "0005_team_tools"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "agents",
        sa.Column("status", sa.String(length=16), server_default="available", nullable=False),
    )
    op.add_column(
        "agents", sa.Column("max_chats", sa.Integer(), server_default="3", nullable=False)
    )
    op.add_column(
        "agents",
        sa.Column(
            "last_assigned_at",
            sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql"),
            nullable=True,
        ),
    )
    op.add_column("rooms", sa.Column("priority", sa.Boolean(), server_default="0", nullable=False))


def downgrade() -> None:
    op.drop_column("rooms", "priority")
    op.drop_column("agents", "last_assigned_at")
    op.drop_column("agents", "max_chats")
    op.drop_column("agents", "status")
