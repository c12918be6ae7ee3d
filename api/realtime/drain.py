"""Graceful shutdown: SIGTERM drains the process before uvicorn stops it.

1. `/readyz` answers 503 (the load balancer stops sending new clients) and new sockets are
   closed with 1012 as they open;
2. AI replies in flight get `drain_seconds` to finish (their messages are stored);
3. every socket closes with 1012 (clients reconnect elsewhere and resume by seq);
4. uvicorn's own SIGTERM handling runs: it stops accepting, and the lifespan's shutdown
   stores what the writer still has queued.

uvicorn handles SIGTERM with `signal.signal`; the lifespan runs inside that, so `install`
puts the drain in front of uvicorn's handler and calls it once drained.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Awaitable, Callable, Iterator
from types import FrameType
from typing import Any

log = logging.getLogger(__name__)

CLOSE_REASON = "server restarting: reconnect and resume"
SOCKETS_CLOSE_SECONDS = 3.0


class Drain:
    def __init__(self) -> None:
        self.draining = False
        self.closing = asyncio.Event()
        """Set when sockets must close with 1012."""
        self._closing_future: asyncio.Future[None] | None = None
        self._sockets = 0
        self._no_sockets = asyncio.Event()
        self._no_sockets.set()
        self._task: asyncio.Task[None] | None = None
        self._restore: Callable[[], None] | None = None

    @contextlib.contextmanager
    def socket(self) -> Iterator[None]:
        """Count an open socket for as long as its handler runs."""
        self._sockets += 1
        self._no_sockets.clear()
        try:
            yield
        finally:
            self._sockets -= 1
            if self._sockets == 0:
                self._no_sockets.set()

    def closing_future(self) -> asyncio.Future[None]:
        """Done when sockets must close with 1012: one future every socket waits on, instead
        of a task per socket around `closing.wait()`. Never cancel it."""
        if self._closing_future is None:
            self._closing_future = asyncio.get_running_loop().create_future()
            if self.closing.is_set():
                self._closing_future.set_result(None)
        return self._closing_future

    def install(self, replies_idle: Callable[[], Awaitable[None]], seconds: float) -> None:
        """Drain on SIGTERM, then hand the signal to whoever handled it before (uvicorn)."""
        loop = asyncio.get_running_loop()
        try:
            previous = signal.getsignal(signal.SIGTERM)
        except ValueError:  # not the main thread: nothing to catch
            return

        def then_exit() -> None:
            if callable(previous):
                previous(signal.SIGTERM, None)
            else:  # no server of ours to tell: do what the signal would have done
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                signal.raise_signal(signal.SIGTERM)

        def on_sigterm(signum: int, frame: FrameType | None) -> None:
            if self._task is None:
                start = self._start(replies_idle, seconds, then_exit)
                loop.call_soon_threadsafe(start)

        try:
            signal.signal(signal.SIGTERM, on_sigterm)
        except ValueError:
            return
        self._restore = lambda: _restore(previous)

    def uninstall(self) -> None:
        if self._restore is not None:
            self._restore()
            self._restore = None
        if self._task is not None:
            self._task.cancel()

    def _start(
        self,
        replies_idle: Callable[[], Awaitable[None]],
        seconds: float,
        then_exit: Callable[[], None],
    ) -> Callable[[], None]:
        def start() -> None:
            if self._task is None:
                self._task = asyncio.create_task(self.run(replies_idle, seconds, then_exit))

        return start

    async def run(
        self,
        replies_idle: Callable[[], Awaitable[None]],
        seconds: float,
        then_exit: Callable[[], None],
    ) -> None:
        self.draining = True
        log.warning("SIGTERM: draining (AI replies get up to %.0f s)", seconds)
        try:
            await asyncio.wait_for(replies_idle(), timeout=seconds)
        except TimeoutError:
            log.warning("drain: AI replies still in flight after %.0f s", seconds)
        except Exception:
            log.exception("drain: waiting for AI replies failed")
        self.closing.set()
        if self._closing_future is not None and not self._closing_future.done():
            self._closing_future.set_result(None)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._no_sockets.wait(), timeout=SOCKETS_CLOSE_SECONDS)
        then_exit()


def _restore(previous: Any) -> None:
    with contextlib.suppress(ValueError, TypeError):
        signal.signal(signal.SIGTERM, previous)
