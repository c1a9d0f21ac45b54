"""POST /signals: the replay line format in, a per-item report out, bad items never fatal."""

from __future__ import annotations

from typing import Any

import pytest
from api_harness import MANAGE, SERVICE_HEADERS, START, Harness, bearer, token

from conductor.core.vocabulary import Stream

SESSION, EVENT = "ses_5e5510000001", "evt_5e5510000001"


def chat(n: int, *, entry_id: str | None = None, ts: float | None = START + 1) -> dict[str, Any]:
    line: dict[str, Any] = {
        "stream": Stream.CHAT.value,
        "data": {
            "sessionId": SESSION,
            "eventId": EVENT,
            "message": {
                "id": f"msg_{n}",
                "text": "hello",
                "timestamp": "2026-01-01T00:00:01.000Z",
                "authorId": f"usr_{n}",
                "sessionId": SESSION,
                "author": {"id": f"usr_{n}", "firstName": "Ada", "lastName": "Berg"},
            },
        },
    }
    if entry_id is not None:
        line["id"] = entry_id
    if ts is not None:
        line["ts"] = ts
    return line


def join(user: str, ms: int) -> dict[str, Any]:
    return {
        "stream": Stream.SYNC.value,
        "id": f"{ms}-0",
        "data": {"type": "user_join", "sessionId": SESSION, "eventId": EVENT, "userId": user},
    }


async def test_accepts_and_reports_duplicates(harness: Harness) -> None:
    ms = int(START * 1000)
    lines = [join("usr_1", ms), join("usr_2", ms + 1), chat(1, entry_id=f"{ms + 2}-0")]
    first = await harness.post_signals(lines)
    assert first == {"accepted": 3, "duplicates": 0, "outcomes": 0, "rejected": []}
    again = await harness.post_signals(lines)
    assert again["accepted"] == 0
    assert again["duplicates"] == 3
    assert harness.runtime.service.counters["signals"] == 3
    assert SESSION in harness.runtime.service.live


async def test_rejects_bad_items_by_index_and_keeps_the_good(harness: Harness) -> None:
    ms = int(START * 1000)
    lines: list[Any] = [
        join("usr_1", ms),
        "not an object",
        {"stream": Stream.SYNC.value, "id": f"{ms + 1}-0"},  # no data
        {"stream": "platform.events.unknown.v1", "id": f"{ms + 2}-0", "data": {}},
        {"stream": Stream.CHAT.value, "ts": "yesterday", "data": {}},
        join("usr_2", ms + 3),
    ]
    before = harness.runtime.service.counters["rejected"]
    report = await harness.post_signals(lines)
    assert report["accepted"] == 2
    assert [r["index"] for r in report["rejected"]] == [1, 2, 3, 4]
    assert all(isinstance(r["reason"], str) and r["reason"] for r in report["rejected"])
    assert harness.runtime.service.counters["rejected"] - before == 4
    await harness.runtime.writer.flush()
    letters = await harness.runtime.store.list_dead_letters()
    assert len(letters) == 4


async def test_an_entry_without_time_arrives_now(harness: Harness) -> None:
    report = await harness.post_signals([chat(1, ts=None)])
    assert report["accepted"] == 1
    assert report["rejected"] == []


async def test_outcomes_are_counted(harness: Harness) -> None:
    outcome = {
        "stream": Stream.OUTCOMES.value,
        "ts": START,
        "data": {
            "success": True,
            "intervention_id": "int_unknown",
            "session_id": SESSION,
            "event_id": EVENT,
            "result": {},
            "timestamp": "2026-01-01T00:00:00.000Z",
        },
    }
    report = await harness.post_signals([outcome])
    assert report["outcomes"] == 1
    assert report["accepted"] == 0


async def test_at_most_five_thousand(harness: Harness) -> None:
    lines = [chat(n, ts=START + n / 1000) for n in range(5_001)]
    response = await harness.client.post(
        "/api/v1/signals", json={"signals": lines}, headers=SERVICE_HEADERS
    )
    assert response.status_code == 422
    assert response.json()["field"] == "signals"
    assert harness.runtime.service.counters["signals"] == 0
    assert SESSION not in harness.runtime.service.live


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "signals"),
        ({"signals": "nope"}, "signals"),
        ({"signals": [], "extra": 1}, "extra"),
    ],
)
async def test_malformed_bodies_are_422(harness: Harness, body: dict[str, Any], field: str) -> None:
    response = await harness.client.post("/api/v1/signals", json=body, headers=SERVICE_HEADERS)
    assert response.status_code == 422
    assert response.json()["field"] == field


async def test_not_json_is_422(harness: Harness) -> None:
    response = await harness.client.post(
        "/api/v1/signals",
        content=b"{not json",
        headers={**SERVICE_HEADERS, "Content-Type": "application/json"},
    )
    assert response.status_code == 422
    assert response.json()["error"] == "validation_error"
    assert response.json()["field"] == "body"


async def test_organisers_cannot_post_signals(harness: Harness) -> None:
    response = await harness.client.post(
        "/api/v1/signals", json={"signals": [chat(1)]}, headers=bearer(token(permissions=MANAGE))
    )
    assert response.status_code == 403
    assert SESSION not in harness.runtime.service.live
