"""Server-sent event streams: engagement, anomalies and agent events for one session or one
event, with the token in the header or the query, ending cleanly when the client leaves."""

from __future__ import annotations

import json
from typing import Any

import pytest
from api_harness import (
    READ,
    SERVICE_HEADERS,
    START,
    EventStream,
    Harness,
    MakeHarness,
    audience,
    bearer,
    token,
)

EVENT, OTHER_EVENT = "evt_11fe00000001", "evt_11fe00000002"
SESSION, OTHER = "ses_11fe00000001", "ses_11fe00000002"
READER_TOKEN = token("rita", "org_a", READ)


@pytest.fixture
async def running(make_harness: MakeHarness) -> Harness:
    h = await make_harness()
    for event_id in (EVENT, OTHER_EVENT):
        await h.client.put(
            f"/api/v1/events/{event_id}", json={"org_id": "org_a"}, headers=SERVICE_HEADERS
        )
    h.sims.append(audience("sudden_drop", SESSION, EVENT))
    h.sims.append(audience("steady", OTHER, OTHER_EVENT, seed=4))
    await h.advance(START + 60)
    return h


async def _frames_until(
    stream: EventStream, kind: str, limit: int = 50
) -> list[tuple[str, dict[str, Any]]]:
    seen: list[tuple[str, dict[str, Any]]] = []
    for _ in range(limit):
        got, data = await stream.frame()
        if got is None:
            continue
        seen.append((got, json.loads(data)))
        if got == kind:
            return seen
    raise AssertionError(f"no {kind} event in {limit} frames: {[k for k, _ in seen]}")


async def test_session_stream_with_query_token(running: Harness) -> None:
    h = running
    path = f"/api/v1/sessions/{SESSION}/live?token={READER_TOKEN}"
    async with EventStream(h.app, path) as stream:
        assert stream.status == 200
        assert stream.headers["content-type"].startswith("text/event-stream")
        assert stream.headers["cache-control"] == "no-cache"
        assert await stream.frame() == (None, "")  # the opening comment
        assert h.runtime.live.subscribers == 1
        await h.advance(h.clock.t + 10)
        frames = await _frames_until(stream, "engagement")
        _, data = frames[-1]
        assert data["sessionId"] == SESSION
        assert 0.0 <= data["score"] <= 1.0
        assert all(d.get("sessionId", SESSION) == SESSION for _, d in frames)
    assert h.runtime.live.subscribers == 0
    assert h.app.state.live_streams["open"] == 0


async def test_session_stream_carries_anomalies_and_agent_events(running: Harness) -> None:
    h = running
    path = f"/api/v1/sessions/{SESSION}/live"
    async with EventStream(h.app, path, bearer(READER_TOKEN)) as stream:
        await h.until_pending(SESSION)
        frames = await _frames_until(stream, "agent.decision", limit=500)
        kinds = {k for k, _ in frames}
        assert "anomaly" in kinds
        assert "agent.status" in kinds
        decision = frames[-1][1]
        assert decision["session_id"] == SESSION
        assert decision["status"] == "PENDING"


async def test_event_stream_carries_only_its_sessions(running: Harness) -> None:
    h = running
    path = f"/api/v1/events/{OTHER_EVENT}/live?token={READER_TOKEN}"
    async with EventStream(h.app, path) as stream:
        await h.advance(h.clock.t + 30)
        frames = await _frames_until(stream, "engagement")
        await h.advance(h.clock.t + 30)
        frames += await _frames_until(stream, "engagement")
    sessions = {d.get("sessionId", d.get("session_id")) for _, d in frames}
    assert sessions == {OTHER}


async def test_keep_alive_comments(running: Harness) -> None:
    h = running
    h.app.state.keepalive_s = 0.05
    async with EventStream(h.app, f"/api/v1/sessions/{OTHER}/live", SERVICE_HEADERS) as stream:
        await stream.frame()  # opening comment
        assert await stream.frame() == (None, "")
        assert stream.buffer == "" or stream.buffer.startswith(":")
    assert h.runtime.live.subscribers == 0


@pytest.mark.parametrize(
    ("path", "status"),
    [
        (f"/api/v1/sessions/{SESSION}/live", 401),
        (f"/api/v1/sessions/{SESSION}/live?token=nonsense", 401),
        (f"/api/v1/sessions/{SESSION}/live?token={token('eve', 'org_b', READ)}", 403),
        (f"/api/v1/events/{EVENT}/live?token={token('eve', 'org_b', READ)}", 403),
        (f"/api/v1/events/{EVENT}/live?token={token('ann', 'org_a', [])}", 403),
        (f"/api/v1/events/evt_nowhere/live?token={READER_TOKEN}", 404),
    ],
)
async def test_refused_streams_are_json_errors(running: Harness, path: str, status: int) -> None:
    async with EventStream(running.app, path) as stream:
        assert stream.status == status
        body = json.loads(await stream.body())
        assert set(body) <= {"error", "message", "field"}
    assert running.runtime.live.subscribers == 0
