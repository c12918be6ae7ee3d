from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.api.ai.fake_openai import FakeOpenAI


@pytest.fixture
async def fake() -> AsyncIterator[FakeOpenAI]:
    server = FakeOpenAI()
    await server.start()
    yield server
    await server.stop()
