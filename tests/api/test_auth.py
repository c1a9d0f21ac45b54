"""Who may do what: 401 without a valid token, 403 without the permission or outside the
caller's organisation, and an organisation never reads or steers another's sessions."""

from __future__ import annotations

from typing import Any

import jwt
import pytest
from api_harness import (
    MANAGE,
    READ,
    SECRET,
    SERVICE_HEADERS,
    Harness,
    MakeHarness,
    audience,
    bearer,
    token,
)

from conductor.bus.messages import INTERVENTIONS_CHANNEL

MANUAL = {"session_id": "ses_x", "event_id": "evt_x", "intervention_type": "POLL", "reason": "r"}
READS: list[tuple[str, str, dict[str, Any] | None]] = [
    ("GET", "/api/v1/interventions/history/ses_x", None),
    ("GET", "/api/v1/interventions/history/event/evt_x", None),
    ("GET", "/api/v1/interventions/stats/ses_x", None),
    ("GET", "/api/v1/events", None),
    ("GET", "/api/v1/events/evt_x", None),
    ("GET", "/api/v1/events/evt_x/sessions", None),
    ("GET", "/api/v1/events/evt_x/outcomes", None),
    ("GET", "/api/v1/sessions/ses_x", None),
    ("GET", "/api/v1/sessions/ses_x/engagement", None),
    ("GET", "/api/v1/sessions/ses_x/anomalies", None),
    ("GET", "/api/v1/decisions", None),
    ("GET", "/api/v1/sessions/ses_x/live", None),
    ("GET", "/api/v1/events/evt_x/live", None),
]
STEERS: list[tuple[str, str, dict[str, Any] | None]] = [
    ("POST", "/api/v1/interventions/manual", MANUAL),
    ("PUT", "/api/v1/events/evt_x", {"name": "x"}),
    ("PUT", "/api/v1/sessions/ses_x", {"event_id": "evt_x"}),
    ("PUT", "/api/v1/sessions/ses_x/mode", {"mode": "AUTO"}),
    ("POST", "/api/v1/decisions/dec_x/approve", None),
    ("POST", "/api/v1/decisions/dec_x/dismiss", {}),
]
SIGNALS: list[tuple[str, str, dict[str, Any] | None]] = [
    ("POST", "/api/v1/signals", {"signals": []}),
]
EVERYTHING = READS + STEERS + SIGNALS


def _raw(claims: dict[str, Any]) -> str:
    return jwt.encode(claims, SECRET, algorithm="HS256")


BAD_TOKENS = {
    "missing": {},
    "wrong secret": bearer(token(secret="not-the-secret-of-this-service-at-all")),
    "expired": bearer(token(expires_in=-60)),
    "garbage": bearer("not.a.jwt"),
    "basic scheme": {"Authorization": "Basic dXNlcjpwYXNz"},
    "permissions not a list": bearer(_raw({"sub": "u", "permissions": "event:manage"})),
    "orgId not a string": bearer(_raw({"sub": "u", "orgId": 42, "permissions": MANAGE})),
    "no subject": bearer(_raw({"orgId": "org_a", "permissions": MANAGE})),
}


async def _call(
    h: Harness, method: str, path: str, body: dict[str, Any] | None, headers: dict[str, str]
) -> Any:
    return await h.client.request(method, path, json=body, headers=headers)


@pytest.mark.parametrize("case", sorted(BAD_TOKENS))
async def test_every_endpoint_needs_a_valid_token(harness: Harness, case: str) -> None:
    for method, path, body in EVERYTHING:
        response = await _call(harness, method, path, body, BAD_TOKENS[case])
        assert response.status_code == 401, (case, method, path, response.text)
        assert response.json()["error"] == "unauthorized"
        assert response.headers["WWW-Authenticate"] == "Bearer"


async def test_expired_token_says_so(harness: Harness) -> None:
    response = await harness.client.get("/api/v1/events", headers=bearer(token(expires_in=-60)))
    assert "expired" in response.json()["message"]


async def test_operations_need_no_token(harness: Harness) -> None:
    for path in ("/health/live", "/metrics", "/api/v1/health/live"):
        assert (await harness.client.get(path)).status_code == 200


