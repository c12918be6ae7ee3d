"""The API's public shapes as the apps read them: `RoomPublic`, `MessagePublic`, `AgentPublic`.

Parsed once, where the JSON comes in, so the pages use typed attributes instead of dict keys,
and a renamed or missing field fails in the client rather than halfway through drawing a
page. Field names are exactly the API's (db/models.py); fields the apps do not read are
ignored. Times are aware datetimes (the API sends ISO-8601 UTC).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, TypeVar, cast, get_args

RoomStatus = Literal["ai", "waiting", "agent", "closed"]
Sender = Literal["user", "ai", "agent", "system"]
Role = Literal["agent", "admin", "analyst"]

ROOM_STATUSES: tuple[RoomStatus, ...] = get_args(RoomStatus)
SENDERS: tuple[Sender, ...] = get_args(Sender)
ROLES: tuple[Role, ...] = get_args(Role)
_L = TypeVar("_L", bound=str)


def parse_time(value: str) -> datetime:
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _time(value: Any) -> datetime | None:
    return None if value is None else parse_time(str(value))


def _optional_int(value: Any) -> int | None:
    return None if value is None else int(value)


def _choice(value: Any, allowed: tuple[_L, ...]) -> _L:
    """One of a Literal's values; anything else is a contract break, so it raises."""
    if value not in allowed:
        raise ValueError(f"unexpected value {value!r}; expected one of {allowed}")
    return cast(_L, value)


@dataclass(frozen=True, slots=True)
class AgentRef:
    """Who holds a room."""

    id: int
    name: str

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AgentRef:
        return cls(id=int(data["id"]), name=str(data["name"]))


@dataclass(frozen=True, slots=True)
class Room:
    id: str
    status: RoomStatus
    created_at: datetime
    agent: AgentRef | None = None
    queue_position: int | None = None
    """1 for the next in line; set only while the room waits."""
    brief: str | None = None
    """For a waiting room: what the user wants and what the AI tried."""
    waiting_since: datetime | None = None
    """When the room joined the queue; set only while it waits."""
    last_seq: int = 0
    estimated_wait_seconds: int | None = None
    """While waiting: the API's estimate from recent waits; None: too little history."""

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Room:
        agent = data.get("agent")
        position = data.get("queue_position")
        return cls(
            id=str(data["id"]),
            status=_choice(data["status"], ROOM_STATUSES),
            created_at=parse_time(str(data["created_at"])),
            agent=AgentRef.from_json(agent) if agent else None,
            queue_position=None if position is None else int(position),
            brief=data.get("brief"),
            waiting_since=_time(data.get("waiting_since")),
            last_seq=int(data.get("last_seq") or 0),
            estimated_wait_seconds=_optional_int(data.get("estimated_wait_seconds")),
        )


@dataclass(frozen=True, slots=True)
class Message:
    seq: int
    room_id: str
    sender: Sender
    author: str
    text: str
    created_at: datetime
    client_id: str | None = None
    while_waiting: bool = False
    """An AI answer given while the user waited for a person: shown "while you wait"."""

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Message:
        return cls(
            seq=int(data["seq"]),
            room_id=str(data["room_id"]),
            sender=_choice(data["sender"], SENDERS),
            author=str(data["author"]),
            text=str(data["text"]),
            created_at=parse_time(str(data["created_at"])),
            client_id=data.get("client_id"),
            while_waiting=data.get("while_waiting") is True,
        )


@dataclass(frozen=True, slots=True)
class Agent:
    """The logged-in account (`GET /api/agents/me`)."""

    id: int
    email: str
    name: str
    role: Role

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Agent:
        return cls(
            id=int(data["id"]),
            email=str(data["email"]),
            name=str(data["name"]),
            role=_choice(data["role"], ROLES),
        )

    @property
    def can_chat(self) -> bool:
        return self.role in ("agent", "admin")

    @property
    def can_read_stats(self) -> bool:
        return self.role in ("analyst", "admin")
