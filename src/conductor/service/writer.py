"""Write-behind to storage: the tick never waits for the database, and nothing is lost.

Writes queue in order and flush in batches from a background task. When the database is away,
the queue keeps them and the flusher retries with backoff; every write is idempotent (upserts
keyed by id), so a batch retried after a partial success is stored once. Only engagement points
may be dropped, oldest first, if an outage outlasts the queue bound; decisions, interventions
and outcomes never are.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from conductor.core.model import Anomaly, Engagement, PlatformOutcome
from conductor.service.records import (
    DeadLetter,
    Decision,
    EventSettings,
    Intervention,
    Outcome,
    SessionRecord,
)
from conductor.storage import Store

log = logging.getLogger(__name__)


@dataclass(slots=True)
class WriterStats:
    written: int = 0
    failures: int = 0
    dropped_points: int = 0
    unknown_deliveries: int = 0


class StoreWriter:
    def __init__(
        self,
        store: Store,
        *,
        batch_size: int = 500,
        interval_s: float = 1.0,
        max_points: int = 200_000,
        max_backoff_s: float = 30.0,
        on_unknown_delivery: Callable[[PlatformOutcome], Awaitable[None]] | None = None,
    ) -> None:
        self.store = store
        self.batch_size = batch_size
        self.interval_s = interval_s
        self.max_points = max_points
        self.max_backoff_s = max_backoff_s
        self.stats = WriterStats()
        self._on_unknown_delivery = on_unknown_delivery
        self.gate: Callable[[], Awaitable[None]] | None = None
        """Awaited before each write, when set: the agent's tick parts go first."""
        self._points: deque[Engagement] = deque()
        self._ops: deque[tuple[str, Any]] = deque()
        self._wake = asyncio.Event()
        self._healthy = True

    @property
    def pending(self) -> int:
        return len(self._points) + len(self._ops)

    @property
    def healthy(self) -> bool:
        """False while the last flush failed (the database is away)."""
        return self._healthy

    # -- enqueue (never blocks, never raises) -------------------------------------------------

    def engagement(self, e: Engagement) -> None:
        self._points.append(e)
        while len(self._points) > self.max_points:
            self._points.popleft()
            self.stats.dropped_points += 1
        if len(self._points) >= self.batch_size:
            self._wake.set()

    def anomaly(self, anomaly_id: str, a: Anomaly) -> None:
        self._ops.append(("anomaly", (anomaly_id, a)))

    def decision(self, d: Decision) -> None:
        self._ops.append(("decision", d))
        self._wake.set()

    def intervention(self, iv: Intervention) -> None:
        self._ops.append(("intervention", iv))
        self._wake.set()

    def outcome(self, o: Outcome) -> None:
        self._ops.append(("outcome", o))

    def delivery(self, p: PlatformOutcome) -> None:
        self._ops.append(("delivery", p))

    def dead_letter(self, d: DeadLetter) -> None:
        self._ops.append(("dead_letter", d))

    def session(self, s: SessionRecord) -> None:
        self._ops.append(("session", s))

    def event(self, e: EventSettings) -> None:
        self._ops.append(("event", e))

    # -- flushing -------------------------------------------------------------------------------

    async def flush(self) -> None:
        """Write everything queued; raises (keeping the queue) if the database fails."""
        gate = self.gate
        try:
            while self._ops:
                if gate is not None:
                    await gate()
                kind, payload = self._ops[0]
                await self._apply(kind, payload)
                self._ops.popleft()
                self.stats.written += 1
            while self._points:
                if gate is not None:
                    await gate()
                batch = [self._points[i] for i in range(min(self.batch_size, len(self._points)))]
                await self.store.add_engagement(batch)
                for _ in batch:
                    self._points.popleft()
                self.stats.written += len(batch)
        except Exception:
            self._healthy = False
            raise
        self._healthy = True

    async def _apply(self, kind: str, payload: Any) -> None:
        store = self.store
        if kind == "anomaly":
            await store.add_anomalies([payload])
        elif kind == "decision":
            await store.save_decision(payload)
        elif kind == "intervention":
            await store.save_intervention(payload)
        elif kind == "outcome":
            await store.save_outcome(payload)
        elif kind == "delivery":
            if not await store.record_delivery(payload):
                self.stats.unknown_deliveries += 1
                if self._on_unknown_delivery is not None:
                    await self._on_unknown_delivery(payload)
        elif kind == "dead_letter":
            await store.add_dead_letters([payload])
        elif kind == "session":
            await store.upsert_session(payload)
        elif kind == "event":
            await store.upsert_event(payload)
        else:  # pragma: no cover - a programming error, not input
            raise AssertionError(f"unknown write {kind}")

    async def run(self) -> None:
        backoff = self.interval_s
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=backoff)
            self._wake.clear()
            was_healthy = self._healthy
            try:
                await self.flush()
            except asyncio.CancelledError:
                raise
            except Exception as error:
                self.stats.failures += 1
                if was_healthy:
                    log.warning(
                        "storage unavailable, %d writes kept for retry: %s", self.pending, error
                    )
                backoff = min(self.max_backoff_s, max(backoff, 0.1) * 2)
            else:
                if not was_healthy:
                    log.info("storage is back; queued writes stored")
                backoff = self.interval_s