async def test_query_token_only_for_live_streams(harness: Harness) -> None:
    response = await harness.client.get("/api/v1/events", params={"token": token(permissions=READ)})
    assert response.status_code == 401


@pytest.mark.parametrize(
    ("permissions", "allowed"),
    [
        ([], set()),
        (["something:else"], set()),
        (READ, {"read"}),
        (MANAGE, {"read", "steer"}),
    ],
)
async def test_permissions(harness: Harness, permissions: list[str], allowed: set[str]) -> None:
    headers = bearer(token(permissions=permissions))
    for kind, calls in (("read", READS), ("steer", STEERS), ("signals", SIGNALS)):
        for method, path, body in calls:
            response = await _call(harness, method, path, body, headers)
            if kind in allowed:
                # past the permission check: only the organisation or existence can refuse
                assert response.status_code in (200, 403, 404), (method, path, response.text)
                if response.status_code == 403:
                    assert "permission" not in response.json()["message"]
            else:
                assert response.status_code == 403, (permissions, method, path, response.text)
                assert response.json()["error"] == "forbidden"


async def test_auth_off_acts_as_service(make_harness: MakeHarness) -> None:
    h = await make_harness(auth=False)
    put = await h.client.put("/api/v1/events/evt_open", json={"org_id": "org_z"})
    assert put.status_code == 200
    assert put.json()["org_id"] == "org_z"
    signals = await h.client.post("/api/v1/signals", json={"signals": []})
    assert signals.status_code == 202
    assert (await h.client.get("/api/v1/events")).json()["events"][0]["event_id"] == "evt_open"


# -- tenant isolation ----------------------------------------------------------------------------

SES_A, EVT_A = "ses_00000000000a", "evt_00000000000a"
SES_B, EVT_B = "ses_00000000000b", "evt_00000000000b"
ORG_A = bearer(token("alice", "org_a", [*MANAGE, *READ]))
ORG_B = bearer(token("bob", "org_b", [*MANAGE, *READ]))


@pytest.fixture
async def two_orgs(make_harness: MakeHarness) -> tuple[Harness, str]:
    """Org A's session waits for an answer on a decision; org B has a session of its own."""
    h = await make_harness()
    for event_id, org in ((EVT_A, "org_a"), (EVT_B, "org_b")):
        response = await h.client.put(
            f"/api/v1/events/{event_id}", json={"org_id": org}, headers=SERVICE_HEADERS
        )
        assert response.status_code == 200
    h.sims.append(audience("sudden_drop", SES_A, EVT_A))
    h.sims.append(audience("steady", SES_B, EVT_B, seed=2))
    return h, await h.until_pending(SES_A)


async def test_an_organisation_cannot_read_another(two_orgs: tuple[Harness, str]) -> None:
    h, _ = two_orgs
    for path in (
        f"/api/v1/events/{EVT_A}",
        f"/api/v1/events/{EVT_A}/sessions",
        f"/api/v1/events/{EVT_A}/outcomes",
        f"/api/v1/events/{EVT_A}/live",
        f"/api/v1/sessions/{SES_A}",
        f"/api/v1/sessions/{SES_A}/engagement",
        f"/api/v1/sessions/{SES_A}/anomalies",
        f"/api/v1/sessions/{SES_A}/live",
        f"/api/v1/interventions/history/{SES_A}",
        f"/api/v1/interventions/history/event/{EVT_A}",
        f"/api/v1/interventions/stats/{SES_A}",
        f"/api/v1/decisions?session_id={SES_A}",
        f"/api/v1/decisions?event_id={EVT_A}",
    ):
        response = await h.client.get(path, headers=ORG_B)
        assert response.status_code == 403, (path, response.text)
        body = response.json()
        assert set(body) <= {"error", "message", "field"}
        assert body["error"] == "forbidden"
        if not path.endswith("/live"):  # a stream never ends; test_live covers the owner
            assert (await h.client.get(path, headers=ORG_A)).status_code == 200, path


