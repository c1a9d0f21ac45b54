"""Publishing to Pub/Sub: order, JSON on the wire, and no loss while Redis is briefly away."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import orjson
import pytest
import redis.asyncio as aioredis
from hypothesis import given
from hypothesis import strategies as st

from conductor.bus.messages import ENGAGEMENT_UPDATE_CHANNEL, INTERVENTIONS_CHANNEL
from conductor.bus.publisher import MessageValue, Outbox, RedisPublisher, message_value
from redis_servers import RedisServers, free_port, wait_until

# --- the outbox ------------------------------------------------------------------------------


def test_outbox_keeps_publish_order_across_values() -> None:
    box = Outbox(max_pending=10)
    for n, value in enumerate(
        [MessageValue.LOW, MessageValue.CRITICAL, MessageValue.NORMAL, MessageValue.LOW]
    ):
        box.put(f"c{n}", b"", value)
    assert [item.channel for _, item in box.take(10)] == ["c0", "c1", "c2", "c3"]
    assert len(box) == 0


def test_outbox_drops_oldest_low_value_first_and_never_a_command() -> None:
    box = Outbox(max_pending=3)
    box.put("cmd1", b"", MessageValue.CRITICAL)
    box.put("low1", b"", MessageValue.LOW)
    box.put("info1", b"", MessageValue.NORMAL)
    box.put("low2", b"", MessageValue.LOW)  # full: low1 goes
    box.put("info2", b"", MessageValue.NORMAL)  # full: low2 goes
    box.put("cmd2", b"", MessageValue.CRITICAL)  # full: info1 goes
    box.put("cmd3", b"", MessageValue.CRITICAL)  # full: info2 goes
    box.put("cmd4", b"", MessageValue.CRITICAL)  # only commands left: kept beyond the bound
    assert [item.channel for _, item in box.take(10)] == ["cmd1", "cmd2", "cmd3", "cmd4"]
    assert box.dropped == 4


def test_outbox_give_back_restores_the_front_in_order() -> None:
    box = Outbox(max_pending=10)
    for n in range(5):
        box.put(f"c{n}", b"", MessageValue.NORMAL)
    batch = box.take(3)
    box.put("c5", b"", MessageValue.NORMAL)
    box.give_back(batch)
    assert [item.channel for _, item in box.take(10)] == [f"c{n}" for n in range(6)]


@given(st.lists(st.sampled_from(MessageValue), max_size=60), st.integers(min_value=1, max_value=20))
def test_outbox_bound_properties(values: list[MessageValue], bound: int) -> None:
    box = Outbox(max_pending=bound)
    for n, value in enumerate(values):
        box.put(str(n), b"", value)
    kept = box.take(len(values) + 1)
    seqs = [int(item.channel) for _, item in kept]
    assert seqs == sorted(seqs)
    critical = [n for n, v in enumerate(values) if v is MessageValue.CRITICAL]
    assert [n for n in seqs if values[n] is MessageValue.CRITICAL] == critical
    assert len(kept) <= max(bound, len(critical))
    assert box.dropped == len(values) - len(kept)
    # Nothing of higher value was dropped while a lower-value message survived it.
    dropped = set(range(len(values))) - set(seqs)
    for lost in dropped:
        assert all(values[k] >= values[lost] or k > lost for k in seqs)


def test_channel_values() -> None:
    assert message_value(INTERVENTIONS_CHANNEL) is MessageValue.CRITICAL
    assert message_value(ENGAGEMENT_UPDATE_CHANNEL) is MessageValue.LOW
    assert message_value("session:ses_a:events") is MessageValue.NORMAL


# --- against Redis ---------------------------------------------------------------------------


@asynccontextmanager
async def listening(url: str, channel: str) -> AsyncIterator[list[Any]]:
    """Collects JSON messages published to `channel` into the yielded list."""
    client = aioredis.Redis.from_url(url)
    pubsub = client.pubsub()
    await pubsub.subscribe(channel)
    async with asyncio.timeout(5):  # the subscription is live once confirmed
        while (await pubsub.get_message(timeout=1)) is None:
            pass
    got: list[Any] = []

    async def pump() -> None:
        async for message in pubsub.listen():
            if message["type"] == "message":
                got.append(orjson.loads(message["data"]))

    task = asyncio.create_task(pump())
    try:
        yield got
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await pubsub.aclose()  # type: ignore[no-untyped-call]
        await client.aclose()


@pytest.mark.redis
async def test_messages_arrive_as_json_in_order(redis_url: str) -> None:
    channel = f"session:ses_{uuid.uuid4().hex[:12]}:events"
    publisher = RedisPublisher(redis_url)
    try:
        async with listening(redis_url, channel) as got:
            for n in range(50):
                await publisher.publish(channel, {"n": n, "text": "é"})
            async with asyncio.timeout(10):
                await publisher.flush()
            await wait_until(lambda: len(got) >= 50)
        assert got == [{"n": n, "text": "é"} for n in range(50)]
        stats = publisher.stats()
        assert (stats.published, stats.pending, stats.dropped) == (50, 0, 0)
        assert stats.connected
    finally:
        await publisher.close()


async def test_unencodable_message_is_refused_and_counted(spare_port: int) -> None:
    publisher = RedisPublisher(f"redis://127.0.0.1:{spare_port}/0")
    try:
        with pytest.raises(ValueError, match="JSON"):
            await publisher.publish("c", {"bad": {1, 2}})
        with pytest.raises(ValueError, match="channel"):
            await publisher.publish("", {})
        assert publisher.stats().rejected == 2
        assert publisher.stats().pending == 0
    finally:
        await publisher.close()


async def test_outbox_holds_messages_until_redis_comes_back(
    spare_port: int, redis_servers: RedisServers, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="conductor.bus.publisher")
    url = f"redis://127.0.0.1:{spare_port}/0"
    publisher = RedisPublisher(url, max_pending=6, initial_backoff=0.01, max_backoff=0.05)
    session = f"ses_{uuid.uuid4().hex[:12]}"
    try:
        sent: list[tuple[str, dict[str, Any]]] = []
        for n in range(4):
            sent.append((INTERVENTIONS_CHANNEL, {"session_id": session, "n": n}))
            sent.append((ENGAGEMENT_UPDATE_CHANNEL, {"sessionId": session, "n": n}))
        for channel, message in sent:
            await publisher.publish(channel, message)  # never raises, never waits on Redis
        await wait_until(lambda: publisher.stats().retried >= 3 * 6)  # three failed attempts
        stats = publisher.stats()
        assert not stats.connected
        assert stats.published == 0
        warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
        assert len(warnings) == 1  # once per outage, not once per attempt
        # 8 messages in 6 places: the two oldest engagement updates made room.
        assert (stats.pending, stats.dropped) == (6, 2)

        private = redis_servers.start(free_port())
        async with (
            listening(private, INTERVENTIONS_CHANNEL) as commands,
            listening(private, ENGAGEMENT_UPDATE_CHANNEL) as updates,
        ):
            redis_servers.move(_port(private), spare_port)
            await wait_until(lambda: len(commands) + len(updates) >= 6)
            await asyncio.sleep(0.1)  # anything extra would show up now
        assert commands == [{"session_id": session, "n": n} for n in range(4)]
        assert updates == [{"sessionId": session, "n": n} for n in (2, 3)]
        stats = publisher.stats()
        assert stats.connected
        assert (stats.published, stats.pending, stats.dropped) == (6, 0, 2)
    finally:
        await publisher.close()


async def test_messages_published_during_an_outage_arrive_once_in_order(
    spare_port: int, redis_servers: RedisServers
) -> None:
    url = redis_servers.start(spare_port)
    channel = f"session:ses_{uuid.uuid4().hex[:12]}:events"
    publisher = RedisPublisher(url, initial_backoff=0.01, max_backoff=0.05)
    try:
        await publisher.publish(channel, {"n": -1})
        async with asyncio.timeout(10):
            await publisher.flush()
        assert publisher.stats().published == 1

        redis_servers.stop(spare_port)
        for n in range(20):
            await publisher.publish(channel, {"n": n})
        await wait_until(lambda: publisher.stats().retried > 0)
        assert publisher.stats().pending == 20
        assert not publisher.stats().connected

        private = redis_servers.start(free_port())
        async with listening(private, channel) as got:
            redis_servers.move(_port(private), spare_port)
            await wait_until(lambda: len(got) >= 20)
            await asyncio.sleep(0.1)  # a duplicate would show up now
        assert got == [{"n": n} for n in range(20)]
        stats = publisher.stats()
        assert (stats.published, stats.pending, stats.dropped) == (21, 0, 0)
    finally:
        await publisher.close()


async def test_close_gives_up_after_its_grace_period(spare_port: int) -> None:
    publisher = RedisPublisher(f"redis://127.0.0.1:{spare_port}/0", initial_backoff=0.01)
    await publisher.publish(INTERVENTIONS_CHANNEL, {"n": 1})
    async with asyncio.timeout(5):
        await publisher.close(grace=0.1)
    assert publisher.stats().pending == 1
    with pytest.raises(RuntimeError, match="closed"):
        await publisher.publish(INTERVENTIONS_CHANNEL, {"n": 2})


def _port(url: str) -> int:
    return int(url.rsplit(":", 1)[1].split("/")[0])
