"""The hub on both brokers: in-process memory and a real Redis."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as redis

from api.realtime.backends import Event, backend_for_url
from api.realtime.hub import Hub, SubscriberOverflow, Subscription
from tests.conftest import REDIS_URL, require_service


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def broker_url(request: pytest.FixtureRequest) -> str:
    if request.param == "redis":
        require_service("Redis", 6379)
        return REDIS_URL
    return "memory://"


@pytest.fixture
async def hub(broker_url: str) -> AsyncIterator[Hub]:
    async with Hub(broker_url, max_queue=50) as connected:
        yield connected


@pytest.fixture
def channel() -> str:
    return f"test:{uuid.uuid4().hex}"


async def take(subscription: Subscription, count: int) -> list[tuple[str, str]]:
    async with asyncio.timeout(5):
        return [((e := await subscription.get()).channel, e.message) for _ in range(count)]


async def test_a_subscriber_receives_what_is_published(hub: Hub, channel: str) -> None:
    async with hub.subscribe(channel) as subscription:
        await hub.publish(channel, '{"n":1}')
        assert await take(subscription, 1) == [(channel, '{"n":1}')]


async def test_every_subscriber_of_a_channel_receives_it(hub: Hub, channel: str) -> None:
    async with hub.subscribe(channel) as first, hub.subscribe(channel) as second:
        await hub.publish(channel, "hello")
        assert await take(first, 1) == await take(second, 1) == [(channel, "hello")]


async def test_one_subscription_hears_several_channels_in_order(hub: Hub, channel: str) -> None:
    other = channel + ":other"
    async with hub.subscribe(channel, other) as subscription:
        await hub.publish_many([(channel, "a"), (other, "b"), (channel, "c")])
        assert await take(subscription, 3) == [(channel, "a"), (other, "b"), (channel, "c")]


async def test_a_thousand_messages_arrive_in_order(broker_url: str, channel: str) -> None:
    async with Hub(broker_url, max_queue=2000) as big, big.subscribe(channel) as subscription:
        for n in range(1000):
            await big.publish(channel, str(n))
        got = await take(subscription, 1000)
        assert [int(m) for _, m in got] == list(range(1000))


async def test_leaving_stops_delivery_and_unsubscribes(
    hub: Hub, broker_url: str, channel: str
) -> None:
    async with hub.subscribe(channel) as stays:
        async with hub.subscribe(channel) as leaves:
            pass
        await hub.publish(channel, "after")
        assert await take(stays, 1) == [(channel, "after")]
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.2):
                await leaves.get()
    if broker_url.startswith("redis"):
        client = redis.Redis.from_url(REDIS_URL)
        try:
            counts = await client.pubsub_numsub(channel)
            assert counts == [(channel.encode(), 0)]
        finally:
            await client.aclose()


async def test_a_slow_subscriber_overflows_alone(hub: Hub, channel: str) -> None:
    async with hub.subscribe(channel) as slow, hub.subscribe(channel) as reader:
        received: list[str] = []
        for n in range(51):
            await hub.publish(channel, str(n))
            received += [m for _, m in await take(reader, 1)]
        assert received == [str(n) for n in range(51)]
        with pytest.raises(SubscriberOverflow):
            async with asyncio.timeout(5):
                async for _ in slow:
                    pass


@pytest.mark.redis
async def test_two_hubs_on_one_redis_see_each_other(channel: str) -> None:
    require_service("Redis", 6379)
    async with Hub(REDIS_URL) as one, Hub(REDIS_URL) as two, two.subscribe(channel) as subscription:
        await one.publish_many([(channel, "from one"), (channel, "again")])
        assert await take(subscription, 2) == [(channel, "from one"), (channel, "again")]


@pytest.mark.redis
async def test_ping_answers_when_redis_is_up() -> None:
    """/readyz's broker check (the memory broker has nothing to ask: its ping cannot fail)."""
    require_service("Redis", 6379)
    async with Hub(REDIS_URL) as live:
        await live.ping()


async def test_ping_fails_when_redis_is_unreachable() -> None:
    async with Hub("redis://127.0.0.1:1/0") as unreachable:
        with pytest.raises(Exception, match=r"(?i)connect"):
            await unreachable.ping()


def test_unknown_broker_urls_are_refused() -> None:
    with pytest.raises(ValueError, match="memory://"):
        backend_for_url("kafka://localhost:9092")


async def test_a_waiting_subscriber_may_take_an_event_at_once(hub: Hub, channel: str) -> None:
    """`direct` gets an event only while its reader waits with nothing queued; what it
    declines, or fails on, is queued in order, and other subscribers are not disturbed."""
    taken: list[str] = []
    answers = iter([True, False, True])

    def direct(event: Event) -> bool:
        if event.message == "boom":
            raise RuntimeError("a subscriber's bug")
        taken.append(event.message)
        return next(answers)

    async with hub.subscribe(channel) as mine, hub.subscribe(channel) as other:
        mine.direct = direct
        await hub.publish(channel, "queued while nobody waits")
        assert (await take(other, 1))[0][1] == "queued while nobody waits"  # delivered
        assert taken == [] and (await take(mine, 1))[0][1] == "queued while nobody waits"
        reader = asyncio.create_task(mine.get())
        await asyncio.sleep(0.05)  # the reader waits now
        await hub.publish(channel, "taken")
        await asyncio.sleep(0.05)
        assert taken == ["taken"] and not reader.done()
        await hub.publish(channel, "declined")
        async with asyncio.timeout(5):
            assert (await reader).message == "declined"
        reader = asyncio.create_task(mine.get())
        await asyncio.sleep(0.05)
        await hub.publish(channel, "boom")
        async with asyncio.timeout(5):
            assert (await reader).message == "boom"
        assert [m for _, m in await take(other, 3)] == ["taken", "declined", "boom"]
