"""AI replies: one in flight per room, one follow-up for what arrived meanwhile, cancels."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from api.ai.base import Assistant, ReplyChunk, ReplyRequest
from api.realtime.hub import Hub
from api.replies import Replies, ReplyRun
from api.writer import MessageWriter
from db import queries, room_log
from db.engine import Database
from db.migrate import upgrade
from db.models import Sender, utcnow


class HeldAssistant(Assistant):
    """Streams "thinking", then holds the reply until the test opens the gate."""

    def __init__(self) -> None:
        self.calls = 0
        self.gate = asyncio.Event()
        self._streaming: asyncio.Queue[int] = asyncio.Queue()

    async def reply(self, request: ReplyRequest) -> AsyncIterator[ReplyChunk]:
        self.calls += 1
        call = self.calls
        yield "thinking"
        self._streaming.put_nowait(call)
        await self.gate.wait()
        yield f" done {call}"

    async def streaming(self) -> int:
        """Wait until the next reply has streamed its first chunk; returns its call number."""
        async with asyncio.timeout(5):
            return await self._streaming.get()


@dataclass
class Setup:
    db: Database
    replies: Replies
    assistant: HeldAssistant


@pytest.fixture
async def setup(sqlite_url: str) -> AsyncIterator[Setup]:
    db = Database(sqlite_url)
    await upgrade(db.engine)

    async def hand_off(room_id: str, reason: str) -> list[str]:
        raise AssertionError("no handoff expected")

    writer = MessageWriter(db)
    await writer.start()
    assistant = HeldAssistant()
    async with Hub() as hub:
        replies = Replies(
            db=db, hub=hub, store=writer.store, assistant=assistant, hand_off=hand_off
        )
        try:
            yield Setup(db, replies, assistant)
        finally:
            await replies.stop()
            await writer.stop()
            await db.dispose()


async def new_room(db: Database, room_id: str) -> str:
    async with db.write() as session:
        await room_log.open_rooms(session, rooms=[(room_id, utcnow())])
    return room_id


async def ai_messages(db: Database, room_id: str) -> list[str]:
    async with db.session() as session:
        messages = await queries.list_messages(session, room_id=room_id, after=0, limit=100)
    return [m.text for m in messages if m.sender is Sender.ai]


async def idle(replies: Replies) -> None:
    async with asyncio.timeout(5):
        await replies.idle()


async def frame_types(run: ReplyRun) -> list[str]:
    async with asyncio.timeout(5):
        return [json.loads(frame)["type"] async for frame in run.listen()]


async def test_a_message_while_a_reply_streams_gets_exactly_one_follow_up(setup: Setup) -> None:
    room = await new_room(setup.db, "r1")
    first = setup.replies.start(room)
    assert first is not None
    await setup.assistant.streaming()
    # Two more user messages arrive while the first reply streams: no second reply yet.
    assert setup.replies.start(room) is None
    assert setup.replies.start(room) is None
    assert setup.assistant.calls == 1
    setup.assistant.gate.set()
    assert await frame_types(first) == ["ai.delta", "ai.delta", "message"]
    await idle(setup.replies)  # the follow-up, answering both at once
    assert setup.assistant.calls == 2
    assert await ai_messages(setup.db, room) == ["thinking done 1", "thinking done 2"]


async def test_rooms_reply_independently(setup: Setup) -> None:
    one, two = await new_room(setup.db, "r1"), await new_room(setup.db, "r2")
    assert setup.replies.start(one) is not None
    assert setup.replies.start(two) is not None
    setup.assistant.gate.set()
    await idle(setup.replies)
    assert setup.assistant.calls == 2


async def test_a_cancel_stops_the_reply_and_drops_the_follow_up(setup: Setup) -> None:
    room = await new_room(setup.db, "r1")
    run = setup.replies.start(room)
    assert run is not None
    await setup.assistant.streaming()
    assert setup.replies.start(room) is None  # owed a follow-up...
    setup.replies.cancel(room)  # ...until a human takes over
    assert await frame_types(run) == ["ai.delta", "ai.cancelled"]
    await idle(setup.replies)
    assert setup.assistant.calls == 1
    assert await ai_messages(setup.db, room) == []
    # The next user message (once the AI holds the room again) gets a reply as usual.
    setup.assistant.gate.set()
    again = setup.replies.start(room)
    assert again is not None
    assert await frame_types(again) == ["ai.delta", "ai.delta", "message"]


async def test_stop_cancels_every_reply_and_stores_nothing(setup: Setup) -> None:
    runs = [setup.replies.start(await new_room(setup.db, room)) for room in ("r1", "r2")]
    assert {await setup.assistant.streaming(), await setup.assistant.streaming()} == {1, 2}
    assert setup.replies.start("r1") is None  # owed
    await setup.replies.stop()
    for run in runs:
        assert run is not None and await frame_types(run) == ["ai.delta", "ai.cancelled"]
    assert setup.assistant.calls == 2  # the owed follow-up never started
    assert await ai_messages(setup.db, "r1") == await ai_messages(setup.db, "r2") == []
