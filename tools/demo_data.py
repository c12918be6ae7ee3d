"""Realistic demo conversations for the statistics page and the benchmark (`tandem demo-data`).

Why not through the room service: 100,000 conversations must load in minutes, and one commit
per message would take hours. Each conversation is scripted in memory as a history, and many
histories are written in one transaction through the room log (`db.room_log.write_histories`),
the same functions the service and the writer use, so seqs, counters and spans follow the same
rules. The notices' texts come from `api.room_states`; agents write only while they hold the room.

The mix: AI-only chats, requests that found nobody online, handoffs by phrase/button/tool_call/
ungrounded answered after a queue wait, abandoned in the queue or still waiting, agents who
leave and hand the chat back to the AI (sometimes to a second agent later), closed and open
rooms; transfers between agents; requests the user withdrew while waiting; ratings of closed
chats (written through `db.ratings.rate_room`, as the API does); more chats on weekdays and in
business hours of `tz`.
"""

from __future__ import annotations

import bisect
import itertools
import random
import secrets
import time as clock
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from api.ai.retrieval import KnowledgeBase
from api.auth import hash_password_off_loop
from db import queries, ratings, room_log
from db.engine import Database
from db.models import Role, utcnow
from tools.demo_scripts import Conversation, DemoAgent, Scripts

DEMO_AGENTS: tuple[tuple[str, str, Role], ...] = (
    ("demo-ada@tandem.example", "Ada Park", Role.agent),
    ("demo-ben@tandem.example", "Ben Okafor", Role.agent),
    ("demo-chloe@tandem.example", "Chloé Martin", Role.agent),
    ("demo-dev@tandem.example", "Dev Sharma", Role.agent),
    ("demo-eva@tandem.example", "Eva Lindqvist", Role.agent),
    ("demo-analyst@tandem.example", "Ana Lytics", Role.analyst),
)
WEEKDAY_WEIGHTS = (1.0, 1.05, 1.0, 0.95, 0.9, 0.5, 0.35)
HOUR_WEIGHTS = (
    0.1, 0.05, 0.05, 0.05, 0.05, 0.1, 0.25, 0.5, 1.0, 1.6, 1.9, 1.9,
    1.4, 1.5, 1.8, 1.7, 1.5, 1.2, 0.9, 0.8, 0.7, 0.55, 0.35, 0.2,
)  # fmt: skip
"""Relative chat volume per local hour: a morning peak, a lunch dip, a quiet night."""

RATING_WEIGHTS = ((5, 0.5), (4, 0.25), (3, 0.1), (2, 0.07), (1, 0.08))
RATING_COMMENTS = {
    5: ("Quick and friendly, thanks!", "Solved in minutes."),
    4: ("Good help.", "Fine, a bit of a wait."),
    3: ("OK.",),
    2: ("Took too long.",),
    1: ("Nobody could answer my question.", "Still not solved."),
}
RATED_SHARE = 0.35
"""Of the closed chats a user wrote in, how many get rated."""


@dataclass(slots=True)
class DemoSummary:
    conversations: int = 0
    messages: int = 0
    events: int = 0
    ratings: int = 0
    seconds: float = 0.0
    agents: list[DemoAgent] = field(default_factory=list)


# ---------------------------------------------------------------- when chats start


class _Calendar:
    """Start times over the last `days` local days before `now`, weighted by weekday and hour."""

    def __init__(self, rng: random.Random, *, days: int, tz: ZoneInfo, now: datetime) -> None:
        self.rng = rng
        today = now.astimezone(tz).date()
        slots: list[tuple[datetime, float]] = []
        for back in range(days, 0, -1):
            day = today - timedelta(days=back)
            for hour in range(24):
                weight = WEEKDAY_WEIGHTS[day.weekday()] * HOUR_WEIGHTS[hour]
                slots.append((datetime.combine(day, time(hour), tzinfo=tz), weight))
        self.starts = [s for s, _ in slots]
        self.weights = [w for _, w in slots]
        self.cumulative = list(itertools.accumulate(self.weights))
        self.peak = max(self.weights)

    def pick(self) -> tuple[datetime, float]:
        """A UTC start time, and how busy that hour is (0..1, longer queue waits when busy)."""
        index = bisect.bisect(self.cumulative, self.rng.random() * self.cumulative[-1])
        local = self.starts[index] + timedelta(seconds=self.rng.uniform(0, 3600))
        busy = 0.6 + self.weights[index] / self.peak
        return local.astimezone(UTC), busy


