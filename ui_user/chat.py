"""The user chat's state and its talk with the API, kept apart from the layout in `app.py`.

The state is one `ChatState` in `st.session_state`. The address carries no token: a reload
or a later visit finds the conversation through the visitor cookie (ui_user/visitor.py), and
an old `?room=...&token=...` link is still read once, then taken out of the address bar.
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import streamlit as st

from ui_common import view
from ui_common.client import DEFAULT_CONFIG, ApiError, PublicConfig, Session, TandemClient
from ui_common.models import Message, Room
from ui_user import visitor

POLL_SECONDS = 1.0
"""How often an open chat asks for new messages: about how long an agent's reply takes to show."""
WAITING_ROOM_EVERY = 3.0
"""While queued, how often to re-read the room for the queue position (no message says it)."""
PING_EVERY = 2.0
"""With no open chat to poll, how often to check the API is there (the connection indicator)."""
GONE = (401, 403, 404)
STATE_KEY = "chat"


@dataclass(frozen=True, slots=True)
class Unsent:
    """A message the API did not take: kept on screen with its `client_id`, so a retry that
    reaches a server which did store it returns the stored one instead of a duplicate."""

    client_id: str
    text: str
    why: str


@dataclass
class ChatState:
    client: TandemClient
    room_id: str | None = None
    """The conversation this browser session is in; None until the first message."""
    room: Room | None = None
    """The room as last read (None until read, e.g. right after a reload)."""
    messages: list[Message] = field(default_factory=list)
    no_agent: bool = False
    """A request for a person found nobody online: the room was still `ai` afterwards. Holds
    until the room leaves `ai` (a later request queues, an agent takes the chat over)."""
    synced_at: float = 0.0
    room_read_at: float = 0.0
    flash: str | None = None
    """An error to show once, above the controls."""
    unsent: list[Unsent] = field(default_factory=list)
    retry: str | None = None
    """The `client_id` of an unsent message whose Retry was clicked (sent by the next run)."""
    offline: bool = False
    """The last call to the API failed to connect: the connection indicator shows."""
    pinged_at: float = 0.0
    config: PublicConfig | None = None
    jumps: int = 0
    """Counts the reader's own actions (a send, a request): each one brings the view down to
    the newest message even when they had scrolled up (see `view.follow_newest`)."""

    def set_room(self, room: Room) -> None:
        self.room = room
        self.room_read_at = time.monotonic()
        if room.status != "ai":
            self.no_agent = False

    def person_requested(self, room: Room) -> None:
        """The room after asking for a person: still `ai` means it did not queue."""
        self.set_room(room)
        self.no_agent = room.status == "ai"


def state() -> ChatState:
    """This browser session's chat, made on first use."""
    s = st.session_state.get(STATE_KEY)
    if not isinstance(s, ChatState):
        s = ChatState(client=TandemClient(forwarded_for=st.context.ip_address))
        st.session_state[STATE_KEY] = s
    return s


def config() -> PublicConfig:
    """`GET /api/config` once per session; the API's default limit while it cannot be asked."""
    s = state()
    if s.config is None:
        try:
            s.config = s.client.config()
        except (ApiError, httpx.HTTPError):
            return DEFAULT_CONFIG
    return s.config


def drop_delivered() -> None:
    """An unsent message that the API stored after all (its reply was lost) is no longer unsent."""
    s = state()
    delivered = {m.client_id for m in s.messages if m.client_id}
    s.unsent = [u for u in s.unsent if u.client_id not in delivered]


def adopt_url_session() -> None:
    """An old link (`?room=&token=`, from before the cookie): pick that conversation up, then
    strip the token from the address bar so it is not bookmarked or shared."""
    s = state()
    room_id, token = st.query_params.get("room"), st.query_params.get("token")
    if s.room_id is None and room_id and token:
        s.client.token = token
        s.room_id = room_id
    if "room" in st.query_params or "token" in st.query_params:
        st.query_params.clear()


def start_room() -> str:
    s = state()
    session: Session = s.client.create_room(visitor=visitor.current())
    visitor.remember(session.visitor)
    s.client.token = session.token
    s.room_id = session.room_id
    s.set_room(s.client.room(session.room_id))
    s.messages = []
    return session.room_id


def resume_visitor() -> None:
    """A plain visit (no room in the URL) from a browser that has a visitor id: pick its open
    chat up again, once per session. Without one, the next message opens a room as before."""
    s = state()
    if s.room_id is not None or not visitor.first_visit():
        return
    known = visitor.current()
    if known is None:
        return
    try:
        session = s.client.resume(known)
    except (ApiError, httpx.HTTPError):
        return  # the next message opens a new room with the same visitor
    if session is None:
        return
    s.client.token = session.token
    s.room_id = session.room_id


def forget_room(flash: str | None = None) -> None:
    """Drop the conversation (ended, or its link no longer works); the next message starts anew."""
    s = state()
    s.client.token = None
    s.room_id = None
    s.room = None
    s.messages = []
    s.no_agent = False
    s.unsent = []
    s.flash = flash


