"""How the simulated audience responds to an intervention: a table a policy can learn.

An intervention closes part of the *liveliness gap* of each channel: with liveliness `L`, a
lift `g` gives `L + max(1 - L, 0.3) * g`, so a quiet room can be pulled most of the way back
and a lively room only gets a small bump. Retention is the share of departures prevented.

Peak lift by intervention type and the situation (the labelled condition active when it is
received; "normal" when none):

| chat/react/vote | normal      | SUDDEN_DROP | GRADUAL_DECLINE | LOW_ENGAGEMENT | MASS_EXIT   |
|-----------------|-------------|-------------|-----------------|----------------|-------------|
| POLL            | .10/.05/.00 | .30/.20/.50 | .45/.30/.65     | .50/.35/.70    | .15/.10/.30 |
| CHAT_PROMPT     | .05/.02/.00 | .35/.15/.05 | .35/.15/.05     | .30/.10/.05    | .15/.05/.00 |
| GAMIFICATION    | .10/.10/.10 | .30/.35/.30 | .35/.40/.35     | .30/.35/.30    | .35/.40/.30 |
| NOTIFICATION    | .03/.03/.00 | .20/.15/.10 | .20/.15/.10     | .25/.20/.10    | .10/.10/.05 |

Retention (share of leaves prevented at peak): GAMIFICATION .30 (.50 in MASS_EXIT),
NOTIFICATION .10 in MASS_EXIT, otherwise none. For POLL the vote column is the pull of the new
poll itself on participation.

Room size scales the lifts: CHAT_PROMPT by (n/100)^-0.25 within [0.5, 1.6] (talk is easier
in small rooms), GAMIFICATION by (n/100)^0.15 within [0.7, 1.5] (competition needs a crowd).

Timing (seconds): the lift starts after a delay, rises linearly, may hold, then decays
exponentially:

| type         | delay   | rise | hold                                 | decay tau |
|--------------|---------|------|--------------------------------------|-----------|
| POLL         | 2-5     | 10   | 0                                    | 150       |
| CHAT_PROMPT  | 3-8     | 15   | 0                                    | 120       |
| GAMIFICATION | 5-10    | 20   | half the challenge, at most 300      | 120       |
| NOTIFICATION | 45-120  | 30   | 0                                    | 240       |

NOTIFICATION reaches only the organiser, hence the long delay (the host changes something).
Seeded noise multiplies each amplitude by a log-normal factor (sigma 0.25). Diminishing
returns: each intervention of the same type received in the previous 5 minutes halves the
amplitude. Concurrent effects combine as `1 - prod(1 - g_i)`.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from conductor.core.vocabulary import AnomalyType, InterventionType

GAP_FLOOR = 0.3
"""The gap a lively room still has: interventions can lift it a little above normal."""
REPEAT_WINDOW = 300.0
REPEAT_FACTOR = 0.5
NOISE_SIGMA = 0.25


@dataclass(frozen=True, slots=True)
class Lift:
    chat: float
    reactions: float
    votes: float
    retention: float = 0.0


@dataclass(frozen=True, slots=True)
class Timing:
    delay: tuple[float, float]
    rise: float
    tau: float


Situation = AnomalyType | None

_SD, _GD, _LE, _ME = (
    AnomalyType.SUDDEN_DROP,
    AnomalyType.GRADUAL_DECLINE,
    AnomalyType.LOW_ENGAGEMENT,
    AnomalyType.MASS_EXIT,
)

EFFECTS: Mapping[InterventionType, Mapping[Situation, Lift]] = {
    InterventionType.POLL: {
        None: Lift(0.10, 0.05, 0.00),
        _SD: Lift(0.30, 0.20, 0.50),
        _GD: Lift(0.45, 0.30, 0.65),
        _LE: Lift(0.50, 0.35, 0.70),
        _ME: Lift(0.15, 0.10, 0.30),
    },
    InterventionType.CHAT_PROMPT: {
        None: Lift(0.05, 0.02, 0.00),
        _SD: Lift(0.35, 0.15, 0.05),
        _GD: Lift(0.35, 0.15, 0.05),
        _LE: Lift(0.30, 0.10, 0.05),
        _ME: Lift(0.15, 0.05, 0.00),
    },
    InterventionType.GAMIFICATION: {
        None: Lift(0.10, 0.10, 0.10, 0.30),
        _SD: Lift(0.30, 0.35, 0.30, 0.30),
        _GD: Lift(0.35, 0.40, 0.35, 0.30),
        _LE: Lift(0.30, 0.35, 0.30, 0.30),
        _ME: Lift(0.35, 0.40, 0.30, 0.50),
    },
    InterventionType.NOTIFICATION: {
        None: Lift(0.03, 0.03, 0.00),
        _SD: Lift(0.20, 0.15, 0.10),
        _GD: Lift(0.20, 0.15, 0.10),
        _LE: Lift(0.25, 0.20, 0.10),
        _ME: Lift(0.10, 0.10, 0.05, 0.10),
    },
}

TIMINGS: Mapping[InterventionType, Timing] = {
    InterventionType.POLL: Timing((2.0, 5.0), 10.0, 150.0),
    InterventionType.CHAT_PROMPT: Timing((3.0, 8.0), 15.0, 120.0),
    InterventionType.GAMIFICATION: Timing((5.0, 10.0), 20.0, 120.0),
    InterventionType.NOTIFICATION: Timing((45.0, 120.0), 30.0, 240.0),
}

DEFAULT_CHALLENGE_MINUTES = 5.0


def size_factor(kind: InterventionType, attendees: int) -> float:
    ratio = attendees / 100.0
    if kind is InterventionType.CHAT_PROMPT:
        return min(1.6, max(0.5, math.pow(ratio, -0.25)))
    if kind is InterventionType.GAMIFICATION:
        return min(1.5, max(0.7, math.pow(ratio, 0.15)))
    return 1.0


def challenge_minutes(content: Mapping[str, Any]) -> float:
    """`duration_minutes` of a gamification command, at top level or inside `content`."""
    inner = content.get("content")
    value = content.get("duration_minutes")
    if value is None and isinstance(inner, Mapping):
        value = inner.get("duration_minutes")
    if value is None:
        return DEFAULT_CHALLENGE_MINUTES
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 240:
        raise ValueError(f"duration_minutes must be a number in (0, 240], got {value!r}")
    return float(value)


@dataclass(frozen=True, slots=True)
class Effect:
    """One received intervention's lift over time, in seconds since the session start."""

    kind: InterventionType
    start: float
    rise: float
    hold: float
    tau: float
    lift: Lift

    def shape(self, t: float) -> float:
        dt = t - self.start
        if dt <= 0.0:
            return 0.0
        if dt < self.rise:
            return dt / self.rise
        dt -= self.rise + self.hold
        return 1.0 if dt <= 0.0 else math.exp(-dt / self.tau)

    def over(self, t: float) -> bool:
        return t > self.start + self.rise + self.hold + 6.0 * self.tau


