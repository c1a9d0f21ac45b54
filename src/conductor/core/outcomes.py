"""Measuring what an intervention did, against what would have happened anyway.

A room that was already recovering would look like a success for any intervention; one in free
fall would make every intervention look useless. So the outcome compares the score after the
measurement delay with the session's own trajectory projected from the minutes before: a
least-squares line over the lookback, damped (trends do not run forever) and clipped to [0,1].
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class OutcomeConfig:
    delay_s: float = 60.0
    lookback_s: float = 120.0
    damping: float = 0.5
    """Share of the projected trend that is trusted over the delay."""
    after_window_s: float = 15.0
    """The score after is the mean over this much time at the end of the delay (less noise)."""
    success_lift: float = 0.03


@dataclass(frozen=True, slots=True)
class Measurement:
    score_before: float
    score_after: float
    expected_after: float
    lift: float
    success: bool


def _slope(points: Sequence[tuple[float, float]]) -> float:
    n = len(points)
    if n < 3:
        return 0.0
    mx = sum(t for t, _ in points) / n
    my = sum(s for _, s in points) / n
    vx = sum((t - mx) ** 2 for t, _ in points)
    if vx <= 1e-9:
        return 0.0
    return sum((t - mx) * (s - my) for t, s in points) / vx


def expected_without(
    history: Sequence[tuple[float, float]], at: float, config: OutcomeConfig
) -> tuple[float, float]:
    """(score at `at`, score the trajectory predicts `delay_s` later) from (ts, score) points."""
    before = [(t, s) for t, s in history if at - config.lookback_s <= t <= at]
    if not before:
        return 0.0, 0.0
    now_score = before[-1][1]
    projected = now_score + config.damping * _slope(before) * config.delay_s
    return now_score, min(1.0, max(0.0, projected))


def measure(
    score_before: float,
    expected_after: float,
    history_after: Sequence[tuple[float, float]],
    due: float,
    config: OutcomeConfig,
) -> Measurement | None:
    """The outcome once `due` has passed; None if there is no score after the intervention."""
    window = [s for t, s in history_after if due - config.after_window_s <= t <= due]
    if not window:
        return None
    after = sum(window) / len(window)
    lift = after - expected_after
    return Measurement(
        score_before=round(score_before, 4),
        score_after=round(after, 4),
        expected_after=round(expected_after, 4),
        lift=round(lift, 4),
        success=lift >= config.success_lift,
    )
