"""Approve and dismiss through the API: the decision changes, the intervention is stored and
the platform's command goes out on `agent.interventions` (both storage back ends)."""

from __future__ import annotations

from typing import Any

import pytest
from api_harness import SERVICE_HEADERS, MakeHarness, audience, bearer, next_message, token

from conductor.bus.messages import COMMAND_TYPES, INTERVENTIONS_CHANNEL
from conductor.core.vocabulary import InterventionType

SESSION, EVENT = "ses_0000000000a1", "evt_0000000000a1"
ORG_HEADERS = bearer(token("organiser-7", "org_a"))


async def _pending_setup(make_harness: MakeHarness, database_url: str) -> tuple[Any, str]:
    h = await make_harness(database_url=database_url)
    response = await h.client.put(
        f"/api/v1/events/{EVENT}", json={"org_id": "org_a"}, headers=SERVICE_HEADERS
    )
    assert response.status_code == 200, response.text
    h.sims.append(audience("sudden_drop", SESSION, EVENT))
    return h, await h.until_pending(SESSION)


async def test_pending_decision_is_listed_with_its_documented_shape(
    make_harness: MakeHarness,
) -> None:
    h, decision_id = await _pending_setup(make_harness, "")
    response = await h.client.get(
        "/api/v1/decisions", params={"session_id": SESSION}, headers=ORG_HEADERS
    )
    assert response.status_code == 200
    decisions = response.json()["decisions"]
    assert [d["decision_id"] for d in decisions] == [decision_id]
    decision = decisions[0]
    assert set(decision) == {
        "decision_id", "session_id", "event_id", "created_at", "type", "confidence",
        "priority", "expected_impact", "reason", "content", "mode", "status", "anomaly",
        "expires_at", "resolved_at", "resolved_by", "dismiss_reason", "intervention_id",
    }  # fmt: skip
    assert decision["status"] == "PENDING"
    assert decision["session_id"] == SESSION and decision["event_id"] == EVENT
    assert decision["mode"] == "MANUAL"
    assert decision["type"] in {t.value for t in InterventionType}
    by_event = await h.client.get(
        "/api/v1/decisions", params={"event_id": EVENT}, headers=ORG_HEADERS
    )
    assert [d["decision_id"] for d in by_event.json()["decisions"]] == [decision_id]


async def test_approve_executes_publishes_and_records(
    make_harness: MakeHarness, any_database: str
) -> None:
    h, decision_id = await _pending_setup(make_harness, any_database)
    commands = h.runtime.live.subscribe(INTERVENTIONS_CHANNEL)

    response = await h.client.post(f"/api/v1/decisions/{decision_id}/approve", headers=ORG_HEADERS)

    assert response.status_code == 200, response.text
    body = response.json()
    decision, intervention = body["decision"], body["intervention"]
    assert decision["status"] == "EXECUTED"
    assert decision["resolved_by"] == "organiser-7"
    assert decision["intervention_id"] == intervention["intervention_id"]
    assert intervention["origin"] == "APPROVED"
    assert intervention["decision_id"] == decision_id
    assert intervention["outcome"] is None

    command = await next_message(commands)
    assert command.message["intervention_id"] == intervention["intervention_id"]
    assert command.message["session_id"] == SESSION
    assert command.message["type"] == COMMAND_TYPES[InterventionType(decision["type"])]

    await h.runtime.writer.flush()
    history = await h.client.get(f"/api/v1/interventions/history/{SESSION}", headers=ORG_HEADERS)
    assert history.status_code == 200
    assert history.json()["total"] == 1
    stored = history.json()["interventions"][0]
    assert stored["intervention_id"] == intervention["intervention_id"]
    assert stored["origin"] == "APPROVED" and stored["decision_id"] == decision_id

    executed = await h.client.get(
        "/api/v1/decisions",
        params={"session_id": SESSION, "status": "EXECUTED"},
        headers=ORG_HEADERS,
    )
    assert [d["decision_id"] for d in executed.json()["decisions"]] == [decision_id]
    everything = await h.client.get(
        "/api/v1/decisions", params={"status": "EXECUTED"}, headers=ORG_HEADERS
    )
    assert [d["decision_id"] for d in everything.json()["decisions"]] == [decision_id]
    for other in (bearer(token("bob", "org_b")), bearer(token("nobody", None))):
        foreign = await h.client.get(
            "/api/v1/decisions", params={"status": "EXECUTED"}, headers=other
        )
        assert foreign.json()["decisions"] == []
    pending = await h.client.get(
        "/api/v1/decisions", params={"session_id": SESSION}, headers=ORG_HEADERS
    )
    assert pending.json()["decisions"] == []

    again = await h.client.post(f"/api/v1/decisions/{decision_id}/approve", headers=ORG_HEADERS)
    assert again.status_code == 404
    assert again.json()["error"] == "not_found"
    assert "no longer pending" in again.json()["message"]
    assert commands.get_nowait() is None or commands.pending() == 0


