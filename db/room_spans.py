"""The spans' bookkeeping, for the room log only: a transition ends the room's open span (its
last handoff or join) with `next_kind` / `next_at`, and the first agent message of an open
stint is its `first_reply_at` (docs/metrics.md reads both back).

Called by `db/room_log.py` alone, inside its write and under its room locks: it stays the one
writer of events and spans; this module only holds that part of its rules.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from db.driver import Driver
from db.keyed_updates import assign, update_by_id
from db.models import SPANS, TRANSFER_TO_QUEUE, EventKind

if TYPE_CHECKING:
    from db.room_log import Transition

STINTS = (
    f"(kind = '{EventKind.joined.value}' OR (kind = '{EventKind.transferred.value}' "
    f"AND reason <> '{TRANSFER_TO_QUEUE}'))"
)
"""The events that start an agent's stint: a join, a transfer to an agent."""


async def stamp_first_replies(driver: Driver, first_reply: dict[str, Any]) -> None:
    """The first agent message of an open stint is its first reply (`first_reply`: each room's
    first agent message's stamp in the batch). `created_at <=`: a batch stamped just before a
    join it then waited for does not answer that join. Updated by primary key, as the spans
    are; usually the stint has its reply and nothing is found. (On MariaDB this plain read
    sees the snapshot of the transaction's first read, which `find_by_client_ids` may have
    taken before the room lock: a message sent while its own join was still committing is not
    counted as the reply; the next one is.)"""
    room_ids = sorted(first_reply)
    unanswered = await driver.fetchall(
        f"SELECT id, room_id, created_at FROM room_events "
        f"WHERE room_id IN ({driver.marks(len(room_ids))}) "
        f"AND {STINTS} AND next_at IS NULL "
        f"AND first_reply_at IS NULL AND created_at <= {driver.mark}",
        [*room_ids, max(first_reply.values())],
    )
    replies = {
        event_id: first_reply[room_id]
        for event_id, room_id, joined_at in unanswered
        if joined_at <= first_reply[room_id]  # one batch stamp: always (the SQL checked it)
    }
    if replies:
        params: list[Any] = []
        value = assign(driver, replies, "first_reply_at", params)
        await update_by_id(
            driver, "room_events", [f"first_reply_at = {value}"], params, ids=list(replies)
        )


async def end_open_spans(driver: Driver, ends: dict[str, Transition]) -> None:
    """Give each room's open span (its last handoff or join) the transition that ends it.

    Found first, then updated by primary key: an UPDATE ... WHERE room_id would take gap locks
    on MariaDB's room_id index and make transitions of neighbouring rooms wait. The room row
    locks the caller holds keep these spans from changing in between."""
    room_ids = sorted(ends)
    kinds = ", ".join(f"'{kind.value}'" for kind in SPANS)
    rows = await driver.fetchall(
        f"SELECT id, room_id FROM room_events WHERE room_id IN ({driver.marks(len(room_ids))}) "
        f"AND kind IN ({kinds}) AND next_at IS NULL",
        room_ids,
    )
    if not rows:
        return
    span_kind = {event_id: ends[room_id].kind.value for event_id, room_id in rows}
    span_end = {event_id: driver.time(ends[room_id].at) for event_id, room_id in rows}
    params: list[Any] = []
    sets = [
        f"next_kind = {assign(driver, span_kind, 'next_kind', params)}",
        f"next_at = {assign(driver, span_end, 'next_at', params)}",
    ]
    await update_by_id(driver, "room_events", sets, params, ids=list(span_kind))
