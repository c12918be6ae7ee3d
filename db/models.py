"""Tables and their public shapes, one model family per table (Base → Public, table=True).

Every string has a `max_length` so MySQL gets a bounded VARCHAR; times are stored as naive UTC
(MySQL DATETIME has no zone) and come back aware through `UTCDateTime`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import mysql
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel

from db.text import StorableText


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Naive UTC in the database, aware UTC in Python; microseconds kept on MySQL too."""

    impl = sa.DateTime
    cache_ok = True

    def load_dialect_impl(self, dialect: sa.Dialect) -> sa.types.TypeEngine[Any]:
        if dialect.name == "mysql":
            return dialect.type_descriptor(mysql.DATETIME(fsp=6))
        return dialect.type_descriptor(sa.DateTime())

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class EnumText(TypeDecorator[StrEnum]):
    """A VARCHAR holding a StrEnum's value, read back as the enum member (not a plain str)."""

    impl = sa.String
    cache_ok = True

    def __init__(self, enum: type[StrEnum], length: int = 16) -> None:
        super().__init__(length)
        self.enum = enum

    def process_bind_param(self, value: StrEnum | str | None, dialect: sa.Dialect) -> str | None:
        return None if value is None else self.enum(value).value

    def process_result_value(self, value: str | None, dialect: sa.Dialect) -> StrEnum | None:
        return None if value is None else self.enum(value)


class Role(StrEnum):
    agent = "agent"
    admin = "admin"
    analyst = "analyst"


class RoomStatus(StrEnum):
    ai = "ai"
    waiting = "waiting"
    agent = "agent"
    closed = "closed"


class AgentStatus(StrEnum):
    available = "available"
    away = "away"
    """Not online for handoffs, and gets no new chats (joins, transfers, auto-assignment)."""


DEFAULT_MAX_CHATS = 3
MAX_CHATS_LIMIT = 50


class Sender(StrEnum):
    user = "user"
    ai = "ai"
    agent = "agent"
    system = "system"


# ---------------------------------------------------------------- agents


class AgentBase(SQLModel):
    email: str = Field(max_length=255, unique=True, index=True)
    name: str = Field(max_length=100)
    role: Role = Field(default=Role.agent, max_length=16, sa_type=EnumText(Role))


class Agent(AgentBase, table=True):
    __tablename__ = "agents"

    id: int | None = Field(default=None, primary_key=True)
    password_hash: str = Field(max_length=255)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    last_poll_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    """Last /api/queue poll: the console's presence heartbeat."""
    ws_until: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    """While /ws/agent is held this is kept in the future; cleared when the socket closes."""
    disabled: bool = Field(default=False, sa_column_kwargs={"server_default": "0"})
    """A disabled agent cannot log in, and their tokens and open sockets stop working."""
    token_version: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    """Goes into every token issued; bumped on disable and password reset, voiding those.
    New agents start at a random value (queries.create_agent): SQLite reuses a deleted agent's
    id, and the old agent's tokens must not fit the new one."""
    status: AgentStatus = Field(
        default=AgentStatus.available,
        max_length=16,
        sa_type=EnumText(AgentStatus),
        sa_column_kwargs={"server_default": "available"},
    )
    """The agent sets it (admins too): away agents are not online for handoffs."""
    max_chats: int = Field(
        default=DEFAULT_MAX_CHATS, sa_column_kwargs={"server_default": str(DEFAULT_MAX_CHATS)}
    )
    """Most chats held at once; a join or transfer beyond it is refused (admins set it)."""
    last_assigned_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    """When the agent last got a chat (join, transfer): auto-assignment's "longest idle"."""


class AgentSession(SQLModel, table=True):
    """A console's "stay logged in" across reloads: revocable, unlike a JWT. The browser keeps
    the secret; only its SHA-256 is stored. Void once revoked, expired, or the agent's
    `token_version` moved on (disabled, new password)."""

    __tablename__ = "agent_sessions"

    id: str = Field(primary_key=True, max_length=64)
    """SHA-256 (hex) of the secret the browser holds."""
    agent_id: int = Field(foreign_key="agents.id", index=True)
    token_version: int
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    expires_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)


class AgentPublic(AgentBase):
    id: int


class AgentRef(SQLModel):
    id: int
    name: str


# ---------------------------------------------------------------- rooms


