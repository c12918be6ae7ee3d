"""How a transcript looks, shared by the user chat and the agent console.

One place decides avatars, who a bubble is "from", and that system notices are not bubbles,
so both apps show the same conversation the same way.
"""

from __future__ import annotations

from datetime import UTC, datetime

import streamlit as st

from ui_common.models import Message, Sender
from ui_common.safe_text import ai_markdown, escape_markdown

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


def render_bubble(sender: Sender, text: str, author: str | None = None) -> None:
    """One line of the chat; a person's text is shown as typed, the AI's as safe Markdown."""
    if sender == "system":
        st.caption(f":material/info: {escape_markdown(text)}")
        return
    with st.chat_message(bubble_name(sender, author), avatar=AVATARS.get(sender)):
        if sender == "agent":
            st.caption(escape_markdown(author or "Agent"))
        st.markdown(ai_markdown(text) if sender == "ai" else escape_markdown(text))


def render_message(message: Message) -> None:
    render_bubble(message.sender, message.text, message.author)


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
