"""`GET /api/stats` from the rollups (`db/rollups.py`): a sum over the window's slots.

The window is tiled by the largest aligned blocks the rows are kept for (28 days, 7 days, a
UTC day, 15 minutes: `tiling`) and read in one grouped statement; the per-slot conversation
counts for `by_day` and `by_hour_of_week` in a second. The cost depends on the length of the
window and the number of distinct (metric, label, bucket) keys, not on how many conversations
it holds.
Counts, sums and means are exact; p50/p90 are read off the merged log-bucket histograms,
within `ALPHA` (2 %) of the exact nearest-rank value.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from db import queries
from db.engine import Database
from db.models import MESSAGE_COUNTS, stats_rollups
from db.rollup_buckets import ALPHA, SLOT_SECONDS, SPANS, bucket_value, slot_of
from db.rollups import DURATIONS
from db.sqltime import LocalWindow, seconds
from db.stats.ratings import rollup_ratings
from db.stats.report import range_info, ratio
from db.stats.schema import (
    WAIT_BUCKETS,
    AgentStats,
    Conversations,
    DayVolume,
    Handoffs,
    HistogramBucket,
    MessageCounts,
    NoAgent,
    Percentiles,
    ReasonCount,
    Stats,
    Transfers,
)

Totals = dict[tuple[str, str, int], int]
Histograms = dict[tuple[str, str], list[tuple[int, int]]]
"""(metric, label) → [(bucket, count)] in bucket order."""


def tiling(start: int, end: int) -> list[tuple[int, int, int]]:
    """(span, first slot, end) ranges of the largest aligned blocks that tile [start, end)
    (multiples of SLOT_SECONDS): slots up to the first UTC day, then days, weeks, 28-day
    blocks as alignment allows, and down again at the end."""
    pieces: list[tuple[int, int, int]] = []
    position = start
    while position < end:
        span = next(s for s in reversed(SPANS) if position % s == 0 and position + s <= end)
        if pieces and pieces[-1][0] == span and pieces[-1][2] == position:
            pieces[-1] = (span, pieces[-1][1], position + span)
        else:
            pieces.append((span, position, position + span))
        position += span
    return pieces


def _in_window(start: int, end: int) -> Any:
    r = stats_rollups.c
    return sa.or_(
        *[sa.and_(r.span == span, r.slot >= a, r.slot < b) for span, a, b in tiling(start, end)]
    )


async def compute_stats(db: Database, *, window: LocalWindow) -> Stats:
    """Every metric of docs/metrics.md for the conversations started in `window`."""
    start, end = slot_of(window.start), slot_of(window.end)
    r = stats_rollups.c
    totals: Totals = {}
    per_slot: dict[int, dict[str, int]] = defaultdict(dict)
    async with db.session() as session:
        rows = await session.execute(
            sa.select(r.metric, r.label, r.bucket, sa.func.sum(r.n), sa.func.max(r.n))
            .where(_in_window(start, end))
            .group_by(r.metric, r.label, r.bucket)
        )
        for metric, label, bucket, total, top in rows:
            totals[(metric, label, int(bucket))] = int(top if metric.endswith(".max") else total)
        slots = await session.execute(
            sa.select(r.slot, r.label, r.n).where(
                r.span == SLOT_SECONDS,
                r.slot >= start,
                r.slot < end,
                r.metric == "rooms",
                r.label.in_(["started", "human"]),
            )
        )
        for slot, label, n in slots:
            per_slot[int(slot)][label] = int(n)
        agent_ids = sorted(int(label) for (m, label, _) in totals if m == "chats" and label)
        names = await queries.agent_names(session, ids=agent_ids)
        ratings = await rollup_ratings(
            session,
            window=window,
            closed=totals.get(("rooms", "closed", 0), 0),
            start=start,
            end=end,
        )

    histograms: Histograms = defaultdict(list)
    for (metric, label, bucket), n in sorted(totals.items()):
        if metric in DURATIONS:
            histograms[(metric, label)].append((bucket, n))

    def get(metric: str, label: str = "", bucket: int = 0) -> int:
        return totals.get((metric, label, bucket), 0)

    started = get("rooms", "started")
    human = get("rooms", "human")

    def reasons(kind: str) -> list[ReasonCount]:
        labels = sorted({label for (m, label, _) in totals if m == f"{kind}_req"})
        return [
            ReasonCount(
                reason=label,
                requests=get(f"{kind}_req", label),
                conversations=get(f"{kind}_rooms", label),
                rate=ratio(get(f"{kind}_rooms", label), started),
            )
            for label in labels
            if get(f"{kind}_req", label)
        ]

    handoff_reasons, no_agent_reasons = reasons("handoff"), reasons("no_agent")
    transfer_reasons = reasons("transferred")
    messages = {sender.value: get("messages", sender.value) for sender in MESSAGE_COUNTS}
    by_day: dict[Any, list[int]] = defaultdict(lambda: [0, 0])
    grid = [[0] * 24 for _ in range(7)]
    for slot, counts in per_slot.items():
        local = datetime.fromtimestamp(slot, UTC).astimezone(window.tz)
        by_day[local.date()][0] += counts.get("started", 0)
        by_day[local.date()][1] += counts.get("human", 0)
        grid[local.weekday()][local.hour] += counts.get("started", 0)
    agents = []
    for agent_id in agent_ids:
        label = str(agent_id)
        agents.append(
            AgentStats(
                agent_id=agent_id,
                name=names.get(agent_id, f"agent {agent_id}"),
                chats=get("chats", label),
                first_response_p50=_percentiles(totals, histograms, "first_response", label).p50,
                handle_time_p50=_percentiles(totals, histograms, "handle_time", label).p50,
            )
        )
    return Stats(
        range=range_info(window),
        conversations=Conversations(
            started=started,
            ai_only=started - human,
            handed_off=human,
            served_by_agent=get("rooms", "served"),
            closed=get("rooms", "closed"),
            containment_rate=ratio(started - human, started),
            handoff_rate=ratio(human, started),
            closed_by_reason={
                label: n for (m, label, _), n in sorted(totals.items()) if m == "closed_rooms" and n
            },
        ),
        handoffs=Handoffs(
            requests=sum(x.requests for x in handoff_reasons),
            conversations=get("rooms", "handed"),
            by_reason=handoff_reasons,
            answered=get("outcome", "answered"),
            abandoned=get("outcome", "abandoned"),
            still_waiting=get("outcome", "waiting"),
            withdrawn=get("outcome", "withdrawn"),
        ),
        no_agent=NoAgent(
            requests=sum(x.requests for x in no_agent_reasons),
            conversations=get("rooms", "no_agent"),
            rate=ratio(get("rooms", "no_agent"), started),
            by_reason=no_agent_reasons,
        ),
        transfers=Transfers(
            total=sum(x.requests for x in transfer_reasons), by_reason=transfer_reasons
        ),
        wait_seconds=_percentiles(totals, histograms, "wait"),
        wait_histogram=[
            HistogramBucket(
                label=label, min_seconds=low, max_seconds=high, count=get("wait_bucket", "", i)
            )
            for i, (label, low, high) in enumerate(WAIT_BUCKETS)
        ],
        first_response_seconds=_percentiles(totals, histograms, "first_response"),
        handle_time_seconds=_percentiles(totals, histograms, "handle_time"),
        duration_seconds=_percentiles(totals, histograms, "duration"),
        messages=MessageCounts(
            total=sum(messages.values()),
            by_sender=messages,
            per_conversation={
                sender: (round(n / started, 3) if started else None)
                for sender, n in messages.items()
            },
        ),
        agents=sorted(agents, key=lambda a: (-a.chats, a.name, a.agent_id)),
        by_day=[
            DayVolume(
                date=day,
                ai_only=by_day[day][0] - by_day[day][1],
                human=by_day[day][1],
                total=by_day[day][0],
            )
            for day in window.days
        ],
        by_hour_of_week=grid,
        ratings=ratings,
        percentile_relative_error=ALPHA,
    )


def _percentiles(
    totals: Totals, histograms: Histograms, metric: str, label: str = ""
) -> Percentiles:
    count = totals.get((f"{metric}.n", label, 0), 0)
    if not count:
        return Percentiles(count=0, p50=None, p90=None, mean=None, max=None)
    top = totals.get((f"{metric}.max", label, 0), 0)
    buckets = histograms.get((metric, label), [])

    def pick(percent: int) -> float | None:
        """Nearest rank ceil(p·n/100) in the merged histogram, read back (≤ the exact max)."""
        rank = (percent * count + 99) // 100
        seen = 0
        for bucket, n in buckets:
            seen += n
            if seen >= rank:
                return seconds(round(min(bucket_value(bucket), top)))
        return seconds(top)

    return Percentiles(
        count=count,
        p50=pick(50),
        p90=pick(90),
        mean=round(totals.get((f"{metric}.sum", label, 0), 0) / count / 1_000_000, 3),
        max=seconds(top),
    )
