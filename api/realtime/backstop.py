"""One backstop per process: every socket's rooms re-checked against the database, cheaply.

A publish can be lost without any socket hearing of it (another process's publish failed, or
it died between commit and publish), so every socket's rooms must be compared with the
database now and then. One query per socket every few seconds would be thousands of queries a
second at 10,000 sockets; instead one task per process reads `last_seq` for the union of the
rooms its sockets watch (one query per `CHUNK` rooms) every `CHECK_SECONDS`, and wakes only
the sockets found behind. Each such socket fills its gap itself (`Cursor.confirm`), after
`CONFIRM_SECONDS` unless a round was asked for at once (the broker reconnected).

The guarantee is unchanged: a socket either receives every message of its rooms in seq order
or is closed (1012) when a gap cannot be filled; never a silent gap.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterator, Sequence

from api.realtime.cursor import CATCH_UP_SECONDS, CONFIRM_SECONDS, Cursor

log = logging.getLogger(__name__)

CHECK_SECONDS = 5.0
"""At most this long between two checks of a socket's rooms."""
CHUNK = 500
"""Rooms per `IN (...)` list."""

Heads = Callable[[Sequence[str]], Awaitable[dict[str, tuple[int, int | None]]]]
"""room ids → {room_id: (last_seq, holding agent id or None)}; rooms that do not exist are left
out."""
Wake = Callable[[float], None]
"""Wake a socket's outgoing loop at a loop time (`Subscription.wake_at`)."""


class Backstop:
    def __init__(self, heads: Heads, *, period: float = CHECK_SECONDS, chunk: int = CHUNK) -> None:
        self._heads = heads
        self._period = period
        self._chunk = chunk
        self._watched: dict[Cursor, Wake] = {}
        self._task: asyncio.Task[None] | None = None
        self._poke = asyncio.Event()
        self._asked: asyncio.Future[None] | None = None
        self.rounds = 0
        """Rounds run so far (each one query per CHUNK rooms): for tests and metrics."""

    @contextlib.contextmanager
    def watching(self, cursor: Cursor, wake: Wake) -> Iterator[None]:
        """Check `cursor`'s rooms for as long as the block runs; the task runs while anyone
        is watched."""
        self._watched[cursor] = wake
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="socket-backstop")
        try:
            yield
        finally:
            self._watched.pop(cursor, None)
            if not self._watched and self._task is not None:
                self._task.cancel()
                self._task = None

    async def check_now(self) -> None:
        """Wait for a round that starts after this call and fills at once (events were lost);
        raises what made that round fail. Many callers share one round."""
        if self._asked is None:
            self._asked = asyncio.get_running_loop().create_future()
        asked = self._asked
        self._poke.set()
        await asyncio.shield(asked)

    async def _run(self) -> None:
        while self._watched:
            if not self._poke.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._poke.wait(), timeout=self._period)
            self._poke.clear()
            asked, self._asked = self._asked, None
            try:
                await self._round(at_once=asked is not None)
            except asyncio.CancelledError:
                if asked is not None and not asked.done():
                    asked.cancel()
                raise
            except Exception as exc:
                log.warning("socket backstop: reading last_seq failed", exc_info=True)
                if asked is not None and not asked.done():
                    asked.set_exception(exc)
                    asked.exception()  # retrieved: callers that left need not see it
            else:
                if asked is not None and not asked.done():
                    asked.set_result(None)

    async def _round(self, *, at_once: bool) -> None:
        self.rounds += 1
        asked = {cursor: dict(cursor.last) for cursor in self._watched}
        rooms = sorted({room_id for last in asked.values() for room_id in last})
        heads: dict[str, tuple[int, int | None]] = {}
        async with asyncio.timeout(CATCH_UP_SECONDS):
            for start in range(0, len(rooms), self._chunk):
                heads.update(await self._heads(rooms[start : start + self._chunk]))
        loop = asyncio.get_running_loop()
        due = loop.time() + (0.0 if at_once else CONFIRM_SECONDS)
        for cursor, last in asked.items():
            wake = self._watched.get(cursor)
            if wake is not None and cursor.compare(last, heads, due=due):
                wake(cursor.due if cursor.due is not None else due)
