"""The agent loop: perceive, score, detect, decide, act, learn — for every live session.

The engine does the thinking; this layer adds what a running service needs around it: modes
and approvals, ids and records, publishing the platform's commands, storing everything through
the write-behind writer, and measuring each intervention's outcome. A tick never waits on I/O:
publishing goes through the publisher's outbox and storage through the writer.
"""

from __future__ import annotations

import asyncio
import logging
import math
import secrets
import time
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any, Protocol

from conductor.bus.messages import (
    ANOMALY_DETECTED_CHANNEL,
    ENGAGEMENT_UPDATE_CHANNEL,
    INTERVENTIONS_CHANNEL,
    anomaly_detected,
    engagement_update,
    intervention_command,
    organizer_notification,
    session_event,
)
from conductor.bus.publisher import Publisher, publish_urgently
from conductor.core.advisor import Advisor
from conductor.core.engine import Engine, EngineConfig, TickResult
from conductor.core.model import (
    Anomaly,
    Engagement,
    RawEntry,
    Rejected,
    SessionInfo,
    Signal,
    Suggestion,
)
from conductor.core.outcomes import OutcomeConfig, expected_without, measure
from conductor.core.policy import DecisionContext
from conductor.core.vocabulary import (
    AgentMode,
    AgentStatus,
    DecisionStatus,
    InterventionOrigin,
    InterventionType,
    Priority,
    SessionStatus,
    Severity,
    Trend,
)
from conductor.service.gc_pacing import GcPacer
from conductor.service.records import (
    DeadLetter,
    Decision,
    EventSettings,
    Intervention,
    Outcome,
    SessionRecord,
    from_epoch,
)
from conductor.service.writer import StoreWriter

log = logging.getLogger(__name__)


class Clock(Protocol):
    def now(self) -> float:
        """Current event time, seconds since the epoch."""
        ...


class WallClock:
    def now(self) -> float:
        return time.time()


class ScaledClock:
    """Event time running `speed` times faster than the wall clock (demos)."""

    def __init__(self, speed: float = 1.0, start: float | None = None) -> None:
        self.speed = speed
        self._start = time.time() if start is None else start
        self._t0 = time.monotonic()

    def now(self) -> float:
        return self._start + (time.monotonic() - self._t0) * self.speed


class NotFound(LookupError):
    pass


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(8)}"


@dataclass(slots=True)
class ServiceConfig:
    tick_s: float = 5.0
    lateness_s: float = 2.0
    default_mode: AgentMode = AgentMode.MANUAL
    confidence_threshold: float = 0.75
    decision_ttl_s: float = 300.0
    outcome: OutcomeConfig = field(default_factory=OutcomeConfig)
    max_per_session: int = 12
    max_per_event: int = 100
    session_idle_timeout_s: float = 900.0
    tick_part_size: int = 40
    """Sessions per part when a tick is spread over the interval (see `step_async`): a part
    takes a few milliseconds, the longest a decided command waits for its own part."""
    history_points: int = 240
    """Scores kept in memory per session (20 minutes at 5 s) for sparklines and outcomes."""


@dataclass(slots=True)
class _Pending:
    decision: Decision
    context: DecisionContext | None


@dataclass(slots=True)
class _Measuring:
    intervention: Intervention
    context: DecisionContext | None
    before: float
    expected_after: float
    due: float


@dataclass(slots=True)
class LiveSession:
    """The service's in-memory view of one session (the dashboard's overview comes from it)."""

    session_id: str
    event_id: str | None
    history: deque[tuple[float, float]]
    status: AgentStatus = AgentStatus.MONITORING
    last: Engagement | None = None
    anomalies: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=20))
    activity: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=100))

    @property
    def trend(self) -> Trend:
        points = list(self.history)[-12:]
        if len(points) < 4:
            return Trend.STABLE
        half = len(points) // 2
        first = sum(s for _, s in points[:half]) / half
        second = sum(s for _, s in points[half:]) / (len(points) - half)
        if second - first > 0.04:
            return Trend.RISING
        if first - second > 0.04:
            return Trend.FALLING
        return Trend.STABLE


