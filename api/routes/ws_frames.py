"""Reading a client's WebSocket frame: size, JSON shape, and the fields a frame type needs.

Kept apart from the socket loops in `api.routes.ws` because these checks are pure (no socket,
no database): each returns the checked value or raises `FrameError`, which the loop answers
with an `error` frame while the connection goes on.
"""

from __future__ import annotations

import json
from typing import Any

import orjson
from annotated_types import MaxLen
from pydantic import ValidationError

from db.models import SEQ_MAX, MessageCreate
from db.text import check_storable, is_storable


def _max_len(field: str) -> int:
    return next(
        m.max_length for m in MessageCreate.model_fields[field].metadata if isinstance(m, MaxLen)
    )


_TEXT_MAX = _max_len("text")
_CLIENT_ID_MAX = _max_len("client_id")


class FrameError(Exception):
    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


def frame_room_id(frame: dict[str, Any]) -> str:
    room_id = frame.get("room_id")
    if not isinstance(room_id, str) or not 0 < len(room_id) <= 32:
        raise FrameError("bad_frame", "This frame on /ws/agent needs a 'room_id'.")
    try:
        check_storable(room_id)  # it goes into the write batch's room lookup
    except ValueError as exc:
        raise FrameError("bad_frame", f"'room_id' {exc}") from None
    return room_id


def frame_after(frame: dict[str, Any]) -> int:
    after = frame.get("after", 0)
    if not isinstance(after, int) or isinstance(after, bool) or not 0 <= after <= SEQ_MAX:
        raise FrameError("bad_frame", f"'after' must be a whole number from 0 to {SEQ_MAX}.")
    return after


def parse_frame(raw: str, max_frame: int) -> dict[str, Any]:
    if len(raw) > max_frame:
        limit = f"{max_frame // 1024} KiB" if max_frame % 1024 == 0 else f"{max_frame} bytes"
        raise FrameError("too_large", f"Frames are limited to {limit}.")
    try:
        frame = orjson.loads(raw)  # ~3x faster on a chat frame than json's
    except orjson.JSONDecodeError:
        # What orjson refuses and json reads (a lone surrogate, NaN, a huge number) is read
        # as before, so each frame gets the answer it always got.
        try:
            frame = json.loads(raw)
        except ValueError:
            raise FrameError("bad_json", "Frames must be JSON objects.") from None
    if not isinstance(frame, dict):
        raise FrameError("bad_frame", "Frames must be JSON objects with a 'type'.")
    return frame


def frame_message(frame: dict[str, Any]) -> tuple[str, str | None]:
    """The frame's text and client_id, checked by the same rules as the HTTP body. A frame that
    plainly passes them skips the model (the hot path: ~1 µs instead of ~12); any other is
    validated by `MessageCreate` itself, which words the error."""
    text, client_id = frame.get("text"), frame.get("client_id")
    if (
        type(text) is str
        and 0 < len(text) <= _TEXT_MAX
        and (client_id is None or (type(client_id) is str and 0 < len(client_id) <= _CLIENT_ID_MAX))
        and is_storable(text)
        and (client_id is None or is_storable(client_id))
    ):
        return text, client_id
    fields = {key: frame[key] for key in ("text", "client_id") if key in frame}
    try:
        body = MessageCreate.model_validate(fields)
    except ValidationError as exc:
        error = exc.errors(include_url=False, include_input=False)[0]
        field = ".".join(str(part) for part in error["loc"])
        too_long = error["type"] == "string_too_long" and error["loc"] == ("text",)
        code = "too_long" if too_long else "bad_frame"
        raise FrameError(code, f"'{field}': {error['msg']}") from None
    return body.text, body.client_id
