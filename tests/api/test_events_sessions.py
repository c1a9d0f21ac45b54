"""Events and sessions: settings, the overview, the detailed view, modes and time series."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from api_harness import (
    MANAGE,
    READ,
    SERVICE_HEADERS,
    START,
    Harness,
    MakeHarness,
    audience,
    bearer,
    next_message,
    token,
)

from conductor.core.vocabulary import AgentStatus, InterventionType, Trend

EVENT = "evt_e7e000000001"
DROP, STEADY = "ses_d80000000001", "ses_5d0000000001"
ORG = bearer(token("olga", "org_a", [*MANAGE, *READ]))
READER = bearer(token("rita", "org_a", READ))
SUMMARY_KEYS = {
    "session_id", "event_id", "title", "topic", "score", "trend", "status", "mode", "connected",
    "open_alerts", "sparkline", "pending_decisions", "updated_at",
}  # fmt: skip
EVENT_KEYS = {
    "event_id", "org_id", "name", "enabled", "mode", "confidence_threshold", "allowed_types",
    "max_per_session", "max_per_event",
}  # fmt: skip


@pytest.fixture
async def event(make_harness: MakeHarness) -> Harness:
    """Org A's event with a session that dropped (waiting on a decision) and a steady one."""
    h = await make_harness()
    response = await h.client.put(
        f"/api/v1/events/{EVENT}", json={"org_id": "org_a"}, headers=SERVICE_HEADERS
    )
    assert response.status_code == 200
    h.sims.append(audience("sudden_drop", DROP, EVENT))
    h.sims.append(audience("steady", STEADY, EVENT, seed=3))
    await h.until_pending(DROP)
    return h


# -- events ----------------------------------------------------------------------------------------


async def test_event_settings_round_trip(harness: Harness) -> None:
    h = harness
    body = {
        "org_id": "org_a",
        "name": "Spring summit",
        "enabled": True,
        "mode": "SEMI_AUTO",
        "confidence_threshold": 0.6,
        "allowed_types": ["POLL", "CHAT_PROMPT"],
        "max_per_session": 3,
        "max_per_event": 20,
    }
    put = await h.client.put("/api/v1/events/evt_summit", json=body, headers=SERVICE_HEADERS)
    assert put.status_code == 200, put.text
    assert put.json() == {
        "event_id": "evt_summit",
        **body,
        "allowed_types": ["CHAT_PROMPT", "POLL"],
    }
    got = await h.client.get("/api/v1/events/evt_summit", headers=ORG)
    assert got.json() == put.json()

    partial = await h.client.put(
        "/api/v1/events/evt_summit", json={"name": "Summit", "max_per_session": None}, headers=ORG
    )
    assert partial.status_code == 200
    assert partial.json()["name"] == "Summit"
    assert partial.json()["max_per_session"] is None
    assert partial.json()["mode"] == "SEMI_AUTO"
    assert partial.json()["max_per_event"] == 20
    assert partial.json()["org_id"] == "org_a"

    await h.runtime.writer.flush()
    stored = await h.runtime.store.get_event("evt_summit")
    assert stored is not None
    assert stored.name == "Summit" and stored.max_per_event == 20
    assert stored.allowed_types == {InterventionType.POLL, InterventionType.CHAT_PROMPT}
    listed = (await h.client.get("/api/v1/events", headers=ORG)).json()["events"]
    assert [set(e) for e in listed] == [EVENT_KEYS]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"mode": None}, "mode"),
        ({"mode": "SOMETIMES"}, "mode"),
        ({"confidence_threshold": 1.5}, "confidence_threshold"),
        ({"allowed_types": ["BANNER"]}, "allowed_types.0"),
        ({"max_per_session": -1}, "max_per_session"),
        ({"enabled": None}, "enabled"),
        ({"colour": "blue"}, "colour"),
        ({"org_id": "bad id"}, "org_id"),
    ],
)
async def test_event_body_errors(harness: Harness, body: dict[str, Any], field: str) -> None:
    response = await harness.client.put("/api/v1/events/evt_x", json=body, headers=SERVICE_HEADERS)
    assert response.status_code == 422, response.text
    assert response.json()["field"] == field
    assert "evt_x" not in harness.runtime.service.events


async def test_reading_permission_cannot_change_settings(event: Harness) -> None:
    response = await event.client.put(
        f"/api/v1/events/{EVENT}", json={"enabled": False}, headers=READER
    )
    assert response.status_code == 403
    assert event.runtime.service.events[EVENT].enabled is True


