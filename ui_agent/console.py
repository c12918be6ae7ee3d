"""The agent console's state and its talk with the API, kept apart from the pages that draw it.

What a poll costs: `GET /api/queue` (also the presence heartbeat) plus, per chat the agent
holds, `GET /messages?after=<last seq>` — each one indexed query. The chat list itself
(`/api/agents/me/rooms`) is re-read only after an action, a system notice, or every
`MINE_EVERY` seconds.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import streamlit as st

from ui_common import view
from ui_common.client import ApiError, TandemClient
from ui_common.models import Agent, Message, Room

POLL_SECONDS = 1.5
"""Queue + held chats refresh; the queue poll keeps the agent online (30 s presence window)."""
MINE_EVERY = 3.0
"""Re-read of the held-chat list: chats transferred or auto-assigned to us arrive in a room we
do not follow yet (and another admin's takeover sends no notice to us)."""
FOLLOWUPS_EVERY = 3.0
"""Re-read of the open follow-ups (every page): one left by a user shows in the menu's count
and on the Follow-ups page without a reload."""
REDRAW_WAITING_EVERY = 30.0
"""While people wait, redraw now and then so their wait times stay true."""
HISTORY_PAGE = 500
QUEUE_PREVIEWS = 25
"""Waiting chats whose messages a redraw brings up to date (the sidebar shows as many)."""
STATE_KEY = "console"

Flash = tuple[str, str]
"""(kind, text) to show once; kind is error, warning, success or info."""


@dataclass
class ConsoleState:
    """One browser session's console. Logged out while `client` is None; the JWT lives in the
    client only (a reload asks to log in again)."""

    client: TandemClient | None = None
    me: Agent | None = None
    queue: list[Room] = field(default_factory=list)
    mine: list[Room] = field(default_factory=list)
    """The chats this agent holds."""
    rooms: dict[str, Room] = field(default_factory=dict)
    """Every room we know, as last read, by id."""
    histories: dict[str, list[Message]] = field(default_factory=dict)
    """Messages of the held chats and the waiting ones (their previews)."""
    seen: dict[str, int] = field(default_factory=dict)
    """Per chat, the last seq the agent had on screen: what is newer is unread."""
    synced_at: float = 0.0
    mine_at: float = 0.0
    drawn_at: float = 0.0
    selected: str | None = None
    """The chat shown in the main pane."""
    flash: Flash | None = None
    arrived: list[str] = field(default_factory=list)
    """Chats that became ours without a Take (a transfer, auto-assignment): announced once."""
    offline: bool = False
    """The last call to the API failed to connect: the connection indicator shows."""
    followups: list[dict[str, Any]] = field(default_factory=list)
    """The open follow-ups, oldest first, as last read."""
    followups_at: float = 0.0
    followups_new: list[dict[str, Any]] = field(default_factory=list)
    """Follow-ups that arrived since the page was drawn: announced once."""
    jumps: int = 0
    """Counts the agent's own replies: each brings the pane down to the newest message even
    when they had scrolled up (see `view.follow_newest`)."""

    @property
    def api(self) -> TandemClient:
        """The logged-in client; only the login page runs without one."""
        if self.client is None:
            raise RuntimeError("not logged in")
        return self.client


def state() -> ConsoleState:
    s = st.session_state.get(STATE_KEY)
    if not isinstance(s, ConsoleState):
        s = reset()
    return s


def reset(flash: Flash | None = None) -> ConsoleState:
    """Logged out, nothing cached. `flash` is shown once, on the login page."""
    s = ConsoleState(flash=flash)
    st.session_state[STATE_KEY] = s
    return s


def login(email: str, password: str) -> None:
    s = state()
    client = TandemClient(forwarded_for=st.context.ip_address)
    client.login(email, password)
    s.me = client.me()
    s.client = client


def can_chat() -> bool:
    me = state().me
    return me is not None and me.can_chat


def can_read_stats() -> bool:
    me = state().me
    return me is not None and me.can_read_stats


# ---------------------------------------------------------------- reading


def history(room_id: str) -> list[Message]:
    return state().histories.get(room_id, [])


def fetch_new(room_id: str) -> list[Message]:
    """Messages after the last we hold, all pages on the first read (the whole history)."""
    s = state()
    have = history(room_id)
    new: list[Message] = []
    while True:
        page = s.api.messages(room_id, after=view.last_seq(have + new), limit=HISTORY_PAGE)
        new += page
        if len(page) < HISTORY_PAGE:
            break
    s.histories[room_id] = view.merge(have, new)
    return new


def refresh_mine(*, expect: str | None = None) -> None:
    """Re-read the held chats; those that appeared unasked (not `expect`, the one just taken)
    go to `arrived`."""
    s = state()
    before = {r.id for r in s.mine}
    first = s.mine_at == 0.0
    s.mine = s.api.my_rooms()
    s.rooms.update({r.id: r for r in s.mine})
    s.mine_at = time.monotonic()
    if not first:
        s.arrived += [r.id for r in s.mine if r.id not in before and r.id != expect]


def open_chats() -> list[str]:
    """The held chats, plus the selected one if it just closed (so the agent sees how)."""
    s = state()
    ids = [r.id for r in s.mine]
    if s.selected and s.selected not in ids and s.selected in s.histories:
        ids.append(s.selected)
    return ids


def sync() -> None:
    """Full-run refresh: queue, held chats, their new messages, previews of new requests."""
    s = state()
    s.queue = s.api.queue()
    s.rooms.update({r.id: r for r in s.queue})
    refresh_mine()
    for room in s.queue[:QUEUE_PREVIEWS]:  # `?after=`: only what they wrote since last time
        fetch_new(room.id)
    for room_id in open_chats():
        fetch_new(room_id)
    if s.selected and s.selected not in {r.id for r in s.mine}:
        s.rooms[s.selected] = s.api.room(s.selected)
    keep = {r.id for r in s.queue} | set(open_chats())
    s.histories = {k: v for k, v in s.histories.items() if k in keep}
    s.synced_at = s.drawn_at = time.monotonic()


def _queue_signature(rooms: list[Room]) -> list[tuple[str, str | None]]:
    return [(r.id, r.brief) for r in rooms]


def poll() -> bool:
    """The timed check. True when the page should redraw."""
    s = state()
    if time.monotonic() - s.synced_at < POLL_SECONDS / 2:
        return False  # the full run that just drew the page already synced
    queue = s.api.queue()
    changed = _queue_signature(queue) != _queue_signature(s.queue)
    s.queue = queue
    notice = False
    for room_id in open_chats():
        new = fetch_new(room_id)
        changed = changed or bool(new)
        notice = notice or any(m.sender == "system" for m in new)
    if notice or changed or time.monotonic() - s.mine_at > MINE_EVERY:
        before = [r.id for r in s.mine]
        refresh_mine()
        changed = changed or before != [r.id for r in s.mine]
    if s.queue and time.monotonic() - s.drawn_at > REDRAW_WAITING_EVERY:
        changed = True
    s.synced_at = time.monotonic()
    return changed


def poll_followups(*, force: bool = False) -> bool:
    """The open follow-ups, at most every `FOLLOWUPS_EVERY` s (`force`: now). True when the
    list changed since the last read (one arrived, or another agent marked one done)."""
    s = state()
    if s.me is None or not s.me.can_chat:
        return False
    if not force and time.monotonic() - s.followups_at < FOLLOWUPS_EVERY:
        return False
    found = s.api.followups("open")
    known = {f["id"] for f in s.followups}
    if s.followups_at:  # not the first read: what it did not have before is news
        s.followups_new += [f for f in found if f["id"] not in known]
    changed = [f["id"] for f in found] != [f["id"] for f in s.followups]
    s.followups, s.followups_at = found, time.monotonic()
    return changed


def followups_title() -> str:
    """The menu entry, with the open count: 'Follow-ups (2)'."""
    count = len(state().followups)
    return f"Follow-ups ({count})" if count else "Follow-ups"


# ---------------------------------------------------------------- what a request shows


def said_while_waiting(room: Room) -> str:
    """The customer's newest message since the room joined the queue ('' if none): often the
    detail an agent needs first (an order number typed while waiting)."""
    since = room.waiting_since
    if since is None:
        return ""
    for message in reversed(history(room.id)):
        if message.sender == "user" and message.created_at >= since:
            return message.text
    return ""


def latest_words(room_id: str) -> str:
    """The customer's newest message: what they need now (an order number typed while
    waiting, a follow-up question), not what they opened the chat with."""
    for message in reversed(history(room_id)):
        if message.sender == "user":
            return message.text
    return ""


def wait_label(room: Room, *, now: datetime | None = None) -> str:
    """'asked just now', 'waiting 3 min': since the room joined the queue."""
    waited = view.ago(room.waiting_since or room.created_at, now=now or datetime.now(UTC))
    return "asked just now" if waited == "just now" else f"waiting {waited}"


def unread(room_id: str) -> int:
    s = state()
    seen = s.seen.get(room_id, 0)
    return sum(1 for m in history(room_id) if m.seq > seen and m.sender == "user")


def attention() -> int:
    """What the tab title counts: requests waiting, plus customers' messages not yet on screen
    (in held chats other than the one shown)."""
    s = state()
    if s.me is None or not s.me.can_chat:
        return 0
    return len(s.queue) + sum(unread(r) for r in open_chats() if r != s.selected)


def tab_title(base: str = "Tandem console") -> str:
    count = attention()
    return f"({count}) {base}" if count else base


def first_unread(room_id: str) -> int | None:
    """The seq the pane should open at: the first message after what the agent last had on
    screen, when the customer wrote since. None for a chat never shown (it opens at the newest,
    the brief says what came before) or one with nothing unread."""
    s = state()
    seen = s.seen.get(room_id)
    if seen is None or not unread(room_id):
        return None
    return next((m.seq for m in history(room_id) if m.seq > seen), None)


def mark_read(room_id: str) -> None:
    state().seen[room_id] = view.last_seq(history(room_id))


# ---------------------------------------------------------------- acting


def take(room_id: str) -> None:
    """Join a waiting chat. ApiError 409 when another agent was quicker."""
    s = state()
    room = s.api.join(room_id)
    s.rooms[room_id] = room
    s.selected = room_id
    refresh_mine(expect=room_id)
    fetch_new(room_id)


def reply(room_id: str, text: str) -> None:
    s = state()
    message = s.api.send(room_id, text, client_id=uuid.uuid4().hex)
    s.histories[room_id] = view.merge(history(room_id), [message])


def leave(room_id: str) -> None:
    s = state()
    s.rooms[room_id] = s.api.leave(room_id)
    _after_release(room_id)


def resolve(room_id: str) -> None:
    s = state()
    s.rooms[room_id] = s.api.close_room(room_id)
    _after_release(room_id)


def _after_release(room_id: str) -> None:
    s = state()
    refresh_mine()
    s.histories.pop(room_id, None)
    remaining = [r.id for r in s.mine]
    s.selected = remaining[0] if remaining else None


def describe(exc: Exception) -> str:
    if isinstance(exc, ApiError):
        return exc.detail
    return "The Tandem API is unreachable; retrying."
