"""The four intervention endpoints organisers already use: shapes, limits and outcomes."""

from __future__ import annotations

from typing import Any

import pytest
from api_harness import (
    MANAGE,
    SERVICE_HEADERS,
    START,
    Harness,
    MakeHarness,
    audience,
    bearer,
    next_message,
    token,
)

from conductor.bus.messages import INTERVENTIONS_CHANNEL, POLL_COMMAND

SESSION, EVENT = "ses_1a7e00000001", "evt_1a7e00000001"
ORG = bearer(token("olga", "org_a", MANAGE))
INTERVENTION_KEYS = {
    "intervention_id", "session_id", "event_id", "timestamp", "type", "origin", "confidence",
    "priority", "expected_impact", "reason", "content", "metadata", "decision_id", "delivered",
    "delivery_error", "outcome",
}  # fmt: skip


@pytest.fixture
async def live_session(make_harness: MakeHarness) -> Harness:
    """A steady session of org A's event, two minutes in."""
    h = await make_harness()
    await h.client.put(f"/api/v1/events/{EVENT}", json={"org_id": "org_a"}, headers=SERVICE_HEADERS)
    h.sims.append(audience("steady", SESSION, EVENT))
    await h.advance(START + 120)
    return h


async def manual(h: Harness, kind: str = "POLL", **extra: Any) -> Any:
    body = {
        "session_id": SESSION,
        "event_id": EVENT,
        "intervention_type": kind,
        "reason": "the room went quiet",
        "context": {"topic": "observability"},
        **extra,
    }
    return await h.client.post("/api/v1/interventions/manual", json=body, headers=ORG)


async def test_manual_intervention_runs_now(live_session: Harness) -> None:
    h = live_session
    commands = h.runtime.live.subscribe(INTERVENTIONS_CHANNEL)
    response = await manual(h)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["success"] is True
    assert set(body) == {"success", "intervention_id", "message", "details"}
    details = body["details"]
    assert set(details) == INTERVENTION_KEYS
    assert details["intervention_id"] == body["intervention_id"]
    assert details["origin"] == "MANUAL" and details["type"] == "POLL"
    assert details["reason"] == "the room went quiet"
    assert details["metadata"]["actor"] == "olga"
    command = await next_message(commands)
    assert command.message["type"] == POLL_COMMAND
    assert command.message["intervention_id"] == body["intervention_id"]
    assert len(command.message["poll"]["options"]) >= 2


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"intervention_type": "BANNER"}, "intervention_type"),
        ({"session_id": "has space"}, "session_id"),
        ({"session_id": None}, "session_id"),
        ({"event_id": "evt_somewhere_else"}, "event_id"),
        ({"context": "not an object"}, "context"),
    ],
)
async def test_manual_errors_name_the_field(
    live_session: Harness, change: dict[str, Any], field: str
) -> None:
    commands = live_session.runtime.live.subscribe(INTERVENTIONS_CHANNEL)
    response = await manual(live_session, **change)
    assert response.status_code == 422, response.text
    assert response.json()["field"] == field
    assert commands.get_nowait() is None


async def test_history_pages_newest_first(live_session: Harness) -> None:
    h = live_session
    ids = []
    for kind in ("POLL", "CHAT_PROMPT", "GAMIFICATION"):
        ids.append((await manual(h, kind)).json()["intervention_id"])
        h.clock.t += 1
    await h.runtime.writer.flush()
    url = f"/api/v1/interventions/history/{SESSION}"
    first = (await h.client.get(url, params={"limit": 2}, headers=ORG)).json()
    assert first["total"] == 3
    assert [i["intervention_id"] for i in first["interventions"]] == ids[::-1][:2]
    rest = (await h.client.get(url, params={"limit": 2, "offset": 2}, headers=ORG)).json()
    assert [i["intervention_id"] for i in rest["interventions"]] == [ids[0]]
    default = (await h.client.get(url, headers=ORG)).json()
    assert len(default["interventions"]) == 3
    assert all(set(i) == INTERVENTION_KEYS for i in default["interventions"])

    stats = (await h.client.get(f"/api/v1/interventions/stats/{SESSION}", headers=ORG)).json()
    assert stats["total_interventions"] == 3
    assert stats["by_type"] == {"POLL": 1, "CHAT_PROMPT": 1, "GAMIFICATION": 1}
    assert stats["avg_confidence"] == pytest.approx(1.0)
    assert stats["successful_interventions"] == 0
    assert stats["success_rate"] == 0.0


