"""Rate limits and connection caps: what one visitor may cost the service.

Rates are sliding-window counters from the `limits` library (two counters per key, no
per-hit entries), kept in Redis when `TANDEM_REDIS_URL` is
set (so every API process spends one budget) and in memory otherwise. In memory they are the
library's synchronous counters, so a socket's message can be checked as its frame is read
(`message_now`), without a task to await them. Socket caps count the
sockets open on this process: a crashed process must not leave counts behind in Redis.
`TANDEM_RATE_LIMITS=off` turns every rate and cap off (benchmarks, load tests).
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
from collections import Counter
from collections.abc import Iterator, Sequence

from limits import RateLimitItem, WindowStats, parse_many
from limits.aio.storage import RedisStorage
from limits.aio.strategies import SlidingWindowCounterRateLimiter
from limits.errors import StorageError
from limits.storage import MemoryStorage
from limits.strategies import SlidingWindowCounterRateLimiter as CountersNow

from api.config import Settings

log = logging.getLogger(__name__)

MAX_RETRY_AFTER = 15 * 60
"""No answer asks a client to wait longer than this, whatever the window (the login backoff cap)."""


REDIS_TIMEOUT = 0.5
"""Seconds a rate check may wait for Redis before it is skipped (see `_fail_open`)."""


@contextlib.contextmanager
def _fail_open() -> Iterator[None]:
    """While the shared counters are unreachable (Redis down), requests go through unmetered:
    a broker outage must not stop every chat; the limits come back with Redis."""
    try:
        yield
    except StorageError:
        log.warning("rate-limit storage unreachable: not limiting", exc_info=True)


class RateLimited(Exception):
    """Over a rate: the caller should retry after `retry_after` seconds (429, `rate_limited`)."""

    def __init__(self, retry_after: int, detail: str) -> None:
        super().__init__(detail)
        self.retry_after = retry_after
        self.detail = detail


class TooManySockets(Exception):
    """Over a cap on open sockets: the new socket is refused (close 1008)."""


class SocketSlot:
    """A held socket slot; an async context manager so it joins the socket's other ones."""

    def __init__(self, counts: Counter[str], key: str) -> None:
        self._counts = counts
        self._key = key

    async def __aenter__(self) -> SocketSlot:
        return self

    async def __aexit__(self, *_: object) -> None:
        self._counts[self._key] -= 1
        if self._counts[self._key] <= 0:
            del self._counts[self._key]


