"""Time arithmetic and local-time bucketing that give the same numbers on SQLite and MariaDB.

Why a helper: the two databases share no function for "seconds between two DATETIMEs" or
"this UTC time in Berlin", and the obvious ones differ in precision (SQLite's `julianday` keeps
milliseconds and rounds `23:59:59.9996` into the next day). So:

- durations are exact integer microseconds on both: MariaDB `TIMESTAMPDIFF(MICROSECOND, ..)`;
  SQLite whole seconds from `strftime('%s')` of the first 19 characters plus the stored
  microsecond digits (SQLAlchemy always writes `YYYY-MM-DD HH:MM:SS.ffffff`);
- local time never uses MySQL's time-zone tables (they may be empty): Python's zoneinfo gives
  the UTC offsets in force over the queried window, one per DST segment, and the SQL adds the
  offset of the segment a timestamp falls in (a CASE over the segment starts);
- percentiles are nearest-rank, picked with `ROW_NUMBER()` and `COUNT(*) OVER` in integer
  arithmetic only (no CEIL, which SQLite may lack).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

MAX_DAYS = 3660
"""Longest window a query may cover (ten years): bounds the offset scan and the day list."""
EARLIEST_DAY = date(1970, 1, 1)
LATEST_DAY = date(9998, 12, 31)
"""The days a window may name: nothing is stored before 1970, and past 9998 the window's end (a
day on, in any zone) nears the end of Python's dates and MariaDB's DATETIME."""


# ---------------------------------------------------------------- local windows


@dataclass(frozen=True, slots=True)
class OffsetSegment:
    start: datetime
    """Aware UTC instant from which `offset_seconds` is in force (until the next segment)."""
    offset_seconds: int


@dataclass(frozen=True, slots=True)
class LocalWindow:
    """Whole local days `first_day`..`last_day` (inclusive) in `tz`, as a UTC half-open range."""

    first_day: date
    last_day: date
    tz: ZoneInfo
    start: datetime
    """Local midnight starting `first_day`, in UTC (inclusive)."""
    end: datetime
    """Local midnight after `last_day`, in UTC (exclusive)."""
    segments: tuple[OffsetSegment, ...]
    """The UTC offsets in force between `start` and `end`, oldest first; at least one."""

    @classmethod
    def of(cls, first_day: date, last_day: date, tz: ZoneInfo | str = "UTC") -> LocalWindow:
        zone = ZoneInfo(tz) if isinstance(tz, str) else tz
        if last_day < first_day:
            raise ValueError("the window ends before it starts")
        if (last_day - first_day).days + 1 > MAX_DAYS:
            raise ValueError(f"the window is longer than {MAX_DAYS} days")
        start = local_midnight(first_day, zone)
        end = local_midnight(last_day + timedelta(days=1), zone)
        return cls(first_day, last_day, zone, start, end, offset_segments(start, end, zone))

    @property
    def days(self) -> list[date]:
        count = (self.last_day - self.first_day).days + 1
        return [self.first_day + timedelta(days=n) for n in range(count)]

    def previous(self) -> LocalWindow:
        """The window of the same length that ends the day before this one starts."""
        length = self.last_day - self.first_day
        last = self.first_day - timedelta(days=1)
        return LocalWindow.of(last - length, last, self.tz)


def local_midnight(day: date, tz: ZoneInfo) -> datetime:
    """The UTC instant at which `day` starts in `tz`."""
    return datetime.combine(day, time(), tzinfo=tz).astimezone(UTC)


def _offset(instant: datetime, tz: ZoneInfo) -> int:
    delta = instant.astimezone(tz).utcoffset()
    return int(delta.total_seconds()) if delta is not None else 0


def offset_segments(start: datetime, end: datetime, tz: ZoneInfo) -> tuple[OffsetSegment, ...]:
    """The offsets in force over [start, end): scans in 12-hour steps and bisects each change
    to the second (zones change offset at most a few times a year, never twice in 12 hours)."""
    step = timedelta(hours=12)
    segments = [OffsetSegment(start, _offset(start, tz))]
    cursor = start
    while cursor < end:
        probe = min(cursor + step, end)
        if _offset(probe, tz) != segments[-1].offset_seconds:
            low, high = cursor, probe  # offset(low) is the old one, offset(high) the new one
            while high - low > timedelta(seconds=1):
                middle = low + (high - low) / 2
                middle = middle.replace(microsecond=0)
                if middle <= low:
                    break
                if _offset(middle, tz) == segments[-1].offset_seconds:
                    low = middle
                else:
                    high = middle
            if high < end:
                segments.append(OffsetSegment(high, _offset(high, tz)))
        cursor = probe
    return tuple(segments)


# ---------------------------------------------------------------- SQL expressions


@dataclass(frozen=True, slots=True)
class LocalParts:
    day: ColumnElement[Any]
    """The local calendar day: 'YYYY-MM-DD' text on SQLite, a DATE on MariaDB."""
    weekday: ColumnElement[int]
    """0 = Monday … 6 = Sunday."""
    hour: ColumnElement[int]


class SqlTime:
    """The dialect-specific spelling of the few time operations the statistics need."""

    def __init__(self, dialect: str) -> None:
        if dialect not in ("sqlite", "mysql"):
            raise ValueError(f"no time arithmetic for the {dialect!r} dialect")
        self.dialect = dialect

    def micros_between(
        self, start: ColumnElement[Any], end: ColumnElement[Any]
    ) -> ColumnElement[int]:
        """`end - start` in whole microseconds, exact on both databases."""
        if self.dialect == "mysql":
            return sa.func.timestampdiff(sa.text("MICROSECOND"), start, end)
        return (self._epoch_seconds(end) - self._epoch_seconds(start)) * 1_000_000 + (
            self._micro_digits(end) - self._micro_digits(start)
        )

    @staticmethod
    def _epoch_seconds(column: ColumnElement[Any]) -> ColumnElement[int]:
        whole = sa.func.substr(column, 1, 19)
        return sa.cast(sa.func.strftime("%s", whole), sa.BigInteger)

    @staticmethod
    def _micro_digits(column: ColumnElement[Any]) -> ColumnElement[int]:
        return sa.cast(sa.func.substr(column, 21, 6), sa.BigInteger)

    def local_parts(self, column: ColumnElement[Any], window: LocalWindow) -> LocalParts:
        """Day, weekday and hour of a naive-UTC column in the window's zone, per DST segment."""
        offset = _offset_case(column, window.segments)
        if self.dialect == "mysql":
            local = sa.func.timestampadd(sa.text("SECOND"), offset, column)
            return LocalParts(
                day=sa.func.date(local), weekday=sa.func.weekday(local), hour=sa.func.hour(local)
            )
        modifier = sa.cast(offset, sa.String) + sa.literal(" seconds")
        local = sa.func.datetime(sa.func.substr(column, 1, 19), modifier)
        sunday_first = sa.cast(sa.func.strftime("%w", local), sa.Integer)
        return LocalParts(
            day=sa.func.date(local),
            weekday=(sunday_first + 6) % 7,
            hour=sa.cast(sa.func.strftime("%H", local), sa.Integer),
        )


def _offset_case(
    column: ColumnElement[Any], segments: Sequence[OffsetSegment]
) -> ColumnElement[int]:
    """The offset in seconds in force at `column`: a constant, or a CASE over DST segments."""
    if len(segments) == 1:
        return sa.literal(segments[0].offset_seconds, sa.Integer)
    whens = [
        (column < later.start, sa.literal(earlier.offset_seconds, sa.Integer))
        for earlier, later in itertools.pairwise(segments)
    ]
    return sa.case(*whens, else_=sa.literal(segments[-1].offset_seconds, sa.Integer))


def nearest_rank_pick(
    rank: ColumnElement[int], count: ColumnElement[int], value: ColumnElement[Any], percent: int
) -> ColumnElement[Any]:
    """`value` on the row whose 1-based `rank` is ceil(percent/100 · count), else NULL: wrap in
    MAX() to get the nearest-rank percentile of a group."""
    hit = sa.and_(rank * 100 >= count * percent, (rank - 1) * 100 < count * percent)
    return sa.case((hit, value), else_=sa.null())


def seconds(micros: Any) -> float | None:
    """Microseconds from SQL (`SqlTime.micros_between`) as the seconds reports show."""
    return None if micros is None else round(int(micros) / 1_000_000, 3)
