"""Reading the platform's streams through a consumer group, against the real Redis."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

import orjson
import pytest
import redis.asyncio as aioredis

from conductor.bus.consumer import StreamConsumer
from conductor.core.vocabulary import Stream
from redis_servers import RedisServers

pytestmark = pytest.mark.redis

GROUP = "engagement-conductor"
SESSION = "ses_3fa85f64a1b2"
EVENT = "evt_0123456789ab"

CONTRACT_ENTRIES: dict[str, dict[str, Any]] = {
    Stream.CHAT: {
        "sessionId": SESSION,
        "eventId": EVENT,
        "message": {
            "id": "msg_1",
            "text": "Great talk",
            "timestamp": "2025-03-14T15:09:26.535Z",
            "authorId": "u1",
            "sessionId": SESSION,
            "author": {"id": "u1", "firstName": "Ada", "lastName": "L"},
        },
    },
    Stream.VOTE: {
        "userId": "u2",
        "pollId": "poll_1",
        "optionId": "opt_1",
        "sessionId": SESSION,
        "eventId": SESSION,
        "voteTimestamp": "2025-03-14T15:09:27.000Z",
    },
    Stream.POLL_CLOSED: {
        "poll": {
            "id": "poll_1",
            "sessionId": SESSION,
            "question": "Q?",
            "options": [{"id": "opt_1", "text": "A", "voteCount": 1}],
            "totalVotes": 1,
        },
        "userVotedForOptionId": None,
    },
    Stream.SYNC: {"type": "user_join", "sessionId": SESSION, "eventId": "unknown", "userId": "u3"},
    Stream.REACTION: {
        "userId": "u4",
        "sessionId": SESSION,
        "emoji": "🔥",
        "timestamp": "2025-03-14T15:09:28.000Z",
    },
    Stream.OUTCOMES: {
        "success": True,
        "intervention_id": "iv_1",
        "session_id": SESSION,
        "event_id": EVENT,
        "result": {"pollId": "poll_9"},
        "timestamp": "2025-03-14T15:09:29.000Z",
    },
}
ALL_STREAMS = [str(s) for s in CONTRACT_ENTRIES]


@pytest.fixture
async def client(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    connection = aioredis.Redis.from_url(redis_url)
    yield connection
    await connection.aclose()


@pytest.fixture
async def consumers(redis_url: str) -> AsyncIterator[Callable[..., StreamConsumer]]:
    """Builds consumers on the test database and closes them after the test."""
    made: list[StreamConsumer] = []

    def make(streams: list[str] | None = None, **kwargs: Any) -> StreamConsumer:
        kwargs.setdefault("block_ms", 20)
        consumer = StreamConsumer(redis_url, streams or ALL_STREAMS, **kwargs)
        made.append(consumer)
        return consumer

    yield make
    for consumer in made:
        await consumer.close()


async def add(client: aioredis.Redis, stream: str, data: Any) -> str:
    payload = data if isinstance(data, str | bytes) else orjson.dumps(data)
    return _text(await client.xadd(stream, {"data": payload}))


async def pending(client: aioredis.Redis, stream: str) -> int:
    summary = await client.xpending(stream, GROUP)
    return int(summary["pending"])


async def read_all(consumer: StreamConsumer, *, ack: bool = False, rounds: int = 3) -> list[Any]:
    """Read until `rounds` consecutive empty batches; with `ack`, acknowledge each batch as a
    real caller does right after applying it."""
    got: list[Any] = []
    empty = 0
    while empty < rounds:
        batch = await consumer.read()
        empty = 0 if batch else empty + 1
        got.extend(batch)
        if ack and batch:
            await consumer.ack([(s, i) for s, i, _ in batch])
    return got


async def test_contract_entries_are_read_then_acked(
    client: aioredis.Redis, consumers: Callable[..., StreamConsumer]
) -> None:
    consumer = consumers()
    await consumer.start()
    written = {stream: await add(client, stream, data) for stream, data in CONTRACT_ENTRIES.items()}
    got = await read_all(consumer)
    assert sorted((s, i) for s, i, _ in got) == sorted(written.items())
    for stream, _entry_id, data in got:
        assert isinstance(data, str)
        assert orjson.loads(data) == CONTRACT_ENTRIES[stream]
    # Oldest first across streams: entry ids are the platform's write times.
    assert [i for _, i, _ in got] == sorted((i for _, i, _ in got), key=_id_key)
    assert all([await pending(client, s) == 1 for s in ALL_STREAMS])

    await consumer.ack([(s, i) for s, i, _ in got])
    assert [await pending(client, s) for s in ALL_STREAMS] == [0] * len(ALL_STREAMS)
    assert await consumer.read() == []
    stats = consumer.stats()
    assert (stats.read, stats.acked) == (6, 6)


async def test_entry_without_data_field_yields_its_fields(
    client: aioredis.Redis, consumers: Callable[..., StreamConsumer]
) -> None:
    consumer = consumers([Stream.CHAT])
    await consumer.start()
    entry_id = _text(await client.xadd(Stream.CHAT, {"payload": "{}", "n": b"\xff"}))
    assert await read_all(consumer) == [(Stream.CHAT, entry_id, {"payload": "{}", "n": "\udcff"})]


async def test_batches_are_bounded_and_nothing_is_lost(
    client: aioredis.Redis, consumers: Callable[..., StreamConsumer]
) -> None:
    consumer = consumers([Stream.CHAT, Stream.VOTE], batch_size=7)
    await consumer.start()
    written = set()
    for n in range(25):
        written.add((Stream.CHAT, await add(client, Stream.CHAT, {"n": n})))
        written.add((Stream.VOTE, await add(client, Stream.VOTE, {"n": n})))
    seen: list[tuple[str, str]] = []
    while batch := await consumer.read():
        assert len(batch) <= 7
        seen.extend((s, i) for s, i, _ in batch)
        await consumer.ack([(s, i) for s, i, _ in batch])
    assert len(seen) == len(set(seen)) == 50
    assert set(seen) == written


async def test_entries_of_a_dead_consumer_are_claimed_once(
    client: aioredis.Redis, consumers: Callable[..., StreamConsumer]
) -> None:
    dead = consumers([Stream.CHAT], consumer="dead", batch_size=3)
    await dead.start()
    ids = [await add(client, Stream.CHAT, {"n": n}) for n in range(5)]
    taken = await dead.read()
    assert [i for _, i, _ in taken] == ids[:3]
    await dead.close()  # dies without acking

    heir = consumers([Stream.CHAT], consumer="heir", claim_idle_ms=100, batch_size=100)
    await asyncio.sleep(0.15)
    await heir.start()
    got = await read_all(heir, ack=True)
    # The three orphans (claimed) and the two never delivered, each exactly once.
    assert sorted(i for _, i, _ in got) == ids
    assert heir.stats().claimed == 3
    assert await pending(client, Stream.CHAT) == 0
    later = await add(client, Stream.CHAT, {"n": 5})
    assert [i for _, i, _ in await read_all(heir)] == [later]


async def test_a_restart_under_the_same_name_rereads_its_own_pending_entries(
    client: aioredis.Redis, consumers: Callable[..., StreamConsumer]
) -> None:
    first = consumers([Stream.VOTE], consumer="worker-1")
    await first.start()
    ids = [await add(client, Stream.VOTE, {"n": n}) for n in range(3)]
    assert len(await read_all(first)) == 3
    await first.ack([(Stream.VOTE, ids[0])])
    await first.close()

    again = consumers([Stream.VOTE], consumer="worker-1")  # claim_idle_ms: 60 s
    await again.start()
    got = await read_all(again)
    assert [i for _, i, _ in got] == ids[1:]
    assert again.stats().claimed == 0


async def test_two_consumers_share_a_group_without_overlap(
    client: aioredis.Redis, consumers: Callable[..., StreamConsumer]
) -> None:
    one = consumers([Stream.REACTION], batch_size=10)
    two = consumers([Stream.REACTION], batch_size=10)
    assert one.consumer != two.consumer
    await one.start()
    await two.start()
    ids = {await add(client, Stream.REACTION, {"n": n}) for n in range(60)}
    got: dict[str, list[str]] = {"one": [], "two": []}

    async def drain(name: str, consumer: StreamConsumer) -> None:
        empty = 0
        while empty < 3:
            batch = await consumer.read()
            empty = 0 if batch else empty + 1
            got[name].extend(i for _, i, _ in batch)
            await consumer.ack([(s, i) for s, i, _ in batch])
            await asyncio.sleep(0)

    await asyncio.gather(drain("one", one), drain("two", two))
    assert got["one"] and got["two"]
    assert not set(got["one"]) & set(got["two"])
    assert set(got["one"]) | set(got["two"]) == ids
    assert await pending(client, Stream.REACTION) == 0


async def test_malformed_entry_goes_to_the_dead_letter_stream(
    client: aioredis.Redis, consumers: Callable[..., StreamConsumer]
) -> None:
    consumer = consumers([Stream.SYNC], dead_letter_stream="test.dead-letters")
    await consumer.start()
    bad = await add(client, Stream.SYNC, b"{not json \xff")
    [(stream, entry_id, raw)] = await read_all(consumer)
    assert (stream, entry_id) == (Stream.SYNC, bad)
    assert isinstance(raw, str)
    await consumer.dead_letter(stream, entry_id, "invalid JSON at 1:2", raw)

    letters: Any = await client.xrange("test.dead-letters")
    [(_, fields)] = letters
    assert fields == {
        b"stream": Stream.SYNC.encode(),
        b"entry_id": bad.encode(),
        b"reason": b"invalid JSON at 1:2",
        b"raw": b"{not json \xff",  # byte for byte what the platform wrote
    }
    assert await pending(client, Stream.SYNC) == 0
    assert consumer.stats().dead_lettered == 1
    await consumer.dead_letter(Stream.SYNC, "1-1", "no data field", None)
    letters = await client.xrange("test.dead-letters")
    last = letters[-1][1]
    assert b"raw" not in last


async def test_a_destroyed_group_is_recreated_without_replaying_history(
    client: aioredis.Redis, consumers: Callable[..., StreamConsumer]
) -> None:
    consumer = consumers([Stream.CHAT])
    await consumer.start()
    old = await add(client, Stream.CHAT, {"n": 0})
    assert [i for _, i, _ in await read_all(consumer)] == [old]
    await consumer.ack([(Stream.CHAT, old)])

    await client.xgroup_destroy(Stream.CHAT, GROUP)
    new = await add(client, Stream.CHAT, {"n": 1})
    got = await read_all(consumer)
    assert [i for _, i, _ in got] == [new]
    assert consumer.stats().groups_recreated == 1
    await consumer.ack([(Stream.CHAT, new)])
    assert await pending(client, Stream.CHAT) == 0


async def test_a_stream_lost_with_its_group_is_read_from_its_start(
    client: aioredis.Redis, consumers: Callable[..., StreamConsumer]
) -> None:
    consumer = consumers([Stream.CHAT, Stream.VOTE])
    await consumer.start()
    await add(client, Stream.CHAT, {"n": 0})
    got = await read_all(consumer)
    await consumer.ack([(s, i) for s, i, _ in got])

    await client.delete(Stream.CHAT, Stream.VOTE)  # as after a restart without persistence
    fresh = [await add(client, Stream.CHAT, {"n": n}) for n in (1, 2)]
    got = await read_all(consumer)
    assert [i for _, i, _ in got] == fresh
    assert consumer.stats().groups_recreated == 2


async def test_acking_after_the_group_vanished_does_not_raise(
    client: aioredis.Redis, consumers: Callable[..., StreamConsumer]
) -> None:
    consumer = consumers([Stream.CHAT])
    await consumer.start()
    entry = await add(client, Stream.CHAT, {"n": 0})
    await read_all(consumer)
    await client.delete(Stream.CHAT)
    await consumer.ack([(Stream.CHAT, entry)])
    assert consumer.stats().acked == 0


async def test_an_entry_deleted_while_pending_is_released_not_delivered(
    client: aioredis.Redis, consumers: Callable[..., StreamConsumer]
) -> None:
    first = consumers([Stream.CHAT], consumer="w")
    await first.start()
    gone, kept = await add(client, Stream.CHAT, {"n": 0}), await add(client, Stream.CHAT, {"n": 1})
    await read_all(first)
    await first.close()
    await client.xdel(Stream.CHAT, gone)

    again = consumers([Stream.CHAT], consumer="w")
    await again.start()
    assert [i for _, i, _ in await read_all(again)] == [kept]
    await again.ack([(Stream.CHAT, kept)])
    assert await pending(client, Stream.CHAT) == 0


async def test_read_before_start_is_an_error(consumers: Callable[..., StreamConsumer]) -> None:
    with pytest.raises(RuntimeError, match="start"):
        await consumers().read()


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"streams": []}, "at least one"),
        ({"streams": ["a", "a"]}, "duplicate"),
        ({"streams": ["a"], "batch_size": 0}, "batch_size"),
    ],
)
def test_bad_configuration_is_refused(kwargs: dict[str, Any], needle: str) -> None:
    with pytest.raises(ValueError, match=needle):
        StreamConsumer("redis://127.0.0.1:1/0", **kwargs)


async def test_redis_outage_and_restart_without_persistence(
    spare_port: int, redis_servers: RedisServers, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="conductor.bus.consumer")
    url = f"redis://127.0.0.1:{spare_port}/0"
    consumer = StreamConsumer(
        url, [Stream.CHAT], block_ms=50, initial_backoff=0.01, max_backoff=0.05
    )
    try:
        await consumer.start()  # Redis is away: no exception, setup finishes later
        for _ in range(3):
            assert await consumer.read() == []
        await consumer.ack([(Stream.CHAT, "1-0")])  # deferred, not raised
        stats = consumer.stats()
        assert not stats.connected
        assert stats.errors == 5
        assert len(_outage_warnings(caplog)) == 1  # once per outage, not once per attempt

        redis_servers.start(spare_port)
        writer = aioredis.Redis.from_url(url)
        try:
            first = await add(writer, Stream.CHAT, {"n": 1})
            got = await read_all(consumer)
            assert [i for _, i, _ in got] == [first]
            await consumer.ack([(Stream.CHAT, first)])
            assert consumer.stats().reconnects == 1

            redis_servers.stop(spare_port)  # restart without persistence: groups gone
            assert await consumer.read() == []
            redis_servers.start(spare_port)
            await writer.aclose()
            writer = aioredis.Redis.from_url(url)
            second = await add(writer, Stream.CHAT, {"n": 2})
            got = await read_all(consumer)
            assert [i for _, i, _ in got] == [second]
            await consumer.ack([(Stream.CHAT, second)])
            assert await pending(writer, Stream.CHAT) == 0
            stats = consumer.stats()
            assert stats.reconnects == 2
            assert stats.groups_recreated == 1
            assert len(_outage_warnings(caplog)) == 2
        finally:
            await writer.aclose()
    finally:
        await consumer.close()


def _outage_warnings(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno == logging.WARNING and "unavailable" in r.msg]


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _id_key(entry_id: str) -> tuple[int, int]:
    ms, seq = entry_id.split("-")
    return int(ms), int(seq)