class Effects:
    """The interventions received so far and their combined lift at any second."""

    def __init__(self, rng: random.Random, attendees: int) -> None:
        self._rng = rng
        self._attendees = attendees
        self._active: list[Effect] = []
        self._history: list[tuple[InterventionType, float]] = []

    def add(
        self,
        kind: InterventionType,
        situation: Situation,
        t: float,
        content: Mapping[str, Any],
    ) -> Effect:
        hold = 0.0
        if kind is InterventionType.GAMIFICATION:
            hold = min(300.0, 30.0 * challenge_minutes(content))  # validates first
        rng = self._rng
        timing = TIMINGS[kind]
        base = EFFECTS[kind][situation]
        repeats = sum(1 for k, at in self._history if k is kind and t - at < REPEAT_WINDOW)
        self._history.append((kind, t))
        scale = size_factor(kind, self._attendees) * REPEAT_FACTOR**repeats
        scale *= rng.lognormvariate(0.0, NOISE_SIGMA)

        def amp(x: float) -> float:
            return min(0.95, x * scale)

        lift = Lift(amp(base.chat), amp(base.reactions), amp(base.votes), amp(base.retention))
        effect = Effect(kind, t + rng.uniform(*timing.delay), timing.rise, hold, timing.tau, lift)
        self._active.append(effect)
        return effect

    def at(self, t: float) -> Lift:
        """Combined lift at second `t`; forgets effects that have faded."""
        if not self._active:
            return _NONE
        self._active = [e for e in self._active if not e.over(t)]
        keep_c = keep_r = keep_v = keep_k = 1.0
        for e in self._active:
            s = e.shape(t)
            if s:
                keep_c *= 1.0 - e.lift.chat * s
                keep_r *= 1.0 - e.lift.reactions * s
                keep_v *= 1.0 - e.lift.votes * s
                keep_k *= 1.0 - e.lift.retention * s
        return Lift(1.0 - keep_c, 1.0 - keep_r, 1.0 - keep_v, 1.0 - keep_k)


_NONE = Lift(0.0, 0.0, 0.0, 0.0)


def lifted(level: float, lift: float) -> float:
    """Liveliness after a lift: closes part of the gap to a normally lively room."""
    return level + max(1.0 - level, GAP_FLOOR) * lift
