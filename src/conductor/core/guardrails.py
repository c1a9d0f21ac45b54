"""Limits that keep the agent from spamming an audience, whatever the policy wants.

Pure and driven by event time (`now` is the caller's clock), so replays behave exactly like
live runs. Memory stays bounded: one small record per tracked session, an hourly window capped
at its limit, and per-event budgets in a least-recently-used table.
"""

from __future__ import annotations

import math
from collections import OrderedDict, deque
from collections.abc import Mapping
from dataclasses import dataclass, field

from conductor.core.vocabulary import InterventionType

_HOUR_S = 3600.0


def _default_cooldowns() -> dict[InterventionType, float]:
    return {
        InterventionType.POLL: 120.0,
        InterventionType.CHAT_PROMPT: 60.0,
        InterventionType.NOTIFICATION: 300.0,
        InterventionType.GAMIFICATION: 180.0,
    }


@dataclass(frozen=True, slots=True)
class GuardrailConfig:
    cooldown_s: Mapping[InterventionType, float] = field(default_factory=_default_cooldowns)
    """Per type: seconds before the same type may run again in a session (0 when absent)."""
    min_gap_s: float = 30.0
    """Between any two interventions in a session."""
    max_per_session: int = 12
    max_per_event: int = 100
    """Across all sessions of one event."""
    max_per_session_per_hour: int = 8
    max_tracked_events: int = 10_000
    """Bound on remembered event budgets; the least recently used event is forgotten first."""

    def __post_init__(self) -> None:
        for kind, seconds in self.cooldown_s.items():
            if not isinstance(kind, InterventionType):
                raise ValueError(f"cooldown key {kind!r} is not an InterventionType")
            if not (math.isfinite(seconds) and seconds >= 0):
                raise ValueError(f"cooldown for {kind} must be a finite number >= 0")
        if not (math.isfinite(self.min_gap_s) and self.min_gap_s >= 0):
            raise ValueError("min_gap_s must be a finite number >= 0")
        for name in (
            "max_per_session",
            "max_per_event",
            "max_per_session_per_hour",
            "max_tracked_events",
        ):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0")


@dataclass(slots=True)
class _SessionState:
    used: int = 0
    last_any: float | None = None
    last_by_type: dict[InterventionType, float] = field(default_factory=dict)
    hour: deque[tuple[float, InterventionType]] = field(default_factory=deque)


def _seconds(value: float) -> int:
    return max(1, math.ceil(value))


class Guardrails:
    """Answers "may this session get this type now?" and books what was made."""

    def __init__(self, config: GuardrailConfig | None = None) -> None:
        self.config = config or GuardrailConfig()
        self._sessions: dict[str, _SessionState] = {}
        self._events: OrderedDict[str, int] = OrderedDict()

    def check(
        self, session_id: str, event_id: str | None, type: InterventionType, now: float
    ) -> str | None:
        """None if allowed, else the reason in words an organiser understands."""
        cfg = self.config
        state = self._sessions.get(session_id)
        if (state.used if state else 0) >= cfg.max_per_session:
            return f"session budget of {cfg.max_per_session} used"
        if event_id is not None and self._events.get(event_id, 0) >= cfg.max_per_event:
            return f"event budget of {cfg.max_per_event} used"
        if state is not None:
            self._prune_hour(state, now)
        in_hour = len(state.hour) if state else 0
        if in_hour >= cfg.max_per_session_per_hour:
            slot = (
                f" (next slot in {_seconds(state.hour[0][0] + _HOUR_S - now)} s)" if state else ""
            )
            return f"hourly limit of {cfg.max_per_session_per_hour} for this session reached{slot}"
        if state is None:
            return None
        if state.last_any is not None and now - state.last_any < cfg.min_gap_s:
            wait = state.last_any + cfg.min_gap_s - now
            return f"{_seconds(wait)} s left of the {cfg.min_gap_s:g} s gap between interventions"
        last = state.last_by_type.get(type)
        cooldown = cfg.cooldown_s.get(type, 0.0)
        if last is not None and now - last < cooldown:
            return f"{type.value} is cooling down for {_seconds(last + cooldown - now)} s more"
        return None

    def record(
        self, session_id: str, event_id: str | None, type: InterventionType, now: float
    ) -> None:
        """An intervention was made: reserve its cooldown and a unit of every budget."""
        state = self._sessions.setdefault(session_id, _SessionState())
        state.used += 1
        state.last_any = now if state.last_any is None else max(state.last_any, now)
        previous = state.last_by_type.get(type)
        state.last_by_type[type] = now if previous is None else max(previous, now)
        index = len(state.hour)
        while index > 0 and state.hour[index - 1][0] > now:
            index -= 1
        state.hour.insert(index, (now, type))
        self._prune_hour(state, now)
        while len(state.hour) > max(1, self.config.max_per_session_per_hour):
            state.hour.popleft()
        if event_id is not None:
            self._events[event_id] = self._events.get(event_id, 0) + 1
            self._events.move_to_end(event_id)
            while len(self._events) > self.config.max_tracked_events:
                self._events.popitem(last=False)

    def release(
        self, session_id: str, event_id: str | None, type: InterventionType, now: float
    ) -> None:
        """A reservation was dismissed or expired: refund its budget, keep its cooldown so the
        organiser is not asked again at once."""
        state = self._sessions.get(session_id)
        if state is not None and state.used > 0:
            state.used -= 1
            for index in range(len(state.hour) - 1, -1, -1):
                if state.hour[index][1] is type:
                    del state.hour[index]
                    break
        if event_id is not None and self._events.get(event_id, 0) > 0:
            self._events[event_id] -= 1

    def forget_session(self, session_id: str) -> None:
        """The session ended: drop its state (its event's budget stays)."""
        self._sessions.pop(session_id, None)

    def used(self, session_id: str, event_id: str | None = None) -> tuple[int, int]:
        """Interventions booked so far in the session and in the event (for status displays)."""
        state = self._sessions.get(session_id)
        event_used = self._events.get(event_id, 0) if event_id is not None else 0
        return (state.used if state else 0, event_used)

    @staticmethod
    def _prune_hour(state: _SessionState, now: float) -> None:
        while state.hour and now - state.hour[0][0] >= _HOUR_S:
            state.hour.popleft()
