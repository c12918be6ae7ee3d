"""The Ratings section of the Stats page: CSAT, average, response rate, per agent and per day
(`ratings` of /api/stats; docs/metrics.md defines them)."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from ui_common.safe_text import escape_markdown

STARS = "★"


def rating_line(rating: dict[str, Any] | None) -> str:
    """ "Rated ★★★★☆ (4/5) — “comment”", for a transcript or a previous conversation."""
    if not rating:
        return "Not rated"
    score = int(rating.get("score", 0))
    line = f"Rated {STARS * score}{'☆' * (5 - score)} ({score}/5)"
    if rating.get("comment"):
        line += f" — “{escape_markdown(str(rating['comment']))}”"
    return line


def _percent(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.0f} %"


def _average(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f} / 5"


def agent_frame(ratings: dict[str, Any]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "Credited to": a["name"],
                "Ratings": a["count"],
                "Average": a["average"],
                "CSAT": None if a["csat"] is None else a["csat"] * 100,
            }
            for a in ratings["by_agent"]
        ],
        columns=["Credited to", "Ratings", "Average", "CSAT"],
    )


def render(stats: dict[str, Any]) -> None:
    ratings = stats.get("ratings")
    if not ratings:
        return
    st.subheader("Ratings", anchor=False)
    if not ratings["count"]:
        st.caption("No conversation of this period was rated.")
        return
    csat, average, rate, count = st.columns(4)
    csat.metric("CSAT (4–5 stars)", _percent(ratings["csat"]))
    average.metric("Average rating", _average(ratings["average"]))
    rate.metric("Response rate", _percent(ratings["response_rate"]), help="Rated / closed chats")
    count.metric("Ratings", f"{ratings['count']:,}")
    st.dataframe(
        agent_frame(ratings),
        hide_index=True,
        column_config={
            "Average": st.column_config.NumberColumn(format="%.1f"),
            "CSAT": st.column_config.NumberColumn(format="%.0f %%"),
        },
    )
    days = pd.DataFrame(
        [{"Day": d["date"], "Ratings": d["count"]} for d in ratings["by_day"]]
    ).set_index("Day")
    st.bar_chart(days, height=160)