# ---------------------------------------------------------------- the loader


async def ensure_demo_agents(db: Database) -> list[DemoAgent]:
    """The demo agents and analyst, created when missing with random passwords of their own
    (existing ones keep theirs): a fixed demo password would log anyone into any demo."""
    passwords = {email: secrets.token_urlsafe(12) for email, _, _ in DEMO_AGENTS}
    hashes = {email: await hash_password_off_loop(pw) for email, pw in passwords.items()}
    agents: list[DemoAgent] = []
    async with db.write() as session:
        for email, name, role in DEMO_AGENTS:
            agent = await queries.get_agent_by_email(session, email=email)
            created = agent is None
            if agent is None:
                agent = await queries.create_agent(
                    session, email=email, name=name, role=role, password_hash=hashes[email]
                )
            assert agent.id is not None
            password = passwords[email] if created else None
            agents.append(DemoAgent(agent.id, email, agent.name, agent.role, password))
    return agents


def _rating(rng: random.Random, chat: Conversation) -> tuple[int, str | None, datetime] | None:
    """Some closed chats the user wrote in get a score (mostly good), a few a comment, a few
    minutes after the close."""
    if chat.closed_at is None or not chat.user_wrote or rng.random() >= RATED_SHARE:
        return None
    scores = [score for score, _ in RATING_WEIGHTS]
    score = rng.choices(scores, weights=[w for _, w in RATING_WEIGHTS])[0]
    comment = rng.choice(RATING_COMMENTS[score]) if rng.random() < 0.3 else None
    return score, comment, chat.closed_at + timedelta(seconds=rng.uniform(5, 600))


async def _write(
    db: Database, chats: list[Conversation], summary: DemoSummary, rng: random.Random
) -> None:
    """Write `chats` through the room log in one transaction, and count what that wrote."""
    async with db.write() as session:
        await room_log.write_histories(session, histories=[c.history for c in chats])
        await queries.set_room_briefs(
            session, briefs={c.history.room_id: c.brief for c in chats if c.brief is not None}
        )
        for chat in chats:
            rated = _rating(rng, chat)
            if rated is not None:
                score, comment, at = rated
                await ratings.rate_room(
                    session, room_id=chat.history.room_id, score=score, comment=comment, at=at
                )
                summary.ratings += 1
                summary.events += 1  # its `rated` event
    for chat in chats:
        steps = chat.history.steps
        transitions = sum(isinstance(step, room_log.Transition) for step in steps)
        summary.conversations += 1
        summary.messages += len(steps)  # every transition writes a notice
        summary.events += transitions + 1  # and `created`


async def generate(
    db: Database,
    *,
    conversations: int,
    days: int = 42,
    seed: int | None = None,
    tz: str = "Europe/Berlin",
    now: datetime | None = None,
    batch_messages: int = 5000,
    progress: Callable[[DemoSummary], None] | None = None,
) -> DemoSummary:
    """Insert `conversations` demo chats started over the `days` days before `now`'s date."""
    if conversations < 0 or days < 1:
        raise ValueError("conversations must be >= 0 and days >= 1")
    started = clock.perf_counter()
    rng = random.Random(seed)
    agents = await ensure_demo_agents(db)
    scripts = Scripts(rng, KnowledgeBase.load().articles, agents)
    calendar = _Calendar(rng, days=days, tz=ZoneInfo(tz), now=now or utcnow())
    summary = DemoSummary(agents=agents)
    chats: list[Conversation] = []
    pending = 0
    for _ in range(conversations):
        room_id = uuid.uuid4().hex  # not seeded: a re-run with the same seed adds new rooms
        created_at, busy = calendar.pick()
        chat = scripts.conversation(room_id, created_at, busy)
        chats.append(chat)
        pending += len(chat.history.steps)
        if pending >= batch_messages:
            await _write(db, chats, summary, rng)
            chats, pending = [], 0
            if progress is not None:
                progress(summary)
    await _write(db, chats, summary, rng)
    summary.seconds = clock.perf_counter() - started
    return summary
