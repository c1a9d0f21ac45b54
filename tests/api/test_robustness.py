"""Whatever a client sends, the answer is a JSON status of its own making, never a 500."""

from __future__ import annotations

from typing import Any

from api_harness import SERVICE_HEADERS, Harness
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)
FIELDS = st.sampled_from(
    ["signals", "stream", "id", "ts", "data", "session_id", "event_id", "intervention_type",
     "reason", "context", "mode", "topic", "tags", "org_id", "name", "enabled",
     "confidence_threshold", "allowed_types", "max_per_session", "max_per_event"]
)  # fmt: skip
BODIES = JSON | st.dictionaries(FIELDS, JSON, max_size=5)
SIGNAL_ITEMS = st.lists(
    st.dictionaries(st.sampled_from(["stream", "id", "ts", "data"]), JSON, max_size=4) | JSON,
    max_size=5,
)
TARGETS = [
    ("POST", "/api/v1/signals"),
    ("POST", "/api/v1/interventions/manual"),
    ("PUT", "/api/v1/events/evt_fuzz"),
    ("PUT", "/api/v1/sessions/ses_fuzz"),
    ("PUT", "/api/v1/sessions/ses_fuzz/mode"),
    ("POST", "/api/v1/decisions/dec_fuzz/dismiss"),
]
RELAXED = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def _is_error_or_success(response: Any) -> bool:
    if response.status_code >= 500:
        return False
    body = response.json()
    return response.status_code < 400 or {"error", "message"} <= set(body)


@RELAXED
@given(target=st.sampled_from(TARGETS), body=BODIES)
async def test_any_body_gets_a_client_answer(
    harness: Harness, target: tuple[str, str], body: Any
) -> None:
    method, path = target
    response = await harness.client.request(method, path, json=body, headers=SERVICE_HEADERS)
    assert _is_error_or_success(response), (method, path, body, response.text)


@RELAXED
@given(items=SIGNAL_ITEMS)
async def test_any_signal_items_are_accepted_or_rejected(harness: Harness, items: Any) -> None:
    response = await harness.client.post(
        "/api/v1/signals", json={"signals": items}, headers=SERVICE_HEADERS
    )
    assert response.status_code == 202, response.text
    report = response.json()
    assert report["accepted"] + report["duplicates"] + report["outcomes"] + len(
        report["rejected"]
    ) == len(items)
    harness.runtime.service.step()
    await harness.runtime.writer.flush()
