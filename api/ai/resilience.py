"""Never a dead end: retries with backoff, a circuit breaker, and the offline assistant behind.

`ResilientAssistant` wraps a remote assistant. Failures before the first chunk are retried
(429 honouring Retry-After, 5xx, timeouts, dropped connections); when retries run out, or the
breaker is open, the offline assistant answers and the user is told. A failure after text has
streamed ends the reply with what was said and a note: streamed text is never repeated.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import AsyncIterator, Sequence

from api.ai.base import Assistant, ReplyChunk, ReplyRequest, Turn

log = logging.getLogger(__name__)

FALLBACK_NOTICE = "(Our AI model isn't responding right now, so here's what our help center says.) "
BROKEN_STREAM_NOTE = (
    "\n\n(The connection to our AI model dropped mid-answer. Ask again, or say "
    "'talk to an agent' to reach a person.)"
)


class UpstreamError(Exception):
    """A failure of the remote model; `retry_after` is the wait it asked for, if any."""

    def __init__(self, message: str, *, retryable: bool, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after


class CircuitBreaker:
    """Opens after `threshold` failed replies in a row; lets one try through after `cooldown`."""

    def __init__(self, *, threshold: int = 5, cooldown: float = 30.0) -> None:
        self.threshold = threshold
        self.cooldown = cooldown
        self.failures = 0
        self.opened_at: float | None = None

    @property
    def is_open(self) -> bool:
        if self.opened_at is None:
            return False
        return time.monotonic() - self.opened_at < self.cooldown

    def allow(self) -> bool:
        """False while open; after the cooldown one reply is let through (half-open)."""
        if self.opened_at is None:
            return True
        if self.is_open:
            return False
        self.opened_at = time.monotonic()  # half-open: one try, reopened until it succeeds
        return True

    def record_success(self) -> None:
        self.failures = 0
        self.opened_at = None

    def record_failure(self) -> None:
        self.failures += 1
        if self.failures >= self.threshold:
            self.opened_at = time.monotonic()


class ResilientAssistant(Assistant):
    def __init__(
        self,
        primary: Assistant,
        fallback: Assistant,
        *,
        breaker: CircuitBreaker | None = None,
        retries: int = 2,
        backoff: float = 0.5,
        max_backoff: float = 8.0,
    ) -> None:
        self.primary = primary
        self.fallback = fallback
        self.breaker = breaker or CircuitBreaker()
        self.retries = retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.name = primary.name

    async def reply(self, request: ReplyRequest) -> AsyncIterator[ReplyChunk]:
        if self.breaker.allow():
            for attempt in range(self.retries + 1):
                started = False
                stream = self.primary.reply(request)
                try:
                    async for chunk in stream:
                        started = True
                        yield chunk
                    self.breaker.record_success()
                    return
                except UpstreamError as exc:
                    if started:
                        log.warning("AI stream broke mid-answer: %s", exc)
                        self.breaker.record_failure()
                        yield BROKEN_STREAM_NOTE
                        return
                    if not exc.retryable or attempt == self.retries:
                        log.warning("AI model failed (%s); the offline assistant answers", exc)
                        self.breaker.record_failure()
                        break
                    await asyncio.sleep(self._delay(attempt, exc.retry_after))
                finally:
                    await stream.aclose()  # type: ignore[attr-defined]
        yield FALLBACK_NOTICE
        async for chunk in self.fallback.reply(request):
            yield chunk

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(retry_after, self.max_backoff)
        base = min(self.backoff * 2**attempt, self.max_backoff)
        return base * (0.5 + random.random() / 2)  # full jitter would retry too eagerly

    async def brief(self, history: Sequence[Turn], *, reason: str | None = None) -> str:
        if self.breaker.allow():
            try:
                brief = await self.primary.brief(history, reason=reason)
                if brief:
                    return brief
            except Exception as exc:
                log.warning("AI brief failed (%s); using the extractive one", exc)
        return await self.fallback.brief(history, reason=reason)

    async def aclose(self) -> None:
        await self.primary.aclose()
        await self.fallback.aclose()
