"""The bound /api/stats gives a percentile, stated once for the tests that hold the rollups to
it (docs/metrics.md, "Precision").

A percentile read off the rollups' histogram is within `ALPHA` (relative) of the exact
nearest-rank value; like every duration it is then reported in seconds rounded to the
millisecond (`db.sqltime.seconds`), which adds up to half a millisecond. So a 0.0553 s first
reply may be reported as 0.054 s: 2 % of it is 1.1 ms, the rounding 0.5 ms more.
"""

from __future__ import annotations

from db.rollup_buckets import ALPHA

REPORTED_STEP = 0.001
"""Seconds are reported rounded to this (the millisecond)."""
SLACK = 1e-6
"""The histogram's bucket read back in whole microseconds, and float arithmetic."""


def percentile_tolerance(exact: float, *, exact_rounded: bool = False) -> float:
    """How far a reported percentile may be from `exact` (seconds): ALPHA·exact plus half a
    millisecond of rounding. `exact_rounded`: `exact` was itself reported rounded to the
    millisecond (the exact path's figure), so the true value is up to half a millisecond
    away from it too."""
    half = REPORTED_STEP / 2
    if exact_rounded:
        return ALPHA * (abs(exact) + half) + 2 * half + SLACK
    return ALPHA * abs(exact) + half + SLACK


def assert_percentile(
    reported: float | None, exact: float, *, exact_rounded: bool = False, what: str = ""
) -> None:
    """`reported` is within the bound of `exact` (see `percentile_tolerance`)."""
    assert reported is not None, what
    tolerance = percentile_tolerance(exact, exact_rounded=exact_rounded)
    assert abs(reported - exact) <= tolerance, (
        f"{what}: {reported} is {abs(reported - exact):.6f} s from {exact}, "
        f"beyond {tolerance:.6f} s (2 % plus the millisecond rounding)"
    )


def assert_reported(reported: float | None, exact: float, *, what: str = "") -> None:
    """An exact figure (mean, max, the exact path's percentile) as reported: `exact` rounded
    to the millisecond."""
    assert reported is not None, what
    assert abs(reported - exact) <= REPORTED_STEP / 2 + SLACK, f"{what}: {reported} vs {exact}"
