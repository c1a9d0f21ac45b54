"""Translation between the service's records and table rows, in one place.

Rows are plain dicts keyed by column name; enums go in as their string values and come back
as the vocabulary's members, so nothing above storage ever sees a bare string status.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict
from datetime import datetime
from typing import Any

from conductor.core.model import Anomaly, Engagement, PlatformOutcome
from conductor.core.vocabulary import (
    AgentMode,
    AnomalyType,
    DecisionStatus,
    InterventionOrigin,
    InterventionType,
    Priority,
    SessionStatus,
    Severity,
)
from conductor.service.records import (
    DeadLetter,
    Decision,
    EventSettings,
    Intervention,
    Outcome,
    SessionRecord,
    from_epoch,
)
from conductor.storage.tables import ID_LENGTH

Row = Mapping[Any, Any]


def check_id(what: str, value: object) -> str:
    if not isinstance(value, str) or not value or len(value) > ID_LENGTH:
        raise ValueError(f"{what} must be a non-empty string of at most {ID_LENGTH} characters")
    return value


def check_optional_id(what: str, value: object) -> str | None:
    return None if value is None else check_id(what, value)


def epoch_time(what: str, ts: float) -> datetime:
    if not isinstance(ts, (int, float)) or not math.isfinite(ts):
        raise ValueError(f"{what} has no finite time (ts={ts!r})")
    try:
        return from_epoch(ts)
    except (OverflowError, OSError, ValueError) as error:
        raise ValueError(f"{what} has a time out of range (ts={ts!r})") from error


def _finite(what: str, value: float) -> float:
    if not math.isfinite(value):
        raise ValueError(f"{what} is not a finite number ({value!r})")
    return float(value)


def engagement_row(item: Engagement) -> dict[str, Any]:
    what = f"engagement of session {item.session_id!r}"
    return {
        "session_id": check_id("session_id", item.session_id),
        "ts": epoch_time(what, item.ts),
        "event_id": check_optional_id("event_id", item.event_id),
        "score": _finite(f"score of {what}", item.score),
        "components": [asdict(component) for component in item.components],
        "signals": asdict(item.signals),
    }


def engagement_point(row: Row) -> dict[str, Any]:
    return {
        "session_id": row["session_id"],
        "event_id": row["event_id"],
        "ts": row["ts"],
        "score": row["score"],
        "components": row["components"],
        "signals": row["signals"],
    }


def anomaly_row(anomaly_id: str, item: Anomaly) -> dict[str, Any]:
    what = f"anomaly {anomaly_id!r}"
    return {
        "id": check_id("anomaly id", anomaly_id),
        "ts": epoch_time(what, item.ts),
        "session_id": check_id("session_id", item.session_id),
        "event_id": check_optional_id("event_id", item.event_id),
        "type": AnomalyType(item.type).value,
        "severity": Severity(item.severity).value,
        "current": _finite(f"current of {what}", item.current),
        "expected": _finite(f"expected of {what}", item.expected),
        "deviation": _finite(f"deviation of {what}", item.deviation),
        "explanation": item.explanation,
        "started_at": None if item.started_at is None else epoch_time(what, item.started_at),
    }


def anomaly_dict(row: Row) -> dict[str, Any]:
    return {
        "id": row["id"],
        "session_id": row["session_id"],
        "event_id": row["event_id"],
        "ts": row["ts"],
        "type": AnomalyType(row["type"]),
        "severity": Severity(row["severity"]),
        "current": row["current"],
        "expected": row["expected"],
        "deviation": row["deviation"],
        "explanation": row["explanation"],
        "started_at": row["started_at"],
    }


def event_row(item: EventSettings, now: datetime) -> dict[str, Any]:
    return {
        "event_id": check_id("event_id", item.event_id),
        "org_id": item.org_id,
        "name": item.name,
        "enabled": bool(item.enabled),
        "mode": AgentMode(item.mode).value,
        "confidence_threshold": _finite("confidence_threshold", item.confidence_threshold),
        "allowed_types": sorted(InterventionType(t).value for t in item.allowed_types),
        "max_per_session": item.max_per_session,
        "max_per_event": item.max_per_event,
        "updated_at": now,
    }


def event_settings(row: Row) -> EventSettings:
    return EventSettings(
        event_id=row["event_id"],
        org_id=row["org_id"],
        enabled=row["enabled"],
        mode=AgentMode(row["mode"]),
        confidence_threshold=row["confidence_threshold"],
        allowed_types=frozenset(InterventionType(t) for t in row["allowed_types"]),
        max_per_session=row["max_per_session"],
        max_per_event=row["max_per_event"],
        name=row["name"],
    )


def session_row(item: SessionRecord) -> dict[str, Any]:
    return {
        "session_id": check_id("session_id", item.session_id),
        "event_id": check_optional_id("event_id", item.event_id),
        "topic": item.topic,
        "title": item.title,
        "tags": list(item.tags),
        "mode": None if item.mode is None else AgentMode(item.mode).value,
        "status": SessionStatus(item.status).value,
        "started_at": item.started_at,
        "last_seen_at": item.last_seen_at,
        "ended_at": item.ended_at,
    }


def session_record(row: Row) -> SessionRecord:
    return SessionRecord(
        session_id=row["session_id"],
        event_id=row["event_id"],
        topic=row["topic"],
        title=row["title"],
        tags=tuple(row["tags"]),
        mode=None if row["mode"] is None else AgentMode(row["mode"]),
        status=SessionStatus(row["status"]),
        started_at=row["started_at"],
        last_seen_at=row["last_seen_at"],
        ended_at=row["ended_at"],
    )


def decision_row(item: Decision) -> dict[str, Any]:
    return {
        "id": check_id("decision id", item.id),
        "session_id": check_id("session_id", item.session_id),
        "event_id": check_optional_id("event_id", item.event_id),
        "created_at": item.created_at,
        "type": InterventionType(item.type).value,
        "confidence": _finite("confidence", item.confidence),
        "priority": Priority(item.priority).value,
        "expected_impact": _finite("expected_impact", item.expected_impact),
        "reason": item.reason,
        "content": dict(item.content),
        "mode": AgentMode(item.mode).value,
        "status": DecisionStatus(item.status).value,
        "anomaly": None if item.anomaly is None else dict(item.anomaly),
        "expires_at": item.expires_at,
        "resolved_at": item.resolved_at,
        "resolved_by": item.resolved_by,
        "dismiss_reason": item.dismiss_reason,
        "intervention_id": item.intervention_id,
    }


def decision_record(row: Row) -> Decision:
    return Decision(
        id=row["id"],
        session_id=row["session_id"],
        event_id=row["event_id"],
        created_at=row["created_at"],
        type=InterventionType(row["type"]),
        confidence=row["confidence"],
        priority=Priority(row["priority"]),
        expected_impact=row["expected_impact"],
        reason=row["reason"],
        content=row["content"],
        mode=AgentMode(row["mode"]),
        status=DecisionStatus(row["status"]),
        anomaly=row["anomaly"],
        expires_at=row["expires_at"],
        resolved_at=row["resolved_at"],
        resolved_by=row["resolved_by"],
        dismiss_reason=row["dismiss_reason"],
        intervention_id=row["intervention_id"],
    )


def intervention_row(item: Intervention) -> dict[str, Any]:
    return {
        "id": check_id("intervention id", item.id),
        "session_id": check_id("session_id", item.session_id),
        "event_id": check_optional_id("event_id", item.event_id),
        "created_at": item.created_at,
        "type": InterventionType(item.type).value,
        "origin": InterventionOrigin(item.origin).value,
        "confidence": _finite("confidence", item.confidence),
        "priority": Priority(item.priority).value,
        "expected_impact": _finite("expected_impact", item.expected_impact),
        "reason": item.reason,
        "content": dict(item.content),
        "metadata": dict(item.metadata),
        "decision_id": item.decision_id,
        "delivered": item.delivered,
        "delivery_error": item.delivery_error,
        "delivered_at": item.delivered_at,
    }


def delivery_values(report: PlatformOutcome) -> dict[str, Any]:
    what = f"platform outcome of intervention {report.intervention_id!r}"
    return {
        "delivered": bool(report.success),
        "delivery_error": report.error,
        "delivered_at": epoch_time(what, report.ts),
        "delivery_result": dict(report.result),
    }


def outcome_row(item: Outcome) -> dict[str, Any]:
    return {
        "intervention_id": check_id("intervention_id", item.intervention_id),
        "measured_at": item.measured_at,
        "score_before": _finite("score_before", item.score_before),
        "score_after": _finite("score_after", item.score_after),
        "expected_after": _finite("expected_after", item.expected_after),
        "lift": _finite("lift", item.lift),
        "success": bool(item.success),
    }


OUTCOME_PREFIX = "outcome_"
"""Outcome columns are selected beside an intervention's under this prefix."""


