"""What the model is told: who it is, what it may not do, the articles, the conversation.

Kept apart from the client code so the grounding rules can be read (and tested) on their own.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from api.ai.base import Turn
from api.ai.retrieval import Hit
from api.language import FALLBACK, NAMES, detect_language

SYSTEM_PROMPT = """\
You are the customer-support assistant of Tandem Store, an online shop for clothing, shoes and \
home goods. You chat with customers in a support window; human agents can take over.

Rules:
- Answer only from the help-center articles given below. If they do not cover the question, \
say so plainly and offer to connect the customer to a person. Never invent order details, \
tracking numbers, prices, dates or policies.
- You cannot look up or change orders, issue refunds or grant exceptions: a human agent can.
- Never claim to be a human. Be brief, friendly and concrete; use the customer's language.
- When the customer asks for a person, is clearly upset, or needs something only a human can \
do, call the tool request_human_agent with a short reason instead of answering at length.
"""

HANDOFF_TOOL: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": "request_human_agent",
        "description": "Hand the conversation to a human support agent.",
        "parameters": {
            "type": "object",
            "properties": {
                "reason": {"type": "string", "description": "Why a human should take over."}
            },
            "required": ["reason"],
        },
    },
}

HISTORY_BUDGET_CHARS = 6000
"""Roughly 1,500 tokens of conversation; the newest turns are kept."""


def articles_block(hits: Sequence[Hit]) -> str:
    if not hits:
        return "Help-center articles: none matched this question."
    parts = [f"## {hit.article.title}\n{hit.article.body}" for hit in hits]
    return "Help-center articles (the only facts you may use):\n\n" + "\n\n".join(parts)


def to_chat_message(turn: Turn) -> dict[str, str]:
    if turn.sender == "user":
        return {"role": "user", "content": turn.text}
    if turn.sender == "ai":
        return {"role": "assistant", "content": turn.text}
    if turn.sender == "agent":
        return {"role": "assistant", "content": f"[Agent {turn.author}] {turn.text}"}
    return {"role": "system", "content": f"[Notice] {turn.text}"}


def trim_history(history: Sequence[Turn], budget: int = HISTORY_BUDGET_CHARS) -> list[Turn]:
    """The newest turns that fit in `budget` characters (the last one always)."""
    kept: list[Turn] = []
    used = 0
    for turn in reversed(history):
        used += len(turn.text)
        if kept and used > budget:
            break
        kept.append(turn)
    return list(reversed(kept))


def language_line(history: Sequence[Turn]) -> str:
    """ "The customer writes in Spanish." when the newest user message is clearly not English."""
    text = next((t.text for t in reversed(history) if t.sender == "user"), "")
    language = detect_language(text)
    if language == FALLBACK:
        return ""
    return (
        f"- The customer's latest message is in {NAMES[language]}: answer in {NAMES[language]}.\n"
    )


WHILE_WAITING_LINE = (
    "- The customer has already asked for a person and is waiting in the queue for one. "
    "Answer their question from the articles meanwhile; do not offer or promise a person, "
    "and do not say the person has arrived.\n"
)


def build_messages(
    history: Sequence[Turn], hits: Sequence[Hit], *, while_waiting: bool = False
) -> list[dict[str, str]]:
    waiting = WHILE_WAITING_LINE if while_waiting else ""
    system = SYSTEM_PROMPT + language_line(history) + waiting + "\n" + articles_block(hits)
    return [{"role": "system", "content": system}] + [
        to_chat_message(turn) for turn in trim_history(history)
    ]


BRIEF_PROMPT = (
    "Summarise this support chat for the human agent taking it over, in at most four short "
    "sentences: what the customer needs now (their latest need, not only their first "
    "question), why it was handed to a person, what the assistant already tried, and what "
    "the customer said while waiting (lines marked 'while waiting'), if anything."
)


def brief_transcript(history: Sequence[Turn], *, reason: str | None, turns: int = 30) -> str:
    """The chat as the brief's model reads it: one line per turn, the waiting ones marked."""
    lines = [f"[Handed to a person; reason: {reason}]"] if reason else []
    for turn in history[-turns:]:
        mark = " (while waiting)" if turn.while_waiting else ""
        lines.append(f"{turn.sender}{mark}: {turn.text}")
    return "\n".join(lines)
