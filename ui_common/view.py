"""How a transcript looks, shared by the user chat and the agent console.

One place decides avatars, who a bubble is "from", and that system notices are not bubbles,
so both apps show the same conversation the same way.
"""

from __future__ import annotations

import html
import json
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import streamlit as st

from ui_common.models import Message, Sender
from ui_common.safe_text import ai_markdown, escape_markdown

FAVICON = Path(__file__).parent / "assets" / "favicon.png"
"""Both apps' tab icon: a local file, so the browser fetches nothing from a third party."""

AVATARS: dict[Sender, str] = {
    "user": ":material/person:",
    "ai": ":material/smart_toy:",
    "agent": ":material/support_agent:",
}


def bubble_name(sender: Sender, author: str | None = None) -> str:
    """The chat-message name (its aria-label): user, assistant, or the agent's own name."""
    if sender == "user":
        return "user"
    if sender == "ai":
        return "assistant"
    return author or "agent"


def browser_zone() -> ZoneInfo:
    """The browser's time zone (`st.context.timezone`), UTC when unknown (tests, old browsers)."""
    name = st.context.timezone
    try:
        return ZoneInfo(name) if isinstance(name, str) and name else ZoneInfo("UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def local_time(
    moment: datetime, *, zone: ZoneInfo | None = None, now: datetime | None = None
) -> str:
    """'14:03' today in the browser's zone, else 'Nov 28, 14:03'."""
    zone = zone or browser_zone()
    local = moment.astimezone(zone)
    today = (now or datetime.now(UTC)).astimezone(zone).date()
    return local.strftime("%H:%M") if local.date() == today else local.strftime("%b %d, %H:%M")


def person_text(text: str) -> str:
    """A person's text as typed: escaped, and its line breaks (Shift+Enter) kept as breaks."""
    return escape_markdown(text).replace("\n", "  \n")


WHILE_YOU_WAIT = "while you wait"
"""The mark on an AI answer given while the user waited for a person."""


def render_bubble(
    sender: Sender,
    text: str,
    author: str | None = None,
    at: datetime | None = None,
    *,
    while_waiting: bool = False,
) -> None:
    """One line of the chat; a person's text is shown as typed, the AI's as safe Markdown.
    `at`: when it was sent, shown small in the browser's local time. `while_waiting`: an AI
    answer given while the user waited for a person, marked so in both apps."""
    if sender == "system":
        st.caption(f":material/info: {escape_markdown(text)}")
        return
    with st.chat_message(bubble_name(sender, author), avatar=AVATARS.get(sender)):
        if sender == "agent":
            st.caption(escape_markdown(author or "Agent"))
        if while_waiting:
            st.caption(f":material/hourglass_top: {WHILE_YOU_WAIT}")
        st.markdown(ai_markdown(text) if sender == "ai" else person_text(text))
        if at is not None:
            st.caption(local_time(at))


def render_message(message: Message) -> None:
    render_bubble(
        message.sender,
        message.text,
        message.author,
        message.created_at,
        while_waiting=message.while_waiting,
    )


def render_transcript(messages: list[Message]) -> None:
    for message in messages:
        render_message(message)


def merge(messages: list[Message], new: list[Message]) -> list[Message]:
    """Add `new` to `messages`, deduplicated and ordered by seq (frames may repeat)."""
    if not new:
        return messages
    by_seq = {m.seq: m for m in messages}
    for message in new:
        by_seq[message.seq] = message
    return [by_seq[seq] for seq in sorted(by_seq)]


def last_seq(messages: list[Message]) -> int:
    return messages[-1].seq if messages else 0


def ago(moment: datetime, *, now: datetime | None = None) -> str:
    """'just now', '45 s', '3 min', '2 h 5 min': how long someone has been waiting."""
    seconds = int(((now or datetime.now(UTC)) - moment).total_seconds())
    if seconds < 10:
        return "just now"
    if seconds < 60:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60} min"


# ---------------------------------------------------------------- browser-side touches
# Streamlit has no scroll or title API: these small scripts run in the page (st.html with
# JavaScript). Only our own constants and JSON-encoded values go into them, never user text.

_FOLLOW_JS = """<script>
(() => {
  const key = %s;
  const anchor = %s;
  const down = () => {
    const mark = anchor && document.getElementById(anchor);
    if (mark) { mark.scrollIntoView({block: "start"}); return; }
    for (const el of document.querySelectorAll(
      '[data-testid="stMain"], [data-testid="stAppScrollToBottomContainer"], section.main'
    )) { el.scrollTop = el.scrollHeight; }
    window.scrollTo(0, document.body.scrollHeight);
  };
  for (const ms of [0, 120, 400, 900]) setTimeout(down, ms);
  void key;
})();
</script>"""

UNREAD_ANCHOR = "tandem-first-unread"
"""The element id of the "New messages" line (see `unread_marker`)."""


def follow_newest(key: str, *, anchor: str | None = None) -> None:
    """Scroll the page to its bottom (the newest message) whenever `key` changes: pass what
    identifies the newest thing on screen (room and last seq). An unchanged key leaves the
    element as it is, so a redraw for anything else does not move the reader. With `anchor`
    (an element id on the page), scroll that element to the top instead: a chat opened at its
    first unread message (the browser stops at the bottom when the rest is short)."""
    st.html(
        _FOLLOW_JS % (json.dumps(key), json.dumps(anchor)),
        unsafe_allow_javascript=True,
        width="content",
    )


def unread_marker() -> None:
    """The "New messages" line above the first message the reader has not seen yet."""
    st.html(
        f'<div id="{UNREAD_ANCHOR}" data-tandem="unread" role="separator" '
        'style="display:flex;align-items:center;gap:.5rem;color:#d9480f;font-size:.8rem;'
        'font-weight:600;scroll-margin-top:4rem"><span style="flex:1;border-top:1px solid '
        'currentColor"></span>New messages<span style="flex:1;border-top:1px solid '
        'currentColor"></span></div>'
    )


OFFLINE_TEXT = "Connection lost — reconnecting…"


def connection_banner(offline: bool) -> None:
    """Pinned at the top of the window while the last poll found the API unreachable; drawn by
    the polling fragment, so the next successful poll clears it."""
    if not offline:
        return
    st.html(
        '<div role="status" data-tandem="offline" style="position:fixed;top:3.6rem;left:50%;'
        "transform:translateX(-50%);z-index:999999;padding:0.45rem 1rem;border-radius:0.5rem;"
        'background:#b45309;color:#fff;font-size:0.9rem;box-shadow:0 2px 8px rgba(0,0,0,.25)">'
        f"{html.escape(OFFLINE_TEXT)}</div>"
    )
