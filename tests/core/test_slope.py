"""The ramp fit behind GRADUAL_DECLINE: exact on noiseless slopes, calibrated on noise."""

from __future__ import annotations

import math
import random
import statistics

import pytest

from conductor.core.slope import SlopeTest, class_events, count_class

BLOCK_S = 30.0
SD, TAU = 0.10, 90.0


def ramp(blocks: int, onset: int, per_block: float, level: float = -2.0, last: float = 1.0):
    """Log rates of a level that starts sloping at block boundary `onset`."""
    out = []
    for j in range(blocks):
        length = last if j == blocks - 1 else 1.0
        out.append(level + per_block * max(0.0, j + length / 2 - onset))
    return out


@pytest.mark.parametrize("last", [1.0, 1 / 3, 5 / 6])
def test_a_noiseless_slope_is_recovered_exactly(last: float) -> None:
    test = SlopeTest(BLOCK_S, SD, TAU)
    rates = ramp(18, 10, -0.06, last=last)
    fit = test.fit(rates, 8, events_per_block=200.0, last=last)
    assert fit.per_block == pytest.approx(-0.06, abs=1e-9)
    assert fit.z < -3.0


def test_flat_rising_and_falling_rooms_have_the_sign_of_their_slope() -> None:
    test = SlopeTest(BLOCK_S, SD, TAU)
    assert test.fit([-2.0] * 16, 6, 100.0).z == pytest.approx(0.0, abs=1e-9)
    assert test.fit(ramp(16, 10, 0.05), 6, 100.0).z > 0
    assert test.fit(ramp(16, 10, -0.05), 6, 100.0).z < 0


def test_the_fit_ignores_the_rooms_own_level() -> None:
    """Per-person rates differ from room to room; only the change counts."""
    test = SlopeTest(BLOCK_S, SD, TAU)
    a = test.fit(ramp(16, 8, -0.04, level=-3.0), 8, 50.0)
    b = test.fit(ramp(16, 8, -0.04, level=0.5), 8, 50.0)
    assert a.z == pytest.approx(b.z) and a.per_block == pytest.approx(b.per_block)


def test_fewer_events_make_the_same_slope_less_certain() -> None:
    test = SlopeTest(BLOCK_S, SD, TAU)
    rates = ramp(18, 10, -0.05)
    assert test.fit(rates, 8, 5.0).z > test.fit(rates, 8, 500.0).z  # less negative


def _room_blocks(rng: random.Random, blocks: int, events: float) -> list[float]:
    """Block means of the log level of a steady room whose level wanders as an
    Ornstein-Uhlenbeck process (1 s steps), plus Gaussian counting noise of variance
    1 / events per block."""
    keep = math.exp(-1.0 / TAU)
    step = SD * math.sqrt(1.0 - keep * keep)
    x = rng.gauss(0.0, SD)
    out = []
    for _ in range(blocks):
        total = 0.0
        for _ in range(int(BLOCK_S)):
            x = x * keep + step * rng.gauss(0.0, 1.0)
            total += x
        out.append(total / BLOCK_S + rng.gauss(0.0, math.sqrt(1.0 / (events + 0.5))))
    return out


@pytest.mark.parametrize("events", [10.0, 400.0])
def test_on_a_steady_rooms_wander_the_z_score_is_standard(events: float) -> None:
    """The covariance is right when, on steady rooms, z has mean 0 and sd 1: then a
    threshold means what it says."""
    test = SlopeTest(BLOCK_S, SD, TAU)
    rng = random.Random(7)
    klass_events = class_events(count_class(events))
    zs = [test.fit(_room_blocks(rng, 16, klass_events), 6, events).z for _ in range(1500)]
    assert abs(statistics.fmean(zs)) < 0.1
    assert 0.9 < statistics.stdev(zs) < 1.1


def test_bad_windows_are_refused() -> None:
    test = SlopeTest(BLOCK_S, SD, TAU)
    with pytest.raises(ValueError, match="ramp"):
        test.fit([-2.0] * 6, 6, 10.0)
    with pytest.raises(ValueError, match="last"):
        test.fit([-2.0] * 6, 3, 10.0, last=0.0)
    with pytest.raises(ValueError):
        SlopeTest(0.0, SD, TAU)
