"""Probes and metrics for whoever runs the service (no token needed)."""

from __future__ import annotations

from collections.abc import Iterable

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from conductor.api.auth import RuntimeDep
from conductor.api.schemas import Live, Ready
from conductor.runtime import Runtime

router = APIRouter(tags=["operations"])

COUNTERS: tuple[tuple[str, str, str], ...] = (
    ("signals", "signals", "Platform signals applied (duplicates excluded)."),
    ("duplicates", "duplicates", "Signals seen before and skipped."),
    ("rejected", "rejected", "Entries that could not be understood (dead-lettered)."),
    ("ticks", "ticks", "Scoring ticks run."),
    ("anomalies", "anomalies", "Anomalies detected."),
    ("decisions", "decisions", "Interventions the agent decided on."),
    ("interventions", "interventions", "Interventions executed (auto, approved or manual)."),
    ("outcomes", "outcomes", "Intervention outcomes measured."),
    ("tick_errors", "tick_errors", "Failures while handling one session's tick."),
    ("publish_errors", "publish_errors", "Messages that could not be published."),
)


class RuntimeCollector(Collector):
    """Reads the runtime's own counters at scrape time, so nothing is counted twice."""

    def __init__(self, runtime: Runtime, streams: dict[str, int]) -> None:
        self.runtime = runtime
        self.streams = streams

    def collect(self) -> Iterable[Metric]:
        service = self.runtime.service
        writer = self.runtime.writer
        for name, key, help_text in COUNTERS:
            yield CounterMetricFamily(
                f"conductor_{name}", help_text, value=service.counters.get(key, 0)
            )
        yield CounterMetricFamily(
            "conductor_ingest_errors",
            "Stream reads that failed and were retried.",
            value=self.runtime.ingest_errors,
        )
        yield CounterMetricFamily(
            "conductor_storage_writes", "Records written to storage.", value=writer.stats.written
        )
        yield CounterMetricFamily(
            "conductor_storage_failures",
            "Storage flushes that failed and will be retried.",
            value=writer.stats.failures,
        )
        yield CounterMetricFamily(
            "conductor_storage_dropped_points",
            "Engagement points dropped because an outage outlasted the queue.",
            value=writer.stats.dropped_points,
        )
        gauges = (
            ("conductor_live_sessions", "Sessions the agent is watching.", len(service.live)),
            (
                "conductor_pending_decisions",
                "Decisions waiting for an organiser.",
                len(service.pending),
            ),
            (
                "conductor_measuring_interventions",
                "Interventions whose outcome is not in yet.",
                len(service.measuring),
            ),
            ("conductor_storage_queue", "Writes queued for storage.", writer.pending),
            (
                "conductor_tick_seconds",
                "Wall time of the last tick that scored sessions.",
                service.last_tick_seconds,
            ),
            (
                "conductor_live_streams",
                "Open server-sent event streams.",
                self.streams.get("open", 0),
            ),
        )
        for name, help_text, value in gauges:
            yield GaugeMetricFamily(name, help_text, value=value)


def metrics_registry(runtime: Runtime, streams: dict[str, int]) -> CollectorRegistry:
    """A registry of the app's own: several apps (tests) never share or collide."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(RuntimeCollector(runtime, streams))
    return registry


@router.get("/health/live", response_model=Live)
async def live() -> dict[str, str]:
    """The process answers."""
    return {"status": "ok"}


@router.get("/health/ready", response_model=Ready, responses={503: {"model": Ready}})
async def ready(runtime: RuntimeDep) -> JSONResponse:
    """Database, broker and agent loop all working: 200, else 503 naming what is not."""
    checks = await runtime.readiness()
    ok = all(good for good, _ in checks.values())
    body = {
        "status": "ok" if ok else "unavailable",
        "components": {
            name: {"ok": good, "detail": detail} for name, (good, detail) in checks.items()
        },
    }
    return JSONResponse(body, status_code=200 if ok else 503)


@router.get("/metrics", response_class=Response)
async def metrics(request: Request) -> Response:
    """Prometheus text exposition."""
    registry: CollectorRegistry = request.app.state.metrics_registry
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
