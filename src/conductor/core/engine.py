"""The engine: signals in, engagement, anomalies and suggestions out, in event time.

No I/O and no wall clock: the caller feeds signals and says how far event time has advanced,
so a replay runs as fast as the CPU allows and gives exactly what living through it gave.

Ticks fall on multiples of `tick_s`. A tick at T runs once the caller's watermark (the latest
event time seen, less the allowed lateness) has passed T, so signals that arrive out of order
within `lateness_s` all count at the tick they belong to.
"""

from __future__ import annotations

import math
import zlib
from collections import Counter, deque
from collections.abc import Iterator
from dataclasses import dataclass, field

from conductor.core.advisor import Advisor
from conductor.core.detection import AnomalyDetector, DetectorConfig
from conductor.core.model import (
    Anomaly,
    Engagement,
    PlatformOutcome,
    RawEntry,
    Rejected,
    SessionInfo,
    Signal,
    Suggestion,
)
from conductor.core.policy import DecisionContext
from conductor.core.scoring import ScoreConfig, Scorer
from conductor.core.signals import parse_entry
from conductor.core.tracker import SessionTracker, TrackerConfig
from conductor.core.vocabulary import InterventionType

ALL_TYPES: frozenset[InterventionType] = frozenset(InterventionType)


@dataclass(frozen=True, slots=True)
class EngineConfig:
    tick_s: float = 5.0
    lateness_s: float = 2.0
    tracker: TrackerConfig = field(
        default_factory=lambda: TrackerConfig(
            rate_window_s=30.0, activity_window_s=60.0, recent_window_s=5.0
        )
    )
    score: ScoreConfig = field(default_factory=ScoreConfig)
    detector: DetectorConfig = field(default_factory=DetectorConfig)
    decide: bool = True
    """Turn anomalies into suggestions; off when only scores and alerts are wanted."""
    recent_history: int = 8

    def __post_init__(self) -> None:
        if not (self.tick_s > 0 and math.isfinite(self.tick_s)):
            raise ValueError("tick_s must be a positive number of seconds")
        if self.lateness_s < 0:
            raise ValueError("lateness_s must be >= 0")


@dataclass(slots=True)
class TickResult:
    ts: float
    engagements: list[Engagement] = field(default_factory=list)
    anomalies: list[Anomaly] = field(default_factory=list)
    suggestions: list[Suggestion] = field(default_factory=list)
    ended: list[str] = field(default_factory=list)


@dataclass(slots=True)
class EngineStats:
    applied: int = 0
    duplicates: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    """Rejected entries by stream."""
    outcomes: int = 0
    ticks: int = 0
    sessions_ended: int = 0

    @property
    def rejected_total(self) -> int:
        return sum(self.rejected.values())


class _Session:
    __slots__ = (
        "allowed",
        "detector",
        "enabled",
        "first_tick",
        "info",
        "last",
        "recent",
        "shard",
        "tracker",
    )

    def __init__(self, session_id: str, config: EngineConfig) -> None:
        self.shard = zlib.crc32(session_id.encode())
        """Stable across runs, so a tick split into parts splits the same way every time."""
        self.tracker = SessionTracker(session_id, config.tracker)
        self.detector = AnomalyDetector(config.detector)
        self.info = SessionInfo(session_id)
        self.first_tick: float | None = None
        self.last: Engagement | None = None
        self.recent: deque[InterventionType] = deque(maxlen=config.recent_history)
        self.allowed: frozenset[InterventionType] = ALL_TYPES
        self.enabled = True