class Room(SQLModel, table=True):
    __tablename__ = "rooms"
    __table_args__ = (sa.Index("ix_rooms_status_waiting_since", "status", "waiting_since"),)

    id: str = Field(primary_key=True, max_length=32)
    status: RoomStatus = Field(default=RoomStatus.ai, max_length=16, sa_type=EnumText(RoomStatus))
    agent_id: int | None = Field(default=None, foreign_key="agents.id", index=True)
    last_seq: int = Field(default=0)
    """The seq of the room's newest message; bumped in the transaction that stores one."""
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    waiting_since: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    brief: str | None = Field(default=None, max_length=1000)
    """What the user wants, for the agent who picks the room from the queue."""
    # Messages per sender, bumped with last_seq: the statistics sum these over the rooms
    # instead of reading every message (their sum is last_seq).
    user_messages: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    ai_messages: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    agent_messages: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    system_messages: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    priority: bool = Field(default=False, sa_column_kwargs={"server_default": "0"})
    """While waiting after a transfer back to the queue: ahead of the rooms without it."""
    visitor_id: str | None = Field(default=None, max_length=32, index=True)
    """The browser that opened it (api/visitors.py signs the id): links a visitor's rooms."""
    user_seen_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    """The user's last poll or message, written at most every 30 s (api/abandon.py)."""


SEQ_MAX = 2**31 - 1
"""The largest seq the (32-bit INT) seq columns hold: bounds `after` in requests."""

MESSAGE_COUNTS = {sender: f"{sender.value}_messages" for sender in Sender}
"""The `rooms` column that counts each sender's messages."""


class RoomPublic(SQLModel):
    id: str
    status: RoomStatus
    agent: AgentRef | None = None
    created_at: datetime
    queue_position: int | None = None
    brief: str | None = None
    waiting_since: datetime | None = None
    last_seq: int = 0
    """The newest message's seq: a client compares it with what it has to count unread."""
    priority: bool = False
    """Waiting after a transfer back to the queue: first in line (oldest first among these)."""
    estimated_wait_seconds: int | None = None
    """While waiting: the median recent wait at this hour of the week (api/waits.py); None
    when there is too little history to say ("shortly")."""


# ---------------------------------------------------------------- messages


class MessageBase(SQLModel):
    text: str = Field(max_length=16000, sa_type=sa.Text)
    client_id: str | None = Field(default=None, max_length=64)


