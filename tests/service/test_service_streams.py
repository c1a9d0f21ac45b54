"""The service end to end: platform entries XADDed to Redis Streams, commands out on Pub/Sub,
everything stored — against the real Redis and PostgreSQL (and SQLite)."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
import redis.asyncio as aioredis

from conductor.bus.consumer import StreamConsumer
from conductor.core.engine import Engine
from conductor.core.model import RawEntry
from conductor.core.vocabulary import SIGNAL_STREAMS, AgentMode, Stream
from conductor.runtime import Runtime, build_runtime
from conductor.settings import Settings
from conductor.sim import AudienceSimulator
from redis_servers import RedisServers, free_port

COMMAND_FIELDS = {
    "agent.intervention.poll": "poll",
    "agent.intervention.broadcast": "message",
    "agent.intervention.notification": "notification_type",
    "agent.intervention.gamification": "content",
}


def backlog(
    scenario: str,
    *,
    minutes: float = 8.0,
    onset: float | None = None,
    attendees: int = 150,
    seed: int = 3,
) -> AudienceSimulator:
    """A session whose last `minutes` happened just now, with a fresh random id."""
    return AudienceSimulator(
        scenario,
        attendees=attendees,
        minutes=minutes,
        seed=seed,
        onset=onset,
        session_id=f"ses_{secrets.token_hex(6)}",
        event_id=f"evt_{secrets.token_hex(6)}",
        start=time.time() - minutes * 60,
    )


async def xadd_all(client: aioredis.Redis, entries: Iterable[RawEntry]) -> int:
    """XADD with the platform's ids (event time is the id); a re-delivered id is skipped."""
    last: dict[str, tuple[int, int]] = {}
    added = 0
    pipe = client.pipeline(transaction=False)
    for entry in entries:
        assert entry.entry_id is not None
        ms, seq = (int(part) for part in entry.entry_id.split("-"))
        if (ms, seq) <= last.get(entry.stream, (-1, -1)):
            continue
        last[entry.stream] = (ms, seq)
        pipe.xadd(entry.stream, {"data": orjson.dumps(entry.data)}, id=entry.entry_id)
        added += 1
    await pipe.execute()
    return added


def unique_signals(entries: Iterable[RawEntry]) -> int:
    """How many signals the engine applies from these entries (the reference count)."""
    engine = Engine()
    seen: dict[str, tuple[int, int]] = {}
    for entry in entries:
        assert entry.entry_id is not None
        key = tuple(int(p) for p in entry.entry_id.split("-"))
        if key <= seen.get(entry.stream, (-1, -1)):
            continue
        seen[entry.stream] = key  # type: ignore[assignment]
        engine.ingest_entry(RawEntry(entry.stream, entry.entry_id, entry.data))
    return engine.stats.applied


async def eventually(condition: Callable[[], bool], seconds: float = 30.0) -> None:
    async with asyncio.timeout(seconds):
        while not condition():  # noqa: ASYNC110 - polling state another task changes
            await asyncio.sleep(0.05)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/conductor.db"
    url: str = request.getfixturevalue("pg_url")
    return url


def service_settings(database_url: str, redis_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "redis_url": redis_url,
        "auth_enabled": False,
        "default_mode": AgentMode.AUTO,
        "consumer_group": f"conductor-test-{secrets.token_hex(4)}",
        "block_ms": 100,
        "claim_idle_ms": 1000,
        "write_interval_s": 0.1,
        "tick_s": 5.0,
        **overrides,
    }
    return Settings(**values)


@asynccontextmanager
async def started(settings: Settings) -> AsyncIterator[Runtime]:
    runtime = await build_runtime(settings)
    await runtime.start()
    try:
        yield runtime
    finally:
        await runtime.stop()


async def commands_for(
    client: aioredis.Redis, session_id: str, count: int = 1, seconds: float = 40.0
) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    pubsub = client.pubsub()
    await pubsub.subscribe("agent.interventions")
    try:
        async with asyncio.timeout(seconds):
            while len(found) < count:
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
                if message is None:
                    continue
                body = orjson.loads(message["data"])
                if body.get("session_id") == session_id:
                    found.append(body)
    finally:
        await pubsub.aclose()
    return found


