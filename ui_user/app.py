"""Tandem user chat (Streamlit, port 8501): talk to the AI assistant, or ask for a person.

Idle cost: a 1-second fragment asks for messages `?after=<last seq>` and draws nothing; only
when something arrived does it rerun the page, which redraws the transcript in place.
"""

from __future__ import annotations

import httpx
import streamlit as st

from ui_common import view
from ui_common.client import ApiError
from ui_common.safe_text import ai_markdown
from ui_user import chat, phone, rating, visitor

st.set_page_config(page_title="Tandem support", page_icon=str(view.FAVICON))

STATUS_STYLE = {
    "ai": (st.info, ":material/smart_toy:"),
    "no_agent": (st.warning, ":material/person_off:"),
    "waiting": (st.warning, ":material/hourglass_top:"),
    "agent": (st.success, ":material/support_agent:"),
    "closed": (st.info, ":material/check_circle:"),
}
GREETING = "Hi! I'm the Tandem assistant. Ask me anything — or ask for a person at any time."


def on_talk_to_person() -> None:
    s = chat.state()
    s.jumps += 1
    try:
        room_id = s.room_id or chat.start_room()
        s.person_requested(s.client.request_human(room_id))
    except (ApiError, httpx.HTTPError) as exc:
        s.flash = f"Could not ask for a person: {_why(exc)}"


def on_end_chat() -> None:
    s = chat.state()
    if s.room_id is None:
        return
    s.jumps += 1
    try:
        s.set_room(s.client.close_room(s.room_id))
    except (ApiError, httpx.HTTPError) as exc:
        s.flash = f"Could not end the chat: {_why(exc)}"


def followup_form() -> None:
    """Nobody online: the user can leave an address and a message for the team, which closes
    the chat (the notice in the transcript says so)."""
    s = chat.state()
    if not s.no_agent or s.room_id is None or not chat.is_open(s):
        return
    with st.form("followup", clear_on_submit=False, border=True):
        st.markdown("**Leave your email and a message** — the team will write back.")
        email = st.text_input("Your email", placeholder="you@example.com")
        text = st.text_area("Your message", max_chars=chat.config().max_message_chars)
        if not st.form_submit_button("Send to the team", icon=":material/mail:"):
            return
    try:
        s.client.leave_followup(s.room_id, email.strip(), text.strip())
        s.set_room(s.client.room(s.room_id))
        chat.fetch_new()
        st.rerun()
    except ApiError as exc:
        if exc.status == 409 and s.room is not None:
            s.no_agent = False  # someone came online: the button asks for them
        why = "check the email address and the message" if exc.status == 422 else exc.detail
        s.flash = f"Could not leave the message: {why}"
    except httpx.HTTPError:
        s.flash = "Could not leave the message: the chat service is unreachable"


def on_new_chat() -> None:
    chat.leave_room()


def title_bar() -> None:
    """The title, and while a conversation is open a "Start a new chat" beside it: the way to
    leave a chat that the visitor cookie would otherwise bring back on every visit. Once the
    chat has ended the same button sits in the bottom bar instead."""
    s = chat.state()
    with st.container(key="titlebar"):
        title, new = st.columns([4, 1.6], vertical_alignment="center")
        title.title("Tandem support", anchor=False)
        if chat.is_open(s):
            new.button(
                "Start a new chat",
                key="new-chat-top",
                icon=":material/add_comment:",
                on_click=on_new_chat,
                type="tertiary",
                width="stretch",
            )


def _why(exc: Exception) -> str:
    return exc.detail if isinstance(exc, ApiError) else "the chat service is unreachable"


def controls() -> str | None:
    """The bar pinned above the keyboard: status line, buttons, message box (so "Chatting with
    Alice" stays in sight however long the chat). Returns a submitted message."""
    s = chat.state()
    kind, text = chat.status_line(s)
    show, icon = STATUS_STYLE[kind]
    with st.bottom:
        if s.flash:
            st.error(s.flash, icon=":material/error:")
            s.flash = None
        line, talk, end = st.columns([5, 2.1, 1.3], vertical_alignment="center")
        with line:
            show(text, icon=icon)
        if kind == "closed":
            with talk:
                st.button(
                    "Start a new chat",
                    icon=":material/add_comment:",
                    on_click=on_new_chat,
                    type="primary",
                    width="stretch",
                )
            return None
        with talk:
            st.button(
                "Talk to a person",
                icon=":material/person_raised_hand:",
                on_click=on_talk_to_person,
                disabled=kind in ("waiting", "agent"),
                width="stretch",
            )
        with end:
            st.button("End chat", on_click=on_end_chat, disabled=s.room_id is None, width="stretch")
        # The browser stops typing at the API's limit and shows a counter near it.
        return st.chat_input("Type your message", max_chars=chat.config().max_message_chars)


