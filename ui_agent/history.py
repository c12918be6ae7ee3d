"""Customer history in the console: "Previous conversations (n)" above the chat.

The visitor's earlier chats come from `GET /api/rooms/{id}/history` (the room's agent only),
each with its transcript and rating. They do not change while the chat is open, so they are
read once per room and session.
"""

from __future__ import annotations

from typing import Any

import httpx
import streamlit as st

from ui_agent import console
from ui_agent.stats_ratings import rating_line
from ui_common import view
from ui_common.client import ApiError
from ui_common.models import Message, parse_time

STATE_KEY = "history"


def _history(room_id: str) -> dict[str, Any] | None:
    cache: dict[str, dict[str, Any]] = st.session_state.setdefault(STATE_KEY, {})
    if room_id not in cache:
        client = console.state().client
        if client is None:
            return None
        try:
            cache[room_id] = client.history(room_id)
        except (ApiError, httpx.HTTPError):
            return None  # not ours (any more), or unreachable: no history shown
    return cache[room_id]


def _conversation(record: dict[str, Any]) -> None:
    room = record["room"]
    started = parse_time(room["created_at"])
    messages = [Message.from_json(m) for m in record.get("messages", [])]
    with st.container(border=True):
        st.markdown(
            f"**{started:%Y-%m-%d %H:%M} UTC** · {len(messages)} messages · "
            f"{rating_line(record.get('rating'))}"
        )
        for message in messages:
            view.render_message(message)


def render(room_id: str) -> None:
    """The expander, when the visitor chatted before (nothing otherwise)."""
    found = _history(room_id)
    if not found or not found.get("count"):
        return
    count = int(found["count"])
    with st.expander(f"Previous conversations ({count})", icon=":material/history:"):
        shown = found.get("conversations", [])
        if len(shown) < count:
            st.caption(f"The newest {len(shown)} of {count}.")
        for record in shown:
            _conversation(record)
