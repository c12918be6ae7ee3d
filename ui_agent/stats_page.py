"""The statistics page of the agent console, for analysts and admins (the caller checks roles).

`render(client)` draws: the live strip (ui_agent/stats_live.py, refreshing itself); a date
range and time zone; KPI tiles with the change against the previous period of the same length
(two /api/stats calls); charts (daily volume, wait times, hour × weekday, handoff reasons); the
per-agent table; the CSV export; and a transcript browser (search → pick → read, download as
JSON). Every number comes from the API; this page
only lays it out. The metrics are defined in docs/metrics.md.
"""

from __future__ import annotations

import html
import json
import re
import time
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import httpx
import pandas as pd
import streamlit as st

from ui_agent import stats_charts, stats_ratings, stats_transfers
from ui_agent.stats_live import live_strip
from ui_common import view
from ui_common.client import ApiError, TandemClient
from ui_common.models import Message, parse_time

TIMEZONES = (
    "UTC",
    "Europe/Berlin",
    "Europe/London",
    "Europe/Paris",
    "Europe/Amsterdam",
    "America/New_York",
    "America/Chicago",
    "America/Los_Angeles",
    "Asia/Kolkata",
    "Asia/Tokyo",
    "Australia/Sydney",
)
DEFAULT_DAYS = 30
CACHE_SECONDS = 60.0
"""Stats for one range are reused this long: a rerun for the transcript search refetches nothing."""
SEARCH_LIMIT = 25


@dataclass(frozen=True, slots=True)
class Period:
    first: date
    last: date
    tz: str

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    def previous(self) -> Period:
        """The same number of days, ending the day before this period starts."""
        last = self.first - timedelta(days=1)
        return Period(last - timedelta(days=self.days - 1), last, self.tz)

    def params(self) -> dict[str, str]:
        return {"from": self.first.isoformat(), "to": self.last.isoformat(), "tz": self.tz}


# ---------------------------------------------------------------- formatting