async def test_lists_show_only_the_callers_organisation(two_orgs: tuple[Harness, str]) -> None:
    h, decision_id = two_orgs
    events_b = (await h.client.get("/api/v1/events", headers=ORG_B)).json()["events"]
    assert [e["event_id"] for e in events_b] == [EVT_B]
    decisions_b = (await h.client.get("/api/v1/decisions", headers=ORG_B)).json()["decisions"]
    assert decision_id not in {d["decision_id"] for d in decisions_b}
    decisions_a = (await h.client.get("/api/v1/decisions", headers=ORG_A)).json()["decisions"]
    assert decision_id in {d["decision_id"] for d in decisions_a}
    sessions_b = (await h.client.get(f"/api/v1/events/{EVT_B}/sessions", headers=ORG_B)).json()
    assert [s["session_id"] for s in sessions_b["sessions"]] == [SES_B]
    all_events = (await h.client.get("/api/v1/events", headers=SERVICE_HEADERS)).json()
    assert {e["event_id"] for e in all_events["events"]} == {EVT_A, EVT_B}


async def test_an_organisation_cannot_steer_another(two_orgs: tuple[Harness, str]) -> None:
    h, decision_id = two_orgs
    commands = h.runtime.live.subscribe(INTERVENTIONS_CHANNEL)
    mode_before = h.runtime.service.mode_of(SES_A)
    attempts = [
        ("POST", f"/api/v1/decisions/{decision_id}/approve", None),
        ("POST", f"/api/v1/decisions/{decision_id}/dismiss", {"reason": "mine now"}),
        ("PUT", f"/api/v1/sessions/{SES_A}/mode", {"mode": "AUTO"}),
        ("PUT", f"/api/v1/sessions/{SES_A}", {"event_id": EVT_B, "topic": "stolen"}),
        ("PUT", f"/api/v1/events/{EVT_A}", {"enabled": False}),
        (
            "POST",
            "/api/v1/interventions/manual",
            {"session_id": SES_A, "event_id": EVT_A, "intervention_type": "POLL"},
        ),
        (
            "POST",
            "/api/v1/interventions/manual",
            {"session_id": SES_A, "event_id": EVT_B, "intervention_type": "POLL"},
        ),
        (
            "POST",
            "/api/v1/interventions/manual",
            {"session_id": SES_A, "intervention_type": "POLL"},
        ),
        ("PUT", f"/api/v1/events/{EVT_B}", {"org_id": "org_a"}),
    ]
    for method, path, body in attempts:
        response = await _call(h, method, path, body, ORG_B)
        assert response.status_code in (403, 422), (method, path, response.text)
        assert response.status_code != 422 or response.json()["field"] == "event_id"
    assert decision_id in h.runtime.service.pending
    assert commands.get_nowait() is None
    assert h.runtime.service.mode_of(SES_A) == mode_before
    assert h.runtime.service.events[EVT_A].enabled is True
    assert h.runtime.service.events[EVT_A].org_id == "org_a"
    assert h.runtime.service.events[EVT_B].org_id == "org_b"
    assert h.runtime.service.live[SES_A].event_id == EVT_A


async def test_organiser_registers_events_for_its_own_organisation(harness: Harness) -> None:
    created = await harness.client.put(
        "/api/v1/events/evt_new", json={"name": "Launch"}, headers=ORG_A
    )
    assert created.status_code == 200
    assert created.json()["org_id"] == "org_a"
    taken = await harness.client.put("/api/v1/events/evt_new", json={"name": "B"}, headers=ORG_B)
    assert taken.status_code == 403
    assert (await harness.client.get("/api/v1/events/evt_new", headers=ORG_B)).status_code == 403
    no_org = bearer(token("carol", None, MANAGE))
    assert (
        await harness.client.put("/api/v1/events/evt_c", json={}, headers=no_org)
    ).status_code == 403
    assert (await harness.client.get("/api/v1/events", headers=no_org)).json() == {"events": []}


async def test_unknown_things_are_404_even_to_the_service(harness: Harness) -> None:
    for path in ("/api/v1/events/evt_none", "/api/v1/sessions/ses_none"):
        response = await harness.client.get(path, headers=SERVICE_HEADERS)
        assert response.status_code == 404
        assert response.json()["error"] == "not_found"
    # an organiser cannot tell an unknown session from a foreign one by its history
    response = await harness.client.get("/api/v1/interventions/history/ses_none", headers=ORG_A)
    assert response.status_code == 404
    service = await harness.client.get(
        "/api/v1/interventions/history/ses_none", headers=SERVICE_HEADERS
    )
    assert service.json() == {"total": 0, "interventions": []}
