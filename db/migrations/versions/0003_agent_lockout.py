"""Agents can be locked out: agents.disabled and agents.token_version.

Revision ID: 0003_agent_lockout
Revises: 0002_stats_columns
Create Date: 2026-12-06

* agents.disabled: a disabled agent cannot log in and their tokens stop working.
* agents.token_version: goes into every agent token; disabling and a password reset bump it,
  which voids the tokens issued before. Existing agents start at 0, new ones at a random value
  (db.queries.create_agent), so that an id SQLite hands out again after a delete does not
  accept the deleted agent's tokens. (Making agents.id AUTOINCREMENT instead would mean
  rebuilding the table, which SQLite only allows with foreign keys off, outside the
  transaction the start-up migration runs in.)

db/schema.sql matches.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_agent_lockout"
down_revision: str | Sequence[str] | None = "0002_stats_columns"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("agents", sa.Column("disabled", sa.Boolean(), server_default="0", nullable=False))
    op.add_column(
        "agents", sa.Column("token_version", sa.Integer(), server_default="0", nullable=False)
    )


def downgrade() -> None:
    op.drop_column("agents", "token_version")
    op.drop_column("agents", "disabled")