async def test_platform_events_become_a_platform_command_and_are_stored(
    database_url: str, redis_url: str
) -> None:
    sim = backlog("sudden_drop", onset=240.0)
    client = aioredis.Redis.from_url(redis_url)
    listener = asyncio.create_task(commands_for(client, sim.session_id))
    await asyncio.sleep(0.2)  # subscribed before anything can be published
    await xadd_all(client, sim.step(time.time()))
    async with started(service_settings(database_url, redis_url)) as runtime:
        [command] = await listener
        # Exactly the fields and types the platform reads.
        assert command["type"] in COMMAND_FIELDS
        assert isinstance(command["intervention_id"], str) and command["intervention_id"]
        assert command["session_id"] == sim.session_id
        assert command["event_id"] == sim.event_id
        assert datetime.fromisoformat(command["timestamp"]).tzinfo is not None
        assert COMMAND_FIELDS[command["type"]] in command
        metadata = command["metadata"]
        assert isinstance(metadata["reason"], str) and metadata["reason"]
        assert 0.0 <= metadata["confidence"] <= 1.0
        assert isinstance(metadata["priority"], str)
        assert isinstance(metadata["estimated_impact"], float | int)
        if command["type"] == "agent.intervention.poll":
            poll = command["poll"]
            assert isinstance(poll["question"], str)
            assert 2 <= len(poll["options"]) <= 6
            assert all(isinstance(option, str) for option in poll["options"])

        # Stored with its full metadata, and the platform's report lands on it.
        await eventually(lambda: runtime.writer.pending == 0)
        stored = await runtime.store.get_intervention(command["intervention_id"])
        assert stored is not None
        assert stored.session_id == sim.session_id and stored.reason == metadata["reason"]
        await client.xadd(
            str(Stream.OUTCOMES),
            {
                "data": orjson.dumps(
                    {
                        "success": True,
                        "intervention_id": command["intervention_id"],
                        "session_id": sim.session_id,
                        "event_id": sim.event_id,
                        "result": {"pollId": "p1"},
                        "timestamp": datetime.now().astimezone().isoformat(),
                    }
                )
            },
        )

        async def delivered() -> bool:
            iv = await runtime.store.get_intervention(command["intervention_id"])
            return iv is not None and iv.delivered is True

        async with asyncio.timeout(20):
            while not await delivered():  # noqa: ASYNC110 - polling the database
                await asyncio.sleep(0.1)
    await client.aclose()


async def test_bad_entries_go_to_the_dead_letter_stream_and_the_loop_goes_on(
    redis_url: str, tmp_path: Path
) -> None:
    sim = backlog("steady", minutes=3)
    client = aioredis.Redis.from_url(redis_url)
    good = await xadd_all(client, sim.step(time.time() - 1))
    await client.xadd(str(Stream.CHAT), {"data": b"{not json"})
    await client.xadd(str(Stream.VOTE), {"data": orjson.dumps({"userId": "u1"})})
    await client.xadd(str(Stream.SYNC), {"other": b"field"})
    settings = service_settings(f"sqlite:///{tmp_path}/c.db", redis_url)
    async with started(settings) as runtime:
        await eventually(lambda: runtime.service.counters["rejected"] == 3)
        await eventually(lambda: runtime.service.counters["signals"] > good // 2)
        letters = await client.xrange(settings.dead_letter_stream)
        reasons = {fields[b"reason"].decode() for _, fields in letters}
        assert len(letters) == 3 and all(reasons)
        await eventually(lambda: runtime.writer.pending == 0)
        assert await runtime.store.count_dead_letters() == 3
        for stream in (Stream.CHAT, Stream.VOTE, Stream.SYNC):
            pending = await client.xpending(str(stream), settings.consumer_group)
            assert pending["pending"] == 0
    await client.aclose()


async def test_a_consumer_killed_mid_stream_loses_and_doubles_nothing(
    redis_url: str, tmp_path: Path
) -> None:
    sim = backlog("steady", minutes=4, attendees=120, seed=11)
    entries = sim.step(time.time())
    client = aioredis.Redis.from_url(redis_url)
    await xadd_all(client, entries)
    expected = unique_signals(entries)
    settings = service_settings(f"sqlite:///{tmp_path}/c.db", redis_url, batch_size=100)

    # A consumer reads a batch of every stream, then dies before acknowledging anything.
    doomed = StreamConsumer(
        redis_url,
        [str(s) for s in SIGNAL_STREAMS],
        group=settings.consumer_group,
        consumer="doomed",
        batch_size=100,
        block_ms=100,
        claim_idle_ms=1000,
    )
    await doomed.start()
    taken = 0
    for _ in range(3):
        taken += len(await doomed.read())
    assert taken > 0
    await doomed.close()

    async with started(settings) as runtime:
        await eventually(lambda: runtime.service.counters["signals"] >= expected, 30)
        await asyncio.sleep(1.5)  # a second claim sweep must not apply anything again
        assert runtime.service.counters["signals"] == expected
        for stream in SIGNAL_STREAMS:
            pending = await client.xpending(str(stream), settings.consumer_group)
            assert pending["pending"] == 0
    await client.aclose()


async def test_the_service_carries_on_when_redis_restarts(
    redis_servers: RedisServers, tmp_path: Path
) -> None:
    port = free_port()
    url = redis_servers.start(port)
    sim = backlog("sudden_drop", minutes=10, onset=480.0, seed=5)
    now = time.time()
    first = sim.step(now - 150)
    client = aioredis.Redis.from_url(url)
    await xadd_all(client, first)
    settings = service_settings(f"sqlite:///{tmp_path}/c.db", url)
    async with started(settings) as runtime:
        await eventually(lambda: runtime.service.counters["signals"] > 0)
        before = runtime.service.counters["signals"]

        redis_servers.stop(port)  # Redis goes away, and comes back empty (no persistence)
        await asyncio.sleep(1.0)
        redis_servers.start(port)
        client = aioredis.Redis.from_url(url)
        listener = asyncio.create_task(commands_for(client, sim.session_id, seconds=60))
        await asyncio.sleep(0.3)
        await xadd_all(client, sim.step(time.time()))

        await eventually(lambda: runtime.service.counters["signals"] > before, 30)
        [command] = await listener  # the drop after the restart still becomes a command
        assert command["session_id"] == sim.session_id
        ready = await runtime.readiness()
        assert ready["redis"][0] is True
    await client.aclose()
