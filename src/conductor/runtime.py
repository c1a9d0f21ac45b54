"""Wiring: settings in, a running service out (storage, bus, agent loop, stream ingest).

The entry points (`conductor serve`, `conductor demo`, the tests) build one `Runtime` and start
it; the API reads everything it needs from it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from dataclasses import dataclass, field
from typing import Any

from conductor.bus.memory import InProcessBus
from conductor.bus.publisher import Publisher, RedisPublisher, TeePublisher
from conductor.core.model import PlatformOutcome, RawEntry
from conductor.core.vocabulary import SIGNAL_STREAMS, Stream
from conductor.service.agent import AgentService, Clock, ServiceConfig
from conductor.service.gc_pacing import GcPacer
from conductor.service.records import DeadLetter
from conductor.service.writer import StoreWriter
from conductor.settings import Settings
from conductor.storage import Store

log = logging.getLogger(__name__)

INGEST_CHUNK = 200
"""Stream entries applied between two looks at the agent: a tick part never waits long."""


@dataclass(slots=True)
class Runtime:
    settings: Settings
    store: Store
    writer: StoreWriter
    live: InProcessBus
    service: AgentService
    jwt_secret: str
    redis_publisher: RedisPublisher | None = None
    consumer: Any = None
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    ingest_errors: int = 0

    async def start(self) -> None:
        await self.service.load()
        self.pace_gc()
        self.tasks.append(asyncio.create_task(self.writer.run(), name="writer"))
        self.tasks.append(asyncio.create_task(self.service.run(), name="agent"))
        if self.consumer is not None:
            self.tasks.append(asyncio.create_task(self._consume(), name="streams"))

    def pace_gc(self) -> None:
        """Move full garbage collections between ticks (the `gc_pacing_s` setting)."""
        if self.settings.gc_pacing_s > 0 and self.service.gc_pacer is None:
            self.service.gc_pacer = GcPacer(self.settings.gc_pacing_s)
            self.service.gc_pacer.install()

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self.tasks.clear()
        if self.service.gc_pacer is not None:
            self.service.gc_pacer.uninstall()
        await self.service.drain()
        with contextlib.suppress(Exception):
            await self.writer.flush()
        if self.consumer is not None:
            await self.consumer.close()
        if self.redis_publisher is not None:
            await self.redis_publisher.close()
        await self.store.close()

    async def _consume(self) -> None:
        """Platform streams -> engine; ack only after applied; bad entries to dead letters."""
        consumer = self.consumer
        await consumer.start()
        while True:
            try:
                batch = await consumer.read()
                if not batch:
                    continue
                bad: dict[int, str] = {}
                for first in range(0, len(batch), INGEST_CHUNK):
                    await self.service.between_parts()
                    entries = [
                        RawEntry(stream, entry_id, data)
                        for stream, entry_id, data in batch[first : first + INGEST_CHUNK]
                    ]
                    report = self.service.ingest(entries)
                    bad.update((first + index, reason) for index, reason in report.rejected)
                for index, (stream, entry_id, data) in enumerate(batch):
                    if index in bad:
                        raw = data if isinstance(data, str) else repr(data)[:2000]
                        await consumer.dead_letter(stream, entry_id, bad[index], raw)
                await consumer.ack([(s, i) for n, (s, i, _) in enumerate(batch) if n not in bad])
            except asyncio.CancelledError:
                raise
            except Exception:
                self.ingest_errors += 1
                log.exception("stream ingest failed; retrying")
                await asyncio.sleep(1.0)

    async def readiness(self) -> dict[str, tuple[bool, str]]:
        out: dict[str, tuple[bool, str]] = {}
        try:
            await asyncio.wait_for(self.store.ping(), timeout=2.0)
            pending = self.writer.pending
            out["database"] = (True, f"ok, {pending} writes queued")
        except Exception as error:
            out["database"] = (False, f"unreachable: {error}")
        if self.redis_publisher is None:
            out["redis"] = (True, "not configured: in-process bus")
        else:
            stats = self.redis_publisher.stats()
            ok = stats.connected
            out["redis"] = (
                ok,
                f"{'connected' if ok else 'reconnecting'}, {stats.pending} messages queued",
            )
        agent_ok = any(t.get_name() == "agent" and not t.done() for t in self.tasks)
        out["agent"] = (
            agent_ok,
            f"{len(self.service.live)} live sessions" if agent_ok else "agent loop not running",
        )
        return out


async def build_runtime(
    settings: Settings,
    *,
    clock: Clock | None = None,
    redis_streams: bool = True,
) -> Runtime:
    """Connect storage (migrating it) and the bus as the settings say."""
    from conductor.storage.migrate import upgrade

    await asyncio.to_thread(
        upgrade, settings.database_url, retention_days=settings.timeseries_retention_days
    )
    store = await Store.connect(settings.database_url)
    live = InProcessBus()
    redis_publisher: RedisPublisher | None = None
    publisher: Publisher = live
    if settings.redis_url:
        redis_publisher = RedisPublisher(settings.redis_url)
        publisher = TeePublisher(redis_publisher, live)
    service_ref: list[AgentService] = []

    async def unknown_delivery(outcome: PlatformOutcome) -> None:
        writer.dead_letter(
            DeadLetter(
                str(Stream.OUTCOMES),
                outcome.entry_id,
                f"outcome for unknown intervention {outcome.intervention_id}",
                None,
            )
        )

    writer = StoreWriter(
        store,
        batch_size=settings.write_batch_size,
        interval_s=settings.write_interval_s,
        on_unknown_delivery=unknown_delivery,
    )
    config = ServiceConfig(
        tick_s=settings.tick_s,
        lateness_s=settings.lateness_s,
        default_mode=settings.default_mode,
        confidence_threshold=settings.confidence_threshold,
        decision_ttl_s=settings.decision_ttl_s,
        max_per_session=settings.max_per_session,
        max_per_event=settings.max_per_event,
        session_idle_timeout_s=settings.session_idle_timeout_s,
    )
    config.outcome = type(config.outcome)(delay_s=settings.outcome_delay_s)
    service = AgentService(writer, publisher, config=config, clock=clock)
    writer.gate = service.between_parts
    service_ref.append(service)
    consumer = None
    if settings.redis_url and redis_streams:
        from conductor.bus.consumer import StreamConsumer

        consumer = StreamConsumer(
            settings.redis_url,
            [str(s) for s in (*SIGNAL_STREAMS, Stream.OUTCOMES)],
            group=settings.consumer_group,
            consumer=settings.consumer_name,
            batch_size=settings.batch_size,
            block_ms=settings.block_ms,
            dead_letter_stream=settings.dead_letter_stream,
            claim_idle_ms=settings.claim_idle_ms,
        )
    secret = settings.jwt_secret or secrets.token_urlsafe(32)
    return Runtime(
        settings=settings,
        store=store,
        writer=writer,
        live=live,
        service=service,
        jwt_secret=secret,
        redis_publisher=redis_publisher,
        consumer=consumer,
    )