async def test_event_history_window(live_session: Harness) -> None:
    h = live_session
    created = (await manual(h)).json()["intervention_id"]
    await h.runtime.writer.flush()
    url = f"/api/v1/interventions/history/event/{EVENT}"
    now = (await h.client.get(url, headers=ORG)).json()
    assert [i["intervention_id"] for i in now["interventions"]] == [created]
    h.clock.t += 2 * 3600
    assert (await h.client.get(url, params={"hours": 1}, headers=ORG)).json()["total"] == 0
    assert (await h.client.get(url, params={"hours": 3}, headers=ORG)).json()["total"] == 1
    assert (await h.client.get(url, params={"hours": 168, "limit": 500}, headers=ORG)).json()[
        "total"
    ] == 1


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        (f"/api/v1/interventions/history/{SESSION}", {"limit": 0}, "limit"),
        (f"/api/v1/interventions/history/{SESSION}", {"limit": 201}, "limit"),
        (f"/api/v1/interventions/history/{SESSION}", {"limit": "many"}, "limit"),
        (f"/api/v1/interventions/history/{SESSION}", {"offset": -1}, "offset"),
        (f"/api/v1/interventions/history/event/{EVENT}", {"hours": 0}, "hours"),
        (f"/api/v1/interventions/history/event/{EVENT}", {"hours": 169}, "hours"),
        (f"/api/v1/interventions/history/event/{EVENT}", {"limit": 0}, "limit"),
        (f"/api/v1/interventions/history/event/{EVENT}", {"limit": 501}, "limit"),
        ("/api/v1/interventions/stats/bad%20id", {}, "session_id"),
    ],
)
async def test_limits_are_422_naming_the_field(
    live_session: Harness, path: str, params: dict[str, Any], field: str
) -> None:
    response = await live_session.client.get(path, params=params, headers=ORG)
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "validation_error"
    assert body["field"] == field
    assert field in body["message"]


async def test_limits_at_their_maximum_are_fine(live_session: Harness) -> None:
    h = live_session
    ok = [
        (f"/api/v1/interventions/history/{SESSION}", {"limit": 200, "offset": 0}),
        (f"/api/v1/interventions/history/event/{EVENT}", {"hours": 168, "limit": 500}),
    ]
    for path, params in ok:
        assert (await h.client.get(path, params=params, headers=ORG)).status_code == 200


async def test_outcome_is_measured_and_reported(live_session: Harness) -> None:
    h = live_session
    created = (await manual(h, "CHAT_PROMPT")).json()["intervention_id"]
    await h.advance(h.clock.t + h.runtime.settings.outcome_delay_s + 30)
    history = (await h.client.get(f"/api/v1/interventions/history/{SESSION}", headers=ORG)).json()
    [item] = history["interventions"]
    assert item["intervention_id"] == created
    outcome = item["outcome"]
    assert outcome is not None
    assert set(outcome) == {
        "score_before", "score_after", "expected_after", "lift", "success", "measured_at",
    }  # fmt: skip
    assert outcome["lift"] == pytest.approx(outcome["score_after"] - outcome["expected_after"])
    stats = (await h.client.get(f"/api/v1/interventions/stats/{SESSION}", headers=ORG)).json()
    assert stats["successful_interventions"] == int(outcome["success"])
    assert stats["success_rate"] == float(outcome["success"])
    by_type = (await h.client.get(f"/api/v1/events/{EVENT}/outcomes", headers=ORG)).json()
    assert by_type["by_type"]["CHAT_PROMPT"]["measured"] == 1
    assert by_type["by_type"]["CHAT_PROMPT"]["mean_lift"] == pytest.approx(outcome["lift"])