def on_retry(client_id: str) -> None:
    chat.state().retry = client_id


def on_discard(client_id: str) -> None:
    s = chat.state()
    s.unsent = [u for u in s.unsent if u.client_id != client_id]


def render_unsent() -> None:
    """Messages the API did not take, kept with what went wrong and a way to send them again."""
    for unsent in chat.state().unsent:
        with st.chat_message("user", avatar=view.AVATARS["user"]):
            st.markdown(view.person_text(unsent.text))
            st.caption(f":material/error: Not sent — {unsent.why}")
            retry, discard, _ = st.columns([1, 1, 3])
            retry.button(
                "Retry",
                key=f"retry-{unsent.client_id}",
                icon=":material/refresh:",
                on_click=on_retry,
                args=(unsent.client_id,),
            )
            discard.button(
                "Discard", key=f"discard-{unsent.client_id}", on_click=on_discard,
                args=(unsent.client_id,),
            )  # fmt: skip


def send(text: str, client_id: str | None = None) -> None:
    """Show the user's message, stream the AI's answer into a bubble, then redraw.

    When the API does not take it, the text stays on screen as an unsent bubble with its
    `client_id`: Retry sends it again under the same id, so it can never be stored twice."""
    s = chat.state()
    s.jumps += 1
    client_id = client_id or chat.new_client_id()
    try:
        room_id = s.room_id or chat.start_room()
        view.render_bubble("user", text)
        reply = chat.Reply(s.client, room_id, text, client_id)
        if reply.starts_with_text():
            with st.chat_message("assistant", avatar=view.AVATARS["ai"]):
                st.write_stream(ai_markdown(delta) for delta in reply.deltas())
        s.messages = view.merge(s.messages, reply.messages)
        s.offline = False
        if reply.asked_for_person:
            s.person_requested(reply.room or s.client.room(room_id))
        elif reply.room is not None:
            s.set_room(reply.room)
    except ApiError as exc:
        s.unsent.append(chat.Unsent(client_id, text, exc.detail))
    except httpx.HTTPError:
        s.offline = True
        s.unsent.append(chat.Unsent(client_id, text, "the chat service is unreachable"))
    chat.drop_delivered()
    st.rerun()


def resend() -> None:
    s = chat.state()
    client_id, s.retry = s.retry, None
    unsent = next((u for u in s.unsent if u.client_id == client_id), None)
    if unsent is not None:
        s.unsent.remove(unsent)
        send(unsent.text, unsent.client_id)


@st.fragment(run_every=chat.POLL_SECONDS)
def live_updates() -> None:
    """Asks for news and reruns the page only when there is some; draws only the connection
    indicator, which shows while the API is unreachable and goes with the first good poll."""
    s = chat.state()
    try:
        changed = chat.heartbeat()
    except ApiError:
        changed = False  # it answered: connected; the next tick retries
    except httpx.HTTPError:
        s.offline = True
        view.connection_banner(True)
        return
    if s.offline:
        s.offline = False
        st.rerun()  # back: redraw everything from the API
    if changed:
        st.rerun()


def main() -> None:
    s = chat.state()
    phone.compact()
    chat.adopt_url_session()
    chat.resume_visitor()
    try:
        chat.sync()
    except ApiError as exc:
        s.flash = exc.detail
    except httpx.HTTPError:
        s.offline = True
    chat.drop_delivered()
    title_bar()
    if s.messages:
        view.render_transcript(chat.shown_messages(s))
    else:
        with st.chat_message("assistant", avatar=view.AVATARS["ai"]):
            st.markdown(GREETING)
    render_unsent()
    if s.room_id is not None and s.room is not None and s.room.status == "closed":
        took_part = any(m.sender == "user" for m in s.messages)
        rating.ask(s.client, s.room_id, took_part=took_part)
    visitor.write_cookie()
    followup_form()
    view.follow_newest(str(s.room_id), view.last_seq(s.messages), jump=s.jumps)
    prompt = controls()
    if s.retry:
        resend()
    elif prompt and prompt.strip():
        send(prompt.strip())
    live_updates()


main()
