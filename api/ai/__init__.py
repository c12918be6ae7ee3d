"""Assistants: the offline FAQ assistant by default, a real model when a key is configured."""

from __future__ import annotations

from api.ai.base import Assistant
from api.config import Settings


def make_assistant(settings: Settings) -> Assistant:
    from api.ai.offline import OfflineAssistant

    return OfflineAssistant(chunk_delay=settings.ai_chunk_delay_seconds)
