from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conductor.core.model import SessionSignals
from conductor.core.scoring import ScoreConfig, Scorer


def signals(
    n: int,
    *,
    active_share: float = 0.0,
    chat_pc: float = 0.0,
    react_pc: float = 0.0,
    poll: float | None = None,
    leaves_pm: float = 0.0,
) -> SessionSignals:
    return SessionSignals(
        connected=n,
        active_users=round(n * active_share),
        chat_per_min=chat_pc * n,
        reactions_per_min=react_pc * n,
        votes_per_min=0.0,
        joins_per_min=0.0,
        leaves_per_min=leaves_pm,
        poll_participation=poll,
    )


DEFAULTS = ScoreConfig()


def lively(n: int, config: ScoreConfig = DEFAULTS) -> SessionSignals:
    """A room doing what the reference says a lively room of its size does."""
    size = n / 20
    return signals(
        n,
        active_share=min(0.95, config.ref_active_share_20 * size**-config.share_size_exponent),
        chat_pc=config.ref_chat_per_capita_20 * size**-config.size_exponent,
        react_pc=config.ref_reactions_per_capita_20 * size**-config.size_exponent,
    )


def test_lively_rooms_score_high_whatever_their_size() -> None:
    scorer = Scorer()
    small, _ = scorer.score(lively(20))
    big, _ = scorer.score(lively(5000))
    assert small > 0.7 and big > 0.7
    assert abs(small - big) < 0.05


def test_the_same_per_capita_rate_counts_for_more_in_a_big_room() -> None:
    scorer = Scorer()
    seminar, _ = scorer.score(signals(20, active_share=0.2, chat_pc=0.1))
    keynote, _ = scorer.score(signals(5000, active_share=0.2, chat_pc=0.1))
    assert keynote > seminar


def test_connected_but_silent_room_scores_low() -> None:
    score, components = Scorer().score(signals(300))
    assert score < 0.15
    assert {c.name for c in components} == {"participation", "chat", "reactions", "retention"}


def test_empty_room_scores_zero() -> None:
    assert Scorer().score(signals(0)) == (0.0, ())


def test_components_sum_to_the_score_and_are_explained() -> None:
    score, components = Scorer().score(
        signals(100, active_share=0.3, chat_pc=0.1, react_pc=0.2, poll=0.4, leaves_pm=2)
    )
    assert math.isclose(sum(c.contribution for c in components), score, abs_tol=1e-9)
    assert [c.name for c in components] == [
        "participation",
        "chat",
        "reactions",
        "polls",
        "retention",
    ]
    for c in components:
        assert 0.0 <= c.value <= 1.0


def test_poll_component_only_when_a_poll_is_open() -> None:
    scorer = Scorer()
    _, without = scorer.score(signals(50, active_share=0.5))
    _, with_poll = scorer.score(signals(50, active_share=0.5, poll=0.8))
    assert "polls" not in {c.name for c in without}
    assert "polls" in {c.name for c in with_poll}


def test_more_activity_never_lowers_the_score() -> None:
    scorer = Scorer()
    quiet, _ = scorer.score(signals(100, active_share=0.2, chat_pc=0.05))
    busier, _ = scorer.score(signals(100, active_share=0.4, chat_pc=0.2))
    assert busier > quiet


def test_leaving_lowers_the_score() -> None:
    scorer = Scorer()
    stay, _ = scorer.score(signals(100, active_share=0.5, chat_pc=0.2))
    leave, _ = scorer.score(signals(100, active_share=0.5, chat_pc=0.2, leaves_pm=40))
    assert leave < stay


def test_weights_are_configurable() -> None:
    only_chat = ScoreConfig(w_participation=0, w_chat=1, w_reactions=0, w_polls=0)
    score, _ = Scorer(only_chat).score(signals(20, active_share=1.0, chat_pc=0.0))
    assert score == 0.0


@pytest.mark.parametrize("bad", [{"w_chat": -1.0}, {"size_exponent": -0.1}])
def test_bad_configuration_is_refused(bad: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        ScoreConfig(**bad)


finite = st.floats(min_value=0, max_value=1e6, allow_nan=False)


@given(
    connected=st.integers(0, 100_000),
    active=st.integers(0, 100_000),
    chat=finite,
    reactions=finite,
    leaves=finite,
    poll=st.none() | st.floats(0, 1),
)
def test_score_stays_in_unit_interval_whatever_the_input(
    connected: int, active: int, chat: float, reactions: float, leaves: float, poll: float | None
) -> None:
    s = SessionSignals(connected, active, chat, reactions, 0.0, 0.0, leaves, poll)
    score, components = Scorer().score(s)
    assert 0.0 <= score <= 1.0
    assert all(0.0 <= c.value <= 1.0 for c in components)


def test_a_leaver_or_two_a_minute_costs_nothing_even_in_a_small_room() -> None:
    scorer = Scorer()
    stay, _ = scorer.score(signals(10, active_share=0.5, chat_pc=0.5))
    one, components = scorer.score(signals(10, active_share=0.5, chat_pc=0.5, leaves_pm=2.0))
    assert one == stay
    assert next(c for c in components if c.name == "retention").value == 1.0
    many, _ = scorer.score(signals(10, active_share=0.5, chat_pc=0.5, leaves_pm=6.0))
    assert many < 0.5 * stay  # 4 people a minute beyond the allowance: 40 % of the room


@given(leaves=st.floats(0.0, 1000.0), allowance=st.floats(0.0, 10.0))
def test_retention_only_counts_leavers_beyond_the_allowance(
    leaves: float, allowance: float
) -> None:
    scorer = Scorer(ScoreConfig(leave_allowance_per_min=allowance))
    score, components = scorer.score(signals(200, active_share=0.5, chat_pc=0.2, leaves_pm=leaves))
    retention = next(c for c in components if c.name == "retention")
    if leaves <= allowance:
        assert retention.value == 1.0
    elif leaves > allowance + 0.01:
        assert retention.value < 1.0
    assert math.isclose(sum(c.contribution for c in components), score, abs_tol=1e-9)
