"""Statistics rollups: every metric of docs/metrics.md per 15-minute UTC slot, kept up to date
by folding rooms in after their chats' transactions have committed.

A conversation belongs to the slot of its `created_at` (the cohort rule): everything it does
later (waits, stints, replies, closing) is folded into that slot. Each room's contribution is
computed in Python from its row and its events, exactly as `db/stats/sql.py` defines the
metrics, and stored in `stats_room_folds` with the room's `last_seq` and newest event id.
Folding a room again subtracts what it added before and adds the new contribution, so a fold
is idempotent and a room that has not changed is skipped.

`stats_rollups` holds, per (span, slot): counters, sums of microseconds, maxima, and for each
duration a log-bucket histogram (DDSketch's mapping: bucket i holds (γ^(i-1), γ^i] µs,
γ = (1+α)/(1−α), α = 0.02, and reads back as 2γ^i/(γ+1): within 2 % of every value in it).
The same rows are summed per UTC day and per 7- and 28-day block (`SPANS`), so a long range
reads a few large blocks and only its ragged ends from the 15-minute slots.

Concurrency: folds and rebuilds run in a transaction that first updates the `lease` row of
`stats_fold_state`; its row lock (SQLite: the write lock) lets one folder at a time read the
previous contributions and apply deltas, in (span, slot, metric, label, bucket) order. They
never run inside a chat's transaction and take no lock the chats take.

Everything here is synchronous on a SQLAlchemy `Connection`, so the Alembic migration and the
async API share it (`AsyncSession.run_sync`).
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from db.models import (
    MESSAGE_COUNTS,
    TRANSFER_TO_QUEUE,
    EventKind,
    RoomStatus,
    stats_fold_state,
    stats_rollups,
    stats_room_folds,
)
from db.rollup_buckets import BLOCK_SECONDS, EPOCH, SPANS, bucket_of, slot_of
from db.tables import events_t, rooms_t

log = logging.getLogger(__name__)

DURATIONS = ("wait", "first_response", "handle_time", "duration")
SWEEP_LAG = timedelta(seconds=30)
"""Each round re-reads the room events (never the messages) since the last round's start minus
this: transitions committed late (a slow transaction, clocks apart) are still found; refolding
is idempotent. Events are a few per conversation and read through their (kind, created_at)
index, so this costs the chats nothing measurable."""
BACKSTOP_SECONDS = 60.0
"""How often the API's folder also compares every open room's `last_seq` with what was folded:
the backstop for messages another process (or one that died) committed but did not fold."""
CHUNK = 500

Key = tuple[str, str, int]
"""(metric, label, bucket) of a rollup row."""


def _micros(start: datetime, end: datetime) -> int:
    delta = end - start
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


# ---------------------------------------------------------------- one room's contribution


_REQUESTS = (EventKind.handoff.value, EventKind.no_agent.value, EventKind.transferred.value)
"""Events counted per reason (`<kind>_req`, `<kind>_rooms`)."""


def contribution(room: Any, events: Sequence[Any]) -> tuple[Counter[Key], dict[Key, int]]:
    """(additive counts, maxima) of one room, by docs/metrics.md's definitions."""
    from db.stats.schema import WAIT_BUCKETS  # db.stats reads this module

    adds: Counter[Key] = Counter()
    maxima: dict[Key, int] = {}
    kinds = {e.kind for e in events}
    handoff, joined = EventKind.handoff.value in kinds, EventKind.joined.value in kinds
    flags = {
        "started": True,
        "human": handoff or joined,
        "served": joined,
        "handed": handoff,
        "no_agent": EventKind.no_agent.value in kinds,
        "closed": room.status == RoomStatus.closed.value,
    }
    for name, on in flags.items():
        if on:
            adds[("rooms", name, 0)] += 1
    for sender, column in MESSAGE_COUNTS.items():
        if getattr(room, column):
            adds[("messages", sender.value, 0)] += int(getattr(room, column))

    def value(metric: str, agent: int | None, micros: int) -> None:
        for label in ("", str(agent)) if agent is not None else ("",):
            adds[(metric, label, bucket_of(micros))] += 1
            adds[(f"{metric}.n", label, 0)] += 1
            adds[(f"{metric}.sum", label, 0)] += micros
            key = (f"{metric}.max", label, 0)
            maxima[key] = max(maxima.get(key, micros), micros)

    reasons: dict[str, set[str]] = {}
    for e in events:
        if e.kind == EventKind.closed.value:  # followup and abandoned apart from other closes
            adds[("closed_rooms", e.reason or "unknown", 0)] += 1
        if e.kind in _REQUESTS:
            reason = e.reason or "unknown"
            adds[(f"{e.kind}_req", reason, 0)] += 1
            reasons.setdefault(e.kind, set()).add(reason)
        if e.kind == EventKind.handoff.value:
            outcome = {
                EventKind.joined.value: "answered",
                EventKind.closed.value: "abandoned",
                EventKind.withdrawn.value: "withdrawn",
            }
            if e.next_kind is None:
                adds[("outcome", "waiting", 0)] += 1
            elif e.next_kind in outcome:
                adds[("outcome", outcome[e.next_kind], 0)] += 1
            if e.next_kind == EventKind.joined.value and e.next_at is not None:
                wait = _micros(e.created_at, e.next_at)
                value("wait", None, wait)
                for index, (_, low, high) in enumerate(WAIT_BUCKETS):
                    if wait >= low * 1_000_000 and (high is None or wait < high * 1_000_000):
                        adds[("wait_bucket", "", index)] += 1
        elif e.kind == EventKind.joined.value or (
            e.kind == EventKind.transferred.value and e.reason != TRANSFER_TO_QUEUE
        ):  # a stint: a join, or a transfer to an agent
            adds[("chats", "" if e.agent_id is None else str(e.agent_id), 0)] += 1
            if e.first_reply_at is not None:
                value("first_response", e.agent_id, _micros(e.created_at, e.first_reply_at))
            if e.next_at is not None:
                value("handle_time", e.agent_id, _micros(e.created_at, e.next_at))
        elif e.kind == EventKind.rated.value and str(e.reason or "").isdigit():
            # db/stats/ratings.py: one key per rating, under the credited agent (or the AI)
            label = "ai" if e.agent_id is None else str(e.agent_id)
            adds[("rating", label, int(e.reason))] += 1
    for kind, names in reasons.items():
        for reason in names:
            adds[(f"{kind}_rooms", reason, 0)] += 1
    if room.status == RoomStatus.closed.value and room.closed_at is not None:
        value("duration", None, _micros(room.created_at, room.closed_at))
    return adds, maxima