def duration(seconds: float | None) -> str:
    """'42 s', '6 min 0 s', '2 h 10 min'; '–' when there is nothing to measure. Minutes always
    carry their seconds and hours their minutes, so neighbouring tiles read alike."""
    if seconds is None:
        return "–"
    whole = round(abs(seconds))
    if whole < 60:
        return f"{whole} s"
    if whole < 3600:
        minutes, rest = divmod(whole, 60)
        return f"{minutes} min {rest} s"
    hours, rest = divmod(whole // 60, 60)
    return f"{hours} h {rest} min"


def percent(rate: float | None) -> str:
    return "–" if rate is None else f"{rate * 100:.1f} %"


def _signed(value: float, unit: str, digits: int = 0) -> str:
    return f"{value:+,.{digits}f}{unit}"


NO_CHANGE = "no change"
"""A delta of nothing: shown grey and without an arrow (`delta_props`)."""


def count_delta(now: int, before: int) -> str | None:
    if not before:
        return None
    return f"{now - before:+,}" if now != before else NO_CHANGE


def rate_delta(now: float | None, before: float | None) -> str | None:
    if now is None or before is None:
        return None
    change = _signed((now - before) * 100, " pp", 1)
    return NO_CHANGE if change in ("+0.0 pp", "-0.0 pp") else change


def seconds_delta(now: float | None, before: float | None) -> str | None:
    if now is None or before is None:
        return None
    change = round(now - before)
    if change == 0:
        return NO_CHANGE
    return ("+" if change > 0 else "−") + duration(change)


def delta_props(delta: str | None, colour: str = "normal") -> dict[str, Any]:
    """`st.metric` keywords for a delta: "no change" is neutral (grey, no arrow)."""
    if delta == NO_CHANGE:
        return {"delta": delta, "delta_color": "off", "delta_arrow": "off"}
    return {"delta": delta, "delta_color": colour}


# ---------------------------------------------------------------- data


def _fetch(client: TandemClient, period: Period) -> dict[str, Any]:
    cache: dict[Period, tuple[float, dict[str, Any]]] = st.session_state.setdefault(
        "stats_cache", {}
    )
    hit = cache.get(period)
    if hit is not None and time.monotonic() - hit[0] < CACHE_SECONDS:
        return hit[1]
    data = client.stats(**period.params())
    cache[period] = (time.monotonic(), data)
    return data


def zone_choices(browser: str | None) -> list[str]:
    """The time zones offered, the browser's first (the default) when it is a known one."""
    try:
        known = bool(browser) and ZoneInfo(str(browser)) is not None
    except (ZoneInfoNotFoundError, ValueError):
        known = False
    if not known or browser is None:
        return list(TIMEZONES)
    return [browser, *(z for z in TIMEZONES if z != browser)]


def _period_controls() -> Period | None:
    today = date.today()
    days, zone, refresh = st.columns([3, 2, 1], vertical_alignment="bottom")
    picked = days.date_input(
        "Conversations started between",
        value=(today - timedelta(days=DEFAULT_DAYS - 1), today),
        key="stats_days",
        format="YYYY-MM-DD",
    )
    zones = zone_choices(st.context.timezone)
    tz = zone.selectbox("Time zone", zones, key="stats_tz", help="Your browser's, by default")
    if refresh.button("Refresh", icon=":material/refresh:", key="stats_refresh"):
        st.session_state.pop("stats_cache", None)
    if not isinstance(picked, tuple) or len(picked) != 2:
        return None  # the second day is not picked yet
    first, last = picked
    return Period(first, last, str(tz))


# ---------------------------------------------------------------- sections


def _kpis(now: dict[str, Any], before: dict[str, Any], period: Period) -> None:
    c, p = now["conversations"], before["conversations"]
    vs = f"vs the previous {period.days} days"
    row = st.columns(4)
    row[0].metric(
        "Conversations",
        f"{c['started']:,}",
        **delta_props(count_delta(c["started"], p["started"])),
        delta_description=vs,
        border=True,
    )
    row[1].metric(
        "AI resolved alone",  # labels of ≤ 18 characters fit a quarter of 1280 px
        percent(c["containment_rate"]),
        **delta_props(rate_delta(c["containment_rate"], p["containment_rate"])),
        help="Resolved by the AI alone: conversations with no handoff and no agent join "
        "(containment).",
        delta_description=vs,
        border=True,
    )
    row[2].metric(
        "Handed to a human",
        percent(c["handoff_rate"]),
        **delta_props(rate_delta(c["handoff_rate"], p["handoff_rate"]), "inverse"),
        help="Conversations with a handoff or an agent join.",
        delta_description=vs,
        border=True,
    )
    row[3].metric(
        "No agent online",
        f"{now['no_agent']['requests']:,}",
        **delta_props(
            count_delta(now["no_agent"]["requests"], before["no_agent"]["requests"]), "inverse"
        ),
        help="Requests for a human while nobody was online.",
        delta_description=vs,
        border=True,
    )
    row = st.columns(4)
    timings = (
        ("Median wait", "Median wait for an agent", "wait_seconds", "inverse"),
        ("Median first reply", "Median first agent reply", "first_response_seconds", "inverse"),
        ("Median length", "Median conversation length", "duration_seconds", "off"),
    )
    for column, (label, meaning, key, colour) in zip(row, timings, strict=False):
        column.metric(
            label,
            duration(now[key]["p50"]),
            **delta_props(seconds_delta(now[key]["p50"], before[key]["p50"]), colour),
            help=f"{meaning}. p90: {duration(now[key]['p90'])} · {now[key]['count']:,} measured",
            delta_description=vs,
            border=True,
        )
    per = now["messages"]["per_conversation"]
    total = sum(v for v in per.values() if v is not None) if c["started"] else None
    row[3].metric(
        "Messages per chat",
        "–" if total is None else f"{total:.1f}",
        help="Messages per conversation: " + " · ".join(f"{k}: {v}" for k, v in per.items()),
        border=True,
    )


def _charts(stats: dict[str, Any]) -> None:
    if not stats["conversations"]["started"]:
        st.info(
            "No conversation started in this period: nothing to chart yet. Pick a longer "
            "period, or come back once visitors have chatted.",
            icon=":material/bar_chart_off:",
        )
        return
    st.altair_chart(stats_charts.daily_volume(stats), width="stretch")
    left, right = st.columns(2)
    with left:
        st.altair_chart(stats_charts.wait_histogram(stats), width="stretch")
        h = stats["handoffs"]
        st.caption(
            f"{h['answered']:,} handoffs answered · {h['abandoned']:,} abandoned in the queue · "
            f"{h['still_waiting']:,} still waiting · {h.get('withdrawn', 0):,} withdrawn"
        )
    with right:
        st.altair_chart(stats_charts.handoff_reasons(stats), width="stretch")
    st.altair_chart(stats_charts.hour_heatmap(stats), width="stretch")


def agent_frame(stats: dict[str, Any]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "Agent": a["name"],
                "Chats": a["chats"],
                "Median first reply (s)": a["first_response_p50"],
                "Median handle time (s)": a["handle_time_p50"],
            }
            for a in stats["agents"]
        ],
        columns=[
            "Agent",
            "Chats",
            "Median first reply (s)",
            "Median handle time (s)",
        ],
    )


def _agents(stats: dict[str, Any]) -> None:
    st.subheader("Agents", anchor=False)
    if not stats["agents"]:
        st.caption("No agent joined a conversation of this period.")
        return
    st.dataframe(
        agent_frame(stats),
        hide_index=True,
        column_config={
            "Median first reply (s)": st.column_config.NumberColumn(format="%.0f s"),
            "Median handle time (s)": st.column_config.NumberColumn(format="%.0f s"),
        },
    )


