"""Statistics rollups: per 15-minute UTC slot, folded in after commit (db/rollups.py).

Revision ID: 0004_stats_rollups
Revises: 0003_agent_lockout
Create Date: 2026-11-30

GET /api/stats re-read and re-ranked every span of the range on each request (~0.6 s and
growing with the conversations in it). It now sums rows of these tables instead:

* stats_rollups: (span, slot, metric, label, bucket) → n: counters, sums, maxima and
  log-bucket histograms of the conversations created in each 15-minute slot (span 900) and
  each UTC day (span 86400);
* stats_room_folds: what each room has added, so folding it again is idempotent;
* stats_fold_state: the fold's lease row and how far it has swept.

The tables are filled from the rooms and events already there with the fold's own code
(`db.rollups.rebuild`). db/schema.sql matches.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_stats_rollups"
down_revision: str | Sequence[str] | None = "0003_agent_lockout"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "stats_rollups",
        sa.Column("span", sa.Integer(), nullable=False, autoincrement=False),
        sa.Column("slot", sa.BigInteger(), nullable=False, autoincrement=False),
        sa.Column("metric", sa.String(length=24), nullable=False),
        sa.Column("label", sa.String(length=32), nullable=False),
        sa.Column("bucket", sa.Integer(), nullable=False, autoincrement=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("span", "slot", "metric", "label", "bucket"),
        mysql_engine="InnoDB",
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_bin",
    )
    op.create_index(
        "ix_stats_rollups_metric_span_slot", "stats_rollups", ["metric", "span", "slot"]
    )
    op.create_table(
        "stats_room_folds",
        sa.Column("room_id", sa.String(length=32), nullable=False),
        sa.Column("slot", sa.BigInteger(), nullable=False),
        sa.Column("last_seq", sa.Integer(), nullable=False),
        sa.Column("last_event_id", sa.Integer(), nullable=False),
        sa.Column("contribution", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("room_id"),
        mysql_engine="InnoDB",
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_bin",
    )
    op.create_index("ix_stats_room_folds_slot", "stats_room_folds", ["slot"])
    op.create_table(
        "stats_fold_state",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
        mysql_engine="InnoDB",
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_bin",
    )
    from db import rollups  # the fold's own code, so the backfill is what the fold would write

    connection = op.get_bind()
    rollups.rebuild(connection)
    rollups.mark_swept(connection)


def downgrade() -> None:
    op.drop_table("stats_fold_state")
    op.drop_index("ix_stats_room_folds_slot", table_name="stats_room_folds")
    op.drop_table("stats_room_folds")
    op.drop_index("ix_stats_rollups_metric_span_slot", table_name="stats_rollups")
    op.drop_table("stats_rollups")