async def test_dismiss_records_reason_and_sends_nothing(
    make_harness: MakeHarness, any_database: str
) -> None:
    h, decision_id = await _pending_setup(make_harness, any_database)
    commands = h.runtime.live.subscribe(INTERVENTIONS_CHANNEL)

    response = await h.client.post(
        f"/api/v1/decisions/{decision_id}/dismiss",
        json={"reason": "speaker is wrapping up"},
        headers=ORG_HEADERS,
    )

    assert response.status_code == 200, response.text
    decision = response.json()["decision"]
    assert decision["status"] == "DISMISSED"
    assert decision["dismiss_reason"] == "speaker is wrapping up"
    assert decision["resolved_by"] == "organiser-7"
    assert decision["intervention_id"] is None
    assert commands.get_nowait() is None

    await h.runtime.writer.flush()
    history = await h.client.get(f"/api/v1/interventions/history/{SESSION}", headers=ORG_HEADERS)
    assert history.json() == {"total": 0, "interventions": []}
    dismissed = await h.client.get(
        "/api/v1/decisions",
        params={"event_id": EVENT, "status": "DISMISSED"},
        headers=ORG_HEADERS,
    )
    assert [d["dismiss_reason"] for d in dismissed.json()["decisions"]] == [
        "speaker is wrapping up"
    ]
    approve = await h.client.post(f"/api/v1/decisions/{decision_id}/approve", headers=ORG_HEADERS)
    assert approve.status_code == 404


async def test_dismiss_without_a_body(make_harness: MakeHarness) -> None:
    h, decision_id = await _pending_setup(make_harness, "")
    response = await h.client.post(f"/api/v1/decisions/{decision_id}/dismiss", headers=ORG_HEADERS)
    assert response.status_code == 200
    assert response.json()["decision"]["dismiss_reason"] is None


async def test_unknown_decision_is_404(make_harness: MakeHarness) -> None:
    h = await make_harness()
    for action in ("approve", "dismiss"):
        response = await h.client.post(
            f"/api/v1/decisions/dec_nothing/{action}", headers=SERVICE_HEADERS
        )
        assert response.status_code == 404
        assert response.json()["error"] == "not_found"


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"status": "MAYBE"}, "status"),
        ({"limit": 0}, "limit"),
        ({"limit": 501}, "limit"),
        ({"session_id": "no spaces"}, "session_id"),
    ],
)
async def test_decision_query_errors_name_the_field(
    make_harness: MakeHarness, params: dict[str, Any], field: str
) -> None:
    h = await make_harness()
    response = await h.client.get("/api/v1/decisions", params=params, headers=SERVICE_HEADERS)
    assert response.status_code == 422
    assert response.json()["error"] == "validation_error"
    assert response.json()["field"] == field


async def test_dismiss_reason_too_long_is_422(make_harness: MakeHarness) -> None:
    h, decision_id = await _pending_setup(make_harness, "")
    response = await h.client.post(
        f"/api/v1/decisions/{decision_id}/dismiss",
        json={"reason": "x" * 2001},
        headers=ORG_HEADERS,
    )
    assert response.status_code == 422
    assert response.json()["field"] == "reason"
    assert decision_id in h.runtime.service.pending
