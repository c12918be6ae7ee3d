"""The tables as SQLAlchemy Core objects, and the message row shape every reader shares.

The models are SQLModel classes; queries that select columns or build statements want the
underlying `Table`, which SQLModel does not type. Defined once here so each module does not
repeat the `__table__` aliases and their type-ignores.
"""

from __future__ import annotations

from typing import Any

from db.models import Agent, Message, MessagePublic, Room, RoomEvent, Sender

messages_t = Message.__table__  # type: ignore[attr-defined]
rooms_t = Room.__table__  # type: ignore[attr-defined]
agents_t = Agent.__table__  # type: ignore[attr-defined]
events_t = RoomEvent.__table__  # type: ignore[attr-defined]

MESSAGE_COLUMNS = (
    messages_t.c.seq,
    messages_t.c.room_id,
    messages_t.c.sender,
    messages_t.c.author,
    messages_t.c.text,
    messages_t.c.created_at,
    messages_t.c.client_id,
    messages_t.c.while_waiting,
)
"""What a `MessagePublic` is made of, in the order `message_from_row` reads."""


def message_from_row(row: Any) -> MessagePublic:
    return MessagePublic(
        seq=row.seq,
        room_id=row.room_id,
        sender=Sender(row.sender),
        author=row.author,
        text=row.text,
        created_at=row.created_at,
        client_id=row.client_id,
        while_waiting=bool(row.while_waiting),
    )
