"""The Altair charts of the statistics page, built from the /api/stats JSON (no Streamlit here).

Kept apart from the page so each chart is a plain function of the data: easy to read, and the
page stays about layout.
"""

from __future__ import annotations

from typing import Any

import altair as alt
import pandas as pd

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
AI_COLOR = "#7c9cbf"
COUNT_AXIS = alt.Axis(format="d", tickMinStep=1)
"""Counts are whole: no 0.5 ticks, no 0.000000 on an empty axis."""


def count_scale(top: float) -> alt.Scale:
    """From 0, and at least to 1, so an all-zero chart keeps a sane axis."""
    return alt.Scale(domain=[0, max(1, top)], nice=True)


HUMAN_COLOR = "#e4875d"


def daily_volume(stats: dict[str, Any]) -> alt.Chart:
    """Conversations per local day, stacked: handled by the AI alone vs a human involved."""
    rows = [
        {"date": day["date"], "kind": kind, "conversations": day[key]}
        for day in stats["by_day"]
        for kind, key in (("AI only", "ai_only"), ("Human involved", "human"))
    ]
    frame = pd.DataFrame(rows, columns=["date", "kind", "conversations"])
    return (
        alt.Chart(frame, title="Conversations per day")
        .mark_bar(width={"band": 0.8})
        .encode(
            # UTC time unit: the dates are calendar days already, the browser must not shift them
            x=alt.X("utcyearmonthdate(date):T", title=None, axis=alt.Axis(format="%b %d")),
            y=alt.Y(
                "conversations:Q",
                stack="zero",
                title="Conversations",
                axis=COUNT_AXIS,
                scale=count_scale(
                    max((d["ai_only"] + d["human"] for d in stats["by_day"]), default=0)
                ),
            ),
            color=alt.Color(
                "kind:N",
                title=None,
                scale=alt.Scale(
                    domain=["AI only", "Human involved"], range=[AI_COLOR, HUMAN_COLOR]
                ),
                legend=alt.Legend(orient="top"),
            ),
            order=alt.Order("kind:N", sort="ascending"),
            tooltip=[
                alt.Tooltip("utcyearmonthdate(date):T", title="day"),
                "kind:N",
                "conversations:Q",
            ],
        )
    )


def wait_histogram(stats: dict[str, Any]) -> alt.Chart:
    """How long handoffs waited for an agent, in the API's buckets."""
    buckets = stats["wait_histogram"]
    frame = pd.DataFrame(
        [{"wait": b["label"], "handoffs": b["count"]} for b in buckets],
        columns=["wait", "handoffs"],
    )
    return (
        alt.Chart(frame, title="Wait for an agent")
        .mark_bar(color=HUMAN_COLOR)
        .encode(
            x=alt.X("wait:N", sort=[b["label"] for b in buckets], title=None),
            y=alt.Y(
                "handoffs:Q",
                title="Answered handoffs",
                axis=COUNT_AXIS,
                scale=count_scale(max((b["count"] for b in buckets), default=0)),
            ),
            tooltip=["wait:N", "handoffs:Q"],
        )
    )


def hour_heatmap(stats: dict[str, Any]) -> alt.Chart:
    """Conversations started per weekday and local hour."""
    grid = stats["by_hour_of_week"]
    frame = pd.DataFrame(
        [
            {"weekday": WEEKDAYS[day], "hour": hour, "conversations": grid[day][hour]}
            for day in range(7)
            for hour in range(24)
        ]
    )
    return (
        alt.Chart(frame, title="When conversations start (local time)")
        .mark_rect()
        .encode(
            x=alt.X("hour:O", title="Hour"),
            y=alt.Y("weekday:O", sort=list(WEEKDAYS), title=None),
            # From 0: an empty or flat grid is the palest colour, not one solid block.
            color=alt.Color(
                "conversations:Q",
                scale=alt.Scale(scheme="oranges", domain=[0, max(1, max(map(max, grid)))]),
                title=None,
                legend=alt.Legend(format="d", tickMinStep=1),
            ),
            tooltip=["weekday:O", "hour:O", "conversations:Q"],
        )
    )


def handoff_reasons(stats: dict[str, Any]) -> alt.Chart:
    """Conversations handed off, per reason of the request."""
    frame = pd.DataFrame(
        [
            {"reason": r["reason"], "conversations": r["conversations"]}
            for r in stats["handoffs"]["by_reason"]
        ],
        columns=["reason", "conversations"],
    )
    return (
        alt.Chart(frame, title="Why a human was asked for")
        .mark_bar(color=HUMAN_COLOR)
        .encode(
            y=alt.Y("reason:N", sort="-x", title=None),
            x=alt.X("conversations:Q", title="Conversations", axis=COUNT_AXIS),
            tooltip=["reason:N", "conversations:Q"],
        )
    )