def _encode(adds: Counter[Key], maxima: dict[Key, int]) -> str:
    return json.dumps(
        {"adds": sorted([*k, n] for k, n in adds.items()), "max": sorted(maxima.items())}
    )


def _decode(text: str | None) -> Counter[Key]:
    if not text:
        return Counter()
    return Counter({(m, label, int(b)): int(n) for m, label, b, n in json.loads(text)["adds"]})


# ---------------------------------------------------------------- folding rooms


def _dialect_upsert(connection: sa.Connection, *, greatest: bool) -> sa.TextClause:
    columns = "span, slot, metric, label, bucket, n"
    values = "VALUES (:span, :slot, :metric, :label, :bucket, :n)"
    if connection.dialect.name == "mysql":
        update = "GREATEST(n, VALUES(n))" if greatest else "n + VALUES(n)"
        return sa.text(
            f"INSERT INTO stats_rollups ({columns}) {values} ON DUPLICATE KEY UPDATE n = {update}"
        )
    update = "MAX(n, excluded.n)" if greatest else "n + excluded.n"
    return sa.text(
        f"INSERT INTO stats_rollups ({columns}) {values} "
        f"ON CONFLICT (span, slot, metric, label, bucket) DO UPDATE SET n = {update}"
    )


def take_lease(connection: sa.Connection) -> None:
    """Serialise folders and rebuilds: the `lease` row's lock lasts until the transaction ends
    (and on SQLite this write takes the database's write lock)."""
    updated = connection.execute(
        sa.update(stats_fold_state)
        .where(stats_fold_state.c.name == "lease")
        .values(n=stats_fold_state.c.n + 1)
    ).rowcount
    if not updated:
        connection.execute(sa.insert(stats_fold_state).values(name="lease", n=1))


