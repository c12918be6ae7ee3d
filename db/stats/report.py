"""The statistics report: the rows of `sql.py` turned into the response of `schema.py`.

Python only does what is cheap once the database has aggregated: ratios, microseconds to
seconds, zero-filled days, and totals as sums of the per-day groups (which partition the
cohort). docs/metrics.md defines every number.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from db import queries
from db.engine import Database
from db.models import EventKind
from db.sqltime import LocalWindow, SqlTime, seconds
from db.stats.ratings import exact_ratings
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
    RangeInfo,
    ReasonCount,
    Stats,
    Transfers,
)
from db.stats.sql import OUTCOMES, Query, Raw, gather_raw


async def compute_exact_stats(db: Database, *, window: LocalWindow) -> Stats:
    """Every metric of docs/metrics.md for the conversations started in `window`, computed
    from the rooms and events themselves: exact nearest-rank percentiles, cost proportional
    to the conversations in the window. `GET /api/stats` reads the rollups instead
    (`db/stats/rollup.py`); this is the reference the tests hold them to."""
    q = Query(window=window, time=SqlTime(db.dialect))
    raw = await gather_raw(db, q)
    conversations = _conversations(raw.days)
    conversations.closed_by_reason = {
        str(row.reason): int(row.conversations)
        for row in raw.reasons
        if row.kind == EventKind.closed.value
    }
    started = conversations.started
    dists = raw.distributions
    waits = dists["wait"].get(0)
    async with db.session() as session:
        names = await queries.agent_names(
            session, ids=[a for a in dists["handle_time"] if a is not None]
        )
        ratings = await exact_ratings(session, query=q, closed=conversations.closed)
    return Stats(
        range=range_info(window),
        conversations=conversations,
        handoffs=_handoffs(raw, started),
        no_agent=_no_agent(raw, started),
        transfers=_transfers(raw, started),
        wait_seconds=_overall(dists["wait"]),
        wait_histogram=[
            HistogramBucket(
                label=label,
                min_seconds=low,
                max_seconds=high,
                count=int(getattr(waits, f"bucket_{i}") or 0) if waits is not None else 0,
            )
            for i, (label, low, high) in enumerate(WAIT_BUCKETS)
        ],
        first_response_seconds=_overall(dists["first_response"]),
        handle_time_seconds=_overall(dists["handle_time"]),
        duration_seconds=_to_percentiles(raw.durations),
        messages=MessageCounts(
            total=sum(raw.messages.values()),
            by_sender=raw.messages,
            per_conversation={
                sender: (round(n / started, 3) if started else None)
                for sender, n in raw.messages.items()
            },
        ),
        agents=_agents(dists, names),
        by_day=_by_day(window, raw.days),
        by_hour_of_week=raw.grid,
        ratings=ratings,
        percentile_relative_error=0.0,
    )


def _to_percentiles(row: Any | None, prefix: str = "") -> Percentiles:
    def get(name: str) -> Any:
        return getattr(row, prefix + name)

    count = int(get("count") or 0) if row is not None else 0
    if row is None or count == 0:
        return Percentiles(count=0, p50=None, p90=None, mean=None, max=None)
    return Percentiles(
        count=count,
        p50=seconds(get("p50")),
        p90=seconds(get("p90")),
        mean=round(int(get("total")) / count / 1_000_000, 3),
        max=seconds(get("max")),
    )


def ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


# ---------------------------------------------------------------- shaping


def range_info(window: LocalWindow) -> RangeInfo:
    def iso(moment: Any) -> str:
        return str(moment.isoformat()).replace("+00:00", "Z")

    return RangeInfo(
        from_=window.first_day,
        to=window.last_day,
        tz=window.tz.key,
        start_utc=iso(window.start),
        end_utc=iso(window.end),
        utc_offsets=[(iso(s.start), s.offset_seconds) for s in window.segments],
    )


def _day_total(days: list[Any], column: str) -> int:
    return sum(int(getattr(row, column) or 0) for row in days)


def _conversations(days: list[Any]) -> Conversations:
    started = _day_total(days, "started")
    human = _day_total(days, "human")
    return Conversations(
        started=started,
        ai_only=started - human,
        handed_off=human,
        served_by_agent=_day_total(days, "served"),
        closed=_day_total(days, "closed"),
        containment_rate=ratio(started - human, started),
        handoff_rate=ratio(human, started),
    )


def _reason_list(raw: Raw, kind: EventKind, started: int) -> list[ReasonCount]:
    return [
        ReasonCount(
            reason=str(row.reason),
            requests=int(row.requests),
            conversations=int(row.conversations),
            rate=ratio(int(row.conversations), started),
        )
        for row in raw.reasons
        if row.kind == kind.value
    ]


def _handoffs(raw: Raw, started: int) -> Handoffs:
    by_reason = _reason_list(raw, EventKind.handoff, started)
    waits = raw.distributions["wait"].get(0)

    def outcome(kind: str | None) -> int:
        return int(getattr(waits, f"outcome_{OUTCOMES[kind]}") or 0) if waits is not None else 0

    return Handoffs(
        requests=sum(r.requests for r in by_reason),
        conversations=_day_total(raw.days, "handed"),
        by_reason=by_reason,
        answered=outcome(EventKind.joined.value),
        abandoned=outcome(EventKind.closed.value),
        still_waiting=outcome(None),
        withdrawn=outcome(EventKind.withdrawn.value),
    )


def _transfers(raw: Raw, started: int) -> Transfers:
    by_reason = _reason_list(raw, EventKind.transferred, started)
    return Transfers(total=sum(r.requests for r in by_reason), by_reason=by_reason)


def _no_agent(raw: Raw, started: int) -> NoAgent:
    by_reason = _reason_list(raw, EventKind.no_agent, started)
    rooms = _day_total(raw.days, "no_agent")
    return NoAgent(
        requests=sum(r.requests for r in by_reason),
        conversations=rooms,
        rate=ratio(rooms, started),
        by_reason=by_reason,
    )


def _overall(groups: dict[Any, Any]) -> Percentiles:
    """A metric's overall figures: the `all_*` columns, the same on each of its group rows."""
    return _to_percentiles(next(iter(groups.values()), None), "all_")


def _agents(dists: dict[str, dict[Any, Any]], names: dict[int, str]) -> list[AgentStats]:
    """Per agent: joins (every join is a row of `handle_time`, ended or not) and medians."""
    agents = []
    for agent_id, handle in dists["handle_time"].items():
        if agent_id is None:
            continue
        first = dists["first_response"].get(agent_id)
        agents.append(
            AgentStats(
                agent_id=agent_id,
                name=names.get(agent_id, f"agent {agent_id}"),
                chats=int(handle.rows),
                first_response_p50=seconds(first.p50) if first is not None else None,
                handle_time_p50=seconds(handle.p50),
            )
        )
    return sorted(agents, key=lambda a: (-a.chats, a.name, a.agent_id))


def _by_day(window: LocalWindow, days: list[Any]) -> list[DayVolume]:
    per_day = {_as_date(row.day): row for row in days}
    volumes = []
    for day in window.days:
        row = per_day.get(day)
        total, human = (int(row.started), int(row.human or 0)) if row is not None else (0, 0)
        volumes.append(DayVolume(date=day, ai_only=total - human, human=human, total=total))
    return volumes
