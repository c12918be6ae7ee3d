"""The API process's statistics fold task: folds rooms into the rollups after commits.

The fold itself (what a room contributes, how a round finds changed rooms) is db/rollups.py;
this module only decides when a round runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections.abc import Iterable
from functools import partial
from typing import Any

from db.rollups import BACKSTOP_SECONDS, fold_round

log = logging.getLogger(__name__)


class RollupFolder:
    """The API process's fold task. `notify(room_ids)` (the message writer, after each commit)
    queues rooms to fold; `notify()` (after any commit) only wakes it. A round runs `debounce`
    seconds after a wake-up, or every `interval` seconds, and every `backstop` seconds it also
    looks for open rooms nobody folded (another process's, or one that died first)."""

    def __init__(
        self,
        db: Any,
        *,
        interval: float = 5.0,
        debounce: float = 2.0,
        backstop: float = BACKSTOP_SECONDS,
    ) -> None:
        self._db = db
        self._interval = interval
        self._debounce = debounce
        self._backstop = backstop
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._pending: set[str] = set()
        self._last_backstop = -math.inf
        self.rounds = 0

    def notify(self, room_ids: Iterable[str] = ()) -> None:
        """Cheap and synchronous: called on the event loop after commits."""
        self._pending.update(room_ids)
        self._wake.set()

    async def start(self) -> None:
        self._db.after_commit.append(self.notify)
        self._task = asyncio.create_task(self._run(), name="rollup-fold")

    async def stop(self) -> None:
        with contextlib.suppress(ValueError):
            self._db.after_commit.remove(self.notify)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def fold_now(self, *, backstop: bool = True) -> int:
        """One round, now: rooms changed. The queued rooms go back in the queue if it fails."""
        rooms, self._pending = self._pending, set()
        try:
            async with self._db.write(notify=False) as session:
                changed: int = await session.run_sync(
                    lambda s: fold_round(s.connection(), rooms=rooms, backstop=backstop)
                )
        except BaseException:
            self._pending |= rooms
            raise
        self.rounds += 1
        return changed

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._interval)
            await asyncio.sleep(self._debounce)  # one round for a busy stretch of commits
            self._wake.clear()
            backstop = loop.time() - self._last_backstop >= self._backstop
            try:
                # Detached: stop() cancels this loop, never a write.
                await self._db.detached(partial(self.fold_now, backstop=backstop))
            except Exception:  # the next round retries; rebuild repairs what it cannot
                log.exception("statistics fold round failed")
            else:
                if backstop:
                    self._last_backstop = loop.time()
