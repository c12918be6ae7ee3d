"""The supervisor board (admins): every agent, the queue, and the chats in progress, live.

One read (`GET /api/board`) per refresh, every `REFRESH_SECONDS` in a fragment. From here an
admin sets an agent's status or capacity, and transfers any chat in progress or takes it
over (a transfer to themself); chats whose customer has waited for an answer longer than the
API's `unanswered_alert_seconds` (2 minutes) are flagged in red.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import streamlit as st

from ui_agent import console, routing
from ui_agent.feedback import flash, guard
from ui_common import view
from ui_common.client import ApiError
from ui_common.models import parse_time
from ui_common.safe_text import escape_markdown

REFRESH_SECONDS = 3.0


def _since(value: str | None, now: datetime) -> str:
    """'just now', '3 min ago', or 'never'."""
    if not value:
        return "never"
    ago = view.ago(parse_time(value), now=now)
    return ago if ago == "just now" else f"{ago} ago"


def _for(value: str, now: datetime) -> str:
    """'just now' or 'for 3 min'."""
    ago = view.ago(parse_time(value), now=now)
    return ago if ago == "just now" else f"for {ago}"


def _seconds(value: str | None, now: datetime) -> float:
    return 0.0 if not value else (now - parse_time(value)).total_seconds()


# ---------------------------------------------------------------- actions


def on_capacity(agent_id: int) -> None:
    value = st.session_state.get(f"cap-{agent_id}")
    if value is None:
        return

    def apply() -> None:
        routing.update_agent(agent_id, max_chats=int(value))

    guard(apply, done="Capacity saved.")


def on_status(agent_id: int) -> None:
    away = bool(st.session_state.get(f"away-{agent_id}"))

    def apply() -> None:
        routing.update_agent(agent_id, status="away" if away else "available")

    guard(apply)


def on_board_transfer(room_id: str) -> None:
    choice = st.session_state.get(f"board-to-{room_id}")
    if choice is None:
        console.state().flash = ("warning", "Choose an agent or the queue first.")
        return
    target = None if choice == routing.QUEUE_CHOICE else int(choice)
    guard(lambda: routing.transfer(room_id, agent_id=target), done="Chat transferred.")


def on_takeover(room_id: str) -> None:
    me = console.state().me
    if me is None:
        return
    guard(
        lambda: routing.transfer(room_id, agent_id=me.id),
        done="You took the chat over: it is in your Chats page.",
    )


# ---------------------------------------------------------------- sections


def agents_section(agents: list[dict[str, Any]], now: datetime) -> None:
    st.subheader(f"Agents ({len(agents)})", anchor=False)
    if not agents:
        st.caption("No agents yet.")
    for a in agents:
        name, state, load, seen, cap, away = st.columns(
            [2.2, 1.6, 1.2, 1.8, 1.3, 1.1], vertical_alignment="center"
        )
        name.markdown(f"**{escape_markdown(a['name'])}** · {a['role']}")
        if a["status"] == "away":
            state.markdown(":orange[away]")
        elif a["online"]:
            state.markdown(":green[online]")
        else:
            state.markdown(":gray[offline]")
        full = a["open_chats"] >= a["max_chats"]
        counts = f"{a['open_chats']} / {a['max_chats']} chats"
        load.markdown(f":red[{counts} · full]" if full else counts)
        seen.caption(
            f"seen {_since(a['last_seen_at'], now)} · last chat "
            f"{_since(a['last_assigned_at'], now)}"
        )
        st.session_state[f"cap-{a['id']}"] = a["max_chats"]
        cap.number_input(
            "Capacity",
            min_value=1,
            max_value=50,
            step=1,
            key=f"cap-{a['id']}",
            on_change=on_capacity,
            args=(a["id"],),
            label_visibility="collapsed",
        )
        st.session_state[f"away-{a['id']}"] = a["status"] == "away"
        away.toggle("Away", key=f"away-{a['id']}", on_change=on_status, args=(a["id"],))


def queue_section(queue: list[dict[str, Any]], now: datetime) -> None:
    st.subheader(f"Queue ({len(queue)})", anchor=False)
    if not queue:
        st.caption("Nobody is waiting.")
    for item in queue:
        room = item["room"]
        waited = _for(room.get("waiting_since") or room["created_at"], now)
        first = " · :blue[transferred back]" if room.get("priority") else ""
        reason = escape_markdown(str(item.get("reason") or "unknown"))
        st.markdown(
            f"**#{room['queue_position']}** · {room['id'][:6]} · waiting {waited} · "
            f"reason: {reason}{first}"
        )
        if room.get("brief"):
            st.caption(escape_markdown(str(room["brief"])[:200]))


def chats_section(
    chats: list[dict[str, Any]], agents: list[dict[str, Any]], now: datetime, alert: int
) -> None:
    st.subheader(f"Chats in progress ({len(chats)})", anchor=False)
    if not chats:
        st.caption("No chat is held by an agent.")
    me = console.state().me
    targets = {routing.QUEUE_CHOICE: "Back to the queue"}
    for a in agents:
        if a["online"] and a["open_chats"] < a["max_chats"]:
            targets[a["id"]] = f"{a['name']} · {a['open_chats']}/{a['max_chats']}"
    for chat in chats:
        room = chat["room"]
        holder = room["agent"]["name"] if room.get("agent") else "?"
        unanswered = chat.get("unanswered_since")
        last_user = chat.get("last_user_message_at")
        if unanswered and _seconds(unanswered, now) > alert:
            status = f":red[**unanswered {_for(unanswered, now)}**]"
        elif unanswered:
            status = f"unanswered {_for(unanswered, now)}"
        else:
            status = (
                f"last customer message {_since(last_user, now)}"
                if last_user
                else "no customer message yet"
            )
        text, pick, go, take = st.columns([3.4, 2.2, 1.2, 1.3], vertical_alignment="center")
        text.markdown(f"{room['id'][:6]} · **{escape_markdown(holder)}** · {status}")
        choices = {
            k: v for k, v in targets.items() if not room.get("agent") or k != room["agent"]["id"]
        }
        pick.selectbox(
            "Transfer to",
            list(choices),
            index=None,
            key=f"board-to-{room['id']}",
            format_func=choices.__getitem__,
            placeholder="Transfer to…",
            label_visibility="collapsed",
        )
        go.button(
            "Transfer",
            key=f"board-go-{room['id']}",
            on_click=on_board_transfer,
            args=(room["id"],),
            width="stretch",
        )
        mine = me is not None and room.get("agent") and room["agent"]["id"] == me.id
        take.button(
            "Take over",
            key=f"board-take-{room['id']}",
            on_click=on_takeover,
            args=(room["id"],),
            disabled=bool(mine),
            width="stretch",
        )


@st.fragment(run_every=REFRESH_SECONDS)
def live_board() -> None:
    """Redrawn alone every few seconds and after its own buttons: the outcome of an action
    (a callback run in this fragment) shows here."""
    flash()
    try:
        data = routing.board()
    except ApiError as exc:
        st.error(exc.detail)
        return
    except httpx.HTTPError as exc:
        st.error(console.describe(exc))
        return
    now = datetime.now(UTC)
    agents_section(data["agents"], now)
    st.divider()
    queue_section(data["queue"], now)
    st.divider()
    chats_section(data["chats"], data["agents"], now, int(data["unanswered_alert_seconds"]))


def render() -> None:
    st.title("Supervisor board", anchor=False)
    live_board()
