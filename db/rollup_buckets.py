"""The time and value grid of the statistics rollups: 15-minute UTC slots and their day, 7- and
28-day blocks, and the log-bucket histogram of durations (DDSketch's mapping: bucket i holds
(γ^(i-1), γ^i] µs, γ = (1+α)/(1−α), α = 0.02, and reads back as 2γ^i/(γ+1): within 2 % of
every value in it). The fold (db/rollups.py) writes on it; the readers (db/stats/) read it.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

SLOT_SECONDS = 900
"""15 minutes: every UTC offset in use (…, +5:30, +5:45, +12:45) is a multiple, so every
local day and hour of every zone is a whole number of slots."""
DAY_SECONDS = 86_400
SPANS = (SLOT_SECONDS, DAY_SECONDS, 7 * DAY_SECONDS, 28 * DAY_SECONDS)
"""Each key is kept per 15-minute slot and summed per UTC day, 7 and 28 days (blocks aligned
to 1970-01-01): a range reads the fewest, largest blocks that tile it."""
BLOCK_SECONDS = SPANS[-1]

ALPHA = 0.02
"""Relative error bound of a percentile read from the histograms."""
GAMMA = (1 + ALPHA) / (1 - ALPHA)
_LOG_GAMMA = math.log(GAMMA)
ZERO_BUCKET = -1
"""Bucket of the value 0 (a reply at the instant of the join): read back as exactly 0."""


def bucket_of(micros: int) -> int:
    """The histogram bucket of a value in microseconds: ceil(log_γ(x)), 0 → ZERO_BUCKET."""
    if micros <= 0:
        return ZERO_BUCKET
    return max(0, math.ceil(math.log(micros) / _LOG_GAMMA - 1e-9))


def bucket_value(bucket: int) -> float:
    """The value (µs) a bucket reads back as: within ALPHA of anything in it."""
    if bucket == ZERO_BUCKET:
        return 0.0
    return 2 * GAMMA**bucket / (GAMMA + 1)


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def slot_of(moment: datetime) -> int:
    """The start (seconds since 1970, UTC) of the 15-minute slot `moment` falls in."""
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    seconds = (aware - EPOCH) // timedelta(seconds=1)
    return seconds - seconds % SLOT_SECONDS
