"""Server → client frames, serialised once and fanned out as text to every watcher.

The same frames go down WebSockets and, one per line, down the NDJSON stream of
`POST /api/rooms/{id}/messages?stream=true`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from db.models import MessagePublic, RoomPublic


def room_channel(room_id: str) -> str:
    return f"room:{room_id}"


def agent_channel(agent_id: int) -> str:
    return f"agent:{agent_id}"


QUEUE_CHANNEL = "queue"


def message_frame(message: MessagePublic) -> str:
    return '{"type":"message","message":' + message.model_dump_json() + "}"


def room_frame(room: RoomPublic) -> str:
    return '{"type":"room","room":' + room.model_dump_json() + "}"


def queue_frame(rooms: Sequence[RoomPublic]) -> str:
    return '{"type":"queue","rooms":[' + ",".join(r.model_dump_json() for r in rooms) + "]}"


def delta_frame(room_id: str, text: str) -> str:
    return json.dumps({"type": "ai.delta", "room_id": room_id, "text": text})


def ai_cancelled_frame(room_id: str) -> str:
    """The streaming reply was abandoned (a human took over): clients drop the partial text."""
    return json.dumps({"type": "ai.cancelled", "room_id": room_id})


def error_frame(code: str, detail: str, *, retry_after: int | None = None) -> str:
    frame: dict[str, object] = {"type": "error", "code": code, "detail": detail}
    if retry_after is not None:
        frame["retry_after"] = retry_after
    return json.dumps(frame)
