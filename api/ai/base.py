"""The one interface every assistant implements, so the room service never knows which model
answers: the offline FAQ assistant, an OpenAI-compatible model, or a test double server."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Literal

Sender = Literal["user", "ai", "agent", "system"]


@dataclass(frozen=True, slots=True)
class Turn:
    """One transcript line as an assistant sees it (human agents' lines included)."""

    sender: Sender
    author: str
    text: str
    while_waiting: bool = False
    """Written while the room waited for a person (the user's lines then, the AI's answers)."""


@dataclass(frozen=True, slots=True)
class HandoffRequest:
    """Yielded instead of text when the assistant decides a human should take over."""

    reason: str


ReplyChunk = str | HandoffRequest


@dataclass(frozen=True, slots=True)
class ReplyRequest:
    room_id: str
    history: Sequence[Turn]
    """The whole transcript, oldest first; the last turn is the user message to answer."""
    while_waiting: bool = False
    """The user already waits for a person: answer, but don't offer one (they are in the queue)."""


class Assistant(ABC):
    """Streams a reply as text chunks; may yield one `HandoffRequest` to ask for a human."""

    name: str = "assistant"

    @abstractmethod
    def reply(self, request: ReplyRequest) -> AsyncIterator[ReplyChunk]:
        """An async generator of reply chunks; the concatenated `str` chunks are the reply."""

    async def brief(self, history: Sequence[Turn], *, reason: str | None = None) -> str:
        """A short summary for the agent who picks the room from the queue; `reason`: why
        it was handed over (the handoff event's reason)."""
        wants = [t.text for t in history if t.sender == "user"]
        return wants[0][:200] if wants else ""

    async def aclose(self) -> None:  # noqa: B027 - optional hook, most assistants hold nothing
        """Release connections; the app's lifespan calls it on shutdown."""
