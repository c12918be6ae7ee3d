"""Replies from any OpenAI-compatible model (OpenAI, Azure-style gateways, Ollama, vLLM, LM Studio),
streamed as they come, grounded in the same knowledge base the offline assistant uses."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Sequence
from typing import Any

import openai
from openai import AsyncOpenAI

from api.ai.base import Assistant, HandoffRequest, ReplyChunk, ReplyRequest, Turn
from api.ai.prompt import BRIEF_PROMPT, HANDOFF_TOOL, brief_transcript, build_messages
from api.ai.resilience import UpstreamError
from api.ai.retrieval import KnowledgeBase

OFFER_HUMAN = (
    "\n\nIf you'd rather talk to a person, say 'talk to an agent' or press *Talk to a person*."
)
_FRUSTRATED = re.compile(
    r"\b(useless|ridiculous|stupid|terrible|worst|wtf|nonsense|angry|furious|frustrat\w*|"
    r"annoy\w*|waste of (my )?time|not helpful|doesn'?t help|fed up|unacceptable)\b",
    re.IGNORECASE,
)


def is_frustrated(text: str) -> bool:
    """Plain signs only: angry words, a string of exclamation marks, or shouting."""
    if _FRUSTRATED.search(text) or "!!!" in text:
        return True
    words = [w for w in re.findall(r"[A-Za-z]{2,}", text)]
    return len(words) >= 3 and sum(w.isupper() for w in words) / len(words) > 0.6


class OpenAIAssistant(Assistant):
    name = "openai"

    def __init__(
        self,
        *,
        api_key: str,
        model: str,
        base_url: str | None = None,
        kb: KnowledgeBase | None = None,
        timeout: float = 30.0,
        first_token_timeout: float | None = None,
        chunk_timeout: float | None = None,
    ) -> None:
        self.model = model
        self.kb = kb or KnowledgeBase.load()
        self.first_token_timeout = first_token_timeout or timeout
        self.chunk_timeout = chunk_timeout or timeout
        # Retries are ours (ResilientAssistant): the SDK's would repeat streamed text.
        self._client = AsyncOpenAI(
            api_key=api_key, base_url=base_url, timeout=timeout, max_retries=0
        )

    async def reply(self, request: ReplyRequest) -> AsyncIterator[ReplyChunk]:
        questions = [t.text for t in request.history if t.sender == "user"]
        question = questions[-1] if questions else ""
        # In threads: a lookup embeds the question (CPU), off the event loop.
        lookup = await asyncio.to_thread(self.kb.lookup, question)
        messages = build_messages(request.history, lookup.hits, while_waiting=request.while_waiting)
        stream = await self._open(messages, tools=not request.while_waiting)
        calls: dict[int, dict[str, str]] = {}
        try:
            chunks = stream.__aiter__()
            while True:
                chunk = await self._next(chunks)
                if chunk is None:
                    break
                if not chunk.choices:
                    continue
                delta = chunk.choices[0].delta
                if delta.content:
                    yield delta.content
                for call in delta.tool_calls or ():
                    entry = calls.setdefault(call.index, {"name": "", "arguments": ""})
                    if call.function is not None:
                        entry["name"] += call.function.name or ""
                        entry["arguments"] += call.function.arguments or ""
        finally:
            await stream.close()
        if any(c["name"] == "request_human_agent" for c in calls.values()):
            yield HandoffRequest("tool_call")
        elif request.while_waiting:
            return  # already in the queue: no offer of a person
        elif is_frustrated(question) or await asyncio.to_thread(
            self._ungrounded_twice, questions, lookup.confident
        ):
            yield OFFER_HUMAN

    async def brief(self, history: Sequence[Turn], *, reason: str | None = None) -> str:
        transcript = brief_transcript(history, reason=reason)
        try:
            response = await asyncio.wait_for(
                self._client.chat.completions.create(
                    model=self.model,
                    messages=[
                        {"role": "system", "content": BRIEF_PROMPT},
                        {"role": "user", "content": transcript},
                    ],
                    max_tokens=200,
                ),
                timeout=min(10.0, self.first_token_timeout),
            )
        except (openai.OpenAIError, TimeoutError) as exc:
            raise UpstreamError(str(exc), retryable=False) from exc
        content = response.choices[0].message.content if response.choices else None
        return (content or "").strip()[:1000]

    async def aclose(self) -> None:
        await self._client.close()

    def _ungrounded_twice(self, questions: list[str], confident_now: bool) -> bool:
        """This question and the one before found no article: offer a person."""
        if confident_now or len(questions) < 2:
            return False
        return not self.kb.lookup(questions[-2]).confident

    async def _open(self, messages: list[dict[str, str]], *, tools: bool = True) -> Any:
        """The model's stream; without `tools` (the user already waits for a person) it
        cannot hand over."""
        extra: dict[str, Any] = {"tools": [HANDOFF_TOOL]} if tools else {}
        try:
            return await asyncio.wait_for(
                self._client.chat.completions.create(
                    model=self.model,
                    messages=messages,  # type: ignore[arg-type]
                    stream=True,
                    **extra,
                ),
                timeout=self.first_token_timeout,
            )
        except TimeoutError as exc:
            raise UpstreamError("the model did not answer in time", retryable=True) from exc
        except openai.OpenAIError as exc:
            raise _upstream_error(exc) from exc

    async def _next(self, chunks: AsyncIterator[Any]) -> Any | None:
        try:
            return await asyncio.wait_for(anext(chunks), timeout=self.chunk_timeout)
        except StopAsyncIteration:
            return None
        except TimeoutError as exc:
            raise UpstreamError("the model stalled mid-answer", retryable=True) from exc
        except openai.OpenAIError as exc:
            raise _upstream_error(exc) from exc
        except (ValueError, KeyError, TypeError, json.JSONDecodeError) as exc:
            raise UpstreamError(f"malformed stream: {exc}", retryable=True) from exc


def _upstream_error(exc: openai.OpenAIError) -> UpstreamError:
    if isinstance(exc, openai.APIStatusError):
        retry_after = _retry_after(exc.response.headers.get("retry-after"))
        retryable = exc.status_code == 429 or exc.status_code >= 500
        return UpstreamError(
            f"HTTP {exc.status_code} from the model", retryable=retryable, retry_after=retry_after
        )
    # Connection errors, timeouts and anything else the SDK raises are worth another try.
    return UpstreamError(f"{type(exc).__name__}: {exc}", retryable=True)


def _retry_after(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None
