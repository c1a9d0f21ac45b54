"""Probes, metrics, the OpenAPI document, and errors that are always JSON and never leak."""

from __future__ import annotations

import re

import pytest
from api_harness import SERVICE_HEADERS, Harness, MakeHarness, audience

from conductor.storage.store import StorageUnavailable

METRICS = (
    "conductor_signals_total",
    "conductor_rejected_total",
    "conductor_anomalies_total",
    "conductor_decisions_total",
    "conductor_interventions_total",
    "conductor_outcomes_total",
    "conductor_live_sessions",
    "conductor_pending_decisions",
    "conductor_storage_queue",
    "conductor_tick_seconds",
)


def sample(text: str, name: str) -> float:
    match = re.search(rf"^{name} (\S+)$", text, re.MULTILINE)
    assert match, f"{name} not exposed"
    return float(match.group(1))


async def test_live_probe(harness: Harness) -> None:
    for path in ("/health/live", "/api/v1/health/live"):
        response = await harness.client.get(path)
        assert response.status_code == 200
        assert response.json() == {"status": "ok"}


async def test_ready_probe_follows_the_agent_loop(harness: Harness) -> None:
    h = harness
    down = await h.client.get("/health/ready")
    assert down.status_code == 503
    body = down.json()
    assert body["status"] == "unavailable"
    assert set(body["components"]) == {"database", "redis", "agent"}
    assert body["components"]["database"]["ok"] is True
    assert body["components"]["agent"]["ok"] is False
    assert all(set(c) == {"ok", "detail"} for c in body["components"].values())
    await h.runtime.start()
    up = await h.client.get("/health/ready")
    assert up.status_code == 200
    assert up.json()["status"] == "ok"
    assert all(c["ok"] for c in up.json()["components"].values())


async def test_metrics_follow_the_runtime(make_harness: MakeHarness) -> None:
    h = await make_harness()
    h.sims.append(audience("sudden_drop", "ses_0e7a00000001", "evt_0e7a00000001"))
    await h.until_pending("ses_0e7a00000001")
    await h.client.post("/api/v1/signals", json={"signals": ["garbage"]}, headers=SERVICE_HEADERS)
    response = await h.client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    counters = h.runtime.service.counters
    assert sample(text, "conductor_signals_total") == counters["signals"] > 0
    assert sample(text, "conductor_rejected_total") == counters["rejected"] >= 1
    assert sample(text, "conductor_anomalies_total") == counters["anomalies"] >= 1
    assert sample(text, "conductor_decisions_total") == counters["decisions"] >= 1
    assert sample(text, "conductor_interventions_total") == counters["interventions"]
    assert sample(text, "conductor_outcomes_total") == counters["outcomes"]
    assert sample(text, "conductor_live_sessions") == 1
    assert sample(text, "conductor_pending_decisions") == len(h.runtime.service.pending) >= 1
    assert sample(text, "conductor_storage_queue") == h.runtime.writer.pending
    assert sample(text, "conductor_tick_seconds") == pytest.approx(
        h.runtime.service.last_tick_seconds
    )
    for name in METRICS:
        assert f"# TYPE {name.removesuffix('_total')}" in text
    assert "python_gc" not in text  # the app's own registry, not the process-wide one


async def test_two_apps_keep_their_own_metrics(make_harness: MakeHarness) -> None:
    first, second = await make_harness(), await make_harness()
    first.runtime.service.counters["signals"] = 7
    assert sample((await first.client.get("/metrics")).text, "conductor_signals_total") == 7
    assert sample((await second.client.get("/metrics")).text, "conductor_signals_total") == 0


async def test_openapi_documents_the_api(harness: Harness) -> None:
    schema = (await harness.client.get("/openapi.json")).json()
    paths = set(schema["paths"])
    assert {
        "/api/v1/signals",
        "/api/v1/interventions/manual",
        "/api/v1/interventions/history/{session_id}",
        "/api/v1/interventions/history/event/{event_id}",
        "/api/v1/interventions/stats/{session_id}",
        "/api/v1/events",
        "/api/v1/events/{event_id}",
        "/api/v1/events/{event_id}/sessions",
        "/api/v1/events/{event_id}/outcomes",
        "/api/v1/events/{event_id}/live",
        "/api/v1/sessions/{session_id}",
        "/api/v1/sessions/{session_id}/mode",
        "/api/v1/sessions/{session_id}/engagement",
        "/api/v1/sessions/{session_id}/anomalies",
        "/api/v1/sessions/{session_id}/live",
        "/api/v1/decisions",
        "/api/v1/decisions/{decision_id}/approve",
        "/api/v1/decisions/{decision_id}/dismiss",
        "/health/live",
        "/health/ready",
        "/metrics",
    } <= paths
    assert (await harness.client.get("/docs")).status_code == 200


async def test_unknown_routes_and_methods_are_json(harness: Harness) -> None:
    missing = await harness.client.get("/api/v1/nothing-here")
    assert missing.status_code == 404
    assert missing.json()["error"] == "not_found"
    root = await harness.client.get("/")
    assert root.status_code == 404
    wrong = await harness.client.delete("/api/v1/events", headers=SERVICE_HEADERS)
    assert wrong.status_code == 405
    assert wrong.json()["error"] == "method_not_allowed"


async def test_internal_errors_do_not_leak(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    await harness.client.put("/api/v1/sessions/ses_e1", json={"event_id": "evt_e1"},
                             headers=SERVICE_HEADERS)  # fmt: skip

    async def broken(*_: object, **__: object) -> None:
        raise RuntimeError("password=hunter2 at db.internal:5432")

    monkeypatch.setattr(harness.runtime.store, "session_stats", broken)
    response = await harness.client.get(
        "/api/v1/interventions/stats/ses_e1", headers=SERVICE_HEADERS
    )
    assert response.status_code == 500
    assert response.json()["error"] == "internal"
    assert "hunter2" not in response.text and "db.internal" not in response.text


async def test_database_outage_is_503(harness: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    async def away(*_: object, **__: object) -> None:
        raise StorageUnavailable("database unavailable: connection refused")

    monkeypatch.setattr(harness.runtime.store, "list_events", away)
    response = await harness.client.get("/api/v1/events", headers=SERVICE_HEADERS)
    assert response.status_code == 503
    assert response.json()["error"] == "unavailable"
    assert "refused" not in response.json()["message"]
