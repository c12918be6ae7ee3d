"""The hub: fan-out of already-serialised frames to local subscribers, over a broker backend.

Modelled on encode/broadcaster: `subscribe()` is an async context manager that registers a
bounded queue and always cleans up in `finally`. The backend is subscribed to a channel while
at least one local subscriber wants it. A subscriber that falls `max_queue` events behind is
marked overflowed (its iterator raises `SubscriberOverflow`) instead of slowing everyone else.
When the broker connection drops and comes back, events published meanwhile are lost: every
subscription is marked `missed`, and its socket catches up from the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import AsyncIterator, Callable, Sequence

from api.realtime.backends import Event, backend_for_url

log = logging.getLogger(__name__)


class SubscriberOverflow(Exception):
    """This subscriber fell too far behind; it should reconnect and resume."""


class Subscription:
    __slots__ = (
        "_events", "_loop", "_max", "_timer", "_waiter", "direct", "missed", "overflowed",
    )  # fmt: skip

    def __init__(self, max_queue: int) -> None:
        self._loop = asyncio.get_running_loop()
        """Kept: on Python 3.11 each `get_running_loop()` is a getpid system call."""
        self._events: deque[Event] | None = None
        """Made with the first event (an empty deque is ~0.75 KiB; most sockets idle)."""
        self._max = max_queue
        self._waiter: asyncio.Future[None] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self.overflowed = False
        self.missed = False
        """Events may have been lost (the broker reconnected): catch up, then clear it."""
        self.direct: Callable[[Event], bool] | None = None
        """Takes an event at once, when its reader waits with nothing queued (True: done):
        a socket sends the usual frame without waking its task (api/realtime/cursor.py)."""

    def mark_missed(self) -> None:
        self.missed = True
        self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def put(self, event: Event) -> None:
        if self.overflowed:
            return
        if self._waiter is not None and not self._events and self.direct is not None:
            try:
                if self.direct(event):
                    return
            except Exception:  # not this subscriber's to break the fan-out: queue it instead
                log.exception("a subscriber failed to take an event at once")
        if self._events is None:
            self._events = deque()
        if len(self._events) >= self._max:
            self.overflowed = True
        else:
            self._events.append(event)
        self._wake()

    def wake_at(self, when: float) -> None:
        """Make `next` return (None if nothing came) at loop time `when`: one timer per call,
        not one per wait, so a busy socket arms no timers."""
        if self._timer is not None:
            self._timer.cancel()
        self._timer = self._loop.call_at(when, self._wake)

    async def next(self) -> Event | None:
        """The next event, or None when woken without one (`wake_at`, or once `missed`)."""
        if not self._events and not self.overflowed and not self.missed:
            self._waiter = self._loop.create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        if self.overflowed:
            raise SubscriberOverflow()
        return self._events.popleft() if self._events else None  # the deque stays: in use

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    async def get(self) -> Event:
        while not self._events:
            if self.overflowed:
                raise SubscriberOverflow()
            self._waiter = self._loop.create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        if self.overflowed:
            raise SubscriberOverflow()
        assert self._events is not None  # the loop saw an event
        return self._events.popleft()

    def __aiter__(self) -> AsyncIterator[Event]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[Event]:
        while True:
            yield await self.get()


class Hub:
    def __init__(self, url: str = "memory://", *, max_queue: int = 1000) -> None:
        self._backend = backend_for_url(url)
        self._max_queue = max_queue
        self._subscribers: dict[str, set[Subscription]] = {}
        # One lock per channel, held while the broker (un)subscribes it: a Redis confirmation
        # can take seconds, and sockets on other channels must not queue behind it.
        self._locks: dict[str, asyncio.Lock] = {}
        self._lock_users: dict[str, int] = {}

    async def connect(self) -> None:
        await self._backend.connect(self._deliver, self._reconnected)

    async def disconnect(self) -> None:
        await self._backend.disconnect()

    async def __aenter__(self) -> Hub:
        await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.disconnect()

    async def publish(self, channel: str, message: str) -> None:
        await self._backend.publish_many(((channel, message),))

    async def publish_many(self, items: Sequence[tuple[str, str]]) -> None:
        if items:
            await self._backend.publish_many(items)

    async def ping(self) -> None:
        await self._backend.ping()

    @contextlib.asynccontextmanager
    async def subscribe(self, *channels: str) -> AsyncIterator[Subscription]:
        subscription = Subscription(self._max_queue)
        try:
            for channel in channels:
                async with self._channel_lock(channel):
                    if channel not in self._subscribers:
                        await self._backend.subscribe(channel)
                        self._subscribers[channel] = set()
                    self._subscribers[channel].add(subscription)
            yield subscription
        finally:
            subscription.close()
            for channel in channels:
                async with self._channel_lock(channel):
                    local = self._subscribers.get(channel)
                    if local is None or subscription not in local:
                        continue
                    local.discard(subscription)
                    if not local:
                        del self._subscribers[channel]
                        with contextlib.suppress(Exception):
                            await asyncio.shield(self._backend.unsubscribe(channel))

    @contextlib.asynccontextmanager
    async def _channel_lock(self, channel: str) -> AsyncIterator[None]:
        """The channel's lock, created on first use and dropped when nobody holds or awaits
        it, so the map stays as small as the set of channels being (un)subscribed."""
        lock = self._locks.setdefault(channel, asyncio.Lock())
        self._lock_users[channel] = self._lock_users.get(channel, 0) + 1
        try:
            async with lock:
                yield
        finally:
            self._lock_users[channel] -= 1
            if not self._lock_users[channel]:
                del self._lock_users[channel]
                del self._locks[channel]

    def _reconnected(self) -> None:
        """The broker connection came back: what was published meanwhile never arrived."""
        for local in self._subscribers.values():
            for subscription in local:
                subscription.mark_missed()

    def _deliver(self, event: Event) -> None:
        for subscription in self._subscribers.get(event.channel, ()):
            subscription.put(event)
