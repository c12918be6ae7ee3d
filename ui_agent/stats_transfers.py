"""The Transfers section of the Stats page: how many chats changed hands, and how (`transfers`
of /api/stats; docs/metrics.md defines it). A supervisor reads it next to the agents' table:
many transfers back to the queue or takeovers say chats reach the wrong person first."""

from __future__ import annotations

from typing import Any

import streamlit as st

REASONS = {
    "agent": ("To another agent", "Handed by the agent holding the chat to a colleague"),
    "takeover": ("Taken over", "An admin took the chat over from the agent holding it"),
    "queue": ("Back to the queue", "Put back in the queue, first in line"),
}
"""The reasons the API reports, in the order shown, with their labels and help."""


def by_reason(transfers: dict[str, Any]) -> dict[str, tuple[int, int]]:
    """(transfers, chats) per reason, every known reason present (0 when it did not happen)."""
    found = {r["reason"]: (r["requests"], r["conversations"]) for r in transfers["by_reason"]}
    return {reason: found.pop(reason, (0, 0)) for reason in REASONS} | found


def render(stats: dict[str, Any]) -> None:
    transfers = stats.get("transfers")
    if transfers is None:
        return
    st.subheader("Transfers", anchor=False)
    if not transfers["total"]:
        st.caption("No chat of this period was transferred.")
        return
    counts = by_reason(transfers)
    columns = st.columns(1 + len(counts))
    columns[0].metric("Transfers", f"{transfers['total']:,}")
    for column, (reason, (n, chats)) in zip(columns[1:], counts.items(), strict=True):
        label, why = REASONS.get(reason, (reason.replace("_", " ").capitalize(), None))
        column.metric(label, f"{n:,}", help=why)
        column.caption(f"in {chats:,} chat{'s' if chats != 1 else ''}")
