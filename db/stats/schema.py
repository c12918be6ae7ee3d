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
    closed_by_reason: dict[str, int] = Field(default_factory=dict)
    """The closed conversations by the reason on their closing event: `user`, `agent`, and
    apart from those `followup` (the user left an email, no agent online) and `abandoned`
    (the user was gone while waiting)."""


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


class Transfers(BaseModel):
    total: int
    """Transfers of the cohort's chats: to another agent, taken over, back to the queue."""
    by_reason: list[ReasonCount]
    """`agent`, `takeover` (an admin to themself), `queue`."""


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


class RatingFigures(BaseModel):
    """Ratings of the cohort's conversations (docs/metrics.md, "Ratings")."""

    count: int
    average: float | None
    """Mean score, 1–5."""
    csat: float | None
    """Share of ratings that are 4 or 5."""
    by_score: list[int]
    """How many ratings gave 1, 2, 3, 4, 5."""


class AgentRating(RatingFigures):
    agent_id: int | None
    """null: the AI (chats no agent held)."""
    name: str


class DayRating(RatingFigures):
    date: date


class Ratings(RatingFigures):
    response_rate: float | None
    """Rated conversations / closed conversations."""
    by_agent: list[AgentRating]
    by_day: list[DayRating]


def rating_figures(by_score: list[int]) -> RatingFigures:
    """count, average, csat from the counts of scores 1–5 (both paths use this)."""
    count = sum(by_score)
    if not count:
        return RatingFigures(count=0, average=None, csat=None, by_score=by_score)
    total = sum(score * n for score, n in zip(range(1, 6), by_score, strict=True))
    return RatingFigures(
        count=count,
        average=round(total / count, 3),
        csat=round((by_score[3] + by_score[4]) / count, 4),
        by_score=by_score,
    )


AI_NAME = "Assistant"


def ratings_report(
    *,
    closed: int,
    days: list[date],
    scores: dict[tuple[date, int | None], list[int]],
    names: dict[int, str],
) -> Ratings:
    """The `ratings` section from score counts per (local day, agent), day-filled."""
    overall = [0] * 5
    per_agent: dict[int | None, list[int]] = {}
    per_day: dict[date, list[int]] = {}
    for (day, agent), counts in scores.items():
        targets = (overall, per_agent.setdefault(agent, [0] * 5), per_day.setdefault(day, [0] * 5))
        for target in targets:
            for i, n in enumerate(counts):
                target[i] += n
    agents = [
        AgentRating(
            agent_id=agent,
            name=AI_NAME if agent is None else names.get(agent, f"agent {agent}"),
            **rating_figures(counts).model_dump(),
        )
        for agent, counts in per_agent.items()
        if sum(counts)
    ]
    agents.sort(key=lambda a: (-a.count, a.agent_id is None, a.name, a.agent_id or 0))
    figures = rating_figures(overall)
    return Ratings(
        **figures.model_dump(),
        response_rate=round(figures.count / closed, 4) if closed else None,
        by_agent=agents,
        by_day=[
            DayRating(date=day, **rating_figures(per_day.get(day, [0] * 5)).model_dump())
            for day in days
        ],
    )


class Stats(BaseModel):
    range: RangeInfo
    conversations: Conversations
    handoffs: Handoffs
    no_agent: NoAgent
    transfers: Transfers = Field(default_factory=lambda: Transfers(total=0, by_reason=[]))
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
    ratings: Ratings | None = None
    """Filled by both paths; None only from an old caller."""
    percentile_relative_error: float = 0.0
    """Bound on the relative error of every p50/p90 (and agents' medians): 0.02 from the
    rollups (`GET /api/stats`), 0 from the exact path."""
