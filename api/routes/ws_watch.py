"""A socket's watchdog: it closes the socket (1008) once its token is no longer good.

Kept apart from the socket loops in `api.routes.ws`. A user's socket is watched by a timer
and a future (no task: most of 10,000 idle sockets are users'), an agent's by a task, as it
reads the agent back through the API's agent cache.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Coroutine
from typing import Any

from api.deps import Principal, Tandem, agent_is_current

log = logging.getLogger(__name__)

WATCH_SECONDS = 4.0
"""How often a socket re-reads its agent (through the API's agent cache, so mostly no query):
with AGENT_CACHE_SECONDS (10) a disabled agent's sockets close within 15 s."""

Watch = Coroutine[Any, Any, str] | asyncio.Future[str]
"""Ends with the close reason once the socket's token is no longer good."""


def watch(tandem: Tandem, principal: Principal) -> Watch:
    """A user's socket is watched by a timer (no task per socket: 10,000 idle chats), an
    agent's by a task, as it reads the agent back."""
    if principal.agent is None:
        return _watch_room_token(tandem, principal)
    return _watch_agent(tandem, principal)


def _watch_room_token(tandem: Tandem, principal: Principal) -> asyncio.Future[str]:
    """Every WATCH_SECONDS, mark the user seen (an open socket: the user is here); done with
    the reason once the room token expires."""
    loop = asyncio.get_running_loop()
    expired: asyncio.Future[str] = loop.create_future()
    timer: list[asyncio.TimerHandle] = []

    def check() -> None:
        left = principal.expires_at - time.time()
        if left <= 0:
            expired.set_result("room token expired")
        else:
            timer[:] = [loop.call_later(min(WATCH_SECONDS, left), tick)]

    def tick() -> None:
        if expired.done():
            return
        if principal.room_id is not None:
            tandem.rooms.user_seen.seen(principal.room_id)
        check()

    def stop(_: object) -> None:
        for handle in timer:
            handle.cancel()

    expired.add_done_callback(stop)
    check()
    return expired


async def _watch_agent(tandem: Tandem, principal: Principal) -> str:
    """Wait until the socket's token is no longer good; return why (the close reason)."""
    agent = principal.agent
    assert agent is not None
    while True:
        left = principal.expires_at - time.time()
        if left <= 0:
            return "token expired: log in again"
        await asyncio.sleep(min(WATCH_SECONDS, left))
        if agent.id is None:
            continue
        try:
            current = await tandem.agent(agent.id)
        except Exception:
            # A database blip should not drop every console: the next round looks again.
            log.warning("socket watchdog could not read agent %s", agent.id, exc_info=True)
            continue
        if not agent_is_current(current, version=agent.token_version):
            return "agent disabled or signed out"
