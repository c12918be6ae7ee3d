"""Publishing after commit: in order, in the background, and never an error for the sender.

A message is a success for its sender once it is committed. Publishing it is best effort: the
frames go out in the order `push` was called (one round trip for whatever queued meanwhile),
and a publish that fails is logged and dropped. Sockets never rely on every publish arriving:
they fill any gap from the database (see `api/realtime/cursor.py`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable

from api.realtime.hub import Hub

log = logging.getLogger(__name__)

PUBLISH_TIMEOUT_SECONDS = 5.0
MAX_BACKLOG = 100_000
"""Frames waiting for a broker that does not answer, at most; older ones are dropped (the
sockets' backstop catches up from the database)."""


class Publisher:
    def __init__(self, hub: Hub) -> None:
        self._hub = hub
        self._items: list[tuple[str, str]] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="publisher")

    def push(self, items: Iterable[tuple[str, str]]) -> None:
        """Queue frames (channel, frame) to publish after those queued before."""
        self._items.extend(items)
        if len(self._items) > MAX_BACKLOG:
            dropped = len(self._items) - MAX_BACKLOG
            del self._items[:dropped]
            log.warning("publish backlog full: %d frames dropped", dropped)
        self._wake.set()

    async def stop(self) -> None:
        """Publish what is queued (bounded), then stop."""
        if self._task is None:
            return
        task, self._task = self._task, None
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        if self._items:
            await self._publish()

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            await self._publish()

    async def _publish(self) -> None:
        items, self._items = self._items, []
        if not items:
            return
        try:
            async with asyncio.timeout(PUBLISH_TIMEOUT_SECONDS):
                await self._hub.publish_many(items)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.warning(
                "publishing %d frames failed; sockets catch up from the database",
                len(items),
                exc_info=True,
            )
