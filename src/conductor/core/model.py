"""Value objects that flow through the engine: signal in, engagement, anomaly, suggestion out.

Plain frozen dataclasses with slots: cheap to build on the hot path, safe to share between
threads, trivially serialisable with `dataclasses.asdict` or orjson.

Times are event time in float seconds since the Unix epoch (UTC). Ids are the platform's opaque
strings; `event_id` is None where the platform did not say which event a signal belongs to.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from conductor.core.vocabulary import (
    AnomalyType,
    InterventionType,
    Priority,
    Severity,
    SignalKind,
)


@dataclass(slots=True, frozen=True)
class Signal:
    """One attendee action, normalised from any of the five platform streams."""

    kind: SignalKind
    session_id: str
    ts: float
    user_id: str | None = None
    event_id: str | None = None
    entry_id: str | None = None
    """The stream entry id (`<ms>-<seq>`), used to apply each entry once."""
    key: str | None = None
    """Identity of the action for de-duplication beyond the entry id: the chat message id,
    or `<user>:<poll>` for a vote."""
    poll_id: str | None = None


@dataclass(slots=True, frozen=True)
class PlatformOutcome:
    """The platform's report that it executed (or failed to execute) one of our commands."""

    intervention_id: str
    session_id: str
    success: bool
    ts: float
    event_id: str | None = None
    result: Mapping[str, Any] = field(default_factory=dict)
    error: str | None = None
    entry_id: str | None = None


@dataclass(slots=True, frozen=True)
class Rejected:
    """A stream entry that could not be understood, with a reason a person can act on."""

    stream: str
    reason: str
    entry_id: str | None = None
    raw: str | None = None


@dataclass(slots=True, frozen=True)
class SessionSignals:
    """What the tracker saw in one session's windows at one tick."""

    connected: int
    """Users currently connected (joins minus leaves)."""
    active_users: int
    """Distinct users who chatted, voted or reacted within the activity window."""
    chat_per_min: float
    reactions_per_min: float
    votes_per_min: float
    joins_per_min: float
    leaves_per_min: float
    poll_participation: float | None
    """Share of connected users who voted on the active poll; None when no poll is open."""
    active_poll_id: str | None = None
    recent_actions: int = 0
    """Chat messages and reactions within the short `recent_window_s` (votes come in bursts
    when a poll opens, so they stay out): raw counts, so detectors can test a sudden change
    with the right statistics for the room's size."""
    recent_leaves: int = 0
    recent_window_s: float = 0.0
    rate_window_s: float = 60.0
    """The (effective) window the chat and reaction rates were taken over: longer in small
    rooms, where a short one holds too few events."""

    @property
    def active_share(self) -> float:
        return self.active_users / self.connected if self.connected else 0.0

    @property
    def leave_rate(self) -> float:
        """Share of the room leaving per minute."""
        base = self.connected + self.leaves_per_min
        return self.leaves_per_min / base if base else 0.0

    def as_dict(self) -> dict[str, Any]:
        """Every field plus the derived shares: the one plain form for files and the API."""
        out = {name: getattr(self, name) for name in _SIGNAL_FIELDS}
        out["active_share"] = self.active_share
        out["leave_rate"] = self.leave_rate
        return out


_SIGNAL_FIELDS = tuple(f.name for f in fields(SessionSignals))


@dataclass(slots=True, frozen=True)
class Component:
    """One term of the engagement score, so organisers can see why the score is what it is."""

    name: str
    value: float
    """The normalised signal, in [0,1]."""
    weight: float
    contribution: float
    """`weight * value` divided by the sum of weights in play: the components sum to the score."""


@dataclass(slots=True, frozen=True)
class Engagement:
    session_id: str
    event_id: str | None
    ts: float
    score: float
    components: tuple[Component, ...]
    signals: SessionSignals


@dataclass(slots=True, frozen=True)
class Anomaly:
    session_id: str
    event_id: str | None
    ts: float
    type: AnomalyType
    severity: Severity
    current: float
    expected: float
    deviation: float
    """How far `current` is from `expected`, as a fraction of `expected` (0.4 = 40 % below)."""
    explanation: str
    started_at: float | None = None
    """Event time the condition is judged to have begun, when the detector can tell."""


@dataclass(slots=True, frozen=True)
class SessionInfo:
    """What the engine knows of a session beyond its signals (set by the organiser or service)."""

    session_id: str
    event_id: str | None = None
    topic: str | None = None
    tags: tuple[str, ...] = ()
    title: str | None = None


@dataclass(slots=True, frozen=True)
class Suggestion:
    """An intervention the agent proposes: what, why, how sure, and the content to show."""

    session_id: str
    event_id: str | None
    ts: float
    type: InterventionType
    confidence: float
    priority: Priority
    expected_impact: float
    """Expected change of the engagement score within the measurement delay (e.g. +0.12)."""
    reason: str
    content: Mapping[str, Any]
    anomaly: Anomaly | None = None


@dataclass(slots=True, frozen=True)
class RawEntry:
    """One stream entry as the platform wrote it, before parsing: the unit of a replay file.

    `data` is the JSON object of the entry's `data` field, or its undecoded text. `ts` is an
    explicit event time; without it, event time is the entry id's millisecond part.
    """

    stream: str
    entry_id: str | None
    data: Mapping[str, Any] | str | bytes
    ts: float | None = None
