"""Scripted demo conversations: one room's history built in time order (`Conversation`) and
the random but plausible turns that make it (`Scripts`), for `tools/demo_data.py` to write.

The notices' texts come from `api.room_states`; agents write only while they hold the room.
"""

from __future__ import annotations

import bisect
import itertools
import math
import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from api import room_states
from api.ai.retrieval import Article
from api.replies import AI_AUTHOR
from api.waiting import CONFIRM_WITHDRAW
from db import room_log
from db.models import EventKind, Role, RoomStatus, Sender

AGENT_WEIGHTS = (0.3, 0.25, 0.2, 0.15, 0.1)
"""Some agents work more shifts than others: the per-agent table should not be flat."""

HANDOFF_REASONS = (("phrase", 0.45), ("button", 0.33), ("tool_call", 0.13), ("ungrounded", 0.09))
HUMAN_PHRASES = (
    "connect me to an agent",
    "I want to speak to a human",
    "talk to agent",
    "can I talk to a real person",
    "I'd like to speak to someone from support, please",
)
USER_WHILE_WAITING = ("hello?", "still there?", "ok I'll wait", "thanks")
AGENT_OPENERS = (
    "Hi, I'm {name}. I've read the conversation, let me have a look.",
    "Hello! {name} here, thanks for waiting. Could you give me your order number?",
    "Hi there, this is {name}. I'm checking this for you now.",
)
AGENT_FOLLOW_UPS = (
    "Thanks, I can see the order. I've sorted it out on our side.",
    "I've sent you an email with the details.",
    "That's been updated now, you'll get a confirmation shortly.",
    "I understand, I've escalated this to our warehouse team.",
)
AGENT_CLOSERS = ("Is there anything else I can help with?", "Have a lovely day!")
USER_TO_AGENT = (
    "It's order 48213.",
    "Thanks, that helps!",
    "Great, thank you.",
    "OK, and how long will that take?",
    "Perfect.",
)
AI_UNSURE = "I'm not sure I have a reliable answer to that, let me get a colleague for you."
USER_SORTED = ("never mind, it's fixed now", "all good, I found it myself", "forget it, sorted")


@dataclass(frozen=True, slots=True)
class DemoAgent:
    id: int
    email: str
    name: str
    role: Role
    password: str | None = None
    """Random, set only when this run created the account (shown once, never stored)."""


# ---------------------------------------------------------------- one conversation


class Conversation:
    """One room's history, built in time order, to be written through the room log."""

    def __init__(self, room_id: str, created_at: datetime) -> None:
        self.now = created_at
        self.agent_id: int | None = None
        """Who holds the room: what a transition leaves in `rooms.agent_id`."""
        self.brief: str | None = None
        self.closed_at: datetime | None = None
        self.user_wrote = False
        self.history = room_log.History(room_id, created_at)

    def after(self, seconds: float) -> datetime:
        self.now += timedelta(seconds=max(seconds, 0.001))
        return self.now

    def message(
        self,
        sender: Sender,
        text: str,
        *,
        author: str,
        agent_id: int | None = None,
        while_waiting: bool = False,
    ) -> None:
        self.user_wrote = self.user_wrote or sender is Sender.user
        self.history.steps.append(
            room_log.MessageDraft(
                room_id=self.history.room_id,
                sender=sender,
                author=author,
                text=text,
                agent_id=agent_id,
                created_at=self.now,
                while_waiting=while_waiting,
            )
        )

    def transition(
        self, to: RoomStatus | None, kind: EventKind, reason: str, notice: str, *, by: int | None
    ) -> None:
        """A state change (`to` None: a notice that leaves the state alone, `no_agent`)."""
        self.history.steps.append(
            room_log.Transition(
                room_id=self.history.room_id,
                kind=kind,
                reason=reason,
                notice=notice,
                at=self.now,
                to_status=to,
                holder=self.agent_id,
                by=by,
            )
        )