class Message(MessageBase, table=True):
    __tablename__ = "messages"
    __table_args__ = (
        sa.UniqueConstraint("room_id", "seq", name="uq_messages_room_seq"),
        # client_id first: a batch looks its repeats up by client_id alone (see queries).
        sa.UniqueConstraint("client_id", "room_id", name="uq_messages_room_client_id"),
        sa.Index("ix_messages_created_at", "created_at"),
        # Statistics: per-sender counts and each stint's first agent reply as index-only reads.
        sa.Index("ix_messages_room_sender_created", "room_id", "sender", "created_at"),
    )

    id: int | None = Field(
        default=None, sa_type=sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True
    )
    room_id: str = Field(max_length=32, foreign_key="rooms.id")
    seq: int
    sender: Sender = Field(max_length=8, sa_type=EnumText(Sender, 8))
    author: str = Field(max_length=100)
    agent_id: int | None = Field(default=None, foreign_key="agents.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    while_waiting: bool = Field(default=False, sa_column_kwargs={"server_default": "0"})
    """An AI reply written while the room waited for a person ("while you wait")."""


class MessagePublic(MessageBase):
    seq: int
    room_id: str
    sender: Sender
    author: str
    created_at: datetime
    while_waiting: bool = False
    """True on an AI reply written while the user waited for a person (shown "while you wait")."""


_MESSAGE_FIELDS = frozenset(MessagePublic.model_fields)
_set = object.__setattr__


def stored_message(
    *,
    seq: int,
    room_id: str,
    sender: Sender,
    author: str,
    text: str,
    created_at: datetime,
    client_id: str | None,
    while_waiting: bool,
) -> MessagePublic:
    """A message as the room log stored or read it (values already checked), made as
    `MessagePublic.model_construct` makes it (the same fields, set, and JSON: tests/db/
    test_models.py) without its loop over each field's aliases and defaults: the writer makes
    one per message, and that loop was ~2 % of the API's CPU per message."""
    message = MessagePublic.__new__(MessagePublic)
    _set(
        message,
        "__dict__",
        {
            "text": text,
            "client_id": client_id,
            "seq": seq,
            "room_id": room_id,
            "sender": sender,
            "author": author,
            "created_at": created_at,
            "while_waiting": while_waiting,
        },
    )
    _set(message, "__pydantic_fields_set__", set(_MESSAGE_FIELDS))
    return message


class MessageCreate(SQLModel):
    """A message as sent over HTTP or in a WebSocket `message` frame."""

    text: StorableText = Field(min_length=1, max_length=16000)
    """Hard bound; the configured limit (TANDEM_MAX_MESSAGE_CHARS) answers 413 with a reason."""
    client_id: StorableText | None = Field(default=None, min_length=1, max_length=64)


# ---------------------------------------------------------------- room events


class EventKind(StrEnum):
    created = "created"
    handoff = "handoff"
    """ai → waiting: the user (or the assistant) asked for a human and one is online."""
    no_agent = "no_agent"
    """A human was asked for while none was online: the room stays with the AI."""
    joined = "joined"
    left = "left"
    closed = "closed"
    transferred = "transferred"
    """agent → agent (reason `agent`, or `takeover` by an admin) or agent → waiting (`queue`).
    The event's agent_id is who holds the room afterwards (to the queue: who sent it back)."""
    rated = "rated"
    """The user rated the closed chat (reason: the score; agent_id: the agent credited)."""
    withdrawn = "withdrawn"
    """waiting → ai: the user confirmed they no longer need a person."""


TRANSITIONS = (
    EventKind.handoff,
    EventKind.joined,
    EventKind.left,
    EventKind.closed,
    EventKind.transferred,
    EventKind.withdrawn,
)
"""The events that change who holds a room; `no_agent` and `created` do not."""

SPANS = (EventKind.handoff, EventKind.joined, EventKind.transferred)
"""Transitions that open a span the next transition ends: a wait in the queue, an agent's stint
(a join, or a transfer to an agent: a transfer ends one stint and starts the next)."""

TRANSFER_TO_QUEUE = "queue"
"""The reason of a `transferred` event that sent the room back to the queue; its other reasons
(`agent`, `takeover`) start a stint."""


class RoomEvent(SQLModel, table=True):
    """One row per state change, with its reason: what the statistics are computed from."""

    __tablename__ = "room_events"
    __table_args__ = (sa.Index("ix_room_events_kind_created_at", "kind", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    room_id: str = Field(max_length=32, foreign_key="rooms.id", index=True)
    kind: EventKind = Field(max_length=16, sa_type=EnumText(EventKind))
    from_status: RoomStatus | None = Field(
        default=None, max_length=16, sa_type=EnumText(RoomStatus)
    )
    to_status: RoomStatus | None = Field(default=None, max_length=16, sa_type=EnumText(RoomStatus))
    reason: str | None = Field(default=None, max_length=32)
    """phrase, button, tool_call, ungrounded, no_agent, agent_left, agent, user, ..."""
    agent_id: int | None = Field(default=None, foreign_key="agents.id", index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    # Filled in later on a handoff or join row (SPANS), so the statistics group these rows
    # instead of pairing every transition with the next one at query time.
    next_kind: EventKind | None = Field(default=None, max_length=16, sa_type=EnumText(EventKind))
    """The room's next transition: joined (a wait answered), closed, left, withdrawn; NULL
    while open."""
    next_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    first_reply_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    """A join's first agent message before the stint ended (NULL: none yet)."""


# ---------------------------------------------------------------- statistics rollups

# Written only by the fold (db/rollups.py), after the chats' own transactions have committed;
# GET /api/stats reads these instead of the rooms and events (docs/metrics.md, "Rollups").

stats_rollups = sa.Table(
    "stats_rollups",
    SQLModel.metadata,
    # span 900: a 15-minute UTC slot; 86400: a UTC day (the same figures, summed).
    sa.Column("span", sa.Integer(), primary_key=True, autoincrement=False),
    # slot: its start, in seconds since 1970-01-01 UTC.
    sa.Column("slot", sa.BigInteger(), primary_key=True, autoincrement=False),
    sa.Column("metric", sa.String(24), primary_key=True),
    sa.Column("label", sa.String(32), primary_key=True),
    sa.Column("bucket", sa.Integer(), primary_key=True, autoincrement=False),
    sa.Column("n", sa.BigInteger(), nullable=False),
    # by_day / by_hour_of_week read one metric's 15-minute rows: without this they would
    # read every key of every slot in the window.
    sa.Index("ix_stats_rollups_metric_span_slot", "metric", "span", "slot"),
)
"""Counters, sums, maxima and log-bucket counts of the conversations created in each slot."""

stats_room_folds = sa.Table(
    "stats_room_folds",
    SQLModel.metadata,
    sa.Column("room_id", sa.String(32), primary_key=True),
    sa.Column("slot", sa.BigInteger(), nullable=False, index=True),
    sa.Column("last_seq", sa.Integer(), nullable=False),
    sa.Column("last_event_id", sa.Integer(), nullable=False),
    sa.Column("contribution", sa.Text(), nullable=False),
)
"""What each room has added to `stats_rollups` (JSON), and the room's state when it was folded."""

stats_fold_state = sa.Table(
    "stats_fold_state",
    SQLModel.metadata,
    sa.Column("name", sa.String(32), primary_key=True),
    sa.Column("n", sa.BigInteger(), nullable=False),
)
"""`lease` (its row lock serialises folders and rebuilds) and `swept_until` (µs since 1970)."""
