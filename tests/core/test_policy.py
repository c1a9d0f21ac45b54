"""RulePolicy: sensible, explainable rankings for every anomaly, bounded for any input."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conductor.core.model import Anomaly, Component, Engagement, SessionInfo, SessionSignals
from conductor.core.policy import ANOMALY_LABELS, Choice, DecisionContext, RulePolicy
from conductor.core.vocabulary import AnomalyType, InterventionType, Severity

POLL = InterventionType.POLL
CHAT = InterventionType.CHAT_PROMPT
NOTE = InterventionType.NOTIFICATION
GAME = InterventionType.GAMIFICATION


def signals(
    connected: int = 40, poll: str | None = None, leaves: float = 0.0, active: int = 4
) -> SessionSignals:
    return SessionSignals(
        connected=connected,
        active_users=active,
        chat_per_min=0.5,
        reactions_per_min=0.3,
        votes_per_min=0.0,
        joins_per_min=0.0,
        leaves_per_min=leaves,
        poll_participation=None if poll is None else 0.1,
        active_poll_id=poll,
    )


def context(
    type: AnomalyType = AnomalyType.LOW_ENGAGEMENT,
    severity: Severity = Severity.WARNING,
    deviation: float = 0.4,
    sig: SessionSignals | None = None,
    score: float = 0.25,
    recent: tuple[InterventionType, ...] = (),
    allowed: frozenset[InterventionType] = frozenset(InterventionType),
    elapsed: float = 900.0,
) -> DecisionContext:
    components = (
        Component("participation", 0.3, 0.35, 0.1),
        Component("chat", 0.12, 0.25, 0.03),
        Component("reactions", 0.4, 0.15, 0.06),
    )
    engagement = Engagement("ses_a", "evt_a", 1_000.0, score, components, sig or signals())
    anomaly = Anomaly(
        "ses_a", "evt_a", 1_000.0, type, severity, score, 0.5, deviation, "activity fell"
    )
    return DecisionContext(
        anomaly, engagement, SessionInfo("ses_a", "evt_a"), elapsed, recent, allowed
    )


def by_type(choices: list[Choice]) -> dict[InterventionType, Choice]:
    return {c.type: c for c in choices}


policy = RulePolicy()


@pytest.mark.parametrize("type", list(AnomalyType))
@pytest.mark.parametrize("severity", list(Severity))
def test_every_anomaly_gets_a_ranked_explained_answer(
    type: AnomalyType, severity: Severity
) -> None:
    choices = policy.rank(context(type, severity))
    assert choices
    confidences = [c.confidence for c in choices]
    assert confidences == sorted(confidences, reverse=True)
    assert len({c.type for c in choices}) == len(choices)
    for choice in choices:
        assert ANOMALY_LABELS[type] in choice.reason
        assert severity.value in choice.reason
        assert "chat 0.12" in choice.reason  # the weakest signal is named


@pytest.mark.parametrize("type", [AnomalyType.LOW_ENGAGEMENT, AnomalyType.GRADUAL_DECLINE])
def test_quiet_rooms_get_a_poll_then_a_chat_prompt(type: AnomalyType) -> None:
    ranked = [c.type for c in policy.rank(context(type))]
    assert ranked[:3] == [POLL, CHAT, GAME]


@pytest.mark.parametrize("type", [AnomalyType.LOW_ENGAGEMENT, AnomalyType.GRADUAL_DECLINE])
def test_an_open_poll_puts_the_chat_prompt_first(type: AnomalyType) -> None:
    choices = policy.rank(context(type, sig=signals(poll="poll_1")))
    assert choices[0].type is CHAT
    assert "a poll is already open" in by_type(choices)[POLL].reason


def test_sudden_drop_notifies_the_organiser_only_when_critical() -> None:
    warning = by_type(policy.rank(context(AnomalyType.SUDDEN_DROP, Severity.WARNING)))
    critical = policy.rank(context(AnomalyType.SUDDEN_DROP, Severity.CRITICAL))
    assert NOTE not in warning
    assert {c.type for c in critical[:2]} == {POLL, NOTE}
    assert set(warning) >= {POLL, CHAT}
    assert [c.type for c in policy.rank(context(AnomalyType.SUDDEN_DROP))][:2] == [POLL, CHAT]


@pytest.mark.parametrize("severity", list(Severity))
def test_mass_exit_tells_the_organiser_first_then_plays(severity: Severity) -> None:
    ranked = [
        c.type
        for c in policy.rank(context(AnomalyType.MASS_EXIT, severity, sig=signals(leaves=4.0)))
    ]
    assert ranked[:2] == [NOTE, GAME]


def test_mass_exit_reason_names_the_leaving_rate() -> None:
    choices = policy.rank(context(AnomalyType.MASS_EXIT, sig=signals(leaves=6.0)))
    assert all("6.0 leaving per minute" in c.reason for c in choices)


def test_big_rooms_favour_games_and_small_rooms_chat() -> None:
    medium = by_type(policy.rank(context(sig=signals(connected=40))))
    big = by_type(policy.rank(context(sig=signals(connected=500))))
    small = by_type(policy.rank(context(sig=signals(connected=8, active=1))))
    assert big[GAME].confidence > medium[GAME].confidence
    assert small[CHAT].confidence > medium[CHAT].confidence
    assert small[GAME].confidence < medium[GAME].confidence
    assert "big room of 500" in big[GAME].reason
    assert "small room of 8" in small[CHAT].reason


def test_recent_use_lowers_confidence_newest_most() -> None:
    fresh = by_type(policy.rank(context()))[POLL].confidence
    newest = by_type(policy.rank(context(recent=(CHAT, POLL))))[POLL]
    older = by_type(policy.rank(context(recent=(POLL, CHAT))))[POLL]
    assert newest.confidence < older.confidence < fresh
    assert "used recently" in newest.reason


def test_only_the_last_four_interventions_count_as_recent() -> None:
    fresh = by_type(policy.rank(context()))[POLL].confidence
    long_ago = (POLL, CHAT, GAME, CHAT, GAME)
    assert by_type(policy.rank(context(recent=long_ago)))[POLL].confidence == fresh
    assert by_type(policy.rank(context(recent=(*long_ago[1:], POLL))))[POLL].confidence < fresh


def test_critical_and_larger_deviation_raise_confidence() -> None:
    warn = by_type(policy.rank(context(severity=Severity.WARNING)))[POLL].confidence
    crit = by_type(policy.rank(context(severity=Severity.CRITICAL)))[POLL].confidence
    small = by_type(policy.rank(context(deviation=0.1)))[POLL].confidence
    large = by_type(policy.rank(context(deviation=0.5)))[POLL].confidence
    assert crit > warn
    assert large > small


def test_early_low_activity_counts_less_but_an_exit_does_not() -> None:
    early = by_type(policy.rank(context(elapsed=60.0)))[POLL]
    later = by_type(policy.rank(context(elapsed=900.0)))[POLL]
    assert early.confidence < later.confidence
    assert "only just started" in early.reason
    exit_early = policy.rank(context(AnomalyType.MASS_EXIT, elapsed=60.0))
    exit_later = policy.rank(context(AnomalyType.MASS_EXIT, elapsed=900.0))
    assert [c.confidence for c in exit_early] == [c.confidence for c in exit_later]


def test_only_allowed_types_are_ranked() -> None:
    allowed = frozenset({CHAT, GAME})
    assert {c.type for c in policy.rank(context(allowed=allowed))} == allowed
    assert policy.rank(context(allowed=frozenset())) == []


def test_learn_one_changes_nothing() -> None:
    ctx = context()
    before = policy.rank(ctx)
    policy.learn_one(ctx, POLL, 1.0)
    policy.learn_one(ctx, CHAT, -1.0)
    assert policy.rank(ctx) == before


@pytest.mark.parametrize("confidence", [-0.1, 1.01, math.nan])
def test_a_choice_rejects_confidence_outside_the_unit_interval(confidence: float) -> None:
    with pytest.raises(ValueError, match="confidence"):
        Choice(POLL, confidence, 0.1, "because")


def test_a_choice_needs_a_reason() -> None:
    with pytest.raises(ValueError, match="reason"):
        Choice(POLL, 0.5, 0.1, "  ")


any_float = st.floats(allow_nan=True, allow_infinity=True)


@given(
    type=st.sampled_from(list(AnomalyType)),
    severity=st.sampled_from(list(Severity)),
    deviation=any_float,
    current=any_float,
    score=st.floats(0.0, 1.0),
    connected=st.integers(0, 100_000),
    leaves=st.floats(0.0, 1e6),
    poll=st.none() | st.just("poll_x"),
    recent=st.lists(st.sampled_from(list(InterventionType)), max_size=20).map(tuple),
    allowed=st.frozensets(st.sampled_from(list(InterventionType))),
    elapsed=any_float,
)
def test_any_input_gives_bounded_explained_choices(
    type: AnomalyType,
    severity: Severity,
    deviation: float,
    current: float,
    score: float,
    connected: int,
    leaves: float,
    poll: str | None,
    recent: tuple[InterventionType, ...],
    allowed: frozenset[InterventionType],
    elapsed: float,
) -> None:
    ctx = context(
        type,
        severity,
        deviation,
        signals(connected=connected, poll=poll, leaves=leaves, active=connected // 3),
        score,
        recent,
        allowed,
        elapsed,
    )
    ctx = replace(ctx, anomaly=replace(ctx.anomaly, current=current))
    choices = policy.rank(ctx)
    assert {c.type for c in choices} <= allowed
    assert len({c.type for c in choices}) == len(choices)
    assert [c.confidence for c in choices] == sorted((c.confidence for c in choices), reverse=True)
    for choice in choices:
        assert 0.0 <= choice.confidence <= 1.0
        assert 0.0 <= choice.expected_impact <= 1.0 - score + 1e-9
        assert ANOMALY_LABELS[type] in choice.reason
        assert "nan" not in choice.reason and "inf" not in choice.reason