class Limits:
    def __init__(self, settings: Settings) -> None:
        self.enabled = settings.rate_limits
        self._rooms = parse_many(settings.limit_rooms)
        self._user_messages = parse_many(settings.limit_user_messages)
        self._agent_messages = parse_many(settings.limit_agent_messages)
        self._login_account = parse_many(settings.limit_login_account)
        self._login_address = parse_many(settings.limit_login_address)
        self._room_sockets = settings.max_sockets_per_room
        self._agent_sockets = settings.max_sockets_per_agent
        self._open: Counter[str] = Counter()
        self._now: CountersNow | None = None
        """The counters when they are in this process: asked without awaiting."""
        self._limiter: SlidingWindowCounterRateLimiter | _Awaited
        if settings.redis_url:
            self._storage: RedisStorage | MemoryStorage = RedisStorage(
                "async+" + settings.redis_url,
                implementation="redispy",
                key_prefix=settings.rate_limit_key_prefix,
                wrap_exceptions=True,
                socket_timeout=REDIS_TIMEOUT,
                socket_connect_timeout=REDIS_TIMEOUT,
            )
            self._limiter = SlidingWindowCounterRateLimiter(self._storage)
        else:
            self._storage = MemoryStorage()
            self._now = CountersNow(self._storage)
            self._limiter = _Awaited(self._now)

    # ------------------------------------------------------------ rates

    async def room_created(self, address: str) -> None:
        with _fail_open():
            await self._hit(self._rooms, "rooms", address, what="new chats from your address")

    async def message(self, *, room_id: str, agent_id: int | None = None) -> None:
        """A user's messages count per room (its token), an agent's per agent."""
        if self.message_now(room_id=room_id, agent_id=agent_id):
            return  # (every message comes here: not even the fail-open guard when off)
        with _fail_open():
            await self._hit(*self._message_key(room_id, agent_id), what="messages")

    @property
    def decides_now(self) -> bool:
        """`message_now` decides (it never returns False)."""
        return not self.enabled or self._now is not None

    def message_now(self, *, room_id: str, agent_id: int | None = None) -> bool:
        """`message` without awaiting, when the counters are in this process (or limits are
        off): True once counted; False when they are in Redis (await `message`)."""
        if not self.enabled:
            return True
        if self._now is None:
            return False
        items, *key = self._message_key(room_id, agent_id)
        for item in items:
            if not self._now.hit(item, *key):
                raise _limited(_retry_after(self._now.get_window_stats(item, *key)), "messages")
        return True

    def _message_key(
        self, room_id: str, agent_id: int | None
    ) -> tuple[Sequence[RateLimitItem], str, str]:
        if agent_id is not None:
            return self._agent_messages, "agent-msg", str(agent_id)
        return self._user_messages, "room-msg", room_id

    async def check_login(self, *, account: str, address: str) -> None:
        """Before a password is checked: refuse while the account (from this address) or the
        address itself has failed too often. Only failures count, see `login_failed`."""
        if not self.enabled:
            return
        with _fail_open():
            waits = [
                await self._wait(self._login_account, "login", account.lower(), address),
                await self._wait(self._login_address, "login-addr", address),
            ]
            wait = max(waits)
            if wait > 0:
                raise RateLimited(wait, "Too many failed logins: wait before trying again.")

    async def login_failed(self, *, account: str, address: str) -> None:
        if not self.enabled:
            return
        with _fail_open():
            for item in self._login_account:
                await self._limiter.hit(item, "login", account.lower(), address)
            for item in self._login_address:
                await self._limiter.hit(item, "login-addr", address)

    async def login_succeeded(self, *, account: str, address: str) -> None:
        """A right password forgives the account's failures from this address."""
        if not self.enabled:
            return
        with _fail_open():
            for item in self._login_account:
                await self._limiter.clear(item, "login", account.lower(), address)

    async def _hit(self, items: Sequence[RateLimitItem], *key: str, what: str) -> None:
        if not self.enabled:
            return
        for item in items:
            if not await self._limiter.hit(item, *key):
                raise _limited(await self._retry_after(item, *key), what)

    async def _wait(self, items: Sequence[RateLimitItem], *key: str) -> int:
        for item in items:
            if not await self._limiter.test(item, *key):
                return await self._retry_after(item, *key)
        return 0

    async def _retry_after(self, item: RateLimitItem, *key: str) -> int:
        return _retry_after(await self._limiter.get_window_stats(item, *key))

    # ------------------------------------------------------------ sockets

    def open_socket(self, *, room_id: str, agent_id: int | None = None) -> SocketSlot:
        """Take one of the caller's socket slots (an agent's, else the room token's) now;
        the slot is given back when the returned context manager exits."""
        if agent_id is not None:
            key, cap = f"agent:{agent_id}", self._agent_sockets
        else:
            key, cap = f"room:{room_id}", self._room_sockets
        if self.enabled and self._open[key] >= cap:
            raise TooManySockets(f"too many open sockets (at most {cap})")
        self._open[key] += 1
        return SocketSlot(self._open, key)

    async def aclose(self) -> None:
        if isinstance(self._storage, RedisStorage):
            client = getattr(self._storage.bridge, "storage", None)  # the redis-py client
            if client is not None:
                await client.aclose()
        else:
            self._storage.timer.cancel()


def _limited(wait: int, what: str) -> RateLimited:
    return RateLimited(wait, f"Too many {what}: wait {wait} s and try again.")


def _retry_after(stats: WindowStats) -> int:
    """Seconds until the window lets one more through, within [1, MAX_RETRY_AFTER]."""
    return max(1, min(MAX_RETRY_AFTER, math.ceil(stats.reset_time - time.time())))


class _Awaited:
    """The in-memory counters behind the async limiter's methods: one budget for the checks
    that await (logins, new chats) and the ones that do not (`Limits.message_now`)."""

    def __init__(self, now: CountersNow) -> None:
        self._now = now

    async def hit(self, item: RateLimitItem, *key: str) -> bool:
        return self._now.hit(item, *key)

    async def test(self, item: RateLimitItem, *key: str) -> bool:
        return self._now.test(item, *key)

    async def get_window_stats(self, item: RateLimitItem, *key: str) -> WindowStats:
        return self._now.get_window_stats(item, *key)

    async def clear(self, item: RateLimitItem, *key: str) -> None:
        self._now.clear(item, *key)
