"""The Chats page of the agent console: the queue and the held chats in the sidebar, one chat
in the main pane. State and API calls are in `console.py`; this module only draws and wires
the buttons.
"""

from __future__ import annotations

import httpx
import streamlit as st

from ui_agent import console, history, routing, team
from ui_agent.feedback import flash, guard
from ui_common import view
from ui_common.client import ApiError
from ui_common.safe_text import escape_markdown

QUEUE_SHOWN = console.QUEUE_PREVIEWS


# ---------------------------------------------------------------- callbacks


def on_take(room_id: str) -> None:
    """409: someone was quicker. Say so and drop the request from the list at once."""
    guard(lambda: console.take(room_id))
    s = console.state()  # a new one if the session expired
    if s.selected != room_id and s.client is not None:
        s.queue = [r for r in s.queue if r.id != room_id]


def on_pick() -> None:
    console.state().selected = st.session_state.chat_pick


def on_reply(room_id: str) -> None:
    """Send the reply; a `/shortcut` alone sends that saved reply, `{agent_name}` filled."""
    text = str(st.session_state.get(f"reply-{room_id}") or "").strip()
    if not text:
        return
    try:
        text = team.expand(text, team.saved_replies(), team.agent_name())
    except ValueError as exc:
        console.state().flash = ("warning", str(exc))
        return
    console.state().jumps += 1  # their own reply: bring the view down to it
    guard(lambda: console.reply(room_id, text))


def on_saved_reply(room_id: str) -> None:
    """The picker: put the chosen saved reply, filled, into the reply box to edit and send."""
    key = f"saved-{room_id}"
    chosen = st.session_state.get(key)
    for reply in team.saved_replies():
        if reply.shortcut == chosen:
            st.session_state[f"reply-{room_id}"] = team.fill(reply.text, team.agent_name())
    st.session_state[key] = None


def on_note(room_id: str) -> None:
    key = f"note-{room_id}"
    text = str(st.session_state.get(key) or "").strip()
    if text:
        guard(lambda: team.add_note(room_id, text))
    st.session_state[key] = ""


def on_leave(room_id: str) -> None:
    guard(lambda: console.leave(room_id), done="You left the chat; the AI assistant took over.")


def on_resolve(room_id: str) -> None:
    guard(lambda: console.resolve(room_id), done="Chat resolved and closed.")


def on_dismiss() -> None:
    s = console.state()
    s.selected = s.mine[0].id if s.mine else None


# ---------------------------------------------------------------- pieces


def sidebar_queue() -> None:
    s = console.state()
    with st.sidebar:
        st.subheader(f"Waiting ({len(s.queue)})", anchor=False)
        if not s.queue:
            st.caption("Nobody is waiting.")
        for room in s.queue[:QUEUE_SHOWN]:
            # Compact: one line with the position, the wait and Take; one with what it is about.
            # The newest words typed while waiting lead (the brief's opening is the need they
            # came with); the whole brief is one hover away.
            said = console.said_while_waiting(room)
            about = (f"↳ {said}" if said else room.brief) or console.latest_words(room.id)
            about = about or "(no message yet)"
            line, take = st.columns([3, 1.4], vertical_alignment="center", gap="small")
            line.markdown(f"**#{room.queue_position}** · {console.wait_label(room)}")
            take.button(
                "Take",
                key=f"take-{room.id}",
                type="primary",
                on_click=on_take,
                args=(room.id,),
                width="content",
            )
            full = room.brief or about
            st.caption(escape_markdown(_clip(about, 30)), help=escape_markdown(_clip(full, 400)))
        if len(s.queue) > QUEUE_SHOWN:
            st.caption(f"… and {len(s.queue) - QUEUE_SHOWN} more")


def sidebar_chats() -> None:
    s = console.state()
    chats = console.open_chats()
    if s.selected not in chats:
        s.selected = chats[0] if chats else None
    with st.sidebar:
        st.subheader(f"My chats ({len(s.mine)})", anchor=False)
        if not chats:
            st.caption("No open chats. Take a request above.")
            return
        st.session_state.chat_pick = s.selected
        labels = {room_id: _chat_label(room_id) for room_id in chats}
        st.radio(
            "My chats",
            chats,
            key="chat_pick",
            format_func=labels.__getitem__,
            on_change=on_pick,
            label_visibility="collapsed",
        )


def _chat_label(room_id: str) -> str:
    s = console.state()
    latest = console.latest_words(room_id) or "New chat"
    label = f"{_clip(latest, 28)} · {room_id[:6]}"
    count = console.unread(room_id) if room_id != s.selected else 0
    room = s.rooms.get(room_id)
    if room is not None and room.status == "closed":
        return f"{label} (closed)"
    return f"{label} ({count} new)" if count else label


