"""The team's own tables: saved replies, private notes, ratings and follow-ups.

Kept apart from `db.models` (agents, rooms, the room log and the statistics) because none of
them is part of a room's log: they never take a seq and never reach a room's channel.
Importing this module registers the tables on `SQLModel.metadata` (migrations and the schema
test import it for that).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import sqlalchemy as sa
from pydantic import StringConstraints
from sqlmodel import Field, SQLModel

from db.models import AgentRef, UTCDateTime, utcnow
from db.text import StorableText

# ---------------------------------------------------------------- team tools

# Saved replies and private notes are not messages: their own tables and ids, never a room
# seq, never counted in `last_seq` or the per-sender counters, never on a room's channel.

SHORTCUT_PATTERN = r"^[a-z0-9_-]{1,32}$"
REPLY_TEXT_MAX = 4000
NOTE_TEXT_MAX = 4000


class SavedReply(SQLModel, table=True):
    """A canned answer agents insert with `/shortcut`; `{agent_name}` is filled on insert."""

    __tablename__ = "saved_replies"

    id: int | None = Field(default=None, primary_key=True)
    shortcut: str = Field(max_length=32, unique=True, index=True)
    title: str = Field(max_length=100)
    text: str = Field(max_length=REPLY_TEXT_MAX, sa_type=sa.Text)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class SavedReplyWrite(SQLModel):
    """The body of POST and PUT /api/replies."""

    shortcut: Annotated[str, StringConstraints(pattern=SHORTCUT_PATTERN, max_length=32)]
    """Lower-case letters, digits, `_` and `-`, 1 to 32 of them: typed as `/shortcut`."""
    title: StorableText = Field(min_length=1, max_length=100)
    text: StorableText = Field(min_length=1, max_length=REPLY_TEXT_MAX)


class SavedReplyPublic(SQLModel):
    id: int
    shortcut: str
    title: str
    text: str
    created_at: datetime
    updated_at: datetime


class Note(SQLModel, table=True):
    """A private note an agent leaves on a room for the agents: never shown to its user."""

    __tablename__ = "notes"
    __table_args__ = (sa.Index("ix_notes_room_created", "room_id", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    room_id: str = Field(max_length=32, foreign_key="rooms.id")
    agent_id: int = Field(foreign_key="agents.id", index=True)
    text: str = Field(max_length=NOTE_TEXT_MAX, sa_type=sa.Text)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class NoteCreate(SQLModel):
    text: StorableText = Field(min_length=1, max_length=NOTE_TEXT_MAX)


class NotePublic(SQLModel):
    id: int
    room_id: str
    agent: AgentRef
    text: str
    created_at: datetime


# ---------------------------------------------------------------- ratings

RATING_COMMENT_MAX = 2000


class Rating(SQLModel, table=True):
    """The user's "How did we do?" on a closed chat: one per room (the key), credited to the
    last agent who held the chat (`agent_id`; NULL: the AI had it alone)."""

    __tablename__ = "ratings"

    room_id: str = Field(primary_key=True, max_length=32, foreign_key="rooms.id")
    score: int
    comment: str | None = Field(default=None, max_length=RATING_COMMENT_MAX, sa_type=sa.Text)
    agent_id: int | None = Field(default=None, foreign_key="agents.id", index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class RatingCreate(SQLModel):
    score: int = Field(ge=1, le=5)
    comment: StorableText | None = Field(default=None, max_length=RATING_COMMENT_MAX)


class RatingPublic(SQLModel):
    room_id: str
    score: int
    comment: str | None
    agent: AgentRef | None
    """Who it is credited to; null: the AI."""
    created_at: datetime


# ---------------------------------------------------------------- follow-ups

EMAIL_PATTERN = r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$"
FOLLOWUP_TEXT_MAX = 4000


class Followup(SQLModel, table=True):
    """What a user left for later when no agent was online: one per room (its room closed)."""

    __tablename__ = "followups"
    __table_args__ = (sa.Index("ix_followups_done_created", "done_at", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    room_id: str = Field(max_length=32, foreign_key="rooms.id", unique=True, index=True)
    email: str = Field(max_length=254)
    text: str = Field(max_length=FOLLOWUP_TEXT_MAX, sa_type=sa.Text)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    done_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    done_by: int | None = Field(default=None, foreign_key="agents.id")


class FollowupCreate(SQLModel):
    email: Annotated[StorableText, StringConstraints(pattern=EMAIL_PATTERN, max_length=254)]
    """Where the team answers (a plain address check: Tandem sends no mail itself)."""
    text: StorableText = Field(min_length=1, max_length=FOLLOWUP_TEXT_MAX)


class FollowupPublic(SQLModel):
    id: int
    room_id: str
    email: str
    text: str
    created_at: datetime
    done_at: datetime | None = None
    done_by: AgentRef | None = None
