"""Tandem agent console (Streamlit, port 8502): log in, then the pages the role may see.

`st.navigation` lists the pages by role: agents get Chats, analysts Stats, admins both. The
JWT lives in the session's `ConsoleState` only and is never shown or logged; a reload logs in
again from a revocable session secret kept in a cookie (ui_agent/remember.py). A 1.5-second
fragment polls the queue (the presence heartbeat) and, on the
Chats page, the held chats, and every few seconds the open follow-ups (their count is in the
menu); it draws nothing and reruns the page only when something changed.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import httpx
import streamlit as st

from ui_agent import console, remember, sound
from ui_agent.feedback import flash
from ui_common import view
from ui_common.client import ApiError
from ui_common.models import Agent
from ui_common.safe_text import escape_markdown

st.set_page_config(page_title="Tandem console", page_icon=str(view.FAVICON), layout="wide")

HERE = Path(__file__).parent


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
        remember.keep()


def on_logout() -> None:
    remember.end()
    console.reset(("info", "You are logged out."))


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
        if me.can_chat:
            sound.toggle()
        st.button("Log out", icon=":material/logout:", on_click=on_logout, key="logout")


def announce_followups(on_page: bool) -> None:
    """A follow-up that came in while the console was open: a toast on any other page (the
    menu's count says how many are open; the Follow-ups page lists it)."""
    s = console.state()
    arrived, s.followups_new = s.followups_new, []
    if on_page:
        return
    for followup in arrived:
        st.toast(
            f"New follow-up from {escape_markdown(str(followup['email']))}", icon=":material/mail:"
        )


@st.fragment(run_every=console.POLL_SECONDS)
def live_updates(on_chats: bool) -> None:
    """The heartbeat poll, and a page rerun only when something changed; draws only the
    connection indicator, which shows while the API is unreachable and goes with the first
    good poll.

    On the Stats page it only keeps the agent online (an analyst's only checks the API is
    there): redrawing charts is not worth it."""
    s = console.state()
    changed = False
    try:
        if on_chats:
            changed = console.poll()
        elif s.me is not None and s.me.can_chat:
            s.api.queue()
        else:
            s.api.ping()
        if s.me is not None and s.me.can_chat:
            changed = console.poll_followups() or changed
    except ApiError as exc:
        if exc.status == 401 and not remember.refresh():
            remember.end()
            console.reset(("warning", "Your session expired; log in again."))
            st.rerun()
    except httpx.HTTPError:
        s.offline = True
        view.connection_banner(True)
        return
    if s.offline:
        s.offline = False
        changed = True  # back: redraw everything from the API
    if changed:
        st.rerun()


def main() -> None:
    s = console.state()
    remember.restore()
    remember.write_cookie()
    if s.client is None or s.me is None:
        st.navigation([st.Page(login_page, title="Log in", url_path="login")]).run()
        return
    chats = st.Page(
        HERE / "page_chats.py", title="Chats", icon=":material/forum:", url_path="chats"
    )
    stats = st.Page(
        HERE / "page_stats.py", title="Stats", icon=":material/bar_chart:", url_path="stats"
    )
    board = st.Page(
        HERE / "page_board.py", title="Board", icon=":material/dashboard:", url_path="board"
    )
    with contextlib.suppress(ApiError, httpx.HTTPError):  # the heartbeat reports an outage
        console.poll_followups()
    followups = st.Page(
        HERE / "page_followups.py",
        title=console.followups_title(),
        icon=":material/mail:",
        url_path="followups",
    )
    pages = ([chats, followups] if s.me.can_chat else []) + ([stats] if s.me.can_read_stats else [])
    if s.me.role == "admin":
        pages.append(board)
    current = st.navigation(pages)
    sidebar_account(s.me)
    announce_followups(current is followups)
    current.run()
    # After the page ran (its sync is what the count reads); `st.navigation` titles the tab
    # with the page's title otherwise.
    st.set_page_config(page_title=console.tab_title())
    if current is chats:
        sound.play_if_news()  # off unless the sidebar toggle is on
    live_updates(current is chats)


main()