def fold_rooms(connection: sa.Connection, room_ids: Iterable[str], *, force: bool = False) -> int:
    """Fold `room_ids` into the rollups (the caller holds the lease). Returns rooms changed."""
    ids = sorted(set(room_ids))
    changed = 0
    adds: Counter[tuple[int, int, str, str, int]] = Counter()
    maxima: dict[tuple[int, int, str, str, int], int] = {}
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        rooms = connection.execute(
            sa.select(
                rooms_t.c.id,
                rooms_t.c.status,
                rooms_t.c.created_at,
                rooms_t.c.closed_at,
                rooms_t.c.last_seq,
                *(rooms_t.c[c] for c in MESSAGE_COUNTS.values()),
            ).where(rooms_t.c.id.in_(chunk))
        ).all()
        events: dict[str, list[Any]] = {}
        for e in connection.execute(
            sa.select(
                events_t.c.id,
                events_t.c.room_id,
                events_t.c.kind,
                events_t.c.reason,
                events_t.c.agent_id,
                events_t.c.created_at,
                events_t.c.next_kind,
                events_t.c.next_at,
                events_t.c.first_reply_at,
            )
            .where(events_t.c.room_id.in_(chunk))
            .order_by(events_t.c.room_id, events_t.c.created_at, events_t.c.id)
        ):
            events.setdefault(e.room_id, []).append(e)
        folded = {
            row.room_id: row
            for row in connection.execute(
                sa.select(stats_room_folds).where(stats_room_folds.c.room_id.in_(chunk))
            )
        }
        rewrites = []
        for room in rooms:
            in_room = events.get(room.id, [])
            last_event = max((int(e.id) for e in in_room), default=0)
            before = folded.get(room.id)
            if (
                not force
                and before is not None
                and (before.last_seq, before.last_event_id) == (room.last_seq, last_event)
            ):
                continue
            new, room_max = contribution(room, in_room)
            old = _decode(before.contribution) if before is not None else Counter()
            slot = slot_of(room.created_at)
            if before is not None and int(before.slot) != slot:  # created_at never moves
                raise RuntimeError(f"room {room.id} moved slots")
            for key in new.keys() | old.keys():
                delta = new[key] - old[key]
                if delta:
                    for span in SPANS:
                        adds[(span, slot - slot % span, *key)] += delta
            for key, top in room_max.items():
                for span in SPANS:
                    full = (span, slot - slot % span, *key)
                    maxima[full] = max(maxima.get(full, top), top)
            rewrites.append(
                {
                    "room_id": room.id,
                    "slot": slot,
                    "last_seq": int(room.last_seq),
                    "last_event_id": last_event,
                    "contribution": _encode(new, room_max),
                }
            )
        if rewrites:
            changed += len(rewrites)
            connection.execute(
                sa.delete(stats_room_folds).where(
                    stats_room_folds.c.room_id.in_([r["room_id"] for r in rewrites])
                )
            )
            connection.execute(sa.insert(stats_room_folds), rewrites)
    _apply(connection, adds, maxima)
    return changed


def _apply(
    connection: sa.Connection,
    adds: Counter[tuple[int, int, str, str, int]],
    maxima: dict[tuple[int, int, str, str, int], int],
) -> None:
    """Upsert the deltas and maxima in key order (concurrent folders lock rows alike)."""
    names = ("span", "slot", "metric", "label", "bucket")
    rows = [{**dict(zip(names, k, strict=True)), "n": n} for k, n in sorted(adds.items()) if n]
    if rows:
        connection.execute(_dialect_upsert(connection, greatest=False), rows)
    tops = [{**dict(zip(names, k, strict=True)), "n": n} for k, n in sorted(maxima.items())]
    if tops:
        connection.execute(_dialect_upsert(connection, greatest=True), tops)


# ---------------------------------------------------------------- rounds and rebuilds


def _micros_epoch(moment: datetime) -> int:
    return _micros(EPOCH, moment)


