"""Per-session rotation: never show the same item twice in a session before its category is
exhausted, and choose deterministically for a given seed and session."""

from __future__ import annotations

import random
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol, TypeVar


class Rotatable(Protocol):
    @property
    def id(self) -> str: ...

    @property
    def category(self) -> str: ...


T = TypeVar("T", bound=Rotatable)


@dataclass(slots=True)
class _SessionRotation:
    rng: random.Random
    used: dict[str, set[str]] = field(default_factory=dict)
    last: str | None = None


class Rotation:
    """Memory is bounded by `max_sessions` (least recently used first out) and, per session, by
    the number of templates."""

    def __init__(self, seed: int, kind: str, max_sessions: int = 10_000) -> None:
        self._seed = seed
        self._kind = kind
        self._max_sessions = max_sessions
        self._sessions: OrderedDict[str, _SessionRotation] = OrderedDict()

    def pick(self, session_id: str, pools: Sequence[Sequence[T]]) -> T:
        """The first unused item of the first pool that has one; when every pool is used up,
        the categories of the first non-empty pool start over."""
        state = self._state(session_id)
        for pool in pools:
            fresh = [t for t in pool if t.id not in state.used.get(t.category, ())]
            if fresh:
                return self._take(state, fresh)
        first = next((pool for pool in pools if pool), None)
        if first is None:
            raise ValueError("no content to choose from")
        for category in {t.category for t in first}:
            state.used.pop(category, None)
        fresh = [t for t in first if t.id != state.last] or list(first)
        return self._take(state, fresh)

    def forget(self, session_id: str) -> None:
        self._sessions.pop(session_id, None)

    def _take(self, state: _SessionRotation, candidates: Sequence[T]) -> T:
        chosen = candidates[state.rng.randrange(len(candidates))]
        state.used.setdefault(chosen.category, set()).add(chosen.id)
        state.last = chosen.id
        return chosen

    def _state(self, session_id: str) -> _SessionRotation:
        state = self._sessions.get(session_id)
        if state is None:
            rng = random.Random(f"{self._seed}:{self._kind}:{session_id}")
            state = self._sessions[session_id] = _SessionRotation(rng)
            while len(self._sessions) > self._max_sessions:
                self._sessions.popitem(last=False)
        else:
            self._sessions.move_to_end(session_id)
        return state