def leave_room() -> None:
    """ "Start a new chat": end the open conversation (else the visitor cookie would bring it
    back on the next visit) and forget it. The visitor stays, so the next room joins its
    history. An end that fails to reach the API still leaves the conversation here."""
    s = state()
    if is_open(s) and s.room_id is not None:
        with contextlib.suppress(ApiError, httpx.HTTPError):
            s.client.close_room(s.room_id)
    forget_room()


def sync() -> None:
    """Full-run refresh: the room and every message after the last one we have."""
    s = state()
    if s.room_id is None:
        return
    try:
        s.set_room(s.client.room(s.room_id))
        fetch_new()
    except ApiError as exc:
        if exc.status in GONE:
            forget_room("That chat can no longer be opened; start a new one below.")
            return
        raise


def fetch_new() -> bool:
    """One indexed query: messages after our last seq. True when any arrived."""
    s = state()
    assert s.room_id is not None
    new = s.client.messages(s.room_id, after=view.last_seq(s.messages), limit=500)
    s.messages = view.merge(s.messages, new)
    s.synced_at = time.monotonic()
    return bool(new)


def is_open(s: ChatState) -> bool:
    """There is a conversation and it has not ended: worth polling."""
    return s.room_id is not None and (s.room is None or s.room.status != "closed")


def poll() -> bool:
    """The timed check: True when the page should redraw (new messages or a queue move)."""
    s = state()
    if s.room_id is None or not is_open(s):
        return False
    if time.monotonic() - s.synced_at < POLL_SECONDS / 2:
        return False  # the full run that just drew the page already synced
    changed = fetch_new()
    room = s.room
    if room and room.status == "waiting" and time.monotonic() - s.room_read_at > WAITING_ROOM_EVERY:
        now = s.client.room(s.room_id)
        s.set_room(now)
        changed = changed or now.queue_position != room.queue_position
    return changed


def status_line(s: ChatState) -> tuple[str, str]:
    """(kind, text) for the line under the title; kind is ai, no_agent, waiting, agent, closed."""
    room = s.room
    status = room.status if room else "ai"
    if room and status == "waiting":
        where = f" — you are #{room.queue_position}" if room.queue_position else ""
        return "waiting", f"Waiting for an agent{where} · {wait_text(room)}"
    if room and status == "agent" and room.agent:
        return "agent", f"Chatting with {room.agent.name}"
    if status == "closed":
        return "closed", "This chat has ended"
    if s.no_agent:
        return "no_agent", "No agents are online right now; the assistant will keep helping"
    return "ai", "AI assistant"


def wait_text(room: Room) -> str:
    """'about 4 min' from the API's estimate, or 'shortly' when it has none."""
    seconds = room.estimated_wait_seconds
    if seconds is None:
        return "an agent will be with you shortly"
    minutes = max(1, round(seconds / 60))
    return f"estimated wait about {minutes} min"


def queue_note(room: Room) -> str:
    """The grey note under the request, kept current (the stored notice says the position at
    the time it was written)."""
    where = f"You are #{room.queue_position} in the queue; " if room.queue_position else ""
    return f"Connecting you to a person. {where}{wait_text(room)}."


def shown_messages(s: ChatState) -> list[Message]:
    """The transcript as drawn: while the room waits, its newest notice (the one that queued
    it) says the current position and estimate instead of those it was written with."""
    room = s.room
    if room is None or room.status != "waiting":
        return s.messages
    for index in range(len(s.messages) - 1, -1, -1):
        if s.messages[index].sender == "system":
            live = dataclasses.replace(s.messages[index], text=queue_note(room))
            return [*s.messages[:index], live, *s.messages[index + 1 :]]
    return s.messages


def new_client_id() -> str:
    return uuid.uuid4().hex


def heartbeat() -> bool:
    """The timed check of the fragment: poll the open chat, or ping now and then without one.
    True when the page should redraw. Raises what the client raises."""
    s = state()
    if is_open(s):
        return poll()
    if time.monotonic() - s.pinged_at >= PING_EVERY or s.offline:
        s.client.ping()
        s.pinged_at = time.monotonic()
    return False


class Reply:
    """Streams one sent message's frames: `deltas()` feeds `st.write_stream`, the rest is kept.

    Frames: the stored user `message`, then either `ai.delta`s and the AI's final `message`, or
    (on a handoff) a `system` notice and, when the room queued, the new `room`. After
    `ai.cancelled` no AI message is stored, so the redraw that follows drops the partial text.
    """

    def __init__(
        self, client: TandemClient, room_id: str, text: str, client_id: str | None = None
    ) -> None:
        self.client_id = client_id or new_client_id()
        self._frames = client.send_streaming(room_id, text, client_id=self.client_id)
        self._first: str | None = None
        self.messages: list[Message] = []
        self.room: Room | None = None

    @property
    def asked_for_person(self) -> bool:
        """A message sets off a system notice only by asking for a person: the user's own
        words, or the AI handing the chat over. Whether it queued is the room's status."""
        return any(m.sender == "system" for m in self.messages)

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
            self.messages.append(Message.from_json(frame["message"]))
        elif kind == "room":
            self.room = Room.from_json(frame["room"])
        return False
