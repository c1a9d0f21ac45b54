"""The advisor end to end: policy, guardrails and content combined into one Suggestion."""

from __future__ import annotations

from dataclasses import replace

import pytest

from conductor.core.advisor import Advisor, AdvisorConfig, priority_for
from conductor.core.guardrails import GuardrailConfig
from conductor.core.model import Anomaly, Component, Engagement, SessionInfo, SessionSignals
from conductor.core.policy import Choice, DecisionContext
from conductor.core.vocabulary import AnomalyType, InterventionType, Priority, Severity

POLL = InterventionType.POLL
CHAT = InterventionType.CHAT_PROMPT
NOTE = InterventionType.NOTIFICATION
GAME = InterventionType.GAMIFICATION


def context(
    ts: float,
    type: AnomalyType = AnomalyType.LOW_ENGAGEMENT,
    severity: Severity = Severity.WARNING,
    connected: int = 40,
    allowed: frozenset[InterventionType] = frozenset(InterventionType),
    session_id: str = "ses_a",
    info: SessionInfo | None = None,
) -> DecisionContext:
    signals = SessionSignals(connected, 3, 0.2, 0.1, 0.0, 0.0, 1.0, None)
    components = (Component("chat", 0.1, 0.25, 0.03), Component("reactions", 0.2, 0.15, 0.04))
    engagement = Engagement(session_id, "evt_a", ts, 0.2, components, signals)
    anomaly = Anomaly(session_id, "evt_a", ts, type, severity, 0.2, 0.5, 0.6, "Chat went quiet")
    return DecisionContext(
        anomaly, engagement, info or SessionInfo(session_id, "evt_a"), 1_200.0, (), allowed
    )


def test_a_low_engagement_gets_a_poll_with_content_and_is_booked() -> None:
    advisor = Advisor()
    suggestion = advisor.advise(context(1_000.0))
    assert suggestion is not None
    assert suggestion.type is POLL
    assert suggestion.session_id == "ses_a" and suggestion.event_id == "evt_a"
    assert suggestion.ts == 1_000.0
    assert suggestion.priority is Priority.MEDIUM
    assert 0.3 <= suggestion.confidence <= 1.0
    assert suggestion.expected_impact > 0
    assert "Low engagement" in suggestion.reason
    assert suggestion.content["question"] and 2 <= len(suggestion.content["options"]) <= 6
    assert suggestion.anomaly is not None and suggestion.anomaly.type is AnomalyType.LOW_ENGAGEMENT
    assert advisor.guardrails.used("ses_a", "evt_a") == (1, 1)


def test_next_best_type_while_the_first_cools_down_and_the_reason_says_so() -> None:
    advisor = Advisor()
    first = advisor.advise(context(1_000.0))
    second = advisor.advise(context(1_040.0))
    assert first is not None and second is not None
    assert first.type is POLL and second.type is CHAT
    assert second.reason.startswith("POLL is cooling down for 80 s more, so CHAT_PROMPT instead.")
    assert "message" in second.content
    third = advisor.advise(context(1_130.0))
    assert third is not None and third.type is POLL


def test_nothing_within_the_minimum_gap() -> None:
    advisor = Advisor()
    assert advisor.advise(context(1_000.0)) is not None
    assert advisor.advise(context(1_010.0)) is None
    assert advisor.guardrails.used("ses_a", "evt_a") == (1, 1)


def test_budget_spent_means_no_suggestion() -> None:
    config = AdvisorConfig(GuardrailConfig(max_per_session=2))
    advisor = Advisor(config=config)
    made = [advisor.advise(context(1_000.0 + 400 * i)) for i in range(3)]
    assert [s is not None for s in made] == [True, True, False]
    assert advisor.advise(context(5_000.0, session_id="ses_b")) is not None


def test_a_dismissed_suggestion_refunds_the_budget_but_not_the_cooldown() -> None:
    advisor = Advisor(config=AdvisorConfig(GuardrailConfig(max_per_session=1)))
    first = advisor.advise(context(1_000.0))
    assert first is not None and first.type is POLL
    assert advisor.advise(context(1_060.0)) is None
    advisor.guardrails.release("ses_a", "evt_a", first.type, 1_050.0)
    again = advisor.advise(context(1_060.0))
    assert again is not None and again.type is CHAT


