""" "How did we do?": the rating asked under a closed chat the user wrote in.

One rating per chat (the API answers 409 after the first): once given, or when the API says
the chat already has one, the chat thanks the user instead of asking again.
"""

from __future__ import annotations

import httpx
import streamlit as st

from ui_common.client import ApiError, TandemClient

_RATED = "rated:"
"""`st.session_state[_RATED + room_id]`: the room's rating as the API returned it (or False)."""
COMMENT_MAX = 2000
STARS = "★"


def _known(client: TandemClient, room_id: str) -> dict[str, object] | None:
    key = _RATED + room_id
    if key not in st.session_state:
        try:
            st.session_state[key] = client.rating(room_id) or False
        except (ApiError, httpx.HTTPError):
            return None  # ask; a second rating would be refused anyway
    found = st.session_state[key]
    return found if isinstance(found, dict) else None


def _submit(client: TandemClient, room_id: str) -> None:
    stars = st.session_state.get(f"stars-{room_id}")
    if stars is None:
        st.session_state[f"rating-error-{room_id}"] = "Pick one to five stars first."
        return
    comment = str(st.session_state.get(f"comment-{room_id}") or "").strip() or None
    try:
        st.session_state[_RATED + room_id] = client.rate(room_id, int(stars) + 1, comment)
    except ApiError as exc:
        if exc.status == 409:
            st.session_state.pop(_RATED + room_id, None)  # re-read: rated elsewhere
        st.session_state[f"rating-error-{room_id}"] = exc.detail
    except httpx.HTTPError:
        st.session_state[f"rating-error-{room_id}"] = "The chat service is unreachable; try again."


def ask(client: TandemClient, room_id: str, *, took_part: bool) -> None:
    """The question (stars and an optional comment), or the thanks once rated."""
    if not took_part:
        return
    rated = _known(client, room_id)
    if rated is not None:
        score = int(str(rated.get("score", 0)))
        st.success(f"Thanks for your rating: {STARS * score}", icon=":material/favorite:")
        return
    with st.container(border=True):
        st.markdown("**How did we do?**")
        st.feedback("stars", key=f"stars-{room_id}")
        st.text_input(
            "Anything to add? (optional)",
            key=f"comment-{room_id}",
            max_chars=COMMENT_MAX,
            placeholder="What went well, or what should we do better?",
        )
        error = st.session_state.pop(f"rating-error-{room_id}", None)
        if error:
            st.error(error, icon=":material/error:")
        st.button(
            "Send rating",
            key=f"send-rating-{room_id}",
            icon=":material/send:",
            on_click=_submit,
            args=(client, room_id),
        )
