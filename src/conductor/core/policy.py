"""Which intervention fits an anomaly: explainable rules behind a small ranking interface.

The `Policy` protocol is shaped for streaming learners (`rank` a context, `learn_one` from the
measured reward), so a learning policy can later replace `RulePolicy` without touching the
advisor, the guardrails or the content library.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from conductor.core.model import Anomaly, Engagement, SessionInfo
from conductor.core.vocabulary import AnomalyType, InterventionType, Severity

ANOMALY_LABELS: Mapping[AnomalyType, str] = {
    AnomalyType.SUDDEN_DROP: "Sudden drop",
    AnomalyType.GRADUAL_DECLINE: "Gradual decline",
    AnomalyType.LOW_ENGAGEMENT: "Low engagement",
    AnomalyType.MASS_EXIT: "Mass exit",
}
"""Plain-language names of the anomalies, used at the start of every reason."""


@dataclass(frozen=True, slots=True)
class DecisionContext:
    """Everything a policy may look at when one anomaly needs an answer."""

    anomaly: Anomaly
    engagement: Engagement
    """The current tick."""
    info: SessionInfo
    elapsed_s: float
    """Session time so far."""
    recent: tuple[InterventionType, ...] = ()
    """Types executed in this session, newest last."""
    allowed: frozenset[InterventionType] = frozenset(InterventionType)
    """Types the event's settings permit."""


@dataclass(frozen=True, slots=True)
class Choice:
    type: InterventionType
    confidence: float
    """In [0,1]."""
    expected_impact: float
    """Expected change of the engagement score, e.g. 0.10."""
    reason: str
    """Plain language: names the anomaly and the signals that moved."""

    def __post_init__(self) -> None:
        if not 0.0 <= self.confidence <= 1.0:
            raise ValueError(f"confidence must be in [0,1], got {self.confidence!r}")
        if not math.isfinite(self.expected_impact):
            raise ValueError(f"expected_impact must be finite, got {self.expected_impact!r}")
        if not self.reason.strip():
            raise ValueError("a choice needs a reason")


class Policy(Protocol):
    def rank(self, context: DecisionContext) -> list[Choice]:
        """Best first; may be empty."""
        ...

    def learn_one(self, context: DecisionContext, type: InterventionType, reward: float) -> None:
        """Take the measured reward of one executed intervention into account."""
        ...


@dataclass(frozen=True, slots=True)
class RuleConfig:
    """The knobs of `RulePolicy`; defaults are judgement calls, documented where they bite."""

    big_room: int = 100
    """From this many connected attendees, a public leaderboard has an audience to play for."""
    small_room: int = 15
    """Up to this many, a direct question in the chat feels personal; a challenge feels empty."""
    room_bonus: float = 0.15
    repeat_penalty: float = 0.35
    """Confidence lost when the newest executed intervention has the same type; older uses
    count for half as much each step back, up to four interventions back."""
    open_poll_factor: float = 0.3
    """A second poll on top of an open one splits the audience: keep little of its fit."""
    warmup_s: float = 180.0
    """Early in a session people are still arriving, so low activity says less."""
    warmup_factor: float = 0.8


_BASE_IMPACT: Mapping[InterventionType, float] = {
    InterventionType.POLL: 0.10,
    InterventionType.CHAT_PROMPT: 0.07,
    InterventionType.NOTIFICATION: 0.05,
    InterventionType.GAMIFICATION: 0.12,
}
"""Expected score gain of a well-fitting intervention in a quiet room."""

_WHY: Mapping[InterventionType, str] = {
    InterventionType.POLL: "a quick poll gives everyone a one-click way back in",
    InterventionType.CHAT_PROMPT: "a direct question in the chat invites people to speak up",
    InterventionType.NOTIFICATION: "the organiser should know now and can react on stage",
    InterventionType.GAMIFICATION: "a short challenge gives the room something to play for",
}

_ORDER = tuple(InterventionType)


def _fits(anomaly: Anomaly) -> dict[InterventionType, float]:
    """How well each type answers this anomaly, before room size and history (0..1)."""
    critical = anomaly.severity is Severity.CRITICAL
    match anomaly.type:
        case AnomalyType.LOW_ENGAGEMENT:
            fits = {
                InterventionType.POLL: 0.9,
                InterventionType.CHAT_PROMPT: 0.75,
                InterventionType.GAMIFICATION: 0.65,
            }
            if critical:
                fits[InterventionType.NOTIFICATION] = 0.45
        case AnomalyType.GRADUAL_DECLINE:
            fits = {
                InterventionType.POLL: 0.85,
                InterventionType.CHAT_PROMPT: 0.75,
                InterventionType.GAMIFICATION: 0.65,
            }
            if critical:
                fits[InterventionType.NOTIFICATION] = 0.5
        case AnomalyType.SUDDEN_DROP:
            fits = {
                InterventionType.POLL: 0.9,
                InterventionType.CHAT_PROMPT: 0.8,
                InterventionType.GAMIFICATION: 0.45,
            }
            if critical:
                fits[InterventionType.NOTIFICATION] = 0.85
        case AnomalyType.MASS_EXIT:
            fits = {
                InterventionType.NOTIFICATION: 1.0 if critical else 0.9,
                InterventionType.GAMIFICATION: 0.7,
                InterventionType.POLL: 0.5,
                InterventionType.CHAT_PROMPT: 0.45,
            }
    return fits


def _finite(value: float, default: float = 0.0) -> float:
    return value if math.isfinite(value) else default


