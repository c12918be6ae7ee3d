"""Transcript statistics, aggregated in the database (GROUP BY, COUNT, window functions).

The cohort is every room whose `created_at` falls in a `LocalWindow`; each metric is computed
over that cohort's rooms, messages and events, even events after the window ends (a chat
started on the last day and answered the next morning still counts its wait). Python only turns
the aggregate rows into the response: ratios, microseconds to seconds, zero-filled days, and
totals as sums of the per-day groups (which partition the cohort). docs/metrics.md defines
every number.

Few statements, each reading its tables about once (MariaDB pays ~1 µs per row per step):
room flags per local day, the hour-of-week grid and durations (`rooms`, with event flags);
request reasons (`room_events`); one statement that turns every handoff and join (with the end
of its span and a join's first reply, written by the room service as they happen) into all the
event-based distributions at once (`_distributions`); one that sums the rooms' message counters
by sender. On MariaDB three groups of them run concurrently on separate connections.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, TypeVar

import sqlalchemy as sa
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from db.engine import Database
from db.models import (
    MESSAGE_COUNTS,
    SPANS,
    Agent,
    EventKind,
    Room,
    RoomEvent,
    RoomStatus,
)
from db.sqltime import LocalWindow, SqlTime, nearest_rank_pick

rooms_t = Room.__table__  # type: ignore[attr-defined]
events_t = RoomEvent.__table__  # type: ignore[attr-defined]
agents_t = Agent.__table__  # type: ignore[attr-defined]

WAIT_BUCKETS: tuple[tuple[str, int, int | None], ...] = (
    ("< 30 s", 0, 30),
    ("30–60 s", 30, 60),
    ("1–2 min", 60, 120),
    ("2–5 min", 120, 300),
    ("5–10 min", 300, 600),
    ("10–30 min", 600, 1800),
    ("≥ 30 min", 1800, None),
)
"""Wait-time histogram: label, lower bound (inclusive), upper bound (exclusive), in seconds."""

MYSQL_SESSION_TUNING = {"tmp_memory_table_size": 256 * 2**20, "max_heap_table_size": 256 * 2**20}
"""Window functions materialise into temporary tables; past MariaDB's 16 MB default they move
to disk and a 100,000-room window takes seconds instead of a fraction. Set per stats session,
reset after."""


# ---------------------------------------------------------------- response shape


class Percentiles(BaseModel):
    """A duration distribution in seconds; p50/p90 are nearest-rank, all null when count is 0."""

    count: int
    p50: float | None
    p90: float | None
    mean: float | None
    max: float | None


class RangeInfo(BaseModel):
    from_: date = Field(serialization_alias="from")
    to: date
    tz: str
    start_utc: str
    end_utc: str
    utc_offsets: list[tuple[str, int]]
    """(UTC instant, offset in seconds) in force from that instant: the DST segments used."""


class Conversations(BaseModel):
    started: int
    ai_only: int
    handed_off: int
    served_by_agent: int
    closed: int
    containment_rate: float | None
    handoff_rate: float | None


class ReasonCount(BaseModel):
    reason: str
    requests: int
    conversations: int
    rate: float | None
    """conversations / conversations started."""


class Handoffs(BaseModel):
    requests: int
    conversations: int
    by_reason: list[ReasonCount]
    answered: int
    abandoned: int
    still_waiting: int


class NoAgent(BaseModel):
    requests: int
    conversations: int
    rate: float | None
    by_reason: list[ReasonCount]


class HistogramBucket(BaseModel):
    label: str
    min_seconds: int
    max_seconds: int | None
    count: int


class MessageCounts(BaseModel):
    total: int
    by_sender: dict[str, int]
    per_conversation: dict[str, float | None]


class AgentStats(BaseModel):
    agent_id: int
    name: str
    chats: int
    """Joins: one per time the agent took a chat."""
    first_response_p50: float | None
    handle_time_p50: float | None


class DayVolume(BaseModel):
    date: date
    ai_only: int
    human: int
    total: int


class Stats(BaseModel):
    range: RangeInfo
    conversations: Conversations
    handoffs: Handoffs
    no_agent: NoAgent
    wait_seconds: Percentiles
    wait_histogram: list[HistogramBucket]
    first_response_seconds: Percentiles
    handle_time_seconds: Percentiles
    duration_seconds: Percentiles
    messages: MessageCounts
    agents: list[AgentStats]
    by_day: list[DayVolume]
    by_hour_of_week: list[list[int]]
    """7 rows (0 = Monday) of 24 hourly conversation counts, local time."""


# ---------------------------------------------------------------- building blocks


@dataclass(frozen=True, slots=True)
class _Query:
    """The window and the dialect: what every statement below is built from."""

    window: LocalWindow
    time: SqlTime

    def in_cohort(self, room_created_at: ColumnElement[Any]) -> ColumnElement[bool]:
        return sa.and_(room_created_at >= self.window.start, room_created_at < self.window.end)

    def events_first(self, select: sa.Select[Any]) -> sa.Select[Any]:
        """Join `room_events` → `rooms` in that order on MariaDB: it would otherwise look up
        each cohort room's events by index (~1 µs a row) instead of reading events once."""
        return select.prefix_with("STRAIGHT_JOIN", dialect="mysql")

    def cohort_events(self, kinds: Sequence[EventKind], *columns: Any) -> sa.Select[Any]:
        """`columns` of the events of `kinds` in cohort rooms (events never precede their room,
        which lets the (kind, created_at) index narrow them)."""
        return self.events_first(
            sa.select(*columns)
            .select_from(events_t.join(rooms_t, rooms_t.c.id == events_t.c.room_id))
            .where(
                events_t.c.kind.in_([k.value for k in kinds]),
                events_t.c.created_at >= self.window.start,
                self.in_cohort(rooms_t.c.created_at),
            )
        )


