"""The OpenAI-compatible path against a real local server speaking the chat-completions SSE."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from api.ai.base import HandoffRequest, ReplyChunk, ReplyRequest, Turn
from api.ai.offline import OfflineAssistant
from api.ai.openai_assistant import OFFER_HUMAN, OpenAIAssistant, is_frustrated
from api.ai.prompt import SYSTEM_PROMPT
from api.ai.resilience import (
    BROKEN_STREAM_NOTE,
    FALLBACK_NOTICE,
    CircuitBreaker,
    ResilientAssistant,
)
from tests.api.ai.fake_openai import FakeOpenAI, Script


def make(fake: FakeOpenAI, *, timeout: float = 2.0, threshold: int = 5) -> ResilientAssistant:
    model = OpenAIAssistant(
        api_key="test-key", model="test-model", base_url=fake.url + "/v1", timeout=timeout
    )
    return ResilientAssistant(
        model,
        OfflineAssistant(),
        breaker=CircuitBreaker(threshold=threshold, cooldown=60),
        retries=2,
        backoff=0.01,
    )


@pytest.fixture
async def assistant(fake: FakeOpenAI) -> AsyncIterator[ResilientAssistant]:
    made = make(fake)
    yield made
    await made.aclose()


def ask(*texts: str) -> ReplyRequest:
    return ReplyRequest("room-1", [Turn("user", "User", t) for t in texts])


async def collect(assistant: ResilientAssistant, request: ReplyRequest) -> list[ReplyChunk]:
    return [chunk async for chunk in assistant.reply(request)]


async def test_a_streamed_answer_arrives_chunk_by_chunk(
    fake: FakeOpenAI, assistant: ResilientAssistant
) -> None:
    fake.script(Script(chunks=["Standard ", "shipping ", "takes 2-4 days."]))
    chunks = await collect(assistant, ask("how long does shipping take?"))
    assert chunks == ["Standard ", "shipping ", "takes 2-4 days."]


async def test_the_model_is_grounded_in_articles_and_the_whole_history(
    fake: FakeOpenAI, assistant: ResilientAssistant
) -> None:
    history = [
        Turn("user", "User", "my parcel is late"),
        Turn("system", "Tandem", "Alice joined the chat."),
        Turn("agent", "Alice", "It left our warehouse yesterday."),
        Turn("user", "User", "can I return shoes I wore once?"),
    ]
    await collect(assistant, ReplyRequest("room-1", history))
    sent = fake.requests[-1]
    system = sent["messages"][0]
    assert system["role"] == "system" and system["content"].startswith(SYSTEM_PROMPT)
    assert "Returns policy" in system["content"] or "return" in system["content"].lower()
    contents = [m["content"] for m in sent["messages"][1:]]
    assert "[Agent Alice] It left our warehouse yesterday." in contents
    assert contents[-1] == "can I return shoes I wore once?"
    assert sent["stream"] is True
    assert sent["tools"][0]["function"]["name"] == "request_human_agent"


async def test_a_tool_call_asks_for_a_human(
    fake: FakeOpenAI, assistant: ResilientAssistant
) -> None:
    fake.script(Script(chunks=["Let me get someone."], tool_call="request_human_agent"))
    chunks = await collect(assistant, ask("I need to speak with a manager about fraud"))
    assert chunks == ["Let me get someone.", HandoffRequest("tool_call")]


async def test_429_then_success_retries_once(
    fake: FakeOpenAI, assistant: ResilientAssistant
) -> None:
    fake.script(Script(status=429, retry_after="0"), Script(chunks=["Back ", "again."]))
    chunks = await collect(assistant, ask("do you ship to Canada?"))
    assert chunks == ["Back ", "again."]
    assert len(fake.requests) == 2


async def test_500s_fall_back_and_then_open_the_breaker(fake: FakeOpenAI) -> None:
    assistant = make(fake, threshold=2)
    fake.default = Script(status=500)
    try:
        for _ in range(2):
            chunks = await collect(assistant, ask("how do I reset my password?"))
            assert chunks[0] == FALLBACK_NOTICE
            assert "password" in "".join(c for c in chunks if isinstance(c, str)).lower()
        assert len(fake.requests) == 2 * 3  # each reply tried three times
        assert assistant.breaker.is_open
        chunks = await collect(assistant, ask("how do I reset my password?"))
        assert chunks[0] == FALLBACK_NOTICE
        assert len(fake.requests) == 6  # the open breaker did not call the model
    finally:
        await assistant.aclose()


async def test_a_model_that_never_answers_times_out_to_the_fallback(fake: FakeOpenAI) -> None:
    assistant = make(fake, timeout=0.3)
    fake.default = Script(hang=1)
    try:
        chunks = await collect(assistant, ask("what are your opening hours?"))
        assert chunks[0] == FALLBACK_NOTICE and len(chunks) > 1
    finally:
        await assistant.aclose()


async def test_a_malformed_first_chunk_falls_back(
    fake: FakeOpenAI, assistant: ResilientAssistant
) -> None:
    fake.default = Script(malformed_after=0)
    chunks = await collect(assistant, ask("do you sell gift cards?"))
    assert chunks[0] == FALLBACK_NOTICE


async def test_a_stream_that_breaks_midway_keeps_what_was_said(
    fake: FakeOpenAI, assistant: ResilientAssistant
) -> None:
    fake.script(Script(chunks=["One ", "two ", "three"], malformed_after=2))
    chunks = await collect(assistant, ask("tell me about returns"))
    assert chunks == ["One ", "two ", BROKEN_STREAM_NOTE]
    assert len(fake.requests) == 1  # streamed text is never repeated by a retry


async def test_two_ungrounded_questions_in_a_row_offer_a_person(
    fake: FakeOpenAI, assistant: ResilientAssistant
) -> None:
    chunks = await collect(
        assistant, ask("what is the capital of Peru?", "who won the 1998 world cup?")
    )
    assert chunks[-1] == OFFER_HUMAN
    grounded = await collect(
        assistant, ask("what is the capital of Peru?", "how do I return shoes?")
    )
    assert OFFER_HUMAN not in grounded


@pytest.mark.parametrize(
    ("text", "frustrated"),
    [
        ("this is useless", True),
        ("WHY IS MY ORDER NOT HERE", True),
        ("where is my order!!!", True),
        ("where is my order?", False),
        ("I love the NEW shoes", False),
    ],
)
def test_frustration_is_read_from_plain_signs(text: str, frustrated: bool) -> None:
    assert is_frustrated(text) is frustrated


async def test_the_brief_is_written_by_the_model(
    fake: FakeOpenAI, assistant: ResilientAssistant
) -> None:
    fake.script(Script(chunks=["Wants a refund for a late parcel; AI explained refund timing."]))
    brief = await assistant.brief([Turn("user", "User", "my refund for the late parcel?")])
    assert brief == "Wants a refund for a late parcel; AI explained refund timing."
    assert fake.requests[-1].get("stream") in (None, False)


async def test_the_brief_falls_back_to_the_extractive_one(fake: FakeOpenAI) -> None:
    assistant = make(fake)
    fake.default = Script(status=500)
    try:
        brief = await assistant.brief([Turn("user", "User", "I forgot my password")])
        assert "I forgot my password" in brief
    finally:
        await assistant.aclose()
