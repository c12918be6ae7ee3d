"""The live strip at the top of the Stats page: the queue and the team now, from
`GET /api/stats/live` (current state, not the rollups), redrawn every few seconds on its own
(a Streamlit fragment) without rerunning the rest of the page."""

from __future__ import annotations

from typing import Any

import httpx
import streamlit as st

from ui_common.client import ApiError, TandemClient

LIVE_SECONDS = 5.0
"""How often the strip reads the live figures again."""


def _tiles(live: dict[str, Any]) -> None:
    from ui_agent.stats_page import duration  # the page imports this module

    row = st.columns(4)
    row[0].metric(
        "Waiting now", f"{live['waiting']:,}", help="Chats in the queue for a person", border=True
    )
    row[1].metric(
        "Longest current wait",
        duration(live["longest_wait_seconds"]),
        help="How long the chat longest in the queue has waited so far",
        border=True,
    )
    row[2].metric(
        "With an agent", f"{live['with_agent']:,}", help="Chats an agent holds now", border=True
    )
    row[3].metric(
        "Agents online",
        f"{live['agents_online']:,}",
        help="Agents connected or polling, who can take a handoff",
        border=True,
    )


@st.fragment(run_every=LIVE_SECONDS)
def live_strip(client: TandemClient) -> None:
    """The four live tiles; a failed read says so in place and the next tick tries again."""
    try:
        live = client.get("/api/stats/live")
    except ApiError as exc:
        st.caption(f"Live figures unavailable: {exc.detail}")
        return
    except httpx.HTTPError:
        st.caption("Live figures unavailable: the Tandem API does not answer.")
        return
    _tiles(live)
    st.caption(f"Live · updated every {LIVE_SECONDS:g} s")