def fold_round(
    connection: sa.Connection,
    *,
    rooms: Iterable[str] = (),
    backstop: bool = True,
    now: datetime | None = None,
) -> int:
    """One round of the live fold (takes the lease; the caller commits): `rooms` (the ones this
    process committed messages to), rooms with events since the last round (minus SWEEP_LAG),
    and with `backstop` every open room whose `last_seq` is not the one folded.

    Changed rooms are never found by scanning recent messages: at thousands of messages a
    second, re-reading the last SWEEP_LAG of them every round cost the chats' own latency."""
    now = now or datetime.now(UTC)
    take_lease(connection)
    swept = connection.execute(
        sa.select(stats_fold_state.c.n).where(stats_fold_state.c.name == "swept_until")
    ).scalar()
    since = (
        EPOCH + timedelta(microseconds=int(swept)) - SWEEP_LAG
        if swept is not None
        else now - SWEEP_LAG
    )
    room_ids = set(rooms)
    room_ids.update(
        row[0]
        for row in connection.execute(
            sa.select(events_t.c.room_id)
            .where(
                events_t.c.kind.in_([k.value for k in EventKind]),
                events_t.c.created_at >= since,
            )
            .distinct()
        )
    )
    if backstop:
        room_ids.update(unfolded_open_rooms(connection))
    changed = fold_rooms(connection, room_ids)
    _set_state(connection, "swept_until", _micros_epoch(now))
    return changed


def unfolded_open_rooms(connection: sa.Connection) -> list[str]:
    """Rooms not closed whose newest message was not folded (or never folded at all).

    A closed room takes no more messages, and its closing event is found by the event sweep,
    so only open rooms are compared: through the rooms' status index and the folds' key."""
    folds = stats_room_folds
    return [
        row[0]
        for row in connection.execute(
            sa.select(rooms_t.c.id)
            .select_from(rooms_t.outerjoin(folds, folds.c.room_id == rooms_t.c.id))
            .where(
                rooms_t.c.status.in_([s.value for s in RoomStatus if s is not RoomStatus.closed]),
                sa.or_(folds.c.room_id.is_(None), folds.c.last_seq != rooms_t.c.last_seq),
            )
        )
    ]


def mark_swept(connection: sa.Connection, now: datetime | None = None) -> None:
    """Let the live fold start its sweep at `now` (after a backfill or rebuild of everything)."""
    _set_state(connection, "swept_until", _micros_epoch(now or datetime.now(UTC)))


def _set_state(connection: sa.Connection, name: str, value: int) -> None:
    updated = connection.execute(
        sa.update(stats_fold_state).where(stats_fold_state.c.name == name).values(n=value)
    ).rowcount
    if not updated:
        connection.execute(sa.insert(stats_fold_state).values(name=name, n=value))


def rebuild(
    connection: sa.Connection, start: datetime | None = None, end: datetime | None = None
) -> int:
    """Recompute the rollups of the rooms created in [start, end) (widened to whole 28-day
    blocks, the largest span; None: unbounded) from the rooms and events. Takes the lease;
    the caller commits, so readers see the old figures until then and the live fold waits."""
    take_lease(connection)
    day_start = None if start is None else slot_of(start) - slot_of(start) % BLOCK_SECONDS
    day_end = None
    if end is not None:
        last = slot_of(end - timedelta(microseconds=1))
        day_end = last - last % BLOCK_SECONDS + BLOCK_SECONDS
    rollup_where: list[Any] = []
    fold_where: list[Any] = []
    room_where: list[Any] = []
    if day_start is not None:
        rollup_where.append(stats_rollups.c.slot >= day_start)
        fold_where.append(stats_room_folds.c.slot >= day_start)
        room_where.append(rooms_t.c.created_at >= EPOCH + timedelta(seconds=day_start))
    if day_end is not None:
        rollup_where.append(stats_rollups.c.slot < day_end)
        fold_where.append(stats_room_folds.c.slot < day_end)
        room_where.append(rooms_t.c.created_at < EPOCH + timedelta(seconds=day_end))
    connection.execute(sa.delete(stats_rollups).where(*rollup_where))
    connection.execute(sa.delete(stats_room_folds).where(*fold_where))
    room_ids = [row[0] for row in connection.execute(sa.select(rooms_t.c.id).where(*room_where))]
    return fold_rooms(connection, room_ids, force=True)


async def rebuild_rollups(
    db: Any, start: datetime | None = None, end: datetime | None = None
) -> int:
    """`rebuild` in one transaction (`tandem stats rebuild`, demo data, tests): rooms folded."""
    async with db.write(notify=False) as session:
        folded: int = await session.run_sync(lambda s: rebuild(s.connection(), start, end))
    return folded