@dataclass(slots=True)
class IngestReport:
    accepted: int = 0
    duplicates: int = 0
    outcomes: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)


class AgentService:
    def __init__(
        self,
        writer: StoreWriter,
        publisher: Publisher,
        *,
        config: ServiceConfig | None = None,
        clock: Clock | None = None,
        engine: Engine | None = None,
        advisor: Advisor | None = None,
    ) -> None:
        self.config = config or ServiceConfig()
        self.writer = writer
        self.store = writer.store
        self.publisher = publisher
        self.clock = clock or WallClock()
        if engine is None:
            defaults = EngineConfig()
            engine = Engine(
                EngineConfig(
                    tick_s=self.config.tick_s,
                    lateness_s=self.config.lateness_s,
                    tracker=replace(
                        defaults.tracker, idle_timeout_s=self.config.session_idle_timeout_s
                    ),
                ),
                advisor=advisor,
            )
        self.engine = engine
        self.live: dict[str, LiveSession] = {}
        self.events: dict[str, EventSettings] = {}
        self.session_modes: dict[str, AgentMode] = {}
        self.records: dict[str, SessionRecord] = {}
        """The registry entry of every live or registered session, written whole each time."""
        self.pending: dict[str, _Pending] = {}
        self.measuring: dict[str, _Measuring] = {}
        self.executed_per_event: dict[str, int] = {}
        self.executed_per_session: dict[str, int] = {}
        self.counters: dict[str, int] = {
            "signals": 0,
            "duplicates": 0,
            "rejected": 0,
            "ticks": 0,
            "anomalies": 0,
            "decisions": 0,
            "interventions": 0,
            "outcomes": 0,
            "tick_errors": 0,
            "publish_errors": 0,
        }
        self._outbox: deque[tuple[str, Mapping[str, Any]]] = deque()
        self._urgent = False
        self._commands: deque[dict[str, Any]] = deque()
        self._parts: deque[tuple[float, int, int, float]] = deque()
        """Parts of due ticks waiting for their turn: (tick time, part, parts, not before)."""
        self._due_at: dict[float, float] = {}
        self._part_started = self._part_due = 0.0
        self.latency_probe: dict[str, tuple[float, float]] | None = None
        """Benchmarks set a dict: intervention id -> (wall time its tick became due, wall
        time the part of the tick that decided it started)."""
        self.last_tick_seconds = 0.0
        self.gc_pacer: GcPacer | None = None
        """When set, full collections run between ticks (see `gc_pacing`)."""
        self._idle = asyncio.Event()
        self._idle.set()

    # -- start-up ---------------------------------------------------------------------------------

    async def load(self) -> None:
        """Read event settings and still-pending decisions back from storage."""
        for settings in await self.store.list_events(None):
            self.events[settings.event_id] = settings
        for record in await self.store.list_sessions(status=SessionStatus.LIVE):
            self.records[record.session_id] = record
            if record.mode is not None:
                self.session_modes[record.session_id] = record.mode
            self.engine.set_info(
                SessionInfo(
                    record.session_id, record.event_id, record.topic, record.tags, record.title
                )
            )
        for decision in await self.store.list_decisions(status=DecisionStatus.PENDING, limit=1000):
            self.pending[decision.id] = _Pending(decision, None)

    # -- perceive ---------------------------------------------------------------------------------

    def ingest(self, entries: Iterable[RawEntry]) -> IngestReport:
        """Apply a batch of platform entries; bad ones are dead-lettered and reported."""
        report = IngestReport()
        for index, entry in enumerate(entries):
            item = self.engine.ingest_entry(entry)
            if isinstance(item, Signal):
                self._seen(item)
                report.accepted += 1
            elif isinstance(item, Rejected):
                report.rejected.append((index, item.reason))
                self.counters["rejected"] += 1
                self.writer.dead_letter(
                    DeadLetter(item.stream, item.entry_id, item.reason, item.raw)
                )
            else:
                report.outcomes += 1
                self.writer.delivery(item)
        duplicates = self.engine.stats.duplicates
        report.duplicates = duplicates - self.counters["duplicates"]
        self.counters["duplicates"] = duplicates
        report.accepted -= report.duplicates
        self.counters["signals"] += report.accepted
        return report

    def _seen(self, signal: Signal) -> None:
        live = self.live.get(signal.session_id)
        if live is None:
            live = LiveSession(
                signal.session_id, signal.event_id, deque(maxlen=self.config.history_points)
            )
            self.live[signal.session_id] = live
            record = self.records.get(signal.session_id)
            if record is None:
                record = SessionRecord(
                    signal.session_id, signal.event_id, started_at=from_epoch(signal.ts)
                )
                self.records[signal.session_id] = record
                self.writer.session(record)
            elif record.event_id is not None:
                live.event_id = record.event_id
            self._apply_policy(signal.session_id)
        elif live.event_id is None and signal.event_id is not None:
            live.event_id = signal.event_id
            record = self.records.get(signal.session_id)
            if record is not None and record.event_id is None:
                record.event_id = signal.event_id
                self.writer.session(record)
            self._apply_policy(signal.session_id)

    # -- settings ----------------------------------------------------------------------------------

    def event_settings(self, event_id: str | None) -> EventSettings:
        if event_id is not None and event_id in self.events:
            return self.events[event_id]
        return EventSettings(
            event_id=event_id or "",
            mode=self.config.default_mode,
            confidence_threshold=self.config.confidence_threshold,
        )

    def mode_of(self, session_id: str) -> AgentMode:
        if session_id in self.session_modes:
            return self.session_modes[session_id]
        live = self.live.get(session_id)
        return self.event_settings(live.event_id if live else None).mode

    def put_event_settings(self, settings: EventSettings) -> None:
        self.events[settings.event_id] = settings
        self.writer.event(settings)
        for session_id, live in self.live.items():
            if live.event_id == settings.event_id:
                self._apply_policy(session_id)

    async def set_session_mode(self, session_id: str, mode: AgentMode | None) -> SessionRecord:
        record = self.records.get(session_id) or await self.store.get_session(session_id)
        if record is None:
            live = self.live.get(session_id)
            if live is None:
                raise NotFound(f"session {session_id} is unknown")
            record = SessionRecord(session_id, live.event_id)
        record.mode = mode
        if mode is None:
            self.session_modes.pop(session_id, None)
        else:
            self.session_modes[session_id] = mode
        self.writer.session(record)
        self._publish_status(session_id)
        return record

    def register_session(self, record: SessionRecord) -> None:
        """Organiser or platform registers a session (event, topic, tags, mode override)."""
        known = self.records.get(record.session_id)
        if known is not None:
            record.started_at = known.started_at
        self.records[record.session_id] = record
        self.engine.set_info(
            SessionInfo(
                record.session_id, record.event_id, record.topic, tuple(record.tags), record.title
            )
        )
        if record.mode is not None:
            self.session_modes[record.session_id] = record.mode
        live = self.live.get(record.session_id)
        if live is not None and record.event_id:
            live.event_id = record.event_id
        self.writer.session(record)
        self._apply_policy(record.session_id)

    def _apply_policy(self, session_id: str) -> None:
        live = self.live.get(session_id)
        settings = self.event_settings(live.event_id if live else None)
        self.engine.set_policy(
            session_id, enabled=settings.enabled, allowed=frozenset(settings.allowed_types)
        )

    # -- the tick ---------------------------------------------------------------------------------

    def step(self) -> list[TickResult]:
        """Run the ticks that are due now; never raises for one session's trouble.

        Messages wait in the outbox until `drain`; the running service uses `step_async`,
        which sends each command the moment its session is decided.
        """
        now = self.clock.now()
        results: list[TickResult] = []
        for tick_time in self.engine.due_ticks(now - self.config.lateness_s):
            started = time.perf_counter()
            result = TickResult(ts=tick_time)
            for part in self.engine.tick_iter(tick_time):
                self._process(part)
                result.engagements += part.engagements
                result.anomalies += part.anomalies
                result.suggestions += part.suggestions
                result.ended += part.ended
            self._ticked(started)
            results.append(result)
        self._expire(now)
        self._measure(now)
        return results

    async def step_async(self) -> None:
        """Run what is due, sending each command the moment its session is decided.

        A tick over many sessions is split into parts of about `tick_part_size` sessions,
        spread over the first half of the tick interval: the CPU load is smooth, and a
        command waits for its own part only, not for the whole tick.
        """
        now = self.clock.now()
        wall = time.monotonic()
        for tick_time in self.engine.due_ticks(now - self.config.lateness_s):
            parts = max(1, math.ceil(len(self.live) / self.config.tick_part_size))
            speed = getattr(self.clock, "speed", 1.0)
            spacing = self.config.tick_s / 2 / parts / speed
            for part in range(parts):
                self._parts.append((tick_time, part, parts, wall + part * spacing))
            self._due_at[tick_time] = time.time()
        while self._parts and self._parts[0][3] <= time.monotonic():
            tick_time, part, parts, _ = self._parts.popleft()
            started = time.perf_counter()
            self._part_started = time.time()
            self._part_due = self._due_at.get(tick_time, self._part_started)
            if part == parts - 1:
                self._due_at.pop(tick_time, None)
            self._idle.clear()
            try:
                for result in self.engine.tick_iter(tick_time, part, parts):
                    self._process(result)
                    if self._urgent:
                        # A command was decided: out it goes before other sessions are scored.
                        self._urgent = False
                        await self.drain()
            finally:
                self._idle.set()
            if part == parts - 1:
                self._ticked(started)
                if not self._parts and self.gc_pacer is not None:
                    self.gc_pacer.quiet()
            await self.drain()
        self._expire(now)
        self._measure(now)
        await self.drain()

    @property
    def parts_waiting(self) -> int:
        """Tick parts due or scheduled and not yet run (a backlog shows here)."""
        return len(self._parts)

    async def between_parts(self) -> None:
        """Wait while a tick part is running: work that can wait (stream batches, storage)
        yields to the part, so a decided command is never held up behind it."""
        await self._idle.wait()

    def _ticked(self, started: float) -> None:
        self.counters["ticks"] += 1
        self.last_tick_seconds = time.perf_counter() - started

    async def run(self) -> None:
        while True:
            try:
                await self.step_async()
            except asyncio.CancelledError:
                raise
            except Exception:  # one bad tick must not stop the agent
                self.counters["tick_errors"] += 1
                log.exception("tick failed")
                await self.drain()
            await asyncio.sleep(self._sleep_s())

    def _sleep_s(self) -> float:
        if self._parts:
            return max(0.001, self._parts[0][3] - time.monotonic())
        speed = getattr(self.clock, "speed", 1.0)
        return max(0.01, min(0.25, self.config.tick_s / speed / 20))

    def _process(self, result: TickResult) -> None:
        for engagement in result.engagements:
            try:
                self._on_engagement(engagement)
            except Exception:
                self.counters["tick_errors"] += 1
                log.exception("session %s: engagement handling failed", engagement.session_id)
        for anomaly in result.anomalies:
            try:
                self._on_anomaly(anomaly)
            except Exception:
                self.counters["tick_errors"] += 1
                log.exception("session %s: anomaly handling failed", anomaly.session_id)
        for suggestion in result.suggestions:
            try:
                self._on_suggestion(suggestion)
            except Exception:
                self.counters["tick_errors"] += 1
                log.exception("session %s: decision failed", suggestion.session_id)
        for session_id in result.ended:
            self._on_ended(session_id, result.ts)

    def _live(self, session_id: str, event_id: str | None) -> LiveSession:
        live = self.live.get(session_id)
        if live is None:
            live = LiveSession(session_id, event_id, deque(maxlen=self.config.history_points))
            self.live[session_id] = live
        if live.event_id is None and event_id is not None:
            live.event_id = event_id
        return live

    def _on_engagement(self, e: Engagement) -> None:
        live = self._live(e.session_id, e.event_id)
        live.last = e
        live.history.append((e.ts, e.score))
        self.writer.engagement(e)
        message = engagement_update(e)
        self._publish(ENGAGEMENT_UPDATE_CHANNEL, message)

    def _on_anomaly(self, a: Anomaly) -> None:
        self.counters["anomalies"] += 1
        anomaly_id = new_id("ano")
        live = self._live(a.session_id, a.event_id)
        message = anomaly_detected(anomaly_id, a)
        live.anomalies.appendleft({"id": anomaly_id, **message})
        live.status = AgentStatus.ANOMALY_DETECTED
        self.writer.anomaly(anomaly_id, a)
        self._publish(ANOMALY_DETECTED_CHANNEL, message)
        self._feed(live, "saw", f"{a.type} ({a.severity}): {a.explanation}", a.ts)
        self._publish_status(a.session_id, a.ts)
        if a.severity is Severity.CRITICAL and a.event_id:
            channel, note = organizer_notification(
                a.event_id,
                a.session_id,
                "anomaly",
                str(a.severity),
                {"anomalyId": anomaly_id, "type": str(a.type), "explanation": a.explanation},
            )
            self._publish(channel, note)

    def _on_suggestion(self, s: Suggestion) -> None:
        live = self._live(s.session_id, s.event_id)
        settings = self.event_settings(live.event_id)
        if not settings.enabled:
            return
        if not self._within_budget(s.session_id, live.event_id, settings):
            self.engine.advisor.guardrails.release(s.session_id, s.event_id, s.type, s.ts)
            self._feed(live, "decided", f"{s.type} skipped: intervention budget used up", s.ts)
            return
        mode = self.mode_of(s.session_id)
        self.counters["decisions"] += 1
        created = from_epoch(s.ts)
        decision = Decision(
            id=new_id("dec"),
            session_id=s.session_id,
            event_id=live.event_id,
            created_at=created,
            type=s.type,
            confidence=s.confidence,
            priority=s.priority,
            expected_impact=s.expected_impact,
            reason=s.reason,
            content=dict(s.content),
            mode=mode,
            anomaly=self._anomaly_record(live, s.anomaly) if s.anomaly else None,
            expires_at=created + timedelta(seconds=self.config.decision_ttl_s),
        )
        context = self._context_for(s)
        auto = mode is AgentMode.AUTO or (
            mode is AgentMode.SEMI_AUTO and s.confidence >= settings.confidence_threshold
        )
        self._feed(live, "decided", f"{s.type} at {s.confidence:.0%} confidence: {s.reason}", s.ts)
        if auto:
            self._execute(decision, InterventionOrigin.AUTO, context, actor="agent", now=s.ts)
            return
        self.pending[decision.id] = _Pending(decision, context)
        self.writer.decision(decision)
        live.status = AgentStatus.WAITING_APPROVAL
        self._publish_session(s.session_id, "agent.decision", self._decision_data(decision), s.ts)
        self._publish_status(s.session_id, s.ts)
        if decision.event_id:
            channel, note = organizer_notification(
                decision.event_id,
                s.session_id,
                "decision_pending",
                "INFO",
                {"decisionId": decision.id, "type": str(s.type), "reason": s.reason},
            )
            self._publish(channel, note)

    @staticmethod
    def _anomaly_record(live: LiveSession, a: Anomaly) -> dict[str, Any]:
        """The anomaly behind a decision as published, under the id it is stored with."""
        message = anomaly_detected(new_id("ano"), a)
        for known in live.anomalies:
            if known["type"] == message["type"] and known["timestamp"] == message["timestamp"]:
                return dict(known)
        return message

    def _context_for(self, s: Suggestion) -> DecisionContext | None:
        live = self.live.get(s.session_id)
        if s.anomaly is None or live is None or live.last is None:
            return None
        first = live.history[0][0] if live.history else s.ts
        return DecisionContext(
            anomaly=s.anomaly,
            engagement=live.last,
            info=self.engine.info(s.session_id),
            elapsed_s=s.ts - first,
        )

    def _within_budget(self, session_id: str, event_id: str | None, st: EventSettings) -> bool:
        per_session = (
            st.max_per_session if st.max_per_session is not None else (self.config.max_per_session)
        )
        per_event = st.max_per_event if st.max_per_event is not None else self.config.max_per_event
        if self.executed_per_session.get(session_id, 0) >= per_session:
            return False
        return not (event_id and self.executed_per_event.get(event_id, 0) >= per_event)

    def _on_ended(self, session_id: str, ts: float) -> None:
        live = self.live.pop(session_id, None)
        record = self.records.pop(session_id, None) or SessionRecord(
            session_id, live.event_id if live else None
        )
        record.status = SessionStatus.ENDED
        record.ended_at = from_epoch(ts)
        self.session_modes.pop(session_id, None)
        if live and live.history:
            record.started_at = from_epoch(live.history[0][0])
            record.last_seen_at = from_epoch(live.history[-1][0])
        self.writer.session(record)
        self._publish_session(
            session_id,
            "agent.status",
            {"session_id": session_id, "status": str(AgentStatus.IDLE), "ended": True},
            ts,
        )

    # -- act --------------------------------------------------------------------------------------

    def _execute(
        self,
        decision: Decision,
        origin: InterventionOrigin,
        context: DecisionContext | None,
        *,
        actor: str,
        now: float,
    ) -> Intervention:
        live = self._live(decision.session_id, decision.event_id)
        intervention = Intervention(
            id=new_id("int"),
            session_id=decision.session_id,
            event_id=decision.event_id,
            created_at=from_epoch(now),
            type=decision.type,
            origin=origin,
            confidence=decision.confidence,
            priority=decision.priority,
            expected_impact=decision.expected_impact,
            reason=decision.reason,
            content=decision.content,
            metadata={
                "decision_id": decision.id,
                "mode": str(decision.mode),
                "actor": actor,
                "anomaly": decision.anomaly,
            },
            decision_id=decision.id,
        )
        decision.status = DecisionStatus.EXECUTED
        decision.intervention_id = intervention.id
        decision.resolved_at = from_epoch(now)
        decision.resolved_by = actor
        self.writer.decision(decision)
        self.writer.intervention(intervention)
        self._commands.append(intervention_command(intervention))
        self._urgent = True
        if self.latency_probe is not None:
            self.latency_probe[intervention.id] = (self._part_due, self._part_started)
        self.counters["interventions"] += 1
        self.executed_per_session[decision.session_id] = (
            self.executed_per_session.get(decision.session_id, 0) + 1
        )
        if decision.event_id:
            self.executed_per_event[decision.event_id] = (
                self.executed_per_event.get(decision.event_id, 0) + 1
            )
        self.engine.record_intervention(decision.session_id, decision.type)
        before, expected = expected_without(live.history, now, self.config.outcome)
        self.measuring[intervention.id] = _Measuring(
            intervention, context, before, expected, now + self.config.outcome.delay_s
        )
        live.status = AgentStatus.INTERVENING
        self._publish_session(
            decision.session_id,
            "agent.intervention.executed",
            self._intervention_data(intervention),
            now,
        )
        self._feed(live, "did", f"{intervention.type} executed ({origin.value.lower()})", now)
        self._publish_status(decision.session_id, now)
        return intervention

    def approve(self, decision_id: str, actor: str) -> tuple[Decision, Intervention]:
        pending = self.pending.get(decision_id)
        if pending is None:
            raise NotFound(f"no pending decision {decision_id}")
        del self.pending[decision_id]
        intervention = self._execute(
            pending.decision,
            InterventionOrigin.APPROVED,
            pending.context,
            actor=actor,
            now=self.clock.now(),
        )
        return pending.decision, intervention

    def dismiss(self, decision_id: str, actor: str, reason: str | None) -> Decision:
        pending = self.pending.pop(decision_id, None)
        if pending is None:
            raise NotFound(f"no pending decision {decision_id}")
        d = pending.decision
        now = self.clock.now()
        d.status = DecisionStatus.DISMISSED
        d.resolved_at = from_epoch(now)
        d.resolved_by = actor
        d.dismiss_reason = reason
        self.writer.decision(d)
        self.engine.advisor.guardrails.release(d.session_id, d.event_id, d.type, now)
        live = self._live(d.session_id, d.event_id)
        if not self.pending_for(session_id=d.session_id):
            live.status = AgentStatus.MONITORING
        why = f": {reason}" if reason else ""
        self._feed(live, "dismissed", f"{d.type} dismissed by {actor}{why}", now)
        self._publish_session(d.session_id, "agent.decision", self._decision_data(d), now)
        self._publish_status(d.session_id, now)
        return d

    def manual(
        self,
        session_id: str,
        event_id: str | None,
        type: InterventionType,
        reason: str,
        context: Mapping[str, Any],
        actor: str,
    ) -> Intervention:
        """An organiser asks for an intervention now; the content comes from the library."""
        now = self.clock.now()
        live = self._live(session_id, event_id)
        info = self.engine.info(session_id)
        topic = context.get("topic")
        if isinstance(topic, str) and topic.strip():
            info = replace(info, topic=topic.strip())  # the organiser's words win
        audience = live.last.signals.connected if live.last else 0
        content = self.engine.advisor.content.content(type, session_id, None, info, audience)
        decision = Decision(
            id=new_id("dec"),
            session_id=session_id,
            event_id=event_id or live.event_id,
            created_at=from_epoch(now),
            type=type,
            confidence=1.0,
            priority=Priority.HIGH,
            expected_impact=0.0,
            reason=reason,
            content=dict(content),
            mode=self.mode_of(session_id),
        )
        return self._execute(decision, InterventionOrigin.MANUAL, None, actor=actor, now=now)

    def _expire(self, now: float) -> None:
        for decision_id, pending in list(self.pending.items()):
            d = pending.decision
            if d.expires_at is not None and d.expires_at.timestamp() <= now:
                del self.pending[decision_id]
                d.status = DecisionStatus.EXPIRED
                d.resolved_at = from_epoch(now)
                self.writer.decision(d)
                self.engine.advisor.guardrails.release(d.session_id, d.event_id, d.type, now)
                self._publish_session(d.session_id, "agent.decision", self._decision_data(d), now)
                live = self.live.get(d.session_id)
                if live is not None:
                    self._feed(live, "expired", f"{d.type} suggestion expired unanswered", now)
                    if live.status is AgentStatus.WAITING_APPROVAL and not self.pending_for(
                        session_id=d.session_id
                    ):
                        live.status = AgentStatus.MONITORING
                    self._publish_status(d.session_id, now)

    # -- learn ------------------------------------------------------------------------------------

    def _measure(self, now: float) -> None:
        for intervention_id, m in list(self.measuring.items()):
            if m.due > now:
                continue
            live = self.live.get(m.intervention.session_id)
            history = list(live.history) if live else []
            result = measure(m.before, m.expected_after, history, m.due, self.config.outcome)
            if result is None and now - m.due < self.config.outcome.delay_s:
                continue  # no score yet after the delay: wait a little longer
            del self.measuring[intervention_id]
            if result is None:
                continue
            self.counters["outcomes"] += 1
            outcome = Outcome(
                intervention_id=intervention_id,
                measured_at=from_epoch(now),
                score_before=result.score_before,
                score_after=result.score_after,
                expected_after=result.expected_after,
                lift=result.lift,
                success=result.success,
            )
            m.intervention.outcome = outcome
            self.writer.outcome(outcome)
            if m.context is not None:
                self.engine.advisor.policy.learn_one(m.context, m.intervention.type, result.lift)
            data = {
                "session_id": m.intervention.session_id,
                "intervention_id": intervention_id,
                "type": str(m.intervention.type),
                "score_before": result.score_before,
                "score_after": result.score_after,
                "expected_after": result.expected_after,
                "lift": result.lift,
                "success": result.success,
            }
            self._publish_session(m.intervention.session_id, "agent.reward.measured", data, now)
            if live is not None:
                verdict = "worked" if result.success else "did not help"
                self._feed(
                    live,
                    "measured",
                    f"{m.intervention.type} {verdict}: {result.score_before:.2f} → "
                    f"{result.score_after:.2f} (expected {result.expected_after:.2f}, "
                    f"lift {result.lift:+.2f})",
                    now,
                )
                if live.status is AgentStatus.INTERVENING:
                    live.status = AgentStatus.MONITORING
                    self._publish_status(live.session_id, now)

    # -- publishing helpers ---------------------------------------------------------------------

    def _publish(self, channel: str, message: Mapping[str, Any]) -> None:
        self._outbox.append((channel, message))

    async def drain(self) -> None:
        """Hand everything the ticks produced to the publisher: commands first, on their own
        round trip, then the rest in order."""
        while self._commands:
            command = self._commands.popleft()
            try:
                await publish_urgently(self.publisher, INTERVENTIONS_CHANNEL, command)
            except Exception:
                self.counters["publish_errors"] += 1
                log.exception("publishing a command failed")
        while self._outbox:
            channel, message = self._outbox.popleft()
            try:
                await self.publisher.publish(channel, message)
            except Exception:
                self.counters["publish_errors"] += 1
                log.exception("publishing on %s failed", channel)

    def _publish_session(
        self, session_id: str, type: str, data: Mapping[str, Any], ts: float
    ) -> None:
        channel, message = session_event(session_id, type, dict(data), ts)
        self._publish(channel, message)

    def _publish_status(self, session_id: str, ts: float | None = None) -> None:
        live = self.live.get(session_id)
        status = live.status if live else AgentStatus.IDLE
        self._publish_session(
            session_id,
            "agent.status",
            {
                "session_id": session_id,
                "status": str(status),
                "mode": str(self.mode_of(session_id)),
                "pending": [
                    d for d, p in self.pending.items() if p.decision.session_id == session_id
                ],
            },
            ts if ts is not None else self.clock.now(),
        )

    def _feed(self, live: LiveSession, kind: str, text: str, ts: float) -> None:
        live.activity.appendleft({"ts": ts, "kind": kind, "text": text})

    @staticmethod
    def _decision_data(d: Decision) -> dict[str, Any]:
        return decision_json(d)

    @staticmethod
    def _intervention_data(iv: Intervention) -> dict[str, Any]:
        return intervention_json(iv)

    # -- queries for the API --------------------------------------------------------------------

    def pending_for(
        self, *, session_id: str | None = None, event_id: str | None = None
    ) -> list[Decision]:
        out = [
            p.decision
            for p in self.pending.values()
            if (session_id is None or p.decision.session_id == session_id)
            and (event_id is None or p.decision.event_id == event_id)
        ]
        return sorted(out, key=lambda d: d.created_at, reverse=True)

    def sessions_of(self, event_id: str | None) -> list[LiveSession]:
        return [s for s in self.live.values() if event_id is None or s.event_id == event_id]


