"""Scenario plans: the latent liveliness curve of a room and its labelled ground truth.

Liveliness is a multiplier on every attendee's activity rates (1.0 = a normally lively room).
Each scenario is a piecewise-linear curve over session time plus, for `mass_exit`, an exit
wave. The random parameters are drawn once, from the setup generator, so a plan is fixed by
the seed:

| scenario        | after onset                                                  | condition       |
|-----------------|--------------------------------------------------------------|-----------------|
| steady          | stays at 1.0 (natural noise only)                            | none            |
| sudden_drop     | falls to 0.15-0.30 within 3-10 s, stays low                  | SUDDEN_DROP     |
| gradual_decline | declines linearly to 0.20-0.35 over 5-8 min, stays there     | GRADUAL_DECLINE |
| mass_exit       | 30-60 % of connected users leave within 30-60 s; the rest    | MASS_EXIT       |
|                 | quieten to 0.55-0.75                                         |                 |
| low_engagement  | fades to 0.05-0.10 within 20-60 s, the room stays connected  | LOW_ENGAGEMENT  |
| recovery        | as sudden_drop, then back to 0.9-1.0 after 3-5 min (30-60 s  | SUDDEN_DROP,    |
|                 | ramp)                                                        | ends when back  |

The default onset is random in [35 %, 55 %] of the duration but never before 4 minutes; a
session too short for that gets its onset no later than 60 % of the duration.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from itertools import pairwise

from conductor.core.vocabulary import AnomalyType

SCENARIOS: tuple[str, ...] = (
    "steady",
    "sudden_drop",
    "gradual_decline",
    "mass_exit",
    "low_engagement",
    "recovery",
)

EARLIEST_ONSET = 240.0
"""Seconds: the room is settled (joined, a first poll run) before a condition starts."""


@dataclass(frozen=True, slots=True)
class Condition:
    """Ground truth: one labelled anomaly episode, in absolute event time."""

    type: AnomalyType
    start: float
    end: float | None
    """None: lasts to the end of the session."""


@dataclass(frozen=True, slots=True)
class Plan:
    """One scenario's drawn parameters, in seconds since the session start."""

    scenario: str
    onset: float | None
    knots: tuple[tuple[float, float], ...]
    """(time, liveliness) points of a piecewise-linear curve, flat outside them."""
    conditions: tuple[tuple[AnomalyType, float, float | None], ...]
    exit_share: float = 0.0
    """Share of connected users who leave in the exit wave (mass_exit only)."""
    exit_window: float = 0.0

    def level(self, t: float) -> float:
        knots = self.knots
        if t <= knots[0][0]:
            return knots[0][1]
        for (t0, v0), (t1, v1) in pairwise(knots):
            if t <= t1:
                return v0 + (v1 - v0) * (t - t0) / (t1 - t0) if t1 > t0 else v1
        return knots[-1][1]

    def levels(self, seconds: int) -> list[float]:
        """Liveliness at the middle of each whole second, for the simulation's hot loop."""
        return [self.level(t + 0.5) for t in range(seconds)]


def validate_scenario(name: str) -> None:
    if name not in SCENARIOS:
        raise ValueError(f"unknown scenario {name!r}; valid scenarios: {', '.join(SCENARIOS)}")


def default_onset(duration: float, rng: random.Random) -> float:
    onset = rng.uniform(0.35, 0.55) * duration
    return max(onset, min(EARLIEST_ONSET, 0.6 * duration))


def make_plan(scenario: str, duration: float, onset: float | None, rng: random.Random) -> Plan:
    """Draw a scenario's parameters; `onset` None picks the default."""
    validate_scenario(scenario)
    if scenario == "steady":
        return Plan(scenario, None, ((0.0, 1.0),), ())
    at = default_onset(duration, rng) if onset is None else onset
    knots: tuple[tuple[float, float], ...]
    if scenario in ("sudden_drop", "recovery"):
        low = rng.uniform(0.15, 0.30)
        fall = rng.uniform(3.0, 10.0)
        dropped = ((0.0, 1.0), (at, 1.0), (at + fall, low))
        if scenario == "sudden_drop":
            return Plan(scenario, at, dropped, ((AnomalyType.SUDDEN_DROP, at, None),))
        back_at = at + rng.uniform(180.0, 300.0)
        ramp = rng.uniform(30.0, 60.0)
        knots = (*dropped, (back_at, low), (back_at + ramp, rng.uniform(0.9, 1.0)))
        return Plan(scenario, at, knots, ((AnomalyType.SUDDEN_DROP, at, back_at + ramp),))
    if scenario == "gradual_decline":
        low = rng.uniform(0.20, 0.35)
        span = rng.uniform(300.0, 480.0)
        knots = ((0.0, 1.0), (at, 1.0), (at + span, low))
        return Plan(scenario, at, knots, ((AnomalyType.GRADUAL_DECLINE, at, None),))
    if scenario == "mass_exit":
        quiet = rng.uniform(0.55, 0.75)
        window = rng.uniform(30.0, 60.0)
        share = rng.uniform(0.30, 0.60)
        knots = ((0.0, 1.0), (at, 1.0), (at + window, quiet))
        conditions = ((AnomalyType.MASS_EXIT, at, None),)
        return Plan(scenario, at, knots, conditions, exit_share=share, exit_window=window)
    # low_engagement
    low = rng.uniform(0.05, 0.10)
    fade = rng.uniform(20.0, 60.0)
    knots = ((0.0, 1.0), (at, 1.0), (at + fade, low))
    return Plan(scenario, at, knots, ((AnomalyType.LOW_ENGAGEMENT, at, None),))
