"""UPDATE statements by primary key, one statement for many rows: the SQL pieces the room log
(`db/room_log.py`, `db/room_spans.py`) builds its counter, state and span updates from.

By primary key so only those rows are locked (no gap locks on MariaDB's secondary indexes);
one CASE per column so a batch of rooms costs one statement, not one per room; or, for the
writer's hot path (`advance_rooms`), one prepared statement run for every room in one binary
round trip where the driver can.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from db.driver import Driver
from db.models import MESSAGE_COUNTS, Sender

_ADVANCE_ROOMS = "UPDATE rooms SET last_seq = ?, {} WHERE id = ?".format(
    ", ".join(f"{column} = {column} + ?" for column in MESSAGE_COUNTS.values())
)
"""A room's next `last_seq` and its counters, one row per room (`advance_rooms`)."""
_UNCHANGED = " AND last_seq = ?"


async def update_by_id(
    driver: Driver,
    table: str,
    sets: Sequence[str],
    params: list[Any],
    *,
    ids: Sequence[Any],
    where: str = "",
    where_params: Sequence[Any] = (),
) -> int:
    """`UPDATE table SET sets WHERE id IN ids [AND where]`: by primary key, so only those rows
    are locked. Returns how many rows it matched (each changes: callers set new values)."""
    condition = f" AND {where}" if where else ""
    return await driver.execute(
        f"UPDATE {table} SET {', '.join(sets)} WHERE id IN ({driver.marks(len(ids))}){condition}",
        [*params, *ids, *where_params],
    )


def cases(
    driver: Driver, pairs: Sequence[tuple[Any, Any]], otherwise: str, params: list[Any]
) -> str:
    """`CASE id WHEN <id> THEN <value> ... ELSE otherwise END`, its values added to `params`."""
    params.extend(value for pair in pairs for value in pair)
    whens = " ".join(f"WHEN {driver.mark} THEN {driver.mark}" for _ in pairs)
    return f"CASE id {whens} ELSE {otherwise} END"


def assign(
    driver: Driver, values: Mapping[Any, Any], column: str, params: list[Any], *, of: int = 0
) -> str:
    """The value to SET `column` to on the rows `values` names (by id), out of `of` rows updated
    (default: just those): one parameter when they all get the same, else a CASE."""
    distinct = set(values.values())
    if len(distinct) == 1 and len(values) >= of:
        params.append(next(iter(distinct)))
        return driver.mark
    return cases(driver, list(values.items()), column, params)


async def advance_rooms(
    driver: Driver,
    *,
    last_seq: Mapping[str, int],
    added: Counter[tuple[str, Sender]],
    seen: Mapping[str, int],
    unchanged_only: bool,
) -> bool:
    """Set the rooms' `last_seq` and add `added` to their counters of each sender's messages
    (db/room_log.py), `unchanged_only` where `last_seq` is still as `seen`. False: a room
    moved on. One row per room, bound in binary, where the driver can (no SQL text to build
    and escape per batch, as for the INSERT: bench/message_insert.py); else one statement of
    CASEs."""
    ids = sorted(last_seq)
    matched = None
    if driver.binds_rows:
        rows = [[last_seq[i], *(added[(i, s)] for s in MESSAGE_COUNTS), i] for i in ids]
        if unchanged_only:
            for row, room_id in zip(rows, ids, strict=True):
                row.append(seen[room_id])
        sql = _ADVANCE_ROOMS + (_UNCHANGED if unchanged_only else "")
        matched = await driver.execute_rows(sql, rows)
    if matched is None:
        params: list[Any] = []
        sets = [f"last_seq = {cases(driver, sorted(last_seq.items()), 'last_seq', params)}"]
        for sender, column in MESSAGE_COUNTS.items():
            counts = [(room_id, n) for (room_id, s), n in added.items() if s is sender]
            if counts:
                sets.append(f"{column} = {column} + {cases(driver, counts, '0', params)}")
        guarded = [(room_id, seen[room_id]) for room_id in ids]
        where: list[Any] = []
        matched = await update_by_id(
            driver,
            "rooms",
            sets,
            params,
            ids=ids,
            where=f"last_seq = {cases(driver, guarded, 'NULL', where)}" if unchanged_only else "",
            where_params=where,
        )
    return not unchanged_only or matched == len(ids)
