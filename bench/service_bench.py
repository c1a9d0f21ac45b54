"""The service through real Redis: sustained ingest rate, and tick-to-command latency.

    python bench/service_bench.py                          # Redis on 127.0.0.1:6379, db 14
    python bench/service_bench.py --redis redis://host:6379/3 --database postgresql://...

Phase 1 (ingest): the last few minutes of `--sessions` simulated sessions are written to the
platform's streams, then the service (consumer group, engine, agent loop, write-behind storage,
publisher) drains them; the rate is signals applied per second of wall time, one process.

Phase 2 (latency): the sessions go on live for `--live-seconds`; some of them drop. Each
command is timed from the start of the tick that decided it to its arrival at a subscriber of
`agent.interventions` (a separate Redis connection): p50 and p99.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import secrets
import statistics
import sys
import tempfile
import time
from typing import Any

import orjson
import redis.asyncio as aioredis

from conductor.core.model import RawEntry
from conductor.core.vocabulary import AgentMode
from conductor.runtime import build_runtime
from conductor.settings import Settings
from conductor.sim import AudienceSimulator, Imperfections

TARGET_INGEST = 20_000
TARGET_P99_MS = 20.0
STEP_S = 0.2
"""Seconds between two writes of live entries."""
SCENARIOS = ("steady", "steady", "steady", "sudden_drop", "mass_exit", "low_engagement")


class Feeder:
    """Writes simulated entries with the platform's ids; a re-delivered id is skipped."""

    def __init__(self, client: aioredis.Redis) -> None:
        self.client = client
        self.last: dict[str, tuple[int, int]] = {}

    async def write(self, entries: list[RawEntry]) -> int:
        entries.sort(key=lambda e: tuple(int(p) for p in (e.entry_id or "0-0").split("-")))
        added = 0
        pipe = self.client.pipeline(transaction=False)
        for entry in entries:
            assert entry.entry_id is not None
            ms, seq = (int(p) for p in entry.entry_id.split("-"))
            if (ms, seq) <= self.last.get(entry.stream, (-1, -1)):
                continue
            self.last[entry.stream] = (ms, seq)
            pipe.xadd(entry.stream, {"data": orjson.dumps(entry.data)}, id=entry.entry_id)
            added += 1
            if added % 5000 == 0:
                await pipe.execute()
        await pipe.execute()
        return added


def make_sims(options: argparse.Namespace, now: float) -> list[AudienceSimulator]:
    backlog_s = options.backlog_minutes * 60
    live_s = options.live_seconds
    sims = []
    for i in range(options.sessions):
        scenario = SCENARIOS[i % len(SCENARIOS)]
        onset = backlog_s + 5 + (i * 7) % max(1, int(live_s - 20)) if scenario != "steady" else None
        sims.append(AudienceSimulator(
            scenario, attendees=options.attendees, seed=i, minutes=(backlog_s + live_s) / 60 + 1,
            session_id=f"ses_{i:012x}", event_id=f"evt_{i % 20:012x}",
            start=now - backlog_s, onset=onset, imperfections=Imperfections(),
        ))
    return sims


def feed(
    options: argparse.Namespace, now: float, written: Any, live_at: Any, go_live: Any
) -> None:
    """Runs in its own process, as the platform would: the backlog, then live entries.

    The live phase is simulated ahead, before anything is measured, and written at its pace:
    simulating a thousand rooms as they go would take a core of a two-core machine away from
    the service under test. Event time goes on from the backlog's end (see `BenchClock`).
    """

    async def run() -> None:
        client = aioredis.Redis.from_url(options.redis)
        feeder = Feeder(client)
        sims = make_sims(options, now)
        backlog: list[RawEntry] = []
        for sim in sims:
            backlog.extend(sim.step(now))
        steps: list[tuple[float, list[RawEntry]]] = []
        t = 0.0
        while t < options.live_seconds:
            t += STEP_S
            fresh: list[RawEntry] = []
            for sim in sims:
                fresh.extend(sim.step(now + t))
            steps.append((t, fresh))
        written.value = await feeder.write(backlog)
        del backlog
        go_live.wait()
        start = live_at.value
        for offset, fresh in steps:
            delay = start + offset - time.time()
            if delay > 0:
                await asyncio.sleep(delay)
            await feeder.write(fresh)
        await client.aclose()

    asyncio.run(run())


class BenchClock:
    """The service's event time: it stands at the backlog's end while the backlog drains,
    then runs with the wall clock from the moment the live phase starts."""

    def __init__(self, at: float) -> None:
        self.at = at
        self.started: float | None = None

    def start(self, wall: float) -> None:
        self.started = wall

    def now(self) -> float:
        return self.at if self.started is None else self.at + time.time() - self.started