def _exports(client: TandemClient, period: Period) -> None:
    st.download_button(
        "Conversations as CSV",
        data=lambda: client.stats_csv(**period.params()),
        file_name=f"tandem-conversations-{period.first}-{period.last}.csv",
        mime="text/csv",
        icon=":material/download:",
        on_click="ignore",
        key="stats_csv",
    )


def _minute(iso: str, tz: str = "UTC") -> str:
    """'2026-11-23T18:53:55.539827Z' → '2026-11-23 19:53 Europe/Berlin' (in `tz`)."""
    moment = parse_time(iso).astimezone(ZoneInfo(tz))
    return f"{moment:%Y-%m-%d %H:%M} {tz}"


def highlight(text: str, term: str) -> str:
    """HTML: `text` escaped, then each occurrence of `term` (any case) in <mark>. Escaping
    first means nothing in the text can become markup; the term is matched in the escaped
    text, so an `&` or `<` in it still finds its escaped form."""
    escaped = html.escape(text)
    needle = html.escape(term.strip())
    if not needle:
        return escaped
    return re.sub(re.escape(needle), lambda m: f"<mark>{m.group(0)}</mark>", escaped, flags=re.I)


def _hit_label(hit: dict[str, Any], tz: str = "UTC") -> str:
    started = _minute(hit["created_at"], tz)
    return f"{started} · {hit['status']} · {hit['matches']} × — {hit['snippet']}"


def _hit_list(hits: list[dict[str, Any]], term: str, tz: str) -> None:
    """The results as a list: when, state, how often, and the snippet with the term marked."""
    rows = "".join(
        "<li style='margin-bottom:0.35rem'>"
        f"<small style='opacity:.7'>{html.escape(_minute(hit['created_at'], tz))} · "
        f"{html.escape(str(hit['status']))} · {int(hit['matches'])} ×</small><br>"
        f"{highlight(str(hit['snippet']), term)}</li>"
        for hit in hits
    )
    st.html(f"<ol style='padding-left:1.4rem;margin:0'>{rows}</ol>")


def _transcripts(client: TandemClient, period: Period) -> None:
    st.subheader("Transcripts", anchor=False)
    text = st.text_input(
        "Search the transcripts of this period",
        key="stats_q",
        placeholder="e.g. refund, parcel, order 48213",
    ).strip()
    if not text:
        return
    found = client.search_transcripts(text, limit=SEARCH_LIMIT, **period.params())
    hits = {hit["room_id"]: hit for hit in found["results"]}
    if not hits:
        st.caption("No conversation of this period mentions that.")
        return
    more = " (more matched: narrow the search)" if found["truncated"] else ""
    st.caption(f"{len(hits)} conversations{more}")
    _hit_list(list(hits.values()), text, period.tz)
    room_id = st.selectbox(
        "Open a transcript",
        list(hits),
        index=None,
        format_func=lambda r: _hit_label(hits[r], period.tz),
        placeholder="Pick a conversation",
        key="stats_pick",
    )
    if room_id is not None:
        _transcript(client, str(room_id), period.tz)


def _transcript(client: TandemClient, room_id: str, tz: str = "UTC") -> None:
    record = client.transcript(room_id)
    room = record["room"]
    agent = room["agent"]["name"] if room.get("agent") else "no agent"
    with st.container(border=True):
        st.markdown(f"**Conversation {room_id[:8]}** · {room['status']} · {agent}")
        closed = f" · closed {_minute(room['closed_at'], tz)}" if room.get("closed_at") else ""
        st.caption(f"Started {_minute(room['created_at'], tz)}{closed}")
        if record.get("rating"):
            st.caption(stats_ratings.rating_line(record["rating"]))
        view.render_transcript([Message.from_json(m) for m in record["messages"]])
        st.download_button(
            "Transcript as JSON",
            data=json.dumps(record, indent=2, ensure_ascii=False).encode(),
            file_name=f"transcript-{room_id}.json",
            mime="application/json",
            icon=":material/download:",
            on_click="ignore",
            key="stats_transcript_json",
        )


# ---------------------------------------------------------------- the page


def render(client: TandemClient) -> None:
    st.title("Statistics", anchor=False)
    live_strip(client)
    period = _period_controls()
    if period is None:
        st.info("Pick the last day of the period too.", icon=":material/date_range:")
        return
    try:
        now = _fetch(client, period)
        before = _fetch(client, period.previous())
        _kpis(now, before, period)
        _charts(now)
        _agents(now)
        stats_transfers.render(now)
        stats_ratings.render(now)
        _exports(client, period)
        _transcripts(client, period)
    except ApiError as exc:
        if exc.status == 403:
            st.error("Statistics need the analyst or admin role.", icon=":material/lock:")
        else:
            st.error(exc.detail)
    except httpx.HTTPError:
        st.error("The Tandem API does not answer; try again in a moment.")