def intervention_record(row: Row) -> Intervention:
    outcome = None
    if row.get(OUTCOME_PREFIX + "intervention_id") is not None:
        outcome = Outcome(
            intervention_id=row[OUTCOME_PREFIX + "intervention_id"],
            measured_at=row[OUTCOME_PREFIX + "measured_at"],
            score_before=row[OUTCOME_PREFIX + "score_before"],
            score_after=row[OUTCOME_PREFIX + "score_after"],
            expected_after=row[OUTCOME_PREFIX + "expected_after"],
            lift=row[OUTCOME_PREFIX + "lift"],
            success=row[OUTCOME_PREFIX + "success"],
        )
    return Intervention(
        id=row["id"],
        session_id=row["session_id"],
        event_id=row["event_id"],
        created_at=row["created_at"],
        type=InterventionType(row["type"]),
        origin=InterventionOrigin(row["origin"]),
        confidence=row["confidence"],
        priority=Priority(row["priority"]),
        expected_impact=row["expected_impact"],
        reason=row["reason"],
        content=row["content"],
        metadata=row["metadata"],
        decision_id=row["decision_id"],
        delivered=row["delivered"],
        delivery_error=row["delivery_error"],
        delivered_at=row["delivered_at"],
        outcome=outcome,
    )


def dead_letter_row(item: DeadLetter) -> dict[str, Any]:
    return {
        "stream": item.stream,
        "entry_id": item.entry_id,
        "reason": item.reason,
        "raw": item.raw,
        "received_at": item.received_at,
    }


def dead_letter_record(row: Row) -> DeadLetter:
    return DeadLetter(
        stream=row["stream"],
        entry_id=row["entry_id"],
        reason=row["reason"],
        raw=row["raw"],
        received_at=row["received_at"],
    )
