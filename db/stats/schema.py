"""The JSON shape of `GET /api/stats` (docs/metrics.md defines every field)."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field

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


class Percentiles(BaseModel):
    """A duration distribution in seconds, all null when count is 0. p50/p90 are nearest-rank:
    exact on the exact path, within `Stats.percentile_relative_error` from the rollups."""

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
    withdrawn: int = 0
    """Handoffs the user withdrew while waiting ("never mind, it's fixed", confirmed)."""


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
    percentile_relative_error: float = 0.0
    """Bound on the relative error of every p50/p90 (and agents' medians): 0.02 from the
    rollups (`GET /api/stats`), 0 from the exact path."""