def _clamp(value: float, low: float = 0.0, high: float = 1.0) -> float:
    return min(high, max(low, _finite(value, low)))


def _floor4(value: float) -> float:
    """Four decimals, never rounded up past a bound the value respected."""
    return math.floor(value * 10_000) / 10_000


def _signal_summary(context: DecisionContext) -> str:
    """The signals that moved, in words: the weakest score components plus exits when people
    leave, so an organiser sees *why* without opening a chart."""
    signals = context.engagement.signals
    parts: list[str] = []
    weakest = sorted(context.engagement.components, key=lambda c: (c.value, c.name))[:2]
    if weakest:
        parts.append(
            "weakest signals " + ", ".join(f"{c.name} {_clamp(c.value):.2f}" for c in weakest)
        )
    if signals.connected > 0:
        parts.append(f"{signals.active_users} of {signals.connected} attendees active")
    if signals.leaves_per_min > 0 and (
        context.anomaly.type is AnomalyType.MASS_EXIT or signals.leave_rate >= 0.02
    ):
        parts.append(f"{signals.leaves_per_min:.1f} leaving per minute")
    return "; ".join(parts)


def _describe_anomaly(anomaly: Anomaly) -> str:
    """The detector's own explanation carries the numbers that moved; fall back to scores."""
    label = ANOMALY_LABELS[anomaly.type]
    explanation = anomaly.explanation.strip().rstrip(".")
    if explanation:
        return f"{label} ({anomaly.severity.value}): {explanation}"
    return (
        f"{label} ({anomaly.severity.value}): score {_clamp(anomaly.current):.2f} "
        f"against {_clamp(anomaly.expected):.2f} expected"
    )


class RulePolicy:
    """Hand-written, explainable rules; the baseline a learning policy has to beat.

    Confidence = fit of the type to the anomaly (adjusted for room size, an open poll and
    recent use) times the strength of the evidence (severity and deviation).
    """

    def __init__(self, config: RuleConfig | None = None) -> None:
        self.config = config or RuleConfig()

    def rank(self, context: DecisionContext) -> list[Choice]:
        anomaly = context.anomaly
        signals = context.engagement.signals
        cfg = self.config
        fits = _fits(anomaly)
        notes: dict[InterventionType, list[str]] = {t: [] for t in fits}

        if signals.active_poll_id is not None and InterventionType.POLL in fits:
            fits[InterventionType.POLL] *= cfg.open_poll_factor
            if InterventionType.CHAT_PROMPT in fits:
                fits[InterventionType.CHAT_PROMPT] = min(
                    1.0, fits[InterventionType.CHAT_PROMPT] + cfg.room_bonus
                )
                notes[InterventionType.CHAT_PROMPT].append("a poll is already open")
            notes[InterventionType.POLL].append("a poll is already open")

        room = signals.connected
        if room >= cfg.big_room:
            if InterventionType.GAMIFICATION in fits:
                fits[InterventionType.GAMIFICATION] += cfg.room_bonus
                notes[InterventionType.GAMIFICATION].append(f"a big room of {room}")
        elif 0 < room <= cfg.small_room:
            if InterventionType.CHAT_PROMPT in fits:
                fits[InterventionType.CHAT_PROMPT] += cfg.room_bonus
                notes[InterventionType.CHAT_PROMPT].append(f"a small room of {room}")
            if InterventionType.GAMIFICATION in fits:
                fits[InterventionType.GAMIFICATION] -= cfg.room_bonus

        for kind in fits:
            uses = [i for i, t in enumerate(reversed(context.recent[-4:])) if t is kind]
            if uses:
                penalty = sum(cfg.repeat_penalty * 0.5**i for i in uses)
                fits[kind] *= max(0.2, 1.0 - penalty)
                notes[kind].append("used recently, so less likely to work again")

        strength = self._strength(anomaly)
        early = _finite(context.elapsed_s, cfg.warmup_s) < cfg.warmup_s
        if early and anomaly.type is not AnomalyType.MASS_EXIT:
            strength *= cfg.warmup_factor
        headroom = _clamp(1.0 - context.engagement.score)
        prefix = _describe_anomaly(anomaly)
        summary = _signal_summary(context)
        choices: list[Choice] = []
        for kind in _ORDER:
            if kind not in fits or kind not in context.allowed:
                continue
            fit = _clamp(fits[kind])
            confidence = round(_clamp(fit * strength), 4)
            impact = _floor4(min(headroom, _BASE_IMPACT[kind] * fit * (0.5 + headroom)))
            why = _WHY[kind]
            if notes[kind]:
                why += " (" + ", ".join(notes[kind]) + ")"
            if early and anomaly.type is not AnomalyType.MASS_EXIT:
                why += "; the session has only just started, so the evidence is weaker"
            reason = prefix + (f"; {summary}" if summary else "") + f". {why[0].upper()}{why[1:]}."
            choices.append(Choice(kind, confidence, impact, reason))
        choices.sort(key=lambda c: (-c.confidence, _ORDER.index(c.type)))
        return choices

    def learn_one(self, context: DecisionContext, type: InterventionType, reward: float) -> None:
        """No-op: the rules are fixed by design; a learning policy overrides this."""

    @staticmethod
    def _strength(anomaly: Anomaly) -> float:
        """How sure we are that acting helps: critical anomalies and large deviations count."""
        base = 0.75 if anomaly.severity is Severity.CRITICAL else 0.55
        return base + 0.25 * _clamp(_finite(anomaly.deviation) / 0.6)