async def test_event_sessions_worst_first(event: Harness) -> None:
    h = event
    response = await h.client.get(f"/api/v1/events/{EVENT}/sessions", headers=READER)
    assert response.status_code == 200
    sessions = response.json()["sessions"]
    assert {s["session_id"] for s in sessions} == {DROP, STEADY}
    assert all(set(s) == SUMMARY_KEYS for s in sessions)
    scores = [s["score"] for s in sessions]
    assert scores == sorted(scores)
    by_id = {s["session_id"]: s for s in sessions}
    drop = by_id[DROP]
    live = h.runtime.service.live[DROP]
    assert drop["score"] == pytest.approx(live.history[-1][1])
    assert drop["sparkline"] == pytest.approx([s for _, s in list(live.history)[-60:]])
    assert len(drop["sparkline"]) <= 60
    assert drop["pending_decisions"] == 1
    assert drop["status"] == AgentStatus.WAITING_APPROVAL.value
    assert drop["trend"] in {t.value for t in Trend}
    assert live.last is not None
    assert drop["connected"] == live.last.signals.connected > 0
    assert drop["mode"] == "MANUAL"
    assert drop["event_id"] == EVENT
    open_now = h.runtime.service.engine.open_episodes(DROP)
    assert open_now, "the drop is still an open episode when the decision comes"
    assert drop["open_alerts"] == [{"type": t, "severity": v} for t, v in open_now.items()]
    assert by_id[STEADY]["pending_decisions"] == len(
        h.runtime.service.pending_for(session_id=STEADY)
    )


async def test_event_outcomes_empty_before_any_intervention(event: Harness) -> None:
    response = await event.client.get(f"/api/v1/events/{EVENT}/outcomes", headers=READER)
    assert response.json() == {"by_type": {}}


# -- sessions --------------------------------------------------------------------------------------


async def test_session_detail(event: Harness) -> None:
    h = event
    response = await h.client.get(f"/api/v1/sessions/{DROP}", headers=READER)
    assert response.status_code == 200
    body = response.json()
    assert SUMMARY_KEYS | {"components", "signals", "threshold", "anomalies", "activity"} == set(
        body
    )
    assert sum(c["contribution"] for c in body["components"]) == pytest.approx(body["score"])
    assert set(body["signals"]) == {
        "connected", "active_users", "active_share", "chat_per_min", "reactions_per_min",
        "votes_per_min", "poll_participation", "leaves_per_min",
    }  # fmt: skip
    signals = body["signals"]
    assert signals["active_share"] == pytest.approx(signals["active_users"] / signals["connected"])
    assert body["threshold"] == h.runtime.service.engine.config.detector.low_warning
    assert body["anomalies"], "the drop was detected"
    first = body["anomalies"][0]
    assert {"sessionId", "eventId", "timestamp", "type", "severity", "currentEngagement",
            "expectedEngagement", "deviation", "explanation"} <= set(first)  # fmt: skip
    assert first["sessionId"] == DROP
    stamps = [a["timestamp"] for a in body["anomalies"]]
    assert stamps == sorted(stamps, reverse=True)
    assert body["activity"], "the agent said what it saw and decided"
    assert {a["kind"] for a in body["activity"]} >= {"saw", "decided"}
    times = [a["ts"] for a in body["activity"]]
    assert times == sorted(times, reverse=True)


async def test_register_session(event: Harness) -> None:
    h = event
    response = await h.client.put(
        f"/api/v1/sessions/{STEADY}",
        json={
            "event_id": EVENT,
            "title": "Talk: tracing at scale",
            "topic": "Observability at scale",
            "tags": ["ops", "sre"],
        },
        headers=ORG,
    )
    assert response.status_code == 200, response.text
    assert response.json() == {
        "session_id": STEADY,
        "event_id": EVENT,
        "title": "Talk: tracing at scale",
        "topic": "Observability at scale",
        "tags": ["ops", "sre"],
        "mode": None,
        "status": "LIVE",
    }
    await h.runtime.writer.flush()
    detail = (await h.client.get(f"/api/v1/sessions/{STEADY}", headers=READER)).json()
    assert detail["topic"] == "Observability at scale"
    assert detail["title"] == "Talk: tracing at scale"
    keep = await h.client.put(f"/api/v1/sessions/{STEADY}", json={"event_id": EVENT}, headers=ORG)
    assert keep.json()["topic"] == "Observability at scale"
    assert keep.json()["title"] == "Talk: tracing at scale"
    assert keep.json()["tags"] == ["ops", "sre"]