def test_event_settings_limit_the_types() -> None:
    advisor = Advisor()
    suggestion = advisor.advise(context(1_000.0, allowed=frozenset({GAME})))
    assert suggestion is not None and suggestion.type is GAME
    assert suggestion.content["action"] in {"START_CHALLENGE", "POINTS_BOOST"}
    assert advisor.advise(context(2_000.0, allowed=frozenset())) is None


def test_critical_mass_exit_escalates_to_the_organiser() -> None:
    advisor = Advisor()
    ctx = context(1_000.0, AnomalyType.MASS_EXIT, Severity.CRITICAL)
    suggestion = advisor.advise(ctx)
    assert suggestion is not None and suggestion.type is NOTE
    assert suggestion.priority is Priority.CRITICAL
    assert suggestion.content["escalate"] is True
    assert suggestion.content["notification_type"] == "MASS_EXIT"
    follow_up = advisor.advise(replace(ctx, engagement=replace(ctx.engagement, ts=1_040.0)))
    assert follow_up is not None and follow_up.type is GAME


def test_forget_session_clears_cooldowns_and_rotation() -> None:
    advisor = Advisor()
    first = advisor.advise(context(1_000.0))
    advisor.forget_session("ses_a")
    again = advisor.advise(context(1_001.0))
    assert first is not None and again is not None
    assert again.type is POLL and again.content == first.content


class FixedPolicy:
    """A stand-in for a learned policy: returns the choices it was given."""

    def __init__(self, choices: list[Choice]) -> None:
        self.choices = choices
        self.learned: list[tuple[InterventionType, float]] = []

    def rank(self, context: DecisionContext) -> list[Choice]:
        return list(self.choices)

    def learn_one(self, context: DecisionContext, type: InterventionType, reward: float) -> None:
        self.learned.append((type, reward))


def test_low_confidence_choices_are_not_suggested() -> None:
    policy = FixedPolicy([Choice(POLL, 0.2, 0.1, "weak"), Choice(CHAT, 0.29, 0.1, "weak")])
    assert Advisor(policy).advise(context(1_000.0)) is None
    lenient = Advisor(policy, AdvisorConfig(min_confidence=0.25))
    suggestion = lenient.advise(context(1_000.0))
    assert suggestion is not None and suggestion.type is CHAT


def test_a_policy_choice_the_event_forbids_is_skipped_with_a_reason() -> None:
    policy = FixedPolicy([Choice(POLL, 0.9, 0.1, "polls work"), Choice(GAME, 0.8, 0.1, "fun")])
    suggestion = Advisor(policy).advise(context(1_000.0, allowed=frozenset({GAME})))
    assert suggestion is not None and suggestion.type is GAME
    assert suggestion.reason == "POLL is turned off for this event, so GAMIFICATION instead. fun"


def test_content_follows_the_session_topic() -> None:
    info = SessionInfo("ses_a", "evt_a", topic="Zero trust security", tags=("security",))
    suggestion = Advisor().advise(context(1_000.0, info=info))
    assert suggestion is not None
    assert suggestion.content["category"] == "topic_specific"


@pytest.mark.parametrize(
    ("type", "severity", "kind", "confidence", "expected"),
    [
        (AnomalyType.SUDDEN_DROP, Severity.CRITICAL, NOTE, 0.9, Priority.CRITICAL),
        (AnomalyType.SUDDEN_DROP, Severity.CRITICAL, POLL, 0.9, Priority.HIGH),
        (AnomalyType.MASS_EXIT, Severity.CRITICAL, GAME, 0.6, Priority.CRITICAL),
        (AnomalyType.MASS_EXIT, Severity.WARNING, NOTE, 0.6, Priority.HIGH),
        (AnomalyType.GRADUAL_DECLINE, Severity.WARNING, POLL, 0.4, Priority.MEDIUM),
        (AnomalyType.LOW_ENGAGEMENT, Severity.WARNING, POLL, 0.4, Priority.LOW),
        (AnomalyType.LOW_ENGAGEMENT, Severity.WARNING, POLL, 0.6, Priority.MEDIUM),
    ],
)
def test_priority_follows_severity_and_type(
    type: AnomalyType,
    severity: Severity,
    kind: InterventionType,
    confidence: float,
    expected: Priority,
) -> None:
    anomaly = context(0.0, type, severity).anomaly
    assert priority_for(anomaly, kind, confidence) is expected


def test_config_rejects_a_confidence_outside_the_unit_interval() -> None:
    with pytest.raises(ValueError, match="min_confidence"):
        AdvisorConfig(min_confidence=1.5)
