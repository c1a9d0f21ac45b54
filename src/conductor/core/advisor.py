"""One answer to one anomaly: the best intervention the policy ranks, the event allows and the
guardrails permit, with its content, priority and reason, as a `Suggestion`."""

from __future__ import annotations

from dataclasses import dataclass, field

from conductor.core.content import ContentLibrary
from conductor.core.guardrails import GuardrailConfig, Guardrails
from conductor.core.model import Anomaly, Suggestion
from conductor.core.policy import Choice, DecisionContext, Policy, RulePolicy
from conductor.core.vocabulary import AnomalyType, InterventionType, Priority, Severity


@dataclass(frozen=True, slots=True)
class AdvisorConfig:
    guardrails: GuardrailConfig = field(default_factory=GuardrailConfig)
    min_confidence: float = 0.3
    """Choices below this are not worth an organiser's attention."""

    def __post_init__(self) -> None:
        if not 0.0 <= self.min_confidence <= 1.0:
            raise ValueError("min_confidence must be in [0,1]")


def priority_for(anomaly: Anomaly, type: InterventionType, confidence: float) -> Priority:
    """Critical anomalies are HIGH; an escalated notification or any answer to a critical mass
    exit is CRITICAL; a tentative answer to a mild low-engagement warning is LOW."""
    if anomaly.severity is Severity.CRITICAL:
        if type is InterventionType.NOTIFICATION or anomaly.type is AnomalyType.MASS_EXIT:
            return Priority.CRITICAL
        return Priority.HIGH
    if anomaly.type is AnomalyType.MASS_EXIT:
        return Priority.HIGH
    if anomaly.type is AnomalyType.LOW_ENGAGEMENT and confidence < 0.5:
        return Priority.LOW
    return Priority.MEDIUM


class Advisor:
    """Not thread-safe: one advisor per engine loop. Booking happens here (`record`); whoever
    later dismisses or expires a suggestion calls `guardrails.release`."""

    def __init__(
        self,
        policy: Policy | None = None,
        config: AdvisorConfig | None = None,
        content: ContentLibrary | None = None,
    ) -> None:
        self.config = config or AdvisorConfig()
        self.policy: Policy = policy if policy is not None else RulePolicy()
        self.guardrails = Guardrails(self.config.guardrails)
        self.content = content if content is not None else ContentLibrary()

    def advise(self, context: DecisionContext) -> Suggestion | None:
        """The best permitted suggestion, booked in the guardrails; None when nothing may run."""
        anomaly = context.anomaly
        session_id = anomaly.session_id
        event_id = anomaly.event_id or context.info.event_id or context.engagement.event_id
        now = context.engagement.ts
        skipped: str | None = None
        for choice in self.policy.rank(context):
            if choice.confidence < self.config.min_confidence:
                continue
            if choice.type not in context.allowed:
                skipped = skipped or f"{choice.type.value} is turned off for this event"
                continue
            blocked = self.guardrails.check(session_id, event_id, choice.type, now)
            if blocked is not None:
                skipped = skipped or blocked
                continue
            return self._suggest(context, choice, event_id, skipped)
        return None

    def forget_session(self, session_id: str) -> None:
        self.guardrails.forget_session(session_id)
        self.content.forget_session(session_id)

    def _suggest(
        self, context: DecisionContext, choice: Choice, event_id: str | None, skipped: str | None
    ) -> Suggestion:
        anomaly = context.anomaly
        now = context.engagement.ts
        audience = context.engagement.signals.connected
        content = self.content.content(
            choice.type, anomaly.session_id, anomaly, context.info, audience
        )
        reason = choice.reason
        if skipped is not None:
            reason = f"{skipped}, so {choice.type.value} instead. {reason}"
        self.guardrails.record(anomaly.session_id, event_id, choice.type, now)
        return Suggestion(
            session_id=anomaly.session_id,
            event_id=event_id,
            ts=now,
            type=choice.type,
            confidence=choice.confidence,
            priority=priority_for(anomaly, choice.type, choice.confidence),
            expected_impact=choice.expected_impact,
            reason=reason,
            content=content,
            anomaly=anomaly,
        )
