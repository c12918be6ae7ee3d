"""Tandem agent console (Streamlit, port 8502): the queue, several chats at once, statistics.

The JWT lives in `st.session_state` only (a reload asks to log in again) and is never shown
or logged. A 1.5-second fragment polls the queue (the presence heartbeat) and the held chats,
draws nothing, and reruns the page only when something changed.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

import httpx
import streamlit as st

from ui_agent import console
from ui_common import view
from ui_common.client import ApiError, TandemClient
from ui_common.models import Agent
from ui_common.safe_text import escape_markdown

st.set_page_config(page_title="Tandem console", page_icon=":material/support_agent:", layout="wide")

QUEUE_SHOWN = 25


def _guard(action: Callable[[], None], *, done: str | None = None) -> None:
    """Run a button's action; turn API refusals into a message instead of a traceback."""
    s = console.state()
    try:
        action()
    except ApiError as exc:
        if exc.status == 401:
            console.reset(("warning", "Your session expired; log in again."))
        else:
            s.flash = ("warning" if exc.status == 409 else "error", exc.detail)
    except httpx.HTTPError as exc:
        s.flash = ("error", console.describe(exc))
    else:
        if done:
            s.flash = ("success", done)


# ---------------------------------------------------------------- callbacks


def on_login() -> None:
    s = console.state()
    email = str(st.session_state.get("login_email", "")).strip()
    password = str(st.session_state.get("login_password", ""))
    if not email or not password:
        s.flash = ("error", "Enter your email and password.")
        return
    try:
        console.login(email, password)
    except ApiError as exc:
        s.flash = ("error", exc.detail)
    except httpx.HTTPError as exc:
        s.flash = ("error", console.describe(exc))
    else:
        s.flash = None
        st.session_state.login_password = ""


def on_logout() -> None:
    console.reset(("info", "You are logged out."))


def on_take(room_id: str) -> None:
    """409: someone was quicker. Say so and drop the request from the list at once."""
    _guard(lambda: console.take(room_id))
    s = console.state()  # a new one if the session expired
    if s.selected != room_id and s.client is not None:
        s.queue = [r for r in s.queue if r.id != room_id]


def on_pick() -> None:
    console.state().selected = st.session_state.chat_pick


def on_reply(room_id: str) -> None:
    text = str(st.session_state.get(f"reply-{room_id}") or "").strip()
    if text:
        _guard(lambda: console.reply(room_id, text))


def on_leave(room_id: str) -> None:
    _guard(lambda: console.leave(room_id), done="You left the chat; the AI assistant took over.")


def on_resolve(room_id: str) -> None:
    _guard(lambda: console.resolve(room_id), done="Chat resolved and closed.")


def on_dismiss() -> None:
    s = console.state()
    s.selected = s.mine[0].id if s.mine else None


# ---------------------------------------------------------------- pieces


def flash() -> None:
    s = console.state()
    if s.flash:
        kind, text = s.flash
        {"error": st.error, "warning": st.warning, "success": st.success}.get(kind, st.info)(text)
        s.flash = None


def login_page() -> None:
    st.title("Tandem console", anchor=False)
    flash()
    with st.form("login", width=420):
        st.text_input("Email", key="login_email", autocomplete="username")
        st.text_input(
            "Password", type="password", key="login_password", autocomplete="current-password"
        )
        st.form_submit_button("Log in", type="primary", on_click=on_login)


def sidebar_account(me: Agent) -> None:
    with st.sidebar:
        st.markdown(f"**{escape_markdown(me.name)}** · {me.role}")
        st.button("Log out", icon=":material/logout:", on_click=on_logout, key="logout")


def sidebar_queue() -> None:
    s = console.state()
    with st.sidebar:
        st.subheader(f"Waiting ({len(s.queue)})", anchor=False)
        if not s.queue:
            st.caption("Nobody is waiting.")
        for room in s.queue[:QUEUE_SHOWN]:
            with st.container(border=True):
                st.markdown(f"**#{room.queue_position}** · {console.wait_label(room)}")
                about = room.brief or console.first_words(room.id) or "(no message yet)"
                st.caption(escape_markdown(_clip(about, 160)))
                st.button(
                    "Take",
                    key=f"take-{room.id}",
                    type="primary",
                    icon=":material/login:",
                    on_click=on_take,
                    args=(room.id,),
                )
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
    first = console.first_words(room_id) or "New chat"
    label = f"{_clip(first, 28)} · {room_id[:6]}"
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
    view.render_transcript(console.history(room_id))
    console.mark_read(room_id)
    with st.bottom:
        flash()
        if not mine:
            note, dismiss = st.columns([6, 1.4], vertical_alignment="center")
            note.info("This chat is closed.", icon=":material/check_circle:")
            dismiss.button("Dismiss", on_click=on_dismiss, width="stretch")
            return
        _, leave, resolve = st.columns([5, 2, 1.4], vertical_alignment="center")
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


def chats_page() -> None:
    s = console.state()
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


def stats_page(client: TandemClient) -> None:
    """Another module draws it; until it exists, say so instead of failing."""
    try:
        stats = importlib.import_module("ui_agent.stats_page")
    except ModuleNotFoundError as exc:
        if exc.name != "ui_agent.stats_page":
            raise
        st.title("Statistics", anchor=False)
        st.info("Statistics are not available in this build yet.", icon=":material/bar_chart:")
        return
    stats.render(client)


@st.fragment(run_every=console.POLL_SECONDS)
def live_updates(page: str) -> None:
    """Draws nothing: the heartbeat poll, and a page rerun only when something changed.

    On the Stats page it only keeps the agent online: redrawing charts is not worth it."""
    s = console.state()
    try:
        if page != "Chats":
            s.api.queue()
            return
        changed = console.poll()
    except ApiError as exc:
        if exc.status == 401:
            console.reset(("warning", "Your session expired; log in again."))
            st.rerun()
        return
    except httpx.HTTPError:
        return  # a blip: the next tick retries
    if changed:
        st.rerun()


def _clip(text: str, size: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= size else text[: size - 1] + "…"


def main() -> None:
    s = console.state()
    if s.client is None:
        login_page()
        return
    assert s.me is not None  # set together with the client
    sidebar_account(s.me)
    views = (["Chats"] if console.can_chat() else []) + (
        ["Stats"] if console.can_read_stats() else []
    )
    current = "Chats"
    if len(views) > 1:
        current = st.sidebar.segmented_control(
            "View", views, default="Chats", required=True, key="view"
        )
    elif views:
        current = views[0]
    if current == "Stats":
        flash()
        stats_page(s.client)
    elif console.can_chat():
        try:
            console.sync()
        except ApiError as exc:
            if exc.status == 401:
                console.reset(("warning", "Your session expired; log in again."))
                st.rerun()
            s.flash = ("error", exc.detail)
        except httpx.HTTPError as exc:
            s.flash = ("error", console.describe(exc))
        chats_page()
    if console.can_chat():
        live_updates(current)


main()