def chat_pane(room_id: str) -> None:
    s = console.state()
    room = s.rooms.get(room_id)
    mine = room_id in {r.id for r in s.mine} and (room is None or room.status == "agent")
    st.subheader(f"Chat {room_id[:6]}", anchor=False)
    if room is not None:
        started = view.ago(room.created_at)
        st.caption("Started just now" if started == "just now" else f"Started {started} ago")
    if room is not None and room.brief:
        with st.expander("Brief from the AI assistant", icon=":material/summarize:"):
            st.markdown(escape_markdown(room.brief))
    if mine:
        history.render(room_id)  # "Previous conversations (n)": ui_agent/history.py
    unread_from, opened_at = _opened(room_id)
    last = view.last_seq(console.history(room_id))
    for item in team.timeline(console.history(room_id), team.notes(room_id)):
        if isinstance(item, team.Note):
            team.render_note(item)
        else:
            if item.seq == unread_from:
                view.unread_marker()
            view.render_message(item)
    # Opened at the first unread; once more arrives while the chat is shown, follow the newest.
    anchor = view.UNREAD_ANCHOR if unread_from is not None and last == opened_at else None
    view.follow_newest(room_id, last, anchor=anchor, jump=s.jumps)
    console.mark_read(room_id)
    if mine:
        st.text_input(
            "Add a private note",
            key=f"note-{room_id}",
            on_change=on_note,
            args=(room_id,),
            placeholder="Only agents see notes; press Enter to add",
            max_chars=4000,
        )
    with st.bottom:
        flash()
        if not mine:
            note, dismiss = st.columns([6, 1.4], vertical_alignment="center")
            note.info("This chat is closed.", icon=":material/check_circle:")
            dismiss.button("Dismiss", on_click=on_dismiss, width="stretch")
            return
        pick, move, leave, resolve = st.columns([5, 1.8, 2, 1.4], vertical_alignment="center")
        routing.transfer_controls(room_id, move)
        replies = {r.shortcut: r for r in team.saved_replies()}
        if replies:
            pick.selectbox(
                "Saved reply",
                list(replies),
                index=None,
                key=f"saved-{room_id}",
                format_func=lambda shortcut: f"/{shortcut} · {replies[shortcut].title}",
                on_change=on_saved_reply,
                args=(room_id,),
                placeholder="Insert a saved reply (or type /shortcut)",
                label_visibility="collapsed",
            )
        leave.button(
            "Leave chat",
            icon=":material/smart_toy:",
            help="Hand the customer back to the AI assistant",
            on_click=on_leave,
            args=(room_id,),
            width="stretch",
        )
        resolve.button(
            "Resolve",
            icon=":material/task_alt:",
            type="primary",
            help="Close the chat: the customer's issue is solved",
            on_click=on_resolve,
            args=(room_id,),
            width="stretch",
        )
        st.chat_input(
            "Reply to the customer", key=f"reply-{room_id}", on_submit=on_reply, args=(room_id,)
        )


def _layout() -> None:
    s = console.state()
    routing.announce_arrivals()
    routing.sidebar_status()
    sidebar_queue()
    sidebar_chats()
    if s.selected:
        chat_pane(s.selected)
    else:
        st.title("Tandem console", anchor=False)
        flash()
        st.info(
            "Take a waiting request from the sidebar: you will see the whole conversation, "
            "the AI part included.",
            icon=":material/support_agent:",
        )


def _opened(room_id: str) -> tuple[int | None, int]:
    """(first unread seq, last seq) as they were when this chat was put in the pane, kept
    while it stays there: the "New messages" line does not jump as the chat is read."""
    key = "pane_opened"
    held = st.session_state.get(key)
    if not (isinstance(held, tuple) and held[0] == room_id):
        last = view.last_seq(console.history(room_id))
        held = (room_id, console.first_unread(room_id), last)
        st.session_state[key] = held
    return held[1], held[2]


def _clip(text: str, size: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= size else text[: size - 1] + "…"


def render() -> None:
    """The whole page: a full sync first (it is what the timed poll compares against)."""
    s = console.state()
    try:
        console.sync()
    except ApiError as exc:
        if exc.status == 401:
            console.reset(("warning", "Your session expired; log in again."))
            st.rerun()
        s.flash = ("error", exc.detail)
    except httpx.HTTPError:
        s.offline = True  # the connection indicator says it; the poll clears it
    _layout()
