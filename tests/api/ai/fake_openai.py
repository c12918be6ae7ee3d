"""A local OpenAI-compatible server for tests: real HTTP, real SSE, scripted per test.

Each request to /v1/chat/completions takes the next `Script` from the queue (or the default):
text in chunks, a tool call split across chunks, an HTTP error, a hang, a malformed chunk.
Requests are recorded so tests can read what the model was sent.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from tests.conftest import free_port


@dataclass
class Script:
    chunks: list[str] = field(default_factory=lambda: ["Hello", " from", " the", " model."])
    delay: float = 0.0
    """Seconds before each chunk."""
    tool_call: str | None = None
    """Call this tool (arguments split over several chunks) after the text."""
    status: int = 200
    retry_after: str | None = None
    hang: float = 0.0
    """Sleep this long before answering at all."""
    malformed_after: int | None = None
    """Send a chunk that is not JSON after this many good ones."""
    stream: bool | None = None
    """Only for a streamed (True) or a plain (False) request; None: the next one either way
    (a reply streams, a brief does not, and which one asks first is a race)."""


class FakeOpenAI:
    def __init__(self) -> None:
        self.scripts: deque[Script] = deque()
        self.default = Script()
        self.requests: list[dict[str, Any]] = []
        self.first_token_at: list[float] = []
        """time.perf_counter() when each stream's first text chunk was written."""
        self.disconnected = 0
        self.url = ""
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None

    def script(self, *scripts: Script) -> None:
        self.scripts.extend(scripts)

    async def start(self) -> None:
        app = Starlette(routes=[Route("/v1/chat/completions", self._completions, methods=["POST"])])
        port = free_port()
        config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve())
        for _ in range(500):
            if self._server.started:
                break
            await asyncio.sleep(0.01)
        self.url = f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            await self._task

    async def _completions(self, request: Request) -> Response:
        body = await request.json()
        self.requests.append(body)
        streamed = bool(body.get("stream"))
        script = next((s for s in self.scripts if s.stream in (None, streamed)), self.default)
        if script is not self.default:
            self.scripts.remove(script)
        if script.hang:
            await asyncio.sleep(script.hang)
        if script.status != 200:
            headers = {"retry-after": script.retry_after} if script.retry_after else {}
            error = {"error": {"message": "scripted failure", "type": "server_error"}}
            return JSONResponse(error, status_code=script.status, headers=headers)
        if not body.get("stream"):
            text = "".join(script.chunks)
            return JSONResponse(_completion(body["model"], text))
        return StreamingResponse(
            self._stream(body["model"], script), media_type="text/event-stream"
        )

    async def _stream(self, model: str, script: Script) -> AsyncIterator[str]:
        try:
            for n, text in enumerate(script.chunks):
                if script.delay:
                    await asyncio.sleep(script.delay)
                if script.malformed_after is not None and n == script.malformed_after:
                    yield "data: {this is not json\n\n"
                    return
                if n == 0:
                    self.first_token_at.append(time.perf_counter())
                yield _sse(_chunk(model, {"content": text}))
            if script.tool_call:
                call = {"index": 0, "id": "call_1", "type": "function"}
                yield _sse(
                    _chunk(
                        model,
                        {
                            "tool_calls": [
                                {
                                    **call,
                                    "function": {"name": script.tool_call, "arguments": '{"rea'},
                                }
                            ]
                        },
                    )
                )
                yield _sse(
                    _chunk(
                        model,
                        {
                            "tool_calls": [
                                {"index": 0, "function": {"arguments": 'son": "user asked"}'}}
                            ]
                        },
                    )
                )
            yield _sse(_chunk(model, {}, finish="tool_calls" if script.tool_call else "stop"))
            yield "data: [DONE]\n\n"
        except asyncio.CancelledError:
            self.disconnected += 1
            raise


def _sse(payload: dict[str, Any]) -> str:
    return f"data: {json.dumps(payload)}\n\n"


def _chunk(model: str, delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


def _completion(model: str, text: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
        ],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }
