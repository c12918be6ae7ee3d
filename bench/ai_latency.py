"""AI latency benchmark.

(a) What Tandem adds to a model's stream: time from the upstream writing its first token to the
    user's WebSocket receiving the first `ai.delta`. The OpenAI-compatible upstream is the
    local SSE test server; upstream, API and client run in this one process and event loop, so
    the figure includes their competing for it (an upper bound on what the API adds).
(b) The offline assistant's time to first token with a 500-article knowledge base.

    .venv/bin/python bench/ai_latency.py --replies 200 --questions 1000
    .venv/bin/python bench/ai_latency.py --replies 0     # (b) only: no API, no sockets
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import websockets

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from api.ai.base import ReplyRequest, Turn  # noqa: E402
from api.ai.offline import OfflineAssistant  # noqa: E402
from api.ai.retrieval import KnowledgeBase  # noqa: E402
from tests.api.ai.fake_openai import FakeOpenAI, Script  # noqa: E402
from tests.api.ai.test_retrieval import OFF_TOPIC, QUESTIONS, synthetic_articles  # noqa: E402
from tests.conftest import make_settings, start_server  # noqa: E402


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


async def added_latency(replies: int) -> list[float]:
    fake = FakeOpenAI()
    await fake.start()
    fake.default = Script(chunks=["Sure", ", here", " is", " the", " answer."])
    added: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        settings = make_settings(
            f"sqlite+aiosqlite:///{tmp}/ai.db",
            openai_api_key="bench-key",
            openai_base_url=fake.url + "/v1",
            rate_limits=False,  # 200 questions in one room would be throttled: measure, not limit
        )
        async for server in start_server(settings):
            room_id, token = await server.new_room()
            url = f"{server.ws_url}/ws/rooms/{room_id}?token={token}"
            async with websockets.connect(url, compression=None) as ws:
                await ws.recv()
                for n in range(replies):
                    await ws.send(json.dumps({"type": "message", "text": f"question {n}"}))
                    while True:
                        frame = json.loads(await ws.recv())
                        if frame["type"] == "error":
                            raise RuntimeError(f"the API refused question {n}: {frame}")
                        if frame["type"] == "ai.delta":
                            added.append(time.perf_counter() - fake.first_token_at[-1])
                            break
                    while frame["type"] != "message" or frame["message"]["sender"] != "ai":
                        frame = json.loads(await ws.recv())
    await fake.stop()
    return added


async def offline_first_token(questions: int) -> tuple[int, list[float]]:
    kb = KnowledgeBase.from_articles(synthetic_articles(list(KnowledgeBase.load().articles)))
    assistant = OfflineAssistant(kb)
    pool = [q for q, _ in QUESTIONS] + OFF_TOPIC
    timings: list[float] = []
    for n in range(questions):
        request = ReplyRequest("bench", [Turn("user", "User", pool[n % len(pool)])])
        start = time.perf_counter()
        stream = assistant.reply(request)
        await anext(stream)
        timings.append(time.perf_counter() - start)
        await stream.aclose()  # type: ignore[attr-defined]
    return len(kb), timings


def row(name: str, values: list[float], target: str) -> str:
    p50, p99 = 1000 * statistics.median(values), 1000 * percentile(values, 0.99)
    return f"| {name} | {len(values)} | {p50:.2f} | {p99:.2f} | {target} |"


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--replies", type=int, default=200)
    parser.add_argument("--questions", type=int, default=1000)
    args = parser.parse_args()
    added = await added_latency(args.replies) if args.replies else []
    articles, offline = await offline_first_token(args.questions)
    print("| measure | samples | p50 ms | p99 ms | target |")
    print("|---|---:|---:|---:|---|")
    if added:
        print(row("upstream first token → user's first ai.delta", added, "p50 ≤ 10 ms"))
    print(row(f"offline time to first token, {articles} articles", offline, "p99 ≤ 50 ms"))


if __name__ == "__main__":
    asyncio.run(main())