class Engine:
    """Holds every live session's state; see the module docstring for the time model."""

    def __init__(self, config: EngineConfig | None = None, advisor: Advisor | None = None) -> None:
        self.config = config or EngineConfig()
        self.scorer = Scorer(self.config.score)
        self.advisor = advisor if advisor is not None else Advisor()
        self.stats = EngineStats()
        self._sessions: dict[str, _Session] = {}
        self._next_tick: float | None = None
        self._watermark = -math.inf

    # -- input ---------------------------------------------------------------------------------

    def ingest_entry(self, entry: RawEntry) -> Signal | PlatformOutcome | Rejected:
        """Parse and apply one raw stream entry; never raises on bad input."""
        item = parse_entry(entry)
        if isinstance(item, Signal):
            self.ingest(item)
        elif isinstance(item, Rejected):
            self.stats.rejected[item.stream] += 1
        else:
            self.stats.outcomes += 1
        return item

    def ingest(self, signal: Signal) -> bool:
        """Apply one signal; False when it was a duplicate."""
        session = self._sessions.get(signal.session_id)
        if session is None:
            session = self._sessions[signal.session_id] = _Session(signal.session_id, self.config)
        if not session.tracker.apply(signal):
            self.stats.duplicates += 1
            return False
        self.stats.applied += 1
        if signal.ts > self._watermark:
            self._watermark = signal.ts
        if self._next_tick is None:
            self._next_tick = math.floor(signal.ts / self.config.tick_s) * self.config.tick_s
            self._next_tick += self.config.tick_s
        return True

    def set_info(self, info: SessionInfo) -> None:
        """Tell the engine a session's event, topic and tags (from the organiser's registry)."""
        session = self._sessions.get(info.session_id)
        if session is None:
            session = self._sessions[info.session_id] = _Session(info.session_id, self.config)
        session.info = info

    def set_policy(
        self,
        session_id: str,
        *,
        enabled: bool = True,
        allowed: frozenset[InterventionType] = ALL_TYPES,
    ) -> None:
        session = self._sessions.get(session_id)
        if session is not None:
            session.enabled = enabled
            session.allowed = allowed

    def record_intervention(self, session_id: str, type: InterventionType) -> None:
        """An intervention ran in this session (the policy avoids repeating itself)."""
        session = self._sessions.get(session_id)
        if session is not None:
            session.recent.append(type)

    # -- time ----------------------------------------------------------------------------------

    @property
    def watermark(self) -> float:
        """Latest event time seen: ticks up to `watermark - lateness_s` are due."""
        return self._watermark

    @property
    def sessions(self) -> list[str]:
        return list(self._sessions)

    def info(self, session_id: str) -> SessionInfo:
        """What the engine knows of a session beyond its signals (topic, tags, title)."""
        session = self._sessions.get(session_id)
        return session.info if session else SessionInfo(session_id)

    def session_state(self, session_id: str) -> Engagement | None:
        session = self._sessions.get(session_id)
        return session.last if session else None

    def open_episodes(self, session_id: str) -> dict[str, str]:
        session = self._sessions.get(session_id)
        if session is None:
            return {}
        return {str(k): str(v) for k, v in session.detector.open_episodes.items()}

    def due_ticks(self, event_time: float) -> Iterator[float]:
        """The tick times due by `event_time` (a watermark: no earlier signal is expected),
        each claimed as it is yielded; the caller runs them with `tick` or `tick_iter`."""
        while self._next_tick is not None and self._next_tick <= event_time:
            now = self._next_tick
            self._next_tick += self.config.tick_s
            yield now

    def run_until(self, event_time: float) -> list[TickResult]:
        """Run every tick due by `event_time`."""
        return [self.tick(now) for now in self.due_ticks(event_time)]

    def catch_up(self) -> list[TickResult]:
        """Run the ticks the data seen so far makes due, allowing for lateness."""
        return self.run_until(self._watermark - self.config.lateness_s)

    def flush(self) -> list[TickResult]:
        """At the end of a replay: run the remaining ticks up to the last signal."""
        return self.run_until(self._watermark)

    def tick(self, now: float) -> TickResult:
        result = TickResult(ts=now)
        for part in self.tick_iter(now):
            result.engagements += part.engagements
            result.anomalies += part.anomalies
            result.suggestions += part.suggestions
            result.ended += part.ended
        return result

    def tick_iter(self, now: float, part: int = 0, parts: int = 1) -> Iterator[TickResult]:
        """One tick, a session at a time, so a caller can act on a decision before the
        other sessions are scored (the service publishes commands this way).

        With `parts` > 1 only the sessions of one part are ticked: a caller may spread the
        parts of one tick over the tick interval. Every session still sees exactly the
        signals up to `now`, so the results do not depend on when its part runs.
        """
        if part == 0:
            self.stats.ticks += 1
        idle = self.config.tracker.idle_timeout_s
        for session_id, session in list(self._sessions.items()):
            if parts > 1 and session.shard % parts != part:
                continue
            last_seen = session.tracker.last_signal_ts
            if last_seen is None:
                continue
            result = TickResult(ts=now)
            if now - last_seen > idle:
                del self._sessions[session_id]
                self.advisor.forget_session(session_id)
                result.ended.append(session_id)
                self.stats.sessions_ended += 1
            else:
                self._tick_session(session_id, session, now, result)
            yield result

    def _tick_session(
        self, session_id: str, session: _Session, now: float, result: TickResult
    ) -> None:
        signals = session.tracker.advance(now)
        score, components = self.scorer.score(signals)
        event_id = session.info.event_id or session.tracker.event_id
        engagement = Engagement(session_id, event_id, now, score, components, signals)
        if session.first_tick is None:
            session.first_tick = now
        session.last = engagement
        result.engagements.append(engagement)
        for anomaly in session.detector.update(engagement):
            result.anomalies.append(anomaly)
            if not (self.config.decide and session.enabled):
                continue
            context = DecisionContext(
                anomaly=anomaly,
                engagement=engagement,
                info=session.info,
                elapsed_s=now - session.first_tick,
                recent=tuple(session.recent),
                allowed=session.allowed,
            )
            suggestion = self.advisor.advise(context)
            if suggestion is not None:
                result.suggestions.append(suggestion)
