"""What the service keeps about events, sessions, decisions and interventions.

These records are the service layer's language: storage persists them, the agent loop creates
them, the API and the dashboard show them. Timestamps are timezone-aware UTC datetimes; ids are
opaque strings (the platform's, or ours for decisions and interventions).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from conductor.core.vocabulary import (
    AgentMode,
    DecisionStatus,
    InterventionOrigin,
    InterventionType,
    Priority,
    SessionStatus,
)

ALL_TYPES: frozenset[InterventionType] = frozenset(InterventionType)


def utcnow() -> datetime:
    return datetime.now(UTC)


def from_epoch(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


@dataclass(slots=True)
class EventSettings:
    """How the agent behaves for one event; sessions may override the mode."""

    event_id: str
    org_id: str | None = None
    enabled: bool = True
    mode: AgentMode = AgentMode.MANUAL
    confidence_threshold: float = 0.75
    allowed_types: frozenset[InterventionType] = ALL_TYPES
    max_per_session: int | None = None
    """None: the service default."""
    max_per_event: int | None = None
    name: str | None = None


@dataclass(slots=True)
class SessionRecord:
    session_id: str
    event_id: str | None = None
    topic: str | None = None
    tags: tuple[str, ...] = ()
    mode: AgentMode | None = None
    title: str | None = None
    """What organisers call the session ("Keynote: the year in AI")."""
    """Overrides the event's mode when set."""
    status: SessionStatus = SessionStatus.LIVE
    started_at: datetime = field(default_factory=utcnow)
    last_seen_at: datetime = field(default_factory=utcnow)
    ended_at: datetime | None = None


@dataclass(slots=True)
class Decision:
    """One suggestion of the agent and what became of it."""

    id: str
    session_id: str
    event_id: str | None
    created_at: datetime
    type: InterventionType
    confidence: float
    priority: Priority
    expected_impact: float
    reason: str
    content: dict[str, Any]
    mode: AgentMode
    status: DecisionStatus = DecisionStatus.PENDING
    anomaly: dict[str, Any] | None = None
    expires_at: datetime | None = None
    resolved_at: datetime | None = None
    resolved_by: str | None = None
    dismiss_reason: str | None = None
    intervention_id: str | None = None


@dataclass(slots=True)
class Outcome:
    """What an intervention did: engagement after it against what the trajectory predicted."""

    intervention_id: str
    measured_at: datetime
    score_before: float
    score_after: float
    expected_after: float
    """Where the session's score was heading without the intervention (the counterfactual)."""
    lift: float
    """score_after - expected_after."""
    success: bool


@dataclass(slots=True)
class Intervention:
    """An executed intervention: stored with full metadata and published as a platform command."""

    id: str
    session_id: str
    event_id: str | None
    created_at: datetime
    type: InterventionType
    origin: InterventionOrigin
    confidence: float
    priority: Priority
    expected_impact: float
    reason: str
    content: dict[str, Any]
    metadata: dict[str, Any] = field(default_factory=dict)
    decision_id: str | None = None
    delivered: bool | None = None
    """The platform's report: True executed, False failed, None not heard yet."""
    delivery_error: str | None = None
    delivered_at: datetime | None = None
    outcome: Outcome | None = None


@dataclass(slots=True)
class DeadLetter:
    stream: str
    entry_id: str | None
    reason: str
    raw: str | None
    received_at: datetime = field(default_factory=utcnow)