async def main_async(options: argparse.Namespace) -> int:
    client = aioredis.Redis.from_url(options.redis)
    await client.flushdb()
    now = time.time()
    print(f"writing the last {options.backlog_minutes:g} min of {options.sessions} sessions "
          f"to the streams...", file=sys.stderr, flush=True)
    written_value = multiprocessing.Value("q", 0)
    live_at = multiprocessing.Value("d", 0.0)
    go_live = multiprocessing.Event()
    feeder_process = multiprocessing.Process(
        target=feed, args=(options, now, written_value, live_at, go_live), daemon=True
    )
    feeder_process.start()
    while written_value.value == 0 and feeder_process.is_alive():  # noqa: ASYNC110
        await asyncio.sleep(0.2)
    written = int(written_value.value)
    live_s = options.live_seconds

    database = options.database or f"sqlite:///{tempfile.mkdtemp()}/bench.db"
    settings = Settings(
        database_url=database, redis_url=options.redis, auth_enabled=False,
        default_mode=AgentMode.AUTO, block_ms=50, batch_size=options.batch,
        consumer_group=f"bench-{secrets.token_hex(3)}",
    )
    clock = BenchClock(now)
    runtime = await build_runtime(settings, clock=clock)
    service = runtime.service
    await service.load()
    runtime.pace_gc()
    writer_task = asyncio.create_task(runtime.writer.run())
    consume_task = asyncio.create_task(runtime._consume())

    # Phase 1: drain the backlog as fast as the service goes (ticks run as it catches up).
    started = time.perf_counter()
    target = written * 0.97  # duplicates in the stream are applied once
    last_report = started
    while service.counters["signals"] + service.counters["duplicates"] < target:
        await service.step_async()
        await asyncio.sleep(0)
        if time.perf_counter() - last_report > 2:
            last_report = time.perf_counter()
            print(f"  {service.counters['signals']:,} signals applied", file=sys.stderr)
        if time.perf_counter() - started > 300:
            break
    elapsed = time.perf_counter() - started
    applied = service.counters["signals"] + service.counters["duplicates"]
    rate = applied / elapsed
    print(f"ingest: {applied:,} entries from Redis in {elapsed:.1f} s = {rate:,.0f} signals/s "
          f"sustained, one process ({options.sessions} sessions) [target >= {TARGET_INGEST:,}]")
    # The backlog's ticks, queued while the streams drained, run before the live phase.
    catch_up = time.perf_counter()
    while service.parts_waiting:
        await service.step_async()
        await asyncio.sleep(service._sleep_s())
    print(f"  the backlog's ticks ran in {time.perf_counter() - catch_up:.1f} s", file=sys.stderr)

    # Phase 2: live; time every command from its tick's start to a subscriber in another
    # process (wall clock on both sides: the same machine's clock).
    service.latency_probe = {}
    receipts: multiprocessing.Queue[tuple[str, float]] = multiprocessing.Queue()
    ready = multiprocessing.Event()
    listener = multiprocessing.Process(
        target=listen, args=(options.redis, receipts, ready), daemon=True
    )
    listener.start()
    ready.wait(10)
    live_at.value = time.time()
    clock.start(live_at.value)
    go_live.set()
    deadline = time.time() + live_s
    print(f"live for {live_s:.0f} s...", file=sys.stderr, flush=True)
    while time.time() < deadline:
        await service.step_async()
        await asyncio.sleep(service._sleep_s())
    await asyncio.sleep(1.0)
    received: dict[str, float] = {}
    while not receipts.empty():
        intervention_id, at = receipts.get()
        received.setdefault(intervention_id, at)
    listener.terminate()
    probe = service.latency_probe
    from_start = sorted((received[i] - started_at) * 1000 for i, (_, started_at) in probe.items()
                        if i in received)
    from_due = sorted((received[i] - due) * 1000 for i, (due, _) in probe.items() if i in received)
    if from_start:
        def pct(values: list[float], q: float) -> float:
            return values[min(len(values) - 1, int(q * len(values)))]

        print(f"tick start -> command on agent.interventions: {len(from_start)} commands, "
              f"p50 {statistics.median(from_start):.1f} ms, p99 {pct(from_start, 0.99):.1f} ms, "
              f"max {from_start[-1]:.1f} ms [target p99 <= {TARGET_P99_MS:.0f} ms]")
        print(f"  (a tick over {len(service.live)} sessions runs in parts of "
              f"{service.config.tick_part_size} spread over half the tick interval; from the "
              f"moment the tick fell due: p50 {statistics.median(from_due):.0f} ms, "
              f"p99 {pct(from_due, 0.99):.0f} ms)")
    else:
        print("no command was decided during the live phase: raise --live-seconds")
    print(f"last tick over {len(service.live)} live sessions took "
          f"{service.last_tick_seconds * 1000:.1f} ms")
    consume_task.cancel()
    writer_task.cancel()
    await asyncio.gather(consume_task, writer_task, return_exceptions=True)
    await runtime.stop()
    await client.flushdb()
    await client.aclose()
    return 0


def listen(url: str, receipts: multiprocessing.Queue[tuple[str, float]], ready: Any) -> None:
    """Runs in its own process: stamps each command on arrival."""
    import redis

    pubsub = redis.Redis.from_url(url).pubsub()
    pubsub.subscribe("agent.interventions")
    ready.set()
    for message in pubsub.listen():
        if message["type"] == "message":
            at = time.time()
            body = orjson.loads(message["data"])
            receipts.put((str(body.get("intervention_id")), at))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/14")
    parser.add_argument("--database", default=None, help="default: a temporary SQLite file")
    parser.add_argument("--sessions", type=int, default=1000)
    parser.add_argument("--attendees", type=int, default=60)
    parser.add_argument("--backlog-minutes", type=float, default=3.0)
    parser.add_argument("--live-seconds", type=float, default=60.0)
    parser.add_argument("--batch", type=int, default=2000)
    return asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    raise SystemExit(main())
