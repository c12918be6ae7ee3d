"""Broker backends: how published events reach every API process's hub.

`memory://` is one process: a publish is handed straight to the local fan-out. `redis://` is
Redis pub/sub: every process publishes to Redis and one reader task per process hands what
arrives to its fan-out. Either way the hub only ever sees `on_event(channel, message)`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Event:
    channel: str
    message: str


OnEvent = Callable[[Event], None]
OnReconnect = Callable[[], None]


class BrokerBackend(ABC):
    def __init__(self) -> None:
        self._on_event: OnEvent = lambda event: None
        self._on_reconnect: OnReconnect = lambda: None

    async def connect(self, on_event: OnEvent, on_reconnect: OnReconnect | None = None) -> None:
        """`on_reconnect` is called when the connection to the broker came back after a loss
        (events published meanwhile were lost)."""
        self._on_event = on_event
        if on_reconnect is not None:
            self._on_reconnect = on_reconnect

    async def disconnect(self) -> None:
        return None

    @abstractmethod
    async def subscribe(self, channel: str) -> None: ...

    @abstractmethod
    async def unsubscribe(self, channel: str) -> None: ...

    @abstractmethod
    async def publish_many(self, items: Sequence[tuple[str, str]]) -> None:
        """Publish in order, in one round trip where the broker allows it."""

    async def ping(self) -> None:  # noqa: B027 - memory has nothing to ask
        """Raise when the broker does not answer (for /readyz)."""


class MemoryBackend(BrokerBackend):
    """One process: publishing is local delivery, with no hop through a queue or a task."""

    async def subscribe(self, channel: str) -> None:
        return None

    async def unsubscribe(self, channel: str) -> None:
        return None

    async def publish_many(self, items: Sequence[tuple[str, str]]) -> None:
        for channel, message in items:
            self._on_event(Event(channel, message))


class RedisBackend(BrokerBackend):
    """Redis pub/sub: one connection publishes, one PubSub connection listens."""

    def __init__(self, url: str, *, reconnect_delay: float = 0.5) -> None:
        super().__init__()
        self._url = url
        self._reconnect_delay = reconnect_delay
        self._client: Any = None
        self._pubsub: Any = None
        self._reader: asyncio.Task[None] | None = None
        self._has_channels = asyncio.Event()
        self._confirmations: dict[str, asyncio.Future[None]] = {}
        self._commands = asyncio.Lock()
        """One (un)subscribe command written at a time on the PubSub connection (redis-py's
        PubSub is not safe for concurrent callers); confirmations are awaited outside it."""

    async def connect(self, on_event: OnEvent, on_reconnect: OnReconnect | None = None) -> None:
        import redis.asyncio as redis

        await super().connect(on_event, on_reconnect)
        self._client = redis.Redis.from_url(self._url, decode_responses=True)
        self._pubsub = self._client.pubsub()
        self._reader = asyncio.create_task(self._read(), name="redis-hub-reader")

    async def disconnect(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
            self._reader = None
        if self._pubsub is not None:
            await self._pubsub.aclose()
        if self._client is not None:
            await self._client.aclose()

    async def subscribe(self, channel: str) -> None:
        """Returns once Redis confirmed, so a publish right after is received."""
        confirmed = asyncio.get_running_loop().create_future()
        self._confirmations[channel] = confirmed
        async with self._commands:
            await self._pubsub.subscribe(channel)
        self._has_channels.set()
        try:
            await asyncio.wait_for(confirmed, timeout=5)
        finally:
            self._confirmations.pop(channel, None)

    async def unsubscribe(self, channel: str) -> None:
        async with self._commands:
            await self._pubsub.unsubscribe(channel)

    async def publish_many(self, items: Sequence[tuple[str, str]]) -> None:
        if len(items) == 1:
            await self._client.publish(*items[0])
            return
        async with self._client.pipeline(transaction=False) as pipe:
            for channel, message in items:
                pipe.publish(channel, message)
            await pipe.execute()

    async def ping(self) -> None:
        await self._client.ping()

    async def _read(self) -> None:
        """Hand every message to the hub; survive a dropped connection (PubSub reconnects and
        resubscribes on the next read, and then the hub hears that events were lost)."""
        lost = False
        while True:
            await self._has_channels.wait()
            try:
                message = await self._pubsub.get_message(timeout=1.0)
            except asyncio.CancelledError:
                raise
            except Exception:
                if not lost:
                    log.warning("Redis pub/sub read failed; reconnecting", exc_info=True)
                lost = True
                await asyncio.sleep(self._reconnect_delay)
                continue
            if lost:
                lost = False
                log.warning("Redis pub/sub reconnected; sockets catch up from the database")
                self._on_reconnect()
            if message is None:
                if not self._pubsub.subscribed:
                    self._has_channels.clear()
                continue
            kind = message["type"]
            if kind == "message":
                self._on_event(Event(message["channel"], message["data"]))
            elif kind == "subscribe":
                confirmed = self._confirmations.get(message["channel"])
                if confirmed is not None and not confirmed.done():
                    confirmed.set_result(None)


def backend_for_url(url: str) -> BrokerBackend:
    if url.startswith("memory://"):
        return MemoryBackend()
    if url.startswith(("redis://", "rediss://", "unix://")):
        return RedisBackend(url)
    raise ValueError(f"Unsupported broker URL {url!r}: use memory:// or redis://host:port/db")
