"""UPDATE statements by primary key, one statement for many rows: the SQL pieces the room log
(`db/room_log.py`, `db/room_spans.py`) builds its counter, state and span updates from.

By primary key so only those rows are locked (no gap locks on MariaDB's secondary indexes);
one CASE per column so a batch of rooms costs one statement, not one per room.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from db.driver import Driver


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
