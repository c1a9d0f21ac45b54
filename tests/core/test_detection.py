"""Anomaly detection on synthetic rooms: each test plays a sequence of ticks as the tracker
would report them (Poisson counts in the last 5 s) and checks which alerts come out."""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conductor.core.detection import (
    AnomalyDetector,
    DetectorConfig,
    binomial_lower_tail,
    poisson_lower_tail,
)
from conductor.core.model import Anomaly, Engagement, SessionSignals
from conductor.core.vocabulary import AnomalyType, Severity

T0 = 1_767_225_600.0
TICK = 5.0
DROP, EXIT = AnomalyType.SUDDEN_DROP, AnomalyType.MASS_EXIT
LOW, DECLINE = AnomalyType.LOW_ENGAGEMENT, AnomalyType.GRADUAL_DECLINE


def _poisson(rng: random.Random, mean: float) -> int:
    if mean > 50:
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, k, p = math.exp(-mean), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def tick(
    t: float,
    rng: random.Random,
    *,
    score: float = 0.75,
    connected: int = 200,
    actions_per_min: float = 120.0,
    leavers: int = 0,
    window: float = TICK,
) -> Engagement:
    """One tick as the tracker reports it: Poisson counts of chat and reactions in the last
    `window` seconds, `leavers` people gone in them."""
    s = SessionSignals(
        connected=connected,
        active_users=connected // 2,
        chat_per_min=actions_per_min / 3,
        reactions_per_min=actions_per_min * 2 / 3,
        votes_per_min=0.0,
        joins_per_min=0.0,
        leaves_per_min=leavers * 60.0 / window,
        poll_participation=None,
        recent_actions=_poisson(rng, actions_per_min * window / 60.0),
        recent_leaves=leavers,
        recent_window_s=window,
    )
    return Engagement("ses_000000000001", "evt_000000000001", T0 + t, score, (), s)


Room = Callable[[float], Engagement]


def run(
    detector: AnomalyDetector, seconds: float, room: Room, start: float = 0.0, step: float = TICK
) -> Iterator[tuple[float, Anomaly]]:
    t = start
    while t < start + seconds:
        for alert in detector.update(room(t)):
            yield t, alert
        t += step


def of(kind: AnomalyType, alerts: list[tuple[float, Anomaly]]) -> list[tuple[float, Anomaly]]:
    return [(t, a) for t, a in alerts if a.type is kind]


def steady(rng: random.Random, connected: int = 200, rate: float = 120.0) -> Room:
    return lambda t: tick(t, rng, connected=connected, actions_per_min=rate)


def wandering(rng: random.Random, connected: int, rate: float) -> Room:
    """A steady room with natural ebb and flow: ±10 % over a few minutes, a noisy score."""

    def room(t: float) -> Engagement:
        wander = 1.0 + 0.1 * math.sin(t / 60.0)
        score = 0.72 + rng.uniform(-0.05, 0.05)
        return tick(t, rng, score=score, connected=connected, actions_per_min=rate * wander)

    return room


# -- quiet rooms stay quiet --------------------------------------------------------------------


def test_nothing_fires_during_warm_up() -> None:
    rng = random.Random(0)
    alerts = list(
        run(AnomalyDetector(), 85, lambda t: tick(t, rng, score=0.0, actions_per_min=0.0))
    )
    assert alerts == []


@pytest.mark.parametrize(("connected", "rate"), [(12, 15.0), (200, 120.0), (5000, 900.0)])
def test_a_steady_room_with_natural_ebb_and_flow_raises_nothing_in_an_hour(
    connected: int, rate: float
) -> None:
    room = wandering(random.Random(connected), connected, rate)
    assert list(run(AnomalyDetector(), 3600, room)) == []


