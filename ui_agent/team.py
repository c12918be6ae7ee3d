"""The team's tools in the console: saved replies in the reply box, private notes in the pane.

* A reply that is exactly `/shortcut` is sent as that saved reply's text, `{agent_name}`
  filled with the agent's name (the only placeholder: users are anonymous). An unknown
  shortcut is not sent. The "Saved reply" picker puts the filled text into the reply box
  instead, to be edited before sending.
* Notes are not messages: they come from `GET /api/rooms/{id}/notes`, show inline by time in
  a bordered box ("Note · Ada"), and are never sent to the customer.
"""

from __future__ import annotations

import contextlib
import re
import time
from dataclasses import dataclass, field
from datetime import datetime

import httpx
import streamlit as st

from ui_agent import console
from ui_common.client import ApiError
from ui_common.models import Message, parse_time
from ui_common.safe_text import escape_markdown

PLACEHOLDER = "{agent_name}"
SHORTCUT = re.compile(r"/([a-z0-9_-]{1,32})")
REPLIES_EVERY = 60.0
"""How often the saved replies are re-read (admins change them rarely)."""
STATE_KEY = "team"


@dataclass(frozen=True, slots=True)
class SavedReply:
    id: int
    shortcut: str
    title: str
    text: str


@dataclass(frozen=True, slots=True)
class Note:
    id: int
    author: str
    text: str
    created_at: datetime


@dataclass
class TeamState:
    owner: int = 0
    """id() of the console client this was read with: a new login starts afresh."""
    replies: list[SavedReply] = field(default_factory=list)
    replies_at: float = -REPLIES_EVERY
    notes: dict[str, list[Note]] = field(default_factory=dict)


def state() -> TeamState:
    client = console.state().client
    s = st.session_state.get(STATE_KEY)
    if not isinstance(s, TeamState) or s.owner != id(client):
        s = TeamState(owner=id(client))
        st.session_state[STATE_KEY] = s
    return s


# ---------------------------------------------------------------- saved replies


def fill(text: str, agent_name: str) -> str:
    """The saved text with `{agent_name}` filled; other braces stay as written."""
    return text.replace(PLACEHOLDER, agent_name)


def shortcut_of(text: str) -> str | None:
    """`hello` when the whole message is `/hello`, else None."""
    found = SHORTCUT.fullmatch(text.strip())
    return found.group(1) if found else None


def expand(text: str, replies: list[SavedReply], agent_name: str) -> str:
    """What to send for what was typed: a `/shortcut` becomes its saved text, filled.
    ValueError for an unknown shortcut (sending "/helo" to a customer is never meant)."""
    shortcut = shortcut_of(text)
    if shortcut is None:
        return text
    for reply in replies:
        if reply.shortcut == shortcut:
            return fill(reply.text, agent_name)
    raise ValueError(f"No saved reply /{shortcut}.")


def agent_name() -> str:
    me = console.state().me
    return me.name if me is not None else "your agent"


def saved_replies() -> list[SavedReply]:
    """The saved replies, re-read every REPLIES_EVERY seconds; none when they cannot be read."""
    s = state()
    if time.monotonic() - s.replies_at < REPLIES_EVERY:
        return s.replies
    try:
        rows = console.state().api.saved_replies()
    except (ApiError, httpx.HTTPError):
        return s.replies
    s.replies = [
        SavedReply(id=int(r["id"]), shortcut=r["shortcut"], title=r["title"], text=r["text"])
        for r in rows
    ]
    s.replies_at = time.monotonic()
    return s.replies


def refresh_replies() -> None:
    state().replies_at = -REPLIES_EVERY


# ---------------------------------------------------------------- notes


def _note(data: dict[str, object]) -> Note:
    agent = data["agent"]
    author = str(agent["name"]) if isinstance(agent, dict) else "agent"
    return Note(
        id=int(str(data["id"])),
        author=author,
        text=str(data["text"]),
        created_at=parse_time(str(data["created_at"])),
    )


def notes(room_id: str) -> list[Note]:
    """The room's notes, read now (the last ones read when the API does not answer)."""
    s = state()
    with contextlib.suppress(ApiError, httpx.HTTPError):
        s.notes[room_id] = [_note(n) for n in console.state().api.notes(room_id)]
    return s.notes.get(room_id, [])


def add_note(room_id: str, text: str) -> None:
    note = _note(console.state().api.add_note(room_id, text))
    s = state()
    s.notes[room_id] = [*s.notes.get(room_id, []), note]


def timeline(messages: list[Message], room_notes: list[Note]) -> list[Message | Note]:
    """Messages in seq order with each note after the last message written before it."""
    out: list[Message | Note] = []
    pending = sorted(room_notes, key=lambda n: (n.created_at, n.id))
    for message in messages:
        while pending and pending[0].created_at < message.created_at:
            out.append(pending.pop(0))
        out.append(message)
    return out + pending


def render_note(note: Note) -> None:
    with st.container(border=True):
        st.caption(f":material/lock: Note · {escape_markdown(note.author)}")
        st.markdown(escape_markdown(note.text))
