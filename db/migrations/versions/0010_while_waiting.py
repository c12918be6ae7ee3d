"""AI replies written while the user waits for a person: messages.while_waiting.

Revision ID: 0010_while_waiting
Revises: 0009_ux_followups
Create Date: 2026-11-30

* messages.while_waiting: true on an AI reply written while its room was `waiting`, so every
  client can mark it "while you wait" (a field of the message, not words in its text).

A withdrawn request (`room_events.kind = 'withdrawn'`) needs no schema change: the kind is a
VARCHAR. db/schema.sql matches.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_while_waiting"
down_revision: str | Sequence[str] | None = "0009_ux_followups"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "messages", sa.Column("while_waiting", sa.Boolean(), server_default="0", nullable=False)
    )


def downgrade() -> None:
    op.drop_column("messages", "while_waiting")