async def test_register_a_new_session_before_its_signals(event: Harness) -> None:
    h = event
    new = "ses_0e0000000009"
    response = await h.client.put(
        f"/api/v1/sessions/{new}", json={"event_id": EVENT, "mode": "AUTO"}, headers=ORG
    )
    assert response.status_code == 200
    await h.runtime.writer.flush()
    sessions = (await h.client.get(f"/api/v1/events/{EVENT}/sessions", headers=ORG)).json()
    listed = {s["session_id"]: s for s in sessions["sessions"]}
    assert listed[new]["score"] is None
    assert listed[new]["mode"] == "AUTO"
    assert list(listed)[-1] == new  # no score yet: last


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "event_id"),
        ({"event_id": "evt/x"}, "event_id"),
        ({"event_id": EVENT, "tags": "ops"}, "tags"),
        ({"event_id": EVENT, "tags": [""]}, "tags.0"),
        ({"event_id": EVENT, "mode": "LOUD"}, "mode"),
    ],
)
async def test_session_body_errors(event: Harness, body: dict[str, Any], field: str) -> None:
    response = await event.client.put(f"/api/v1/sessions/{STEADY}", json=body, headers=ORG)
    assert response.status_code == 422
    assert response.json()["field"] == field


async def test_mode_override_and_back(event: Harness) -> None:
    h = event
    status = h.runtime.live.subscribe(f"session:{STEADY}:events")
    url = f"/api/v1/sessions/{STEADY}/mode"
    auto = await h.client.put(url, json={"mode": "AUTO"}, headers=ORG)
    assert auto.status_code == 200, auto.text
    assert auto.json() == {"session_id": STEADY, "mode": "AUTO"}
    assert h.runtime.service.mode_of(STEADY).value == "AUTO"
    message = await next_message(status)
    assert message.message["type"] == "agent.status"
    assert message.message["data"]["mode"] == "AUTO"
    back = await h.client.put(url, json={"mode": None}, headers=ORG)
    assert back.json() == {"session_id": STEADY, "mode": "MANUAL"}
    for body, field in (({}, "mode"), ({"mode": "FAST"}, "mode")):
        bad = await h.client.put(url, json=body, headers=ORG)
        assert bad.status_code == 422
        assert bad.json()["field"] == field
    unknown = await h.client.put(
        "/api/v1/sessions/ses_unknown/mode", json={"mode": "AUTO"}, headers=ORG
    )
    assert unknown.status_code == 404


async def test_engagement_series(event: Harness) -> None:
    h = event
    url = f"/api/v1/sessions/{STEADY}/engagement"
    everything = (await h.client.get(url, headers=READER)).json()["points"]
    live = h.runtime.service.live[STEADY]
    assert [p["score"] for p in everything][-len(live.history) :] == pytest.approx(
        [s for _, s in live.history]
    )
    stamps = [p["ts"] for p in everything]
    assert stamps == sorted(stamps)

    since = datetime.fromtimestamp(START + 60, UTC).isoformat()
    until = datetime.fromtimestamp(START + 120, UTC).isoformat()
    window = await h.client.get(url, params={"since": since, "until": until}, headers=READER)
    window_points = window.json()["points"]
    assert window_points
    assert all(since <= p["ts"].replace("Z", "+00:00") < until for p in window_points)
    assert len(window_points) == 60 / h.runtime.settings.tick_s

    bucketed = (await h.client.get(url, params={"bucket": 60}, headers=READER)).json()["points"]
    assert len(bucketed) < len(everything)
    mean = sum(p["score"] for p in window_points) / len(window_points)
    first_minute = next(p for p in bucketed if p["ts"].startswith(window_points[0]["ts"][:16]))
    assert first_minute["score"] == pytest.approx(mean)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"bucket": 0}, "bucket"),
        ({"since": "last tuesday"}, "since"),
        ({"since": "2026-01-01T00:10:00Z", "until": "2026-01-01T00:05:00Z"}, "until"),
        ({"limit": 10_001}, "limit"),
    ],
)
async def test_engagement_errors(event: Harness, params: dict[str, Any], field: str) -> None:
    response = await event.client.get(
        f"/api/v1/sessions/{STEADY}/engagement", params=params, headers=READER
    )
    assert response.status_code == 422
    assert response.json()["field"] == field


async def test_anomalies(event: Harness) -> None:
    h = event
    url = f"/api/v1/sessions/{DROP}/anomalies"
    everything = (await h.client.get(url, headers=READER)).json()["anomalies"]
    assert everything
    assert all(a["sessionId"] == DROP and a["eventId"] == EVENT for a in everything)
    assert everything[0]["id"]
    one = (await h.client.get(url, params={"limit": 1}, headers=READER)).json()["anomalies"]
    assert one == everything[:1]
    # stored and live agree: the same anomalies whether or not the agent still holds them
    await h.runtime.writer.flush()
    stored = await h.runtime.store.list_anomalies(session_id=DROP)
    assert {a["id"] for a in everything} == {row["id"] for row in stored}
    bad = await h.client.get(url, params={"limit": 501}, headers=READER)
    assert bad.status_code == 422 and bad.json()["field"] == "limit"
