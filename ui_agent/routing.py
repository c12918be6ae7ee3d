"""Status, capacity and transfers in the console (the API calls and the small controls).

* The sidebar's "Away" switch sets the agent's status (away: no new chats, not online for
  handoffs).
* A held chat's "Transfer" popover hands it to an online agent with room, or back to the queue
  first in line, with an optional private note.
* Chats that arrive without the agent taking them (auto-assignment, a transfer to them) are
  announced once, with the note if there is one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import streamlit as st

from ui_agent import console, team
from ui_agent.feedback import guard
from ui_common.client import ApiError
from ui_common.safe_text import escape_markdown

QUEUE_CHOICE = 0
"""The transfer picker's value for "back to the queue" (agent ids start at 1)."""


@dataclass(frozen=True, slots=True)
class AgentState:
    id: int
    name: str
    role: str
    status: str
    max_chats: int
    open_chats: int
    online: bool
    last_seen_at: str | None
    last_assigned_at: str | None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AgentState:
        return cls(
            id=int(data["id"]),
            name=str(data["name"]),
            role=str(data["role"]),
            status=str(data["status"]),
            max_chats=int(data["max_chats"]),
            open_chats=int(data["open_chats"]),
            online=bool(data["online"]),
            last_seen_at=data.get("last_seen_at"),
            last_assigned_at=data.get("last_assigned_at"),
        )

    @property
    def has_room(self) -> bool:
        return self.online and self.open_chats < self.max_chats


# ---------------------------------------------------------------- API calls


def agents() -> list[AgentState]:
    body = console.state().api.get("/api/agents")
    return [AgentState.from_json(a) for a in body["agents"]]


def update_agent(agent_id: int, **fields: Any) -> AgentState:
    body = console.state().api.request("PATCH", f"/api/agents/{agent_id}", json=fields)
    return AgentState.from_json(body)


def transfer(room_id: str, *, agent_id: int | None, note: str | None = None) -> None:
    """To `agent_id`, or back to the queue (None). The chat leaves this agent's list unless
    they took it over (an admin transferring to themself)."""
    s = console.state()
    body: dict[str, Any] = {"queue": True} if agent_id is None else {"agent_id": agent_id}
    if note:
        body["note"] = note
    s.api.request("POST", f"/api/rooms/{room_id}/transfer", json=body)
    console.refresh_mine(expect=room_id)
    if room_id not in {r.id for r in s.mine}:
        s.histories.pop(room_id, None)
        s.selected = s.mine[0].id if s.mine else None
    else:
        s.selected = room_id
        console.fetch_new(room_id)


def board() -> dict[str, Any]:
    body: dict[str, Any] = console.state().api.get("/api/board")
    return body


# ---------------------------------------------------------------- controls


def _my_state() -> AgentState | None:
    me = console.state().me
    if me is None:
        return None
    return next((a for a in agents() if a.id == me.id), None)


def on_away() -> None:
    me = console.state().me
    if me is None:
        return
    status = "away" if st.session_state.get("status_away") else "available"

    def apply() -> None:
        update_agent(me.id, status=status)

    guard(apply)


def sidebar_status() -> None:
    """The Away switch and the agent's load, for agents who take chats."""
    s = console.state()
    if s.me is None or not s.me.can_chat:
        return
    try:
        mine = _my_state()
    except (ApiError, httpx.HTTPError):  # the page's own calls report an unreachable API
        return
    if mine is None:
        return
    st.session_state.status_away = mine.status == "away"
    with st.sidebar:
        st.toggle(
            "Away",
            key="status_away",
            on_change=on_away,
            help="Away: you get no new chats and do not count as online for customers.",
        )
        st.caption(f"{mine.open_chats} of {mine.max_chats} chats open")


def on_transfer(room_id: str) -> None:
    choice = st.session_state.get(f"transfer-to-{room_id}")
    note = str(st.session_state.get(f"transfer-note-{room_id}") or "").strip() or None
    if choice is None:
        console.state().flash = ("warning", "Choose an agent or the queue first.")
        return
    target = None if choice == QUEUE_CHOICE else int(choice)
    done = "Sent back to the queue, first in line." if target is None else "Chat transferred."
    guard(lambda: transfer(room_id, agent_id=target, note=note), done=done)


def transfer_controls(room_id: str, where: Any) -> None:
    """A popover with the agents who can take the chat now, the queue, and a note."""
    s = console.state()
    with where.popover("Transfer", icon=":material/swap_horiz:", width="stretch"):
        try:
            others = [a for a in agents() if s.me is None or a.id != s.me.id]
        except (ApiError, httpx.HTTPError):
            others = []
        names = {QUEUE_CHOICE: "Back to the queue (first in line)"}
        for a in others:
            load = f"{a.open_chats}/{a.max_chats}"
            if a.has_room:
                names[a.id] = f"{a.name} · {load} chats"
        st.selectbox(
            "Transfer to",
            list(names),
            index=None,
            key=f"transfer-to-{room_id}",
            format_func=names.__getitem__,
            placeholder="An available agent, or the queue",
        )
        busy = [a.name for a in others if not a.has_room]
        if busy:
            st.caption("Away, offline or full: " + escape_markdown(", ".join(busy)))
        st.text_input(
            "Note for the next agent (private)",
            key=f"transfer-note-{room_id}",
            max_chars=4000,
        )
        st.button("Transfer", key=f"transfer-go-{room_id}", on_click=on_transfer, args=(room_id,))


def announce_arrivals() -> None:
    """Tell the agent, once, about chats that became theirs without a Take (a transfer to
    them, auto-assignment), with the latest note; the newest arrival is shown."""
    s = console.state()
    held = {r.id for r in s.mine}
    arrived = [room_id for room_id in s.arrived if room_id in held]
    s.arrived = []
    if not arrived:
        return
    room_id = arrived[-1]
    console.fetch_new(room_id)
    text = f"New chat for you: “{_clip(console.latest_words(room_id)) or room_id[:6]}”."
    notes = team.notes(room_id)
    if notes:
        text += f" Note from {notes[-1].author}: {notes[-1].text}"
    s.flash = ("info", escape_markdown(text))
    s.selected = room_id


def _clip(text: str, size: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= size else text[: size - 1] + "…"
