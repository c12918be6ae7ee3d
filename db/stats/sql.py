"""The statistics' statements: aggregation in the database (GROUP BY, COUNT, window functions).

The cohort is every room whose `created_at` falls in a `LocalWindow`; each metric is computed
over that cohort's rooms, messages and events, even events after the window ends (a chat
started on the last day and answered the next morning still counts its wait).

Few statements, each reading its tables about once (MariaDB pays per row per step):
room flags per local day, the hour-of-week grid and durations (`rooms`, with event flags);
request reasons (`room_events`); one statement that turns every handoff and join (with the end
of its span and a join's first reply, written by the room log as they happen) into all the
event-based distributions at once (`_distributions`); one that sums the rooms' message counters
by sender. On MariaDB three groups of them run concurrently on separate connections. They
return rows; `report.py` shapes them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from db.engine import Database
from db.models import MESSAGE_COUNTS, SPANS, TRANSFER_TO_QUEUE, EventKind, RoomStatus
from db.sqltime import LocalWindow, SqlTime, nearest_rank_pick
from db.stats.schema import WAIT_BUCKETS
from db.tables import events_t, rooms_t

MYSQL_SESSION_TUNING = {"tmp_memory_table_size": 256 * 2**20, "max_heap_table_size": 256 * 2**20}
"""Window functions materialise into temporary tables; past MariaDB's 16 MB default they move
to disk, which makes a large window many times slower. Set per stats session, reset after."""


@dataclass(frozen=True, slots=True)
class Query:
    """The window and the dialect: what every statement is built from."""

    window: LocalWindow
    time: SqlTime

    def in_cohort(self, room_created_at: ColumnElement[Any]) -> ColumnElement[bool]:
        return sa.and_(room_created_at >= self.window.start, room_created_at < self.window.end)

    def events_first(self, select: sa.Select[Any]) -> sa.Select[Any]:
        """Join `room_events` → `rooms` in that order on MariaDB: it would otherwise look up
        each cohort room's events by index instead of reading events once."""
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


# ---------------------------------------------------------------- rooms


async def _room_days(session: AsyncSession, q: Query) -> list[Any]:
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


async def _hour_of_week(session: AsyncSession, q: Query) -> list[list[int]]:
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


async def _durations(session: AsyncSession, q: Query) -> Any:
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
    return (await session.execute(query)).one()


# ---------------------------------------------------------------- events


async def _reasons(session: AsyncSession, q: Query) -> list[Any]:
    """Handoff and no-agent requests, transfers and closes, per (kind, reason): events and
    distinct rooms."""
    reason = sa.func.coalesce(events_t.c.reason, "unknown")
    requests = q.cohort_events(
        (EventKind.handoff, EventKind.no_agent, EventKind.transferred, EventKind.closed),
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


def _spans(q: Query) -> sa.Subquery:
    """Every handoff and join of a cohort room with what the room service wrote on it when the
    next transition came (`next_kind`, `next_at`) and, on a join, its first agent reply."""
    # A transfer to an agent starts a stint, as a join does; one back to the queue opens a
    # span no metric reads (its wait is not a handoff's).
    stint = sa.and_(
        events_t.c.kind == EventKind.transferred.value,
        events_t.c.reason != TRANSFER_TO_QUEUE,
    )
    return q.cohort_events(
        SPANS,
        sa.case((stint, EventKind.joined.value), else_=events_t.c.kind).label("kind"),
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


OUTCOMES = {
    EventKind.joined.value: 0,
    EventKind.closed.value: 1,
    None: 2,
    EventKind.withdrawn.value: 3,
}
"""What came after a handoff: answered, abandoned (closed in the queue), still waiting,
withdrawn (the user confirmed they no longer needed a person)."""


def _metrics(q: Query, t: sa.Subquery) -> list[_Metric]:
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


async def _distributions(session: AsyncSession, q: Query) -> dict[str, dict[Any, Any]]:
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


async def _messages(session: AsyncSession, q: Query) -> dict[str, int]:
    """Messages of cohort rooms per sender: the sums of the rooms' per-sender counters."""
    counts = [
        sa.func.coalesce(sa.func.sum(rooms_t.c[column]), 0).label(sender.value)
        for sender, column in MESSAGE_COUNTS.items()
    ]
    query = sa.select(*counts).where(q.in_cohort(rooms_t.c.created_at))
    row = (await session.execute(query)).one()
    return {sender.value: int(getattr(row, sender.value)) for sender in MESSAGE_COUNTS}


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
class Raw:
    days: list[Any]
    grid: list[list[int]]
    durations: Any
    """The row of rows, count, total, max, p50, p90 of the closed rooms' durations."""
    reasons: list[Any]
    distributions: dict[str, dict[Any, Any]]
    messages: dict[str, int]


async def gather_raw(db: Database, q: Query) -> Raw:
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
    return Raw(days, grid, durations, reasons, dists, counts)