class Scripts:
    """Random but plausible conversations; every choice comes from one seeded generator."""

    def __init__(self, rng: random.Random, articles: tuple[Article, ...], agents: list[DemoAgent]):
        self.rng = rng
        self.articles = articles
        self.agents = [a for a in agents if a.role is not Role.analyst]
        self.reasons = [r for r, _ in HANDOFF_REASONS]
        self.reason_weights = list(itertools.accumulate(w for _, w in HANDOFF_REASONS))
        self.agent_weights = list(itertools.accumulate(AGENT_WEIGHTS[: len(self.agents)]))

    # -- texts

    def question(self, article: Article) -> str:
        tags = [t for t in article.tags if " " in t] or list(article.tags) or [article.title]
        tag = self.rng.choice(tags)
        template = self.rng.choice(
            ("{t}?", "Hi, {t}?", "Quick question: {t}?", "Hello, can you help me with {t}?")
        )
        return template.format(t=tag)

    def answer(self, article: Article) -> str:
        paragraph = article.body.split("\n\n")[0].replace("*", "")
        return paragraph[:600]

    def lognormal(self, median: float, sigma: float, cap: float) -> float:
        return min(self.rng.lognormvariate(math.log(median), sigma), cap)

    # -- turns

    def ai_exchange(self, c: Conversation, article: Article) -> None:
        c.after(self.lognormal(25, 0.8, 600))
        c.message(Sender.user, self.question(article), author="User")
        c.after(self.rng.uniform(1.0, 4.0))
        c.message(Sender.ai, self.answer(article), author=AI_AUTHOR)

    def agent_pick(self, exclude: int | None = None) -> DemoAgent:
        for _ in range(10):
            agent = self.agents[
                bisect.bisect(self.agent_weights, self.rng.random() * self.agent_weights[-1])
            ]
            if agent.id != exclude or len(self.agents) == 1:
                return agent
        return agent

    def close(self, c: Conversation, by_agent: DemoAgent | None) -> None:
        c.after(self.lognormal(40, 0.7, 900))
        by = by_agent.name if by_agent else "the customer"
        c.closed_at = c.now
        c.transition(
            RoomStatus.closed,
            EventKind.closed,
            "agent" if by_agent else "user",
            room_states.notice_closed(by),
            by=by_agent.id if by_agent else None,
        )

    def request_human(self, c: Conversation, article: Article, reason: str) -> None:
        if reason == "phrase":
            c.after(self.lognormal(20, 0.6, 300))
            c.message(Sender.user, self.rng.choice(HUMAN_PHRASES), author="User")
        elif reason == "ungrounded":
            c.after(self.lognormal(25, 0.8, 600))
            c.message(Sender.user, self.question(article) + " It's complicated.", author="User")
            c.after(self.rng.uniform(1.0, 3.0))
            c.message(Sender.ai, AI_UNSURE, author=AI_AUTHOR)
        elif reason == "tool_call":
            self.ai_exchange(c, article)
        c.after(self.rng.uniform(0.05, 1.0))

    def agent_stint(
        self, c: Conversation, agent: DemoAgent, busy: float, *, transferred: bool = False
    ) -> str:
        """Join (or receive a transfer), talk, then end one of five ways; returns how it
        ended."""
        c.agent_id = agent.id
        kind, notice = (
            (EventKind.transferred, room_states.notice_transferred(agent.name))
            if transferred
            else (EventKind.joined, room_states.notice_joined(agent.name))
        )
        c.transition(RoomStatus.agent, kind, "agent", notice, by=agent.id)
        if self.rng.random() < 0.97:
            c.after(self.lognormal(20 * busy, 0.7, 900))
            opener = self.rng.choice(AGENT_OPENERS).format(name=agent.name.split()[0])
            c.message(Sender.agent, opener, author=agent.name, agent_id=agent.id)
            for _ in range(self.rng.randint(1, 5)):
                c.after(self.lognormal(30, 0.7, 900))
                c.message(Sender.user, self.rng.choice(USER_TO_AGENT), author="User")
                c.after(self.lognormal(45, 0.7, 900))
                text = self.rng.choice(AGENT_FOLLOW_UPS)
                c.message(Sender.agent, text, author=agent.name, agent_id=agent.id)
            c.after(self.lognormal(20, 0.5, 300))
            closer = self.rng.choice(AGENT_CLOSERS)
            c.message(Sender.agent, closer, author=agent.name, agent_id=agent.id)
        if not transferred and len(self.agents) > 1 and self.rng.random() < 0.08:
            c.after(self.lognormal(60, 0.6, 900))  # a colleague who knows the topic better
            return self.agent_stint(c, self.agent_pick(agent.id), busy, transferred=True)
        roll = self.rng.random()
        if roll < 0.68:
            self.close(c, agent)
            return "closed"
        if roll < 0.80:
            self.close(c, None)
            return "closed"
        if roll < 0.94:
            c.after(self.lognormal(30, 0.5, 600))
            c.agent_id = None
            c.transition(
                RoomStatus.ai,
                EventKind.left,
                "agent_left",
                room_states.notice_left(agent.name),
                by=agent.id,
            )
            return "left"
        return "open"

    def handoff(self, c: Conversation, article: Article, busy: float, exclude: int | None) -> None:
        reason = self.reasons[
            bisect.bisect(self.reason_weights, self.rng.random() * self.reason_weights[-1])
        ]
        self.request_human(c, article, reason)
        c.transition(
            RoomStatus.waiting, EventKind.handoff, reason, room_states.notice_handoff(1), by=None
        )
        c.brief = f"The customer asks about {article.title.lower()}."
        wait = self.lognormal(50 * busy, 0.9, 3 * 3600)
        roll = self.rng.random()
        if roll < 0.06:  # gives up in the queue
            if self.rng.random() < 0.5:
                c.after(wait / 2)
                c.message(Sender.user, self.rng.choice(USER_WHILE_WAITING), author="User")
            c.after(wait)
            self.close(c, None)
            return
        if roll < 0.08:  # still waiting
            return
        if roll < 0.11:  # sorted it out while waiting, and confirmed (api/waiting.py)
            c.after(wait / 2)
            c.message(Sender.user, self.rng.choice(USER_SORTED), author="User")
            c.after(self.rng.uniform(0.5, 2.0))
            c.message(Sender.ai, CONFIRM_WITHDRAW, author=AI_AUTHOR, while_waiting=True)
            c.after(self.lognormal(8, 0.5, 120))
            c.message(Sender.user, "yes", author="User")
            c.transition(
                RoomStatus.ai, EventKind.withdrawn, "user", room_states.NOTICE_WITHDRAWN, by=None
            )
            if self.rng.random() < 0.7:
                self.close(c, None)
            return
        if self.rng.random() < 0.3:
            c.after(wait / 3)
            c.message(Sender.user, self.rng.choice(USER_WHILE_WAITING), author="User")
        c.after(wait)
        agent = self.agent_pick(exclude)
        if self.agent_stint(c, agent, busy) != "left":
            return
        self.ai_exchange(c, self.rng.choice(self.articles))
        roll = self.rng.random()
        if roll < 0.35:
            self.handoff(c, self.rng.choice(self.articles), busy, exclude=agent.id)
        elif roll < 0.8:
            self.close(c, None)

    def conversation(self, room_id: str, created_at: datetime, busy: float) -> Conversation:
        c = Conversation(room_id, created_at)
        article = self.rng.choice(self.articles)
        roll = self.rng.random()
        if roll < 0.55 or not self.agents:  # the AI alone
            for _ in range(self.rng.randint(1, 6)):
                self.ai_exchange(c, article)
                article = self.rng.choice(self.articles) if self.rng.random() < 0.3 else article
            if self.rng.random() < 0.6:
                self.close(c, None)
        elif roll < 0.62:  # asked for a human while nobody was online
            self.ai_exchange(c, article)
            reason = "phrase" if self.rng.random() < 0.6 else "button"
            self.request_human(c, article, reason)
            c.transition(None, EventKind.no_agent, reason, room_states.NOTICE_NO_AGENT, by=None)
            for _ in range(self.rng.randint(0, 2)):
                self.ai_exchange(c, article)
            if self.rng.random() < 0.5:
                self.close(c, None)
        else:
            for _ in range(self.rng.randint(0, 2)):
                self.ai_exchange(c, article)
            self.handoff(c, article, busy, exclude=None)
        return c
