"""The engagement score: a weighted mean of per-capita activity components, less a penalty for
people leaving.

Fairness across audience sizes comes from comparing each per-capita rate with what a *lively*
room of the same size does: people in big rooms chat less each, so the reference rate shrinks
with size as ``ref(n) = ref_20 * (n / 20) ** -size_exponent``. The ratio r = rate / ref maps to
``1 - exp(-(r / s) ** 1.5)`` with s chosen so that r = 1 gives 0.8: an S-shaped curve, so a
trickle of activity stays near 0 and a lively room saturates near 1 whatever its noise.
Components with nothing to measure (poll participation while no poll is open) leave the mean
and the other weights are renormalised. Retention multiplies the mean; its component carries the
(negative) points that leaving cost, so the contributions always sum to the score. The formula
and its defaults are documented in docs/scoring.md.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from conductor.core.model import Component, SessionSignals

_SHAPE = 1.5
_SCALE = math.log(5.0) ** (-1.0 / _SHAPE)
"""So that a ratio of 1 (as lively as the reference) maps to 0.8."""


@dataclass(frozen=True, slots=True)
class ScoreConfig:
    w_participation: float = 0.40
    w_chat: float = 0.30
    w_reactions: float = 0.15
    w_polls: float = 0.15

    ref_active_share_20: float = 0.65
    """Share of a lively 20-person room active within the tracker's activity window."""
    ref_chat_per_capita_20: float = 0.45
    """Chat messages per attendee per minute in a lively 20-person room."""
    ref_reactions_per_capita_20: float = 0.9
    ref_poll_participation_20: float = 0.7
    size_exponent: float = 0.35
    """How fast per-capita activity of a lively room falls with its size."""
    share_size_exponent: float = 0.2
    """Same, for the share of active people (falls more slowly than rates)."""
    min_reference_share: float = 0.12
    retention_scale: float = 0.1
    """retention = exp(-leave_rate / retention_scale), the leave rate being the share of the room
    leaving per minute beyond `leave_allowance_per_min`: 1 % a minute costs 10 % of the score,
    10 % a minute costs 63 %."""
    leave_allowance_per_min: float = 2.0
    """People leaving per minute that cost nothing: someone's next meeting is not a trend, and
    in a ten-person room one leaver would otherwise read as 10 % a minute."""

    def __post_init__(self) -> None:
        weights = (self.w_participation, self.w_chat, self.w_reactions, self.w_polls)
        if any(w < 0 for w in weights) or sum(weights) <= 0:
            raise ValueError("score weights must be >= 0 and not all zero")
        if self.size_exponent < 0 or self.share_size_exponent < 0:
            raise ValueError("size exponents must be >= 0")
        if self.retention_scale <= 0:
            raise ValueError("retention_scale must be > 0")
        if self.leave_allowance_per_min < 0:
            raise ValueError("leave_allowance_per_min must be >= 0")


def saturate(ratio: float) -> float:
    """Activity relative to a lively room's, mapped to [0,1]."""
    if ratio <= 0.0:
        return 0.0
    return 1.0 - math.exp(-((ratio / _SCALE) ** _SHAPE))


class Scorer:
    """Turns one tick's signals into a score and its explainable components."""

    __slots__ = ("config",)

    def __init__(self, config: ScoreConfig | None = None) -> None:
        self.config = config or ScoreConfig()

    @staticmethod
    def audience(signals: SessionSignals) -> int:
        """The room size the score is normalised by (people we know are there)."""
        return max(signals.connected, signals.active_users)

    def score(self, signals: SessionSignals) -> tuple[float, tuple[Component, ...]]:
        c = self.config
        n = self.audience(signals)
        if n <= 0:
            return 0.0, ()
        size = n / 20.0
        rate_ref = size**-c.size_exponent
        share_ref = size**-c.share_size_exponent

        ref_share = max(c.min_reference_share, min(0.95, c.ref_active_share_20 * share_ref))
        terms: list[tuple[str, float, float]] = [
            (
                "participation",
                saturate(min(1.0, signals.active_users / n) / ref_share),
                c.w_participation,
            ),
            (
                "chat",
                saturate(signals.chat_per_min / n / (c.ref_chat_per_capita_20 * rate_ref)),
                c.w_chat,
            ),
            (
                "reactions",
                saturate(
                    signals.reactions_per_min / n / (c.ref_reactions_per_capita_20 * rate_ref)
                ),
                c.w_reactions,
            ),
        ]
        if signals.poll_participation is not None:
            ref_poll = max(
                c.min_reference_share, min(0.95, c.ref_poll_participation_20 * share_ref)
            )
            terms.append(("polls", saturate(signals.poll_participation / ref_poll), c.w_polls))

        total_weight = sum(w for _, _, w in terms)
        if total_weight <= 0:
            return 0.0, ()
        components = [
            Component(name, value, weight, weight * value / total_weight)
            for name, value, weight in terms
        ]
        mean = sum(comp.contribution for comp in components)
        leaving = signals.leaves_per_min
        excess = max(0.0, leaving - c.leave_allowance_per_min)
        leave_rate = excess / (signals.connected + leaving) if excess > 0.0 else 0.0
        retention = math.exp(-leave_rate / c.retention_scale)
        components.append(Component("retention", retention, 0.0, -(1.0 - retention) * mean))
        return min(1.0, max(0.0, mean * retention)), tuple(components)
