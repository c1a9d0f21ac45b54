"""How strongly a room's recent activity says "a slope began here", against its ebb and flow.

Activity per person is read in blocks of equal length (the newest may be partial) on a log
scale. A room's level wanders of its own accord (a log-normal Ornstein-Uhlenbeck process: sd
`noise_sd`, time constant `noise_tau_s`), so neighbouring blocks are correlated, and each
block's count adds Poisson noise of variance about 1 / events. Given where a slope would have
begun, the generalised least squares fit of a level plus a ramp from there weighs every block by
what it can tell under that noise, which an end-against-reference ratio cannot: it uses the
whole slope and discounts the wander they share. The fit's weights depend only on the number of
blocks, where the ramp starts, how many events a block holds and how long the newest is, so
they are worked out once per (blocks, onset, count class, newest length) and kept: a test is
then one dot product.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Sequence
from dataclasses import dataclass

COUNT_STEP = 1.25
"""Blocks are classed by their expected events, in steps of this ratio (1 event up)."""
MAX_COUNT_CLASS = 60


@dataclass(frozen=True, slots=True)
class SlopeFit:
    z: float
    """The fitted slope over its standard error: very negative for a clear decline."""
    per_block: float
    """Fitted change of the log level per block after the onset."""


class SlopeTest:
    """Ramp fits over windows of equal blocks, the newest of which may be partial."""

    __slots__ = ("_cache", "block_s", "noise_sd", "noise_tau_s")

    def __init__(self, block_s: float, noise_sd: float, noise_tau_s: float) -> None:
        if not (block_s > 0 and noise_tau_s > 0 and noise_sd >= 0):
            raise ValueError("block_s and noise_tau_s must be > 0, noise_sd >= 0")
        self.block_s = block_s
        self.noise_sd = noise_sd
        self.noise_tau_s = noise_tau_s
        self._cache: dict[tuple[int, int, int, float], tuple[array[float], array[float]]] = {}
        """Bounded by the detector's windows: at most (blocks x starts x count classes x partial
        lengths), a few thousand entries of two short arrays in practice."""

    def fit(
        self, log_rates: Sequence[float], ramp: int, events_per_block: float, last: float = 1.0
    ) -> SlopeFit:
        """The ramp fit over `log_rates` (oldest block first) with a slope over the last `ramp`
        blocks. `events_per_block` sets the Poisson part of the noise; `last` is the newest
        block's length as a share of a block."""
        blocks = len(log_rates)
        if not 1 <= ramp < blocks:
            raise ValueError(f"ramp must leave at least one block before it, got {ramp}")
        if not 0.0 < last <= 1.0:
            raise ValueError(f"last must be in (0, 1], got {last}")
        key = (blocks, ramp, count_class(events_per_block), last)
        weights = self._cache.get(key)
        if weights is None:
            weights = self._cache[key] = self._weights(*key)
        z_weights, slope_weights = weights
        z = slope = 0.0
        for wz, ws, y in zip(z_weights, slope_weights, log_rates, strict=True):
            z += wz * y
            slope += ws * y
        return SlopeFit(z, slope)

    def _weights(
        self, blocks: int, ramp: int, klass: int, last: float
    ) -> tuple[array[float], array[float]]:
        lengths = [1.0] * (blocks - 1) + [last]
        starts = [float(j) for j in range(blocks)]
        onset = float(blocks - ramp)
        design = [
            (1.0, max(0.0, start + length / 2 - onset))
            for start, length in zip(starts, lengths, strict=True)
        ]
        cov = self._covariance(starts, lengths, class_events(klass))
        chol = _cholesky(cov)
        solved = [_solve(chol, [row[i] for row in design]) for i in range(2)]  # cov^-1 X
        # M = X' cov^-1 X, 2 x 2, and the slope's row of M^-1 X' cov^-1.
        m00 = sum(a * x[0] for a, x in zip(solved[0], design, strict=True))
        m01 = sum(a * x[1] for a, x in zip(solved[0], design, strict=True))
        m11 = sum(a * x[1] for a, x in zip(solved[1], design, strict=True))
        det = m00 * m11 - m01 * m01
        inv01, inv11 = -m01 / det, m00 / det
        slope = [inv01 * a + inv11 * b for a, b in zip(solved[0], solved[1], strict=True)]
        sd = math.sqrt(inv11)
        return array("d", (w / sd for w in slope)), array("d", slope)

    def _covariance(
        self, starts: list[float], lengths: list[float], events: float
    ) -> list[list[float]]:
        """Block means of the wander (exact for an Ornstein-Uhlenbeck process) plus counts;
        times in blocks."""
        tau = self.noise_tau_s / self.block_s
        var = self.noise_sd**2
        n = len(starts)
        cov = [[0.0] * n for _ in range(n)]
        for i in range(n):
            a, la = starts[i], lengths[i]
            r = la / tau
            cov[i][i] = var * 2.0 * (r - 1.0 + math.exp(-r)) / (r * r) + 1.0 / (events * la + 0.5)
            for j in range(i + 1, n):
                c, lc = starts[j], lengths[j]
                b, d = a + la, c + lc
                shared = (
                    math.exp(-(c - b) / tau)
                    - math.exp(-(d - b) / tau)
                    - math.exp(-(c - a) / tau)
                    + math.exp(-(d - a) / tau)
                )
                cov[i][j] = cov[j][i] = var * tau * tau * shared / (la * lc)
        return cov


def count_class(events: float) -> int:
    if events <= 1.0:
        return 0
    return min(MAX_COUNT_CLASS, round(math.log(events) / math.log(COUNT_STEP)))


def class_events(klass: int) -> float:
    return float(COUNT_STEP**klass)


def _cholesky(a: list[list[float]]) -> list[list[float]]:
    n = len(a)
    low = [[0.0] * n for _ in range(n)]
    for i in range(n):
        for j in range(i + 1):
            s = a[i][j] - sum(low[i][k] * low[j][k] for k in range(j))
            low[i][j] = math.sqrt(s) if i == j else s / low[j][j]
    return low


def _solve(low: list[list[float]], b: list[float]) -> list[float]:
    """x with (L L') x = b."""
    n = len(b)
    y = [0.0] * n
    for i in range(n):
        y[i] = (b[i] - sum(low[i][k] * y[k] for k in range(i))) / low[i][i]
    x = [0.0] * n
    for i in reversed(range(n)):
        x[i] = (y[i] - sum(low[k][i] * x[k] for k in range(i + 1, n))) / low[i][i]
    return x
