"""The Follow-ups page: what users left while no agent was online (a queue of its own).

Each shows when it came, the address as a `mailto:` link (Tandem sends no mail: the agent
answers from their own mail client) and the message as typed; "Mark done" files it away.
Read when the page is drawn; the console's heartbeat re-reads the open ones every few
seconds (`console.poll_followups`) and redraws the page when one arrives or is marked done.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import streamlit as st

from ui_agent import console
from ui_agent.feedback import flash, guard
from ui_common import view
from ui_common.models import parse_time
from ui_common.safe_text import escape_markdown


def mailto(email: str) -> str:
    """A `mailto:` URL whose address cannot smuggle other headers or text."""
    return "mailto:" + quote(email, safe="@.+-_")


def on_done(followup_id: int) -> None:
    def done() -> None:
        console.state().api.followup_done(followup_id)
        console.poll_followups(force=True)  # the menu's count, in this very redraw

    guard(done, done="Marked done.")


def card(followup: dict[str, Any]) -> None:
    with st.container(border=True):
        head, action = st.columns([4, 1], vertical_alignment="center")
        when = view.local_time(parse_time(str(followup["created_at"])))
        head.markdown(f"**{escape_markdown(followup['email'])}** · {when}")
        if followup.get("done_at"):
            by = (followup.get("done_by") or {}).get("name", "")
            action.caption(f":material/done: Done {escape_markdown(str(by))}")
        else:
            action.button(
                "Mark done",
                key=f"done-{followup['id']}",
                icon=":material/done:",
                on_click=on_done,
                args=(int(followup["id"]),),
                width="stretch",
            )
        st.markdown(view.person_text(str(followup["text"])))
        st.link_button("Reply by email", mailto(str(followup["email"])), icon=":material/mail:")


def render() -> None:
    st.title("Follow-ups", anchor=False)
    flash()
    shown = st.segmented_control(
        "Show",
        ["Open", "Done"],
        default="Open",
        key="followups_state",
        label_visibility="collapsed",
    )
    state = "done" if shown == "Done" else "open"
    found: list[dict[str, Any]] = []
    guard(lambda: found.extend(console.state().api.followups(state)))
    if not found:
        st.info(
            "No open follow-ups: users leave one when no agent is online."
            if state == "open"
            else "None marked done yet.",
            icon=":material/inbox:",
        )
    for followup in found:
        card(followup)