def test_false_alarms_over_many_room_hours_stay_within_budget() -> None:
    """Over 24 room-hours, not one lucky seed: thresholds trade speed against false alarms.
    The budget is 0.5 an hour for every type together; rooms this tidy may use half of it
    (real ones have livelier noise)."""
    hours, alerts = 0, 0
    for connected, rate in [(12, 15.0), (200, 120.0), (5000, 900.0)]:
        for seed in range(8):
            room = wandering(random.Random(1000 * connected + seed), connected, rate)
            alerts += len(list(run(AnomalyDetector(), 3600, room)))
            hours += 1
    assert alerts / hours <= 0.25


# -- SUDDEN_DROP ---------------------------------------------------------------------------------


def dropping(rng: random.Random, at: float, connected: int, rate: float, to: float) -> Room:
    def room(t: float) -> Engagement:
        after = t > at
        return tick(
            t,
            rng,
            connected=connected,
            actions_per_min=rate * (to if after else 1.0),
            score=0.4 if after else 0.75,
        )

    return room


def test_a_big_rooms_drop_is_caught_within_a_few_ticks_and_once() -> None:
    alerts = list(run(AnomalyDetector(), 900, dropping(random.Random(1), 300, 2000, 600, 0.2)))
    drops = of(DROP, alerts)
    assert 1 <= len(drops) <= 2
    if len(drops) == 2:  # at most one escalation
        assert [a.severity for _, a in drops] == [Severity.WARNING, Severity.CRITICAL]
    first_t, first = drops[0]
    assert 300 < first_t <= 315
    assert first.deviation >= 0.5
    assert first.expected > first.current  # the usual score, against the score now
    assert first.started_at is not None and 290 <= first.started_at - T0 <= first_t
    assert "fell" in first.explanation and "2000 people" in first.explanation
    assert not of(DECLINE, alerts)


def test_a_seminar_needs_a_longer_silence_than_a_keynote() -> None:
    def delay(connected: int, rate: float) -> float:
        room = dropping(random.Random(2), 300, connected, rate, 0.1)
        drops = of(DROP, list(run(AnomalyDetector(), 900, room)))
        assert drops, f"no drop caught for {connected} people"
        return drops[0][0] - 300

    assert delay(12, 20.0) > delay(2000, 600.0)


def test_a_drop_episode_closes_once_activity_is_back_and_a_new_drop_alerts_again() -> None:
    rng = random.Random(3)

    def room(t: float) -> Engagement:
        low = 300 < t <= 480 or t > 900
        return tick(t, rng, actions_per_min=(30.0 if low else 150.0), score=0.4 if low else 0.8)

    detector = AnomalyDetector()
    drops = [t for t, _ in of(DROP, list(run(detector, 1100, room)))]
    assert any(300 < t <= 330 for t in drops)
    assert not [t for t in drops if 480 < t <= 900]  # recovered: quiet again
    assert any(900 < t <= 930 for t in drops)  # a new episode, a new alert
    assert DROP in detector.open_episodes


def test_after_a_lasting_drop_the_new_level_is_the_normal() -> None:
    config = DetectorConfig()
    detector = AnomalyDetector(config)
    rng = random.Random(4)
    list(run(detector, 300, steady(rng)))
    list(run(detector, config.rebaseline_after_s + 60, steady(rng, rate=40.0), start=300))
    later = list(run(detector, 900, steady(rng, rate=40.0), start=360 + config.rebaseline_after_s))
    assert later == []


# -- MASS_EXIT -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("share", "severity"), [(0.12, Severity.WARNING), (0.4, Severity.CRITICAL)]
)
def test_mass_exit_severity_follows_the_share_that_left(share: float, severity: Severity) -> None:
    rng = random.Random(5)
    detector = AnomalyDetector()
    list(run(detector, 200, steady(rng, connected=500)))
    left = round(500 * share)

    def leaving(t: float) -> Engagement:
        gone = min(left, round(left * (t - 200 + TICK) / 20))  # over 20 s
        before = min(left, round(left * (t - 200) / 20))
        return tick(t, rng, connected=500 - gone, leavers=gone - before)

    alerts = list(run(detector, 60, leaving, start=200))
    exits = of(EXIT, alerts)
    assert exits and exits[-1][1].severity is severity
    first = exits[0][1]
    assert first.expected == pytest.approx(detector.baseline or 0.0, abs=0.05)
    assert first.deviation >= DetectorConfig().exit_share_warning
    assert "500 who were here" in first.explanation
    assert len(exits) <= 2


