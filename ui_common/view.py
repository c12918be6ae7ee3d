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
  const [scope, newest, anchor, jump] = %s;
  const w = window;
  const SCROLLERS =
    '[data-testid="stMain"], [data-testid="stAppScrollToBottomContainer"], section.main';
  const NEAR = 80;  // px from the bottom that still counts as "at the newest"
  const t = w.tandemFollow || (w.tandemFollow = {
    scope: null, newest: 0, jump: null, seen: 0, away: false, input: 0, acted: 0,
  });
  const atBottom = (el) => el.scrollHeight - el.scrollTop - el.clientHeight <= NEAR;
  const button = () => document.getElementById("tandem-jump");
  const hide = () => { const b = button(); if (b) b.style.display = "none"; };
  // A few passes, as Streamlit finishes drawing; the reader's own scrolling stops them.
  const passes = (step) => {
    const since = Date.now();
    for (const ms of [0, 120, 400, 900]) setTimeout(() => { if (t.input <= since) step(); }, ms);
  };
  const down = () => {
    for (const el of document.querySelectorAll(SCROLLERS)) el.scrollTop = el.scrollHeight;
    window.scrollTo(0, document.body.scrollHeight);
  };
  const follow = () => { t.away = false; t.seen = t.newest; hide(); passes(down); };
  if (!t.listening) {
    t.listening = true;
    // Only the reader moves the view away from the newest: wheel, touch, keys, the scrollbar.
    const input = () => { t.input = Date.now(); };
    const quiet = {passive: true, capture: true};
    for (const kind of ["wheel", "touchmove"]) addEventListener(kind, input, quiet);
    addEventListener("keydown", (e) => {
      const typing = e.target && e.target.closest && e.target.closest("textarea, input");
      if (!typing && /^(PageUp|PageDown|ArrowUp|ArrowDown|Home|End| )$/.test(e.key)) input();
    }, true);
    addEventListener("pointerdown", (e) => {
      if (e.target && e.target.matches && e.target.matches(SCROLLERS)) input();
      else if (e.target && e.target.closest && e.target.closest("button")) t.acted = Date.now();
    }, true);
    addEventListener("keydown", (e) => {
      if (e.key === "Enter" && !e.shiftKey && e.target && e.target.tagName === "TEXTAREA") {
        t.acted = Date.now();
      }
    }, true);
    addEventListener("scroll", (e) => {
      const el = e.target;
      if (!el || !el.matches || !el.matches(SCROLLERS)) return;
      if (atBottom(el)) { t.away = false; t.seen = t.newest; hide(); }
      else if (Date.now() - t.input < 1000) t.away = true;
    }, true);
  }
  const fresh = t.scope !== scope;
  const grew = newest !== t.newest || jump !== t.jump;
  if (!fresh && !grew) return;  // a redraw for anything else leaves the reader where they are
  const own = jump !== t.jump && !fresh;
  t.scope = scope; t.newest = newest; t.jump = jump;
  if (fresh) {
    t.away = false; t.seen = newest; hide();
    const mark = anchor && document.getElementById(anchor);
    if (mark) { passes(() => mark.scrollIntoView({block: "start"})); return; }
    follow();
    return;
  }
  if (!t.away) { follow(); return; }
  if (own) {
    // Their own send follows, unless they scrolled up again while it was on its way: then it
    // stays where they are, and what they sent (and watched being answered) is not news.
    if (t.input <= t.acted) follow(); else t.seen = newest;
    return;
  }
  // The reader scrolled up to read: leave them there and offer a way down.
  let b = button();
  if (!b) {
    b = document.createElement("button");
    b.id = "tandem-jump";
    b.type = "button";
    b.dataset.tandem = "jump";
    b.style.cssText = "position:fixed;left:50%%;transform:translateX(-50%%);z-index:999990;" +
      "border:0;border-radius:999px;padding:.4rem .95rem;background:#d9480f;color:#fff;" +
      "font:600 .85rem/1.2 sans-serif;box-shadow:0 2px 8px rgba(0,0,0,.3);cursor:pointer";
    b.addEventListener("click", follow);
    document.body.appendChild(b);
  }
  const bar = document.querySelector('[data-testid="stBottom"]');
  b.style.bottom = ((bar ? bar.getBoundingClientRect().height : 0) + 12) + "px";
  const count = Math.max(1, newest - t.seen);
  b.textContent = "\u2193 " + (count === 1 ? "1 new message" : count + " new messages");
  b.setAttribute("aria-label", "New messages: jump to the newest");
  b.style.display = "block";
})();
</script>"""

UNREAD_ANCHOR = "tandem-first-unread"
"""The element id of the "New messages" line (see `unread_marker`)."""


def follow_newest(scope: str, newest: int, *, anchor: str | None = None, jump: int = 0) -> None:
    """Keep the reader at the newest message, the way chat apps do.

    `scope` names the conversation on screen and `newest` its last seq. A new scope opens at
    the bottom, or with `anchor` (an element id) at that element: a chat opened at its first
    unread. When `newest` grows the page follows it, unless the reader has scrolled up to read
    (wheel, touch, keys or the scrollbar, not our own scrolling): then a "↓ n new messages"
    button appears above the input and jumps to the newest when clicked; it goes by itself when
    the reader scrolls down. A changed `jump` (the reader sent something) follows too, unless
    they scrolled up after sending. Redraws that change neither leave the view alone."""
    st.html(
        _FOLLOW_JS % json.dumps([scope, newest, anchor, jump]),
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
