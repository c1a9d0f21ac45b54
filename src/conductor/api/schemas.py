"""The API's request and response bodies, as docs/api.md states them.

Requests are validated here, so a bad body is a 422 naming its field before any handler runs.
Responses are declared so that /openapi.json documents exactly what the handlers return.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from conductor.core.vocabulary import (
    AgentMode,
    AgentStatus,
    AnomalyType,
    DecisionStatus,
    InterventionOrigin,
    InterventionType,
    Priority,
    Severity,
    Trend,
)

ID_PATTERN = r"^[A-Za-z0-9_-]{1,255}$"
Id = Annotated[str, StringConstraints(pattern=ID_PATTERN)]
MAX_SIGNALS = 5_000


class RequestBody(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Error(BaseModel):
    error: str
    message: str
    field: str | None = None


# -- signals -----------------------------------------------------------------------------------


class SignalsIn(RequestBody):
    signals: list[Any] = Field(
        max_length=MAX_SIGNALS,
        description='Replay lines: {"stream", "id"?, "ts"?, "data"}; without id and ts, '
        "the entry's time is its arrival.",
    )


class RejectedSignal(BaseModel):
    index: int
    reason: str


class SignalsOut(BaseModel):
    accepted: int
    duplicates: int
    outcomes: int
    rejected: list[RejectedSignal]


# -- interventions -----------------------------------------------------------------------------


class OutcomeOut(BaseModel):
    score_before: float
    score_after: float
    expected_after: float
    lift: float
    success: bool
    measured_at: str


class InterventionOut(BaseModel):
    intervention_id: str
    session_id: str
    event_id: str | None
    timestamp: str
    type: InterventionType
    origin: InterventionOrigin
    confidence: float
    priority: Priority
    expected_impact: float
    reason: str
    content: dict[str, Any]
    metadata: dict[str, Any]
    decision_id: str | None
    delivered: bool | None
    delivery_error: str | None
    outcome: OutcomeOut | None


class ManualIn(RequestBody):
    model_config = ConfigDict(extra="ignore")
    session_id: Id
    event_id: Id | None = None
    intervention_type: InterventionType
    reason: str = Field("requested by an organiser", max_length=2_000)
    context: dict[str, Any] = Field(default_factory=dict)


class ManualOut(BaseModel):
    success: bool
    intervention_id: str
    message: str
    details: InterventionOut


class HistoryOut(BaseModel):
    total: int
    interventions: list[InterventionOut]


class StatsOut(BaseModel):
    total_interventions: int
    by_type: dict[str, int]
    success_rate: float
    avg_confidence: float
    successful_interventions: int


# -- events ------------------------------------------------------------------------------------


class EventSettingsOut(BaseModel):
    event_id: str
    org_id: str | None
    name: str | None
    enabled: bool
    mode: AgentMode
    confidence_threshold: float
    allowed_types: list[InterventionType]
    max_per_session: int | None
    max_per_event: int | None


class EventsOut(BaseModel):
    events: list[EventSettingsOut]


class EventIn(RequestBody):
    """Fields left out keep their current value; `null` resets a limit to the default."""

    org_id: Id | None = None
    name: Annotated[str, StringConstraints(max_length=200)] | None = None
    enabled: bool | None = None
    mode: AgentMode | None = None
    confidence_threshold: float | None = Field(None, ge=0.0, le=1.0)
    allowed_types: list[InterventionType] | None = Field(None, max_length=len(InterventionType))
    max_per_session: int | None = Field(None, ge=0, le=10_000)
    max_per_event: int | None = Field(None, ge=0, le=1_000_000)


class TypeOutcomes(BaseModel):
    count: int
    measured: int
    successes: int
    success_rate: float
    mean_lift: float


class OutcomesOut(BaseModel):
    by_type: dict[str, TypeOutcomes]


# -- sessions ----------------------------------------------------------------------------------


class Alert(BaseModel):
    type: AnomalyType
    severity: Severity


class SessionSummary(BaseModel):
    session_id: str
    event_id: str | None
    title: str | None
    topic: str | None
    score: float | None
    trend: Trend
    status: AgentStatus
    mode: AgentMode
    connected: int
    open_alerts: list[Alert]
    sparkline: list[float]
    pending_decisions: int
    updated_at: str | None


class SessionsOut(BaseModel):
    sessions: list[SessionSummary]


class ComponentOut(BaseModel):
    name: str
    value: float
    weight: float
    contribution: float


class SignalsNow(BaseModel):
    connected: int
    active_users: int
    active_share: float
    chat_per_min: float
    reactions_per_min: float
    votes_per_min: float
    poll_participation: float | None
    leaves_per_min: float


class AnomalyOut(BaseModel):
    id: str | None = None
    # camelCase: the platform's own field names for an anomaly
    sessionId: str
    eventId: str | None
    timestamp: str
    type: AnomalyType
    severity: Severity
    currentEngagement: float
    expectedEngagement: float
    deviation: float
    explanation: str


class Activity(BaseModel):
    ts: str
    kind: str
    text: str


class SessionDetail(SessionSummary):
    components: list[ComponentOut]
    signals: SignalsNow
    threshold: float
    anomalies: list[AnomalyOut]
    activity: list[Activity]


class SessionIn(RequestBody):
    """Fields left out keep their registered value."""

    event_id: Id
    title: Annotated[str, StringConstraints(max_length=300)] | None = None
    topic: Annotated[str, StringConstraints(max_length=500)] | None = None
    tags: list[Annotated[str, StringConstraints(min_length=1, max_length=100)]] | None = Field(
        None, max_length=50
    )
    mode: AgentMode | None = None


class SessionOut(BaseModel):
    session_id: str
    event_id: str | None
    title: str | None
    topic: str | None
    tags: list[str]
    mode: AgentMode | None
    status: str


class ModeIn(RequestBody):
    mode: AgentMode | None = Field(description="null: follow the event's mode.")


class ModeOut(BaseModel):
    session_id: str
    mode: AgentMode


class Point(BaseModel):
    ts: str
    score: float


class EngagementOut(BaseModel):
    points: list[Point]


class AnomaliesOut(BaseModel):
    anomalies: list[AnomalyOut]


# -- decisions ---------------------------------------------------------------------------------


class DecisionOut(BaseModel):
    decision_id: str
    session_id: str
    event_id: str | None
    created_at: str
    type: InterventionType
    confidence: float
    priority: Priority
    expected_impact: float
    reason: str
    content: dict[str, Any]
    mode: AgentMode
    status: DecisionStatus
    anomaly: dict[str, Any] | None
    expires_at: str | None
    resolved_at: str | None
    resolved_by: str | None
    dismiss_reason: str | None
    intervention_id: str | None


class DecisionsOut(BaseModel):
    decisions: list[DecisionOut]


class ApproveOut(BaseModel):
    decision: DecisionOut
    intervention: InterventionOut


class DismissIn(RequestBody):
    reason: Annotated[str, StringConstraints(max_length=2_000)] | None = None


class DismissOut(BaseModel):
    decision: DecisionOut


# -- operations --------------------------------------------------------------------------------


class Live(BaseModel):
    status: str


class Component(BaseModel):
    ok: bool
    detail: str


class Ready(BaseModel):
    status: str
    components: dict[str, Component]