def test_two_leavers_in_a_ten_person_room_are_not_a_mass_exit() -> None:
    rng = random.Random(6)
    detector = AnomalyDetector()
    list(run(detector, 200, steady(rng, connected=10, rate=10.0)))
    leaving = [1, 1]

    def room(t: float) -> Engagement:
        gone = leaving.pop() if leaving else 0
        return tick(t, rng, connected=10 - (2 - len(leaving)), actions_per_min=10.0, leavers=gone)

    assert not of(EXIT, list(run(detector, 60, room, start=200)))


# -- LOW_ENGAGEMENT ------------------------------------------------------------------------------


def test_low_engagement_once_per_episode_and_again_after_recovery() -> None:
    rng = random.Random(7)
    detector = AnomalyDetector()
    list(run(detector, 300, steady(rng)))

    def dead(score: float) -> Room:
        return lambda t: tick(t, rng, score=score, actions_per_min=5.0)

    low = of(LOW, list(run(detector, 120, dead(0.1), start=300)))
    assert len(low) == 1 and low[0][1].severity is Severity.CRITICAL
    assert low[0][1].current == pytest.approx(0.1)
    assert low[0][1].expected == DetectorConfig().low_warning
    assert low[0][0] - 300 <= DetectorConfig().low_max_sustain_s
    list(run(detector, 300, lambda t: tick(t, rng, score=0.7), start=420))
    again = of(LOW, list(run(detector, 120, dead(0.2), start=720)))
    assert [a.severity for _, a in again] == [Severity.WARNING]


def test_a_room_quiet_all_along_must_stay_under_the_floor_longer() -> None:
    config = DetectorConfig()
    rng = random.Random(8)
    detector = AnomalyDetector(config)
    quiet = list(
        run(detector, 900, lambda t: tick(t, rng, score=0.2, connected=10, actions_per_min=6.0))
    )
    lows = of(LOW, quiet)
    assert lows, "a room under the floor for good is low engagement"
    assert lows[0][0] >= config.warmup_s + config.low_persistent_s - TICK
    assert "stayed at 0.20" in lows[0][1].explanation


def test_collapsed_activity_counts_as_low_before_the_score_catches_up() -> None:
    rng = random.Random(9)
    detector = AnomalyDetector()
    list(run(detector, 400, steady(rng, connected=1000, rate=500.0)))
    # The score lags behind (its windows are still full of the lively minutes).
    collapse = list(
        run(
            detector,
            60,
            lambda t: tick(t, rng, score=0.4, connected=1000, actions_per_min=10.0),
            start=400,
        )
    )
    lows = of(LOW, collapse)
    assert lows and lows[0][1].severity is Severity.WARNING
    assert "heading under" in lows[0][1].explanation
    assert lows[0][1].deviation == 0.0  # the score itself is not under the floor yet


# -- GRADUAL_DECLINE -----------------------------------------------------------------------------


def test_a_steady_slide_is_a_gradual_decline_not_a_drop() -> None:
    rng = random.Random(10)
    start = 400.0

    def room(t: float) -> Engagement:
        minutes = max(0.0, (t - start) / 60.0)
        level = max(0.25, 1.0 - 0.13 * minutes)
        return tick(t, rng, connected=2000, actions_per_min=600 * level, score=0.75 * level)

    alerts = list(run(AnomalyDetector(), 1200, room))
    declines = of(DECLINE, alerts)
    assert declines
    t, first = declines[0]
    assert start < t <= start + 360
    assert first.deviation >= DetectorConfig().decline_min_drop
    assert "falling steadily" in first.explanation
    assert not of(DROP, alerts)


