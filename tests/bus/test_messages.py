"""The platform's messages: exactly the contract's fields and types, written out by hand."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from conductor.bus import messages as m
from conductor.core.model import Anomaly, Component, Engagement, SessionSignals
from conductor.core.vocabulary import (
    AnomalyType,
    InterventionOrigin,
    InterventionType,
    Priority,
    Severity,
)
from conductor.service.records import Intervention

CREATED = datetime(2025, 3, 14, 15, 9, 26, 535_897, tzinfo=UTC)
CREATED_ISO = "2025-03-14T15:09:26.535Z"


def make_iv(kind: InterventionType, content: Any, **overrides: Any) -> Intervention:
    fields: dict[str, Any] = {
        "id": "iv_0a1b2c3d4e5f",
        "session_id": "ses_3fa85f64a1b2",
        "event_id": "evt_0123456789ab",
        "created_at": CREATED,
        "type": kind,
        "origin": InterventionOrigin.AUTO,
        "confidence": 0.82,
        "priority": Priority.HIGH,
        "expected_impact": 0.12,
        "reason": "Engagement fell 40% in two minutes",
        "content": content,
    }
    fields.update(overrides)
    return Intervention(**fields)


COMMON = {
    "intervention_id": "iv_0a1b2c3d4e5f",
    "session_id": "ses_3fa85f64a1b2",
    "event_id": "evt_0123456789ab",
    "timestamp": CREATED_ISO,
}
METADATA = {
    "reason": "Engagement fell 40% in two minutes",
    "confidence": 0.82,
    "priority": "HIGH",
    "estimated_impact": 0.12,
    "intervention_type": "POLL",
    "origin": "AUTO",
}


def wire(message: dict[str, Any]) -> Any:
    """What the platform would parse: the JSON text decoded by a plain JSON parser."""
    return json.loads(orjson.dumps(message))


# --- commands --------------------------------------------------------------------------------


def test_poll_command_has_exactly_the_contract_fields() -> None:
    iv = make_iv(
        InterventionType.POLL,
        {
            "question": "Which topic next?",
            "options": ["Scaling", {"text": "Security", "id": "o2"}, "Costs"],
            "type": "single",
            "duration": 90,
        },
    )
    assert wire(m.intervention_command(iv)) == {
        "type": "agent.intervention.poll",
        **COMMON,
        "metadata": METADATA,
        "poll": {
            "question": "Which topic next?",
            "options": ["Scaling", "Security", "Costs"],
            "type": "single",
            "duration": 90,
        },
    }


def test_poll_aliases_and_omitted_optionals() -> None:
    iv = make_iv(
        InterventionType.POLL,
        {"question": "Ready?", "options": ["Yes", "No"], "duration_seconds": 30},
    )
    assert m.intervention_command(iv)["poll"] == {
        "question": "Ready?",
        "options": ["Yes", "No"],
        "duration": 30,
    }


def test_chat_prompt_goes_out_as_a_broadcast_banner() -> None:
    iv = make_iv(InterventionType.CHAT_PROMPT, {"prompt": "What would you ask the speaker?"})
    assert wire(m.intervention_command(iv)) == {
        "type": "agent.intervention.broadcast",
        **COMMON,
        "metadata": {**METADATA, "intervention_type": "CHAT_PROMPT"},
        "message": "What would you ask the speaker?",
    }


def test_notification_keeps_the_three_platform_fields_and_title_body_in_metadata() -> None:
    iv = make_iv(
        InterventionType.NOTIFICATION,
        {
            "notification_type": "ENGAGEMENT_DROP",
            "target": "moderators",
            "escalate": True,
            "title": "Room is going quiet",
            "message": "Consider a Q&A break",
            "suggested_action": "Open the floor",
            "template_id": "n-7",
        },
        origin=InterventionOrigin.MANUAL,
    )
    assert wire(m.intervention_command(iv)) == {
        "type": "agent.intervention.notification",
        **COMMON,
        "metadata": {
            **METADATA,
            "intervention_type": "NOTIFICATION",
            "origin": "MANUAL",
            "title": "Room is going quiet",
            "body": "Consider a Q&A break",
            "suggested_action": "Open the floor",
        },
        "notification_type": "ENGAGEMENT_DROP",
        "target": "moderators",
        "escalate": True,
    }


@pytest.mark.parametrize(
    ("priority", "escalate"), [(Priority.CRITICAL, True), (Priority.HIGH, False)]
)
def test_notification_defaults(priority: Priority, escalate: bool) -> None:
    command = m.intervention_command(make_iv(InterventionType.NOTIFICATION, {}, priority=priority))
    assert command["notification_type"] == m.DEFAULT_NOTIFICATION_TYPE
    assert command["escalate"] is escalate
    assert "target" not in command


def test_gamification_command_has_exactly_the_contract_fields() -> None:
    iv = make_iv(
        InterventionType.GAMIFICATION,
        {
            "action": "START_CHALLENGE",
            "template": "CHAT_BLITZ",
            "name": "Chat Blitz",
            "description": "Most messages in 5 minutes wins",
            "rewards": {"first": 100, "second": 50, "third": 25},
            "duration_minutes": 5,
        },
    )
    assert wire(m.intervention_command(iv)) == {
        "type": "agent.intervention.gamification",
        **COMMON,
        "metadata": {**METADATA, "intervention_type": "GAMIFICATION"},
        "content": {
            "action": "START_CHALLENGE",
            "template": "CHAT_BLITZ",
            "name": "Chat Blitz",
            "description": "Most messages in 5 minutes wins",
            "rewards": {"first": 100, "second": 50, "third": 25},
            "duration_minutes": 5,
        },
    }


def test_points_boost_carries_its_multiplier() -> None:
    iv = make_iv(
        InterventionType.GAMIFICATION,
        {
            "action": "POINTS_BOOST",
            "name": "Double points",
            "description": "Every action counts twice",
            "duration_minutes": 3,
            "multiplier": 2,
        },
    )
    assert m.intervention_command(iv)["content"] == {
        "action": "POINTS_BOOST",
        "name": "Double points",
        "description": "Every action counts twice",
        "duration_minutes": 3,
        "multiplier": 2,
    }


def test_unknown_event_is_sent_as_null() -> None:
    command = m.intervention_command(
        make_iv(InterventionType.CHAT_PROMPT, {"message": "Hi"}, event_id=None)
    )
    assert "event_id" in command
    assert wire(command)["event_id"] is None


def test_wire_types_are_plain_json_strings() -> None:
    command = m.intervention_command(make_iv(InterventionType.CHAT_PROMPT, {"message": "Hi"}))
    for key in ("type", "intervention_id", "session_id", "event_id", "timestamp"):
        assert type(command[key]) is str, key
    assert type(command["metadata"]["priority"]) is str


@pytest.mark.parametrize(
    ("overrides", "content", "needle"),
    [
        ({"session_id": ""}, {"message": "x"}, "session_id"),
        ({"session_id": None}, {"message": "x"}, "session_id"),
        ({"id": 42}, {"message": "x"}, "intervention_id"),
        ({"id": "x" * 256}, {"message": "x"}, "intervention_id"),
        ({"event_id": 7}, {"message": "x"}, "event_id"),
        ({"confidence": float("nan")}, {"message": "x"}, "confidence"),
        ({"created_at": datetime(2025, 1, 1)}, {"message": "x"}, "time zone"),
        ({}, {}, "'message' or 'prompt' or 'text'"),
        ({}, {"message": "   "}, "message"),
        ({"type": "QUIZ"}, {"message": "x"}, "unknown intervention type"),
        ({}, ["not", "an", "object"], "content must be an object"),
    ],
)
def test_command_refuses_what_the_platform_would_drop(
    overrides: dict[str, Any], content: Any, needle: str
) -> None:
    iv = make_iv(InterventionType.CHAT_PROMPT, content, **overrides)
    with pytest.raises(ValueError, match=needle):
        m.intervention_command(iv)


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        ({"options": ["a", "b"]}, "question"),
        ({"question": "Q?", "options": ["only one"]}, "at least two"),
        ({"question": "Q?", "options": "a,b"}, "must be a list"),
        ({"question": "Q?", "options": ["a", ""]}, "option 1"),
        ({"question": "Q?", "options": ["a", {"id": 2}]}, "option 1"),
        ({"question": "Q?", "options": ["a", "b"], "duration": 0}, "duration"),
        ({"question": "Q?", "options": ["a", "b"], "duration": True}, "duration"),
    ],
)
def test_poll_content_errors(content: dict[str, Any], needle: str) -> None:
    with pytest.raises(ValueError, match=needle):
        m.intervention_command(make_iv(InterventionType.POLL, content))


GOOD_GAME = {
    "action": "START_CHALLENGE",
    "name": "n",
    "description": "d",
    "duration_minutes": 5,
}


@pytest.mark.parametrize(
    ("patch", "needle"),
    [
        ({"action": "START"}, "action"),
        ({"template": "TRIVIA"}, "template"),
        ({"name": ""}, "name"),
        ({"duration_minutes": -1}, "duration_minutes"),
        ({"duration_minutes": float("inf")}, "duration_minutes"),
        ({"rewards": {"fourth": 1}}, "rewards"),
        ({"rewards": {"first": [1]}}, "first"),
        ({"multiplier": 0}, "multiplier"),
    ],
)
def test_gamification_content_errors(patch: dict[str, Any], needle: str) -> None:
    with pytest.raises(ValueError, match=needle):
        m.intervention_command(make_iv(InterventionType.GAMIFICATION, {**GOOD_GAME, **patch}))


def test_notification_escalate_must_be_a_boolean() -> None:
    with pytest.raises(ValueError, match="escalate"):
        m.intervention_command(make_iv(InterventionType.NOTIFICATION, {"escalate": "yes"}))


ids = st.text(alphabet="abcdef0123456789_-", min_size=1, max_size=40)
unit = st.floats(min_value=0, max_value=1, allow_nan=False)
moments = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
)
contents = st.sampled_from(
    [
        (InterventionType.POLL, {"question": "Q?", "options": ["a", "b"]}),
        (InterventionType.CHAT_PROMPT, {"message": "Say hi"}),
        (InterventionType.NOTIFICATION, {"title": "t"}),
        (InterventionType.GAMIFICATION, GOOD_GAME),
    ]
)


@given(ids, ids, st.none() | ids, moments, unit, st.sampled_from(Priority), contents)
def test_every_command_survives_the_platform_checks(
    iv_id: str,
    session_id: str,
    event_id: str | None,
    created: datetime,
    confidence: float,
    priority: Priority,
    type_content: tuple[InterventionType, dict[str, Any]],
) -> None:
    type_, content = type_content
    iv = make_iv(
        type_,
        content,
        id=iv_id,
        session_id=session_id,
        event_id=event_id,
        created_at=created,
        confidence=confidence,
        priority=priority,
    )
    command = wire(m.intervention_command(iv))
    assert command["type"] == m.COMMAND_TYPES[type_]
    assert (command["intervention_id"], command["session_id"]) == (iv_id, session_id)
    assert command["event_id"] == event_id
    assert command["metadata"]["priority"] == priority.value
    assert command["metadata"]["confidence"] == confidence
    sent = datetime.fromisoformat(command["timestamp"])
    assert timedelta(0) <= created - sent < timedelta(milliseconds=1)


# --- updates ---------------------------------------------------------------------------------

SIGNALS = SessionSignals(
    connected=40,
    active_users=10,
    chat_per_min=6.0,
    reactions_per_min=12.5,
    votes_per_min=0.0,
    joins_per_min=1.0,
    leaves_per_min=2.0,
    poll_participation=None,
)
SIGNALS_WIRE = {
    "connected": 40,
    "activeUsers": 10,
    "activeShare": 0.25,
    "chatPerMin": 6.0,
    "reactionsPerMin": 12.5,
    "votesPerMin": 0.0,
    "joinsPerMin": 1.0,
    "leavesPerMin": 2.0,
    "leaveRate": 2.0 / 42.0,
    "pollParticipation": None,
    "activePollId": None,
}
TS = 1_741_964_966.5  # 2025-03-14T15:09:26.500Z


def test_engagement_update_fields() -> None:
    engagement = Engagement(
        session_id="ses_3fa85f64a1b2",
        event_id=None,
        ts=TS,
        score=0.4,
        components=(
            Component("chat", 0.6, 2.0, 0.3),
            Component("reactions", 0.2, 2.0, 0.1),
        ),
        signals=SIGNALS,
    )
    assert wire(m.engagement_update(engagement)) == {
        "timestamp": "2025-03-14T15:09:26.500Z",
        "sessionId": "ses_3fa85f64a1b2",
        "eventId": None,
        "score": 0.4,
        "signals": {
            **SIGNALS_WIRE,
            "components": [
                {"name": "chat", "value": 0.6, "weight": 2.0, "contribution": 0.3},
                {"name": "reactions", "value": 0.2, "weight": 2.0, "contribution": 0.1},
            ],
        },
    }


@pytest.mark.parametrize("score", [-0.01, 1.01, float("nan")])
def test_engagement_score_outside_unit_interval_is_refused(score: float) -> None:
    engagement = Engagement("ses_a", "evt_b", TS, score, (), SIGNALS)
    with pytest.raises(ValueError, match="score"):
        m.engagement_update(engagement)


ANOMALY = Anomaly(
    session_id="ses_3fa85f64a1b2",
    event_id="evt_0123456789ab",
    ts=TS,
    type=AnomalyType.SUDDEN_DROP,
    severity=Severity.CRITICAL,
    current=0.3,
    expected=0.6,
    deviation=0.5,
    explanation="Chat stopped",
    started_at=TS - 60,
)


def test_anomaly_detected_fields() -> None:
    assert wire(m.anomaly_detected("an_1", ANOMALY, SIGNALS)) == {
        "id": "an_1",
        "sessionId": "ses_3fa85f64a1b2",
        "eventId": "evt_0123456789ab",
        "timestamp": "2025-03-14T15:09:26.500Z",
        "type": "SUDDEN_DROP",
        "severity": "CRITICAL",
        "anomalyScore": 0.5,
        "currentEngagement": 0.3,
        "expectedEngagement": 0.6,
        "deviation": 0.5,
        "explanation": "Chat stopped",
        "startedAt": "2025-03-14T15:08:26.500Z",
        "signals": SIGNALS_WIRE,
    }


@pytest.mark.parametrize(("deviation", "score"), [(1.7, 1.0), (-0.2, 0.0), (0.25, 0.25)])
def test_anomaly_score_is_the_deviation_clipped(deviation: float, score: float) -> None:
    message = m.anomaly_detected("an_1", replace(ANOMALY, deviation=deviation))
    assert message["anomalyScore"] == score
    assert message["deviation"] == deviation
    assert message["signals"] == {}


def test_session_event_envelope() -> None:
    channel, message = m.session_event(
        "ses_3fa85f64a1b2", m.AGENT_STATUS, {"status": "MONITORING"}, TS
    )
    assert channel == "session:ses_3fa85f64a1b2:events"
    assert wire(message) == {
        "type": "agent.status",
        "session_id": "ses_3fa85f64a1b2",
        "timestamp": "2025-03-14T15:09:26.500Z",
        "data": {"status": "MONITORING"},
    }


@pytest.mark.parametrize(
    ("session_id", "type", "data", "needle"),
    [
        ("ses_a", "agent.mood", {}, "unknown session event type"),
        ("ses:a", m.AGENT_STATUS, {}, "session_id"),
        ("ses_*", m.AGENT_STATUS, {}, "session_id"),
        ("", m.AGENT_STATUS, {}, "session_id"),
        ("ses_a", m.AGENT_DECISION, [1], "object"),
    ],
)
def test_session_event_errors(session_id: str, type: str, data: Any, needle: str) -> None:
    with pytest.raises(ValueError, match=needle):
        m.session_event(session_id, type, data, TS)


def test_organizer_notification() -> None:
    channel, message = m.organizer_notification(
        "evt_0123456789ab", "ses_3fa85f64a1b2", "anomaly", Severity.WARNING, {"score": 0.2}
    )
    assert channel == "agent:notifications:evt_0123456789ab"
    assert wire(message) == {
        "type": "anomaly",
        "severity": "WARNING",
        "sessionId": "ses_3fa85f64a1b2",
        "data": {"score": 0.2},
    }
    assert type(message["severity"]) is str


def test_organizer_notification_needs_an_event_for_its_channel() -> None:
    with pytest.raises(ValueError, match="event_id"):
        m.organizer_notification(None, "ses_a", "anomaly", "WARNING", {})  # type: ignore[arg-type]


# --- time ------------------------------------------------------------------------------------


def test_iso_utc_converts_other_zones_to_utc() -> None:
    moment = datetime(2025, 3, 14, 17, 9, 26, tzinfo=timezone(timedelta(hours=2)))
    assert m.iso_utc(moment) == "2025-03-14T15:09:26.000Z"


@pytest.mark.parametrize("bad", [float("inf"), float("nan"), True, "2025-01-01"])
def test_iso_utc_refuses_non_times(bad: Any) -> None:
    with pytest.raises(ValueError, match="timestamp"):
        m.iso_utc(bad)


@given(st.floats(min_value=0, max_value=4_102_444_800, allow_nan=False))
def test_iso_utc_round_trips_to_the_millisecond(ts: float) -> None:
    text = m.iso_utc(ts)
    assert text.endswith("Z")
    assert abs(datetime.fromisoformat(text).timestamp() - ts) < 0.001


def test_plain_strings_from_storage_are_understood() -> None:
    iv = make_iv("NOTIFICATION", {}, priority="CRITICAL", origin="APPROVED")  # type: ignore[arg-type]
    command = m.intervention_command(iv)
    assert command["type"] == "agent.intervention.notification"
    assert command["escalate"] is True
    assert (command["metadata"]["priority"], command["metadata"]["origin"]) == (
        "CRITICAL",
        "APPROVED",
    )
