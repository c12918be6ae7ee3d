"""The user chat's state and its talk with the API, kept apart from the layout in `app.py`.

Everything lives in `st.session_state`; the room id and its token also live in the URL
(`?room=...&token=...`) so a browser reload finds the same conversation.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import streamlit as st

from ui_user import view
from ui_user.client import ApiError, Session, TandemClient

POLL_SECONDS = 1.0
"""How often an open chat asks for new messages: an agent's reply shows within ~1.5 s."""
WAITING_ROOM_EVERY = 3.0
"""While queued, how often to re-read the room for the queue position (no message says it)."""
NO_AGENT_PREFIX = "No agents are online"
"""The start of the API's notice when nobody could take a handoff (api/room_states.py)."""
GONE = (401, 403, 404)


def state() -> Any:
    """`st.session_state` with this app's defaults filled in."""
    s = st.session_state
    if "client" not in s:
        s.client = TandemClient(forwarded_for=st.context.ip_address)
        s.room = None
        s.messages = []
        s.synced_at = 0.0
        s.room_read_at = 0.0
        s.flash = None
    return s


def adopt_url_session() -> None:
    """After a reload, pick the conversation up from the URL's query parameters."""
    s = state()
    room_id, token = st.query_params.get("room"), st.query_params.get("token")
    if s.room is None and room_id and token:
        s.client.token = token
        s.room = {"id": room_id, "status": "ai", "agent": None, "queue_position": None}


def start_room() -> str:
    s = state()
    session: Session = s.client.create_room()
    s.client.token = session.token
    st.query_params.update(room=session.room_id, token=session.token)
    s.room = s.client.room(session.room_id)
    s.messages = []
    return session.room_id


def forget_room(flash: str | None = None) -> None:
    """Drop the conversation (ended, or its link no longer works); the next message starts anew."""
    s = state()
    s.client.token = None
    s.room = None
    s.messages = []
    s.flash = flash
    st.query_params.clear()


def sync() -> None:
    """Full-run refresh: the room and every message after the last one we have."""
    s = state()
    if s.room is None:
        return
    room_id = s.room["id"]
    try:
        s.room = s.client.room(room_id)
        fetch_new()
    except ApiError as exc:
        if exc.status in GONE:
            forget_room("That chat can no longer be opened; start a new one below.")
            return
        raise
    s.room_read_at = time.monotonic()


def fetch_new() -> bool:
    """One indexed query: messages after our last seq. True when any arrived."""
    s = state()
    new = s.client.messages(s.room["id"], after=view.last_seq(s.messages), limit=500)
    s.messages = view.merge(s.messages, new)
    s.synced_at = time.monotonic()
    return bool(new)


def poll() -> bool:
    """The timed check: True when the page should redraw (new messages or a queue move)."""
    s = state()
    if s.room is None or s.room["status"] == "closed":
        return False
    if time.monotonic() - s.synced_at < POLL_SECONDS / 2:
        return False  # the full run that just drew the page already synced
    changed = fetch_new()
    if s.room["status"] == "waiting" and time.monotonic() - s.room_read_at > WAITING_ROOM_EVERY:
        position = s.room.get("queue_position")
        s.room = s.client.room(s.room["id"])
        s.room_read_at = time.monotonic()
        changed = changed or s.room.get("queue_position") != position
    return changed


def status_line(room: view.Room | None, messages: list[view.Message]) -> tuple[str, str]:
    """(kind, text) for the line under the title; kind is ai, no_agent, waiting, agent, closed."""
    status = room["status"] if room else "ai"
    if status == "waiting":
        position = room.get("queue_position") if room else None
        where = f" — you are #{position}" if position else ""
        return "waiting", f"Waiting for an agent{where}"
    if status == "agent" and room and room.get("agent"):
        return "agent", f"Chatting with {room['agent']['name']}"
    if status == "closed":
        return "closed", "This chat has ended"
    notices = [m for m in messages if m["sender"] == "system"]
    if notices and str(notices[-1]["text"]).startswith(NO_AGENT_PREFIX):
        return "no_agent", "No agents are online right now; the assistant will keep helping"
    return "ai", "AI assistant"


class Reply:
    """Streams one sent message's frames: `deltas()` feeds `st.write_stream`, the rest is kept.

    Frames: the stored user `message`, then either `ai.delta`s and the AI's final `message`, or
    (on a handoff) a `system` notice and the new `room`. `ai.cancelled` drops the partial text.
    """

    def __init__(self, client: TandemClient, room_id: str, text: str) -> None:
        self._frames = client.send_streaming(room_id, text, client_id=uuid.uuid4().hex)
        self._first: str | None = None
        self.messages: list[view.Message] = []
        self.room: view.Room | None = None
        self.cancelled = False

    def starts_with_text(self) -> bool:
        """Read frames up to the first delta; False when the reply has no AI text at all."""
        return any(self._take(frame) for frame in self._frames)

    def deltas(self) -> Iterator[str]:
        if self._first is not None:
            yield self._first
        for frame in self._frames:
            if self._take(frame):
                assert self._first is not None
                yield self._first

    def _take(self, frame: dict[str, Any]) -> bool:
        kind = frame.get("type")
        if kind == "ai.delta":
            self._first = str(frame.get("text", ""))
            return True
        if kind == "message":
            self.messages.append(frame["message"])
        elif kind == "room":
            self.room = frame["room"]
        elif kind == "ai.cancelled":
            self.cancelled = True
        return False