def test_a_collapse_during_an_open_decline_is_the_declines_not_a_drop() -> None:
    """The organiser already knows the room is sliding: its steep end adds no SUDDEN_DROP,
    and where the room ends up still speaks as LOW_ENGAGEMENT."""
    rng = random.Random(12)
    start, collapse = 400.0, 1000.0

    def room(t: float) -> Engagement:
        level = max(0.45, 1.0 - 0.13 * max(0.0, (t - start) / 60.0))
        if t >= collapse:
            level = 0.05
        return tick(t, rng, connected=2000, actions_per_min=600 * level, score=0.75 * level)

    alerts = list(run(AnomalyDetector(), 1800, room))
    declines = of(DECLINE, alerts)
    assert declines and declines[0][0] < collapse
    # Nor later, once the decline has lasted long enough to be the room's new normal: the
    # room is then measured against nothing older.
    assert not of(DROP, alerts)
    assert [t for t, _ in of(LOW, alerts) if t >= collapse]

    # The same collapse in a room that was not sliding is a drop.
    def unsliding(t: float) -> Engagement:
        level = 0.05 if t >= collapse else 1.0
        return tick(t, rng, connected=2000, actions_per_min=600 * level, score=0.75 * level)

    drops = of(DROP, list(run(AnomalyDetector(), 1200, unsliding)))
    assert drops and collapse <= drops[0][0] <= collapse + 15


def test_a_step_is_not_a_decline() -> None:
    alerts = list(run(AnomalyDetector(), 1200, dropping(random.Random(11), 400, 2000, 600, 0.5)))
    assert of(DROP, alerts)
    assert not of(DECLINE, alerts)


# -- mechanics -----------------------------------------------------------------------------------


def test_ticks_faster_than_the_recent_window_are_not_counted_twice() -> None:
    """With a 10 s window read every 5 s, only every other tick adds a slot: the result is the
    same as ticking every 10 s."""

    def room(rng: random.Random) -> Room:
        def make(t: float) -> Engagement:
            rate = 600.0 if t <= 300 else 60.0
            return tick(t, rng, connected=2000, actions_per_min=rate, window=10.0)

        return make

    every_5 = of(DROP, list(run(AnomalyDetector(), 600, room(random.Random(12)), step=5.0)))
    every_10 = of(DROP, list(run(AnomalyDetector(), 600, room(random.Random(12)), step=10.0)))
    assert every_5 and every_10
    assert abs(every_5[0][0] - every_10[0][0]) <= 10.0


def test_bad_configurations_are_refused() -> None:
    with pytest.raises(ValueError, match="drop_to"):
        DetectorConfig(drop_to=1.5)
    with pytest.raises(ValueError, match="coarse_history_s"):
        DetectorConfig(decline_spans_s=(900.0,))
    with pytest.raises(ValueError, match="positive"):
        DetectorConfig(fine_history_s=0.0)


@settings(max_examples=100, deadline=None)
@given(k=st.integers(-1, 60), mean=st.floats(0.0, 60.0))
def test_poisson_lower_tail_matches_the_sum_of_its_terms(k: int, mean: float) -> None:
    if mean == 0.0 or k < 0:
        assert poisson_lower_tail(k, mean) == (1.0 if mean == 0.0 else 0.0)
        return
    exact = sum(math.exp(-mean + i * math.log(mean) - math.lgamma(i + 1)) for i in range(k + 1))
    assert poisson_lower_tail(k, mean) == pytest.approx(exact, rel=1e-9, abs=1e-12)


@settings(max_examples=150, deadline=None)
@given(n=st.integers(1, 300), k=st.integers(-1, 300), p=st.floats(0.0, 1.0))
def test_binomial_lower_tail_matches_the_sum_of_its_terms(n: int, k: int, p: float) -> None:
    exact = sum(math.comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(min(k, n) + 1))
    assert binomial_lower_tail(k, n, p) == pytest.approx(exact, rel=1e-9, abs=1e-12)