def _flag(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return sa.case((condition, 1), else_=0)


def _ranked(values: sa.Subquery, *partition: str) -> list[Any]:
    """Row number, rows and values (non-NULL `x`) of each row's group, as window columns.

    A NULL `x` (an unanswered handoff, a stint still open) counts as a row but not as a value.
    Both databases sort NULLs first in ascending order, so a value's rank among the values is
    its row number minus the group's NULLs: see `_rank`."""
    keys = [values.c[k] for k in partition] or None
    suffix = "_".join(partition)
    return [
        sa.func.row_number().over(partition_by=keys, order_by=values.c.x).label(f"rn_{suffix}"),
        sa.func.count().over(partition_by=keys).label(f"rows_{suffix}"),
        sa.func.count(values.c.x).over(partition_by=keys).label(f"n_{suffix}"),
    ]


def _rank(ranked: sa.Subquery, suffix: str) -> tuple[ColumnElement[int], ColumnElement[int]]:
    """(rank among the group's values, number of values) for `nearest_rank_pick`."""
    rn, rows, n = (ranked.c[f"{name}_{suffix}"] for name in ("rn", "rows", "n"))
    return rn - (rows - n), n


def _percentile_columns(ranked: sa.Subquery, suffix: str, prefix: str = "") -> list[Any]:
    """rows, count, total, max, p50, p90 of `x` over the group the ranks of `suffix` were taken
    in (rows include the NULL values: unanswered handoffs, stints without a reply or end)."""
    rank, n = _rank(ranked, suffix)
    x = ranked.c.x
    return [
        sa.func.count().label(f"{prefix}rows"),
        sa.func.count(x).label(f"{prefix}count"),
        sa.func.sum(x).label(f"{prefix}total"),
        sa.func.max(x).label(f"{prefix}max"),
        sa.func.max(nearest_rank_pick(rank, n, x, 50)).label(f"{prefix}p50"),
        sa.func.max(nearest_rank_pick(rank, n, x, 90)).label(f"{prefix}p90"),
    ]


def _seconds(micros: Any) -> float | None:
    return None if micros is None else round(int(micros) / 1_000_000, 3)


def _to_percentiles(row: Any | None, prefix: str = "") -> Percentiles:
    def get(name: str) -> Any:
        return getattr(row, prefix + name)

    count = int(get("count") or 0) if row is not None else 0
    if row is None or count == 0:
        return Percentiles(count=0, p50=None, p90=None, mean=None, max=None)
    return Percentiles(
        count=count,
        p50=_seconds(get("p50")),
        p90=_seconds(get("p90")),
        mean=round(int(get("total")) / count / 1_000_000, 3),
        max=_seconds(get("max")),
    )


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


# ---------------------------------------------------------------- rooms


async def _room_days(session: AsyncSession, q: _Query) -> list[Any]:
    """Per local day of creation: conversations, and how many had a handoff or a join (human),
    a join (served), a handoff, a no-agent notice, and are closed."""
    flagged = (
        sa.select(
            events_t.c.room_id,
            sa.func.max(_flag(events_t.c.kind == EventKind.handoff.value)).label("handoff"),
            sa.func.max(_flag(events_t.c.kind == EventKind.joined.value)).label("joined"),
            sa.func.max(_flag(events_t.c.kind == EventKind.no_agent.value)).label("no_agent"),
        )
        .where(
            events_t.c.kind.in_([EventKind.handoff, EventKind.joined, EventKind.no_agent]),
            events_t.c.created_at >= q.window.start,  # events never precede their room
        )
        .group_by(events_t.c.room_id)
        .subquery("room_flags")
    )
    parts = q.time.local_parts(rooms_t.c.created_at, q.window)
    handoff = sa.func.coalesce(flagged.c.handoff, 0)
    joined = sa.func.coalesce(flagged.c.joined, 0)
    rooms = (
        sa.select(
            parts.day.label("day"),
            _flag(sa.or_(handoff == 1, joined == 1)).label("human"),
            joined.label("joined"),
            handoff.label("handoff"),
            sa.func.coalesce(flagged.c.no_agent, 0).label("no_agent"),
            _flag(rooms_t.c.status == RoomStatus.closed.value).label("closed"),
        )
        .select_from(rooms_t.outerjoin(flagged, flagged.c.room_id == rooms_t.c.id))
        .where(q.in_cohort(rooms_t.c.created_at))
        .subquery("cohort_rooms")
    )
    query = (
        sa.select(
            rooms.c.day,
            sa.func.count().label("started"),
            sa.func.sum(rooms.c.human).label("human"),
            sa.func.sum(rooms.c.joined).label("served"),
            sa.func.sum(rooms.c.handoff).label("handed"),
            sa.func.sum(rooms.c.no_agent).label("no_agent"),
            sa.func.sum(rooms.c.closed).label("closed"),
        )
        .group_by(rooms.c.day)
        .order_by(rooms.c.day)
    )
    return list((await session.execute(query)).all())


async def _hour_of_week(session: AsyncSession, q: _Query) -> list[list[int]]:
    parts = q.time.local_parts(rooms_t.c.created_at, q.window)
    local = (
        sa.select(parts.weekday.label("weekday"), parts.hour.label("hour"))
        .where(q.in_cohort(rooms_t.c.created_at))
        .subquery("local")
    )
    query = sa.select(local.c.weekday, local.c.hour, sa.func.count().label("n")).group_by(
        local.c.weekday, local.c.hour
    )
    grid = [[0] * 24 for _ in range(7)]
    for row in (await session.execute(query)).all():
        grid[int(row.weekday)][int(row.hour)] = int(row.n)
    return grid


async def _durations(session: AsyncSession, q: _Query) -> Percentiles:
    """Created → closed of the cohort's closed rooms."""
    values = (
        sa.select(q.time.micros_between(rooms_t.c.created_at, rooms_t.c.closed_at).label("x"))
        .where(
            q.in_cohort(rooms_t.c.created_at),
            rooms_t.c.status == RoomStatus.closed.value,
            rooms_t.c.closed_at.is_not(None),
        )
        .subquery("durations")
    )
    ranked = sa.select(values.c.x, *_ranked(values)).subquery("ranked")
    query = sa.select(*_percentile_columns(ranked, ""))
    return _to_percentiles((await session.execute(query)).one())


# ---------------------------------------------------------------- events


async def _reasons(session: AsyncSession, q: _Query) -> list[Any]:
    """Handoff and no-agent requests per (kind, reason): events and distinct rooms."""
    reason = sa.func.coalesce(events_t.c.reason, "unknown")
    requests = q.cohort_events(
        (EventKind.handoff, EventKind.no_agent),
        events_t.c.kind,
        reason.label("reason"),
        events_t.c.room_id,
    ).subquery("requests")
    query = (
        sa.select(
            requests.c.kind,
            requests.c.reason,
            sa.func.count().label("requests"),
            sa.func.count(sa.distinct(requests.c.room_id)).label("conversations"),
        )
        .group_by(requests.c.kind, requests.c.reason)
        .order_by(requests.c.kind, requests.c.reason)
    )
    return list((await session.execute(query)).all())


def _spans(q: _Query) -> sa.Subquery:
    """Every handoff and join of a cohort room with what the room service wrote on it when the
    next transition came (`next_kind`, `next_at`) and, on a join, its first agent reply."""
    return q.cohort_events(
        SPANS,
        events_t.c.kind,
        events_t.c.agent_id,
        events_t.c.created_at,
        events_t.c.next_kind,
        events_t.c.next_at,
        events_t.c.first_reply_at,
    ).subquery("spans")


@dataclass(frozen=True, slots=True)
class _Metric:
    """One distribution `_distributions` computes from the spans of one kind."""

    name: str
    kind: EventKind
    """The fan-out joins on it: each span meets only the metrics of its kind."""
    group: ColumnElement[Any]
    """Per-group figures besides the metric's overall ones (the agent; 0: none)."""
    value: ColumnElement[Any]
    """Microseconds, or NULL for a row that counts but has no value."""


OUTCOMES = {EventKind.joined.value: 0, EventKind.closed.value: 1, None: 2}
"""What came after a handoff: answered, abandoned (closed in the queue), still waiting."""


def _metrics(q: _Query, t: sa.Subquery) -> list[_Metric]:
    answered = t.c.next_kind == EventKind.joined.value
    until_next = q.time.micros_between(t.c.created_at, t.c.next_at)
    first = q.time.micros_between(t.c.created_at, t.c.first_reply_at)
    return [
        _Metric(
            "wait",
            EventKind.handoff,
            sa.literal(0, sa.Integer),
            sa.case((answered, until_next), else_=sa.null()),
        ),
        _Metric("first_response", EventKind.joined, t.c.agent_id, first),
        _Metric("handle_time", EventKind.joined, t.c.agent_id, until_next),
    ]


def _tallies(ranked: sa.Subquery) -> list[Any]:
    """Counts by wait bucket and by handoff outcome (meaningful for the `wait` rows)."""
    x = ranked.c.x
    buckets = []
    for index, (_, low, high) in enumerate(WAIT_BUCKETS):
        inside = x >= low * 1_000_000
        if high is not None:
            inside = sa.and_(inside, x < high * 1_000_000)
        buckets.append(sa.func.sum(_flag(inside)).label(f"bucket_{index}"))
    outcomes = [
        sa.func.sum(_flag(ranked.c.outcome == code)).label(f"outcome_{code}")
        for code in sorted(set(OUTCOMES.values()))
    ]
    return buckets + outcomes


async def _distributions(session: AsyncSession, q: _Query) -> dict[str, dict[Any, Any]]:
    """All event-derived distributions in one statement.

    The spans are read once, fanned out by a join on their kind to a
    constant table of metric numbers into (metric, group, value) rows, ranked twice (within the
    metric, and within (metric, group)) and grouped by (metric, group); window aggregates over
    the groups attach the metric's overall figures (`all_*`) to each group's row.

    Returns {metric name: {group: row}}."""
    t = _spans(q)
    metrics = _metrics(q, t)
    numbers = sa.union_all(
        *[
            sa.select(sa.literal(i, sa.Integer).label("k"), sa.literal(m.kind.value).label("kind"))
            for i, m in enumerate(metrics)
        ]
    ).subquery("metric_numbers")
    k = numbers.c.k

    def pick(values: Sequence[ColumnElement[Any]]) -> ColumnElement[Any]:
        return sa.case(*[(k == i, value) for i, value in enumerate(values)])

    outcome = sa.case(
        *[(t.c.next_kind == kind, code) for kind, code in OUTCOMES.items() if kind is not None],
        (t.c.next_kind.is_(None), OUTCOMES[None]),
        else_=len(OUTCOMES),
    )
    values = (
        sa.select(
            k.label("metric"),
            pick([m.group for m in metrics]).label("grp"),
            pick([m.value for m in metrics]).label("x"),
            outcome.label("outcome"),
        )
        .select_from(numbers.join(t, t.c.kind == numbers.c.kind))
        .subquery("metric_values")
    )
    # Two levels, one window spec each: MariaDB 10.11 computes ROW_NUMBER() over (metric ORDER
    # BY x) from the (metric, grp, x) sort when both are in one SELECT (wrong numbers).
    in_group = sa.select(values, *_ranked(values, "metric", "grp")).subquery("ranked_in_group")
    ranked = sa.select(in_group, *_ranked(in_group, "metric")).subquery("ranked")
    grouped = _percentile_columns(ranked, "metric_grp")
    overall = [
        sa.func.max(column.element).over(partition_by=ranked.c.metric).label(f"all_{column.name}")
        if column.name in ("max", "p50", "p90")
        else sa.func.sum(column.element)
        .over(partition_by=ranked.c.metric)
        .label(f"all_{column.name}")
        for column in _percentile_columns(ranked, "metric")
    ]
    query = sa.select(
        ranked.c.metric, ranked.c.grp, *grouped, *overall, *_tallies(ranked)
    ).group_by(ranked.c.metric, ranked.c.grp)
    result: dict[str, dict[Any, Any]] = {m.name: {} for m in metrics}
    for row in (await session.execute(query)).all():
        group = None if row.grp is None else int(row.grp)
        result[metrics[int(row.metric)].name][group] = row
    return result


# ---------------------------------------------------------------- messages


async def _messages(session: AsyncSession, q: _Query) -> dict[str, int]:
    """Messages of cohort rooms per sender: the sums of the rooms' per-sender counters."""
    counts = [
        sa.func.coalesce(sa.func.sum(rooms_t.c[column]), 0).label(sender.value)
        for sender, column in MESSAGE_COUNTS.items()
    ]
    query = sa.select(*counts).where(q.in_cohort(rooms_t.c.created_at))
    row = (await session.execute(query)).one()
    return {sender.value: int(getattr(row, sender.value)) for sender in MESSAGE_COUNTS}


async def _agent_names(session: AsyncSession, ids: Sequence[int]) -> dict[int, str]:
    if not ids:
        return {}
    result = await session.execute(
        sa.select(agents_t.c.id, agents_t.c.name).where(agents_t.c.id.in_(list(ids)))
    )
    return {int(row.id): str(row.name) for row in result.all()}


# ---------------------------------------------------------------- the whole report

T = TypeVar("T")


async def _tuned(session: AsyncSession, step: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run `step` with the MariaDB session settings the window functions need, then reset."""
    if session.get_bind().dialect.name != "mysql":
        return await step(session)
    names = ", ".join(f"{name} = {value}" for name, value in MYSQL_SESSION_TUNING.items())
    await session.execute(sa.text(f"SET SESSION {names}"))
    try:
        return await step(session)
    finally:
        defaults = ", ".join(f"{name} = DEFAULT" for name in MYSQL_SESSION_TUNING)
        await session.execute(sa.text(f"SET SESSION {defaults}"))


@dataclass(slots=True)
class _Raw:
    days: list[Any]
    grid: list[list[int]]
    durations: Percentiles
    reasons: list[Any]
    distributions: dict[str, dict[Any, Any]]
    messages: dict[str, int]


async def _gather_raw(db: Database, q: _Query) -> _Raw:
    async def rooms_side(session: AsyncSession) -> tuple[Any, ...]:
        return (
            await _room_days(session, q),
            await _hour_of_week(session, q),
            await _durations(session, q),
            await _reasons(session, q),
        )

    async def distributions(session: AsyncSession) -> dict[str, dict[Any, Any]]:
        return await _distributions(session, q)

    async def messages(session: AsyncSession) -> dict[str, int]:
        return await _messages(session, q)

    async def in_session(step: Callable[[AsyncSession], Awaitable[T]]) -> T:
        async with db.session() as session:
            return await _tuned(session, step)

    if db.dialect == "mysql":  # one connection each, so MariaDB uses every core
        (days, grid, durations, reasons), dists, counts = await asyncio.gather(
            in_session(rooms_side), in_session(distributions), in_session(messages)
        )
    else:  # SQLite reads in one connection: no gain from more
        async with db.session() as session:
            days, grid, durations, reasons = await rooms_side(session)
            dists = await distributions(session)
            counts = await messages(session)
    return _Raw(days, grid, durations, reasons, dists, counts)


async def compute_stats(db: Database, *, window: LocalWindow) -> Stats:
    """Every metric of docs/metrics.md for the conversations started in `window`."""
    q = _Query(window=window, time=SqlTime(db.dialect))
    raw = await _gather_raw(db, q)
    conversations = _conversations(raw.days)
    started = conversations.started
    dists = raw.distributions
    waits = dists["wait"].get(0)
    async with db.session() as session:
        names = await _agent_names(session, [a for a in dists["handle_time"] if a is not None])
    return Stats(
        range=_range_info(window),
        conversations=conversations,
        handoffs=_handoffs(raw, started),
        no_agent=_no_agent(raw, started),
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
        duration_seconds=raw.durations,
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
    )


# ---------------------------------------------------------------- shaping


def _range_info(window: LocalWindow) -> RangeInfo:
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
        containment_rate=_ratio(started - human, started),
        handoff_rate=_ratio(human, started),
    )


def _reason_list(raw: _Raw, kind: EventKind, started: int) -> list[ReasonCount]:
    return [
        ReasonCount(
            reason=str(row.reason),
            requests=int(row.requests),
            conversations=int(row.conversations),
            rate=_ratio(int(row.conversations), started),
        )
        for row in raw.reasons
        if row.kind == kind.value
    ]


def _handoffs(raw: _Raw, started: int) -> Handoffs:
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
    )


def _no_agent(raw: _Raw, started: int) -> NoAgent:
    by_reason = _reason_list(raw, EventKind.no_agent, started)
    rooms = _day_total(raw.days, "no_agent")
    return NoAgent(
        requests=sum(r.requests for r in by_reason),
        conversations=rooms,
        rate=_ratio(rooms, started),
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
                first_response_p50=_seconds(first.p50) if first is not None else None,
                handle_time_p50=_seconds(handle.p50),
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