def decision_json(d: Decision) -> dict[str, Any]:
    return {
        "decision_id": d.id,
        "session_id": d.session_id,
        "event_id": d.event_id,
        "created_at": d.created_at.isoformat(),
        "type": str(d.type),
        "confidence": d.confidence,
        "priority": str(d.priority),
        "expected_impact": d.expected_impact,
        "reason": d.reason,
        "content": d.content,
        "mode": str(d.mode),
        "status": str(d.status),
        "anomaly": d.anomaly,
        "expires_at": d.expires_at.isoformat() if d.expires_at else None,
        "resolved_at": d.resolved_at.isoformat() if d.resolved_at else None,
        "resolved_by": d.resolved_by,
        "dismiss_reason": d.dismiss_reason,
        "intervention_id": d.intervention_id,
    }


def intervention_json(iv: Intervention) -> dict[str, Any]:
    o = iv.outcome
    return {
        "intervention_id": iv.id,
        "session_id": iv.session_id,
        "event_id": iv.event_id,
        "timestamp": iv.created_at.isoformat(),
        "type": str(iv.type),
        "origin": str(iv.origin),
        "confidence": iv.confidence,
        "priority": str(iv.priority),
        "expected_impact": iv.expected_impact,
        "reason": iv.reason,
        "content": iv.content,
        "metadata": iv.metadata,
        "decision_id": iv.decision_id,
        "delivered": iv.delivered,
        "delivery_error": iv.delivery_error,
        "outcome": None
        if o is None
        else {
            "score_before": o.score_before,
            "score_after": o.score_after,
            "expected_after": o.expected_after,
            "lift": o.lift,
            "success": o.success,
            "measured_at": o.measured_at.isoformat(),
        },
    }


__all__ = [
    "AgentService",
    "IngestReport",
    "LiveSession",
    "NotFound",
    "ScaledClock",
    "ServiceConfig",
    "WallClock",
    "decision_json",
    "intervention_json",
]
