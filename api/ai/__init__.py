"""Assistants: the offline FAQ assistant by default, a real model when a key is configured."""

from __future__ import annotations

from api.ai.base import Assistant
from api.config import Settings


def make_assistant(settings: Settings) -> Assistant:
    """An OpenAI-compatible model behind retries, a breaker and the offline fallback, when
    OPENAI_API_KEY is set; the offline FAQ assistant otherwise."""
    from api.ai.offline import OfflineAssistant
    from api.ai.retrieval import KnowledgeBase
    from api.ai.semantic import embedder_from_settings

    # These settings, not the environment's: an app made with its own (tests) honours them.
    kb = KnowledgeBase.load(embedder=embedder_from_settings(settings))
    offline = OfflineAssistant(kb, chunk_delay=settings.ai_chunk_delay_seconds)
    key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else ""
    if not key:
        return offline

    from api.ai.openai_assistant import OpenAIAssistant
    from api.ai.resilience import CircuitBreaker, ResilientAssistant

    model = OpenAIAssistant(
        api_key=key,
        model=settings.ai_model,
        base_url=settings.openai_base_url or None,
        kb=offline.kb,
        timeout=settings.ai_timeout_seconds,
    )
    return ResilientAssistant(
        model,
        offline,
        breaker=CircuitBreaker(
            threshold=settings.ai_breaker_failures, cooldown=settings.ai_breaker_cooldown_seconds
        ),
        retries=settings.ai_retries,
        backoff=settings.ai_backoff_seconds,
    )
