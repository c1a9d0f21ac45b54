"""Delivery: arrival order, stream entry ids, and the imperfections a consumer must survive.

Entries are queued by arrival time. Most arrive at their event time; a few arrive late (up to
`reorder_max_delay` seconds), so they come after entries of later event time. A few are
delivered twice, at-least-once style: either the producer retried (same data, a new entry
id) or the consumer was handed the same entry again (same data, same entry id). Entry ids
are `<ms>-<seq>` from the arrival time and strictly increasing per stream, except that a
same-id re-delivery repeats an id already emitted.
"""

from __future__ import annotations

import heapq
import itertools
import math
import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from conductor.core.model import RawEntry


@dataclass(frozen=True, slots=True)
class Imperfections:
    """Rates of the platform's and the network's imperfections (probabilities per entry)."""

    duplicate_rate: float = 0.002
    duplicate_same_id_share: float = 0.5
    """Of the duplicates, the share re-delivered with the same entry id."""
    reorder_rate: float = 0.005
    reorder_max_delay: float = 2.0
    unknown_event_rate: float = 0.02
    """Share of sync entries whose `eventId` is the string `unknown`."""

    def __post_init__(self) -> None:
        for name in (
            "duplicate_rate",
            "duplicate_same_id_share",
            "reorder_rate",
            "unknown_event_rate",
        ):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be a probability in [0, 1], got {value!r}")
        if self.duplicate_rate + self.reorder_rate > 1.0:
            raise ValueError("duplicate_rate + reorder_rate must not exceed 1")
        if not 0.0 < self.reorder_max_delay <= 2.0:
            raise ValueError(
                f"reorder_max_delay must be in (0, 2] seconds, got {self.reorder_max_delay!r}"
            )


NONE = Imperfections(0.0, 0.0, 0.0, 2.0, 0.0)
"""A perfect platform and network."""

_Queued = tuple[float, int, float, str, Mapping[str, Any], list[str] | None, bool]


class Delivery:
    """Arrival-ordered queue that stamps entry ids as entries leave it."""

    def __init__(self, imperfections: Imperfections, rng: random.Random, end: float) -> None:
        self._heap: list[_Queued] = []
        self._seq = itertools.count()
        self._rng = rng
        self._end = end
        self._p_late = imperfections.reorder_rate
        self._p_odd = imperfections.reorder_rate + imperfections.duplicate_rate
        self._max_delay = imperfections.reorder_max_delay
        self._same_id = imperfections.duplicate_same_id_share
        self._last: dict[str, tuple[int, int]] = {}

    def push(self, ts: float, stream: str, data: Mapping[str, Any]) -> None:
        r = self._rng.random()
        if r >= self._p_odd:
            heapq.heappush(self._heap, (ts, next(self._seq), ts, stream, data, None, False))
        elif r < self._p_late:
            arrival = min(self._end, ts + self._rng.uniform(0.05, self._max_delay))
            heapq.heappush(self._heap, (arrival, next(self._seq), ts, stream, data, None, False))
        else:
            again = min(self._end, ts + self._rng.uniform(0.05, 1.5))
            holder: list[str] | None = [""] if self._rng.random() < self._same_id else None
            heapq.heappush(self._heap, (ts, next(self._seq), ts, stream, data, holder, False))
            copy = dict(data)
            heapq.heappush(self._heap, (again, next(self._seq), ts, stream, copy, holder, True))

    def pop_until(self, until: float, flush: bool = False) -> list[RawEntry]:
        """Entries that arrived by `until` (all of them with `flush`), in arrival order."""
        heap, last, out = self._heap, self._last, []
        pop = heapq.heappop
        while heap and (flush or heap[0][0] <= until):
            arrival, _, ts, stream, data, holder, repeat = pop(heap)
            if repeat and holder is not None:
                out.append(RawEntry(stream, holder[0], data, ts))
                continue
            ms = math.floor(arrival * 1000)
            prev = last.get(stream)
            if prev is not None and ms <= prev[0]:
                ms, seq = prev[0], prev[1] + 1
            else:
                seq = 0
            last[stream] = (ms, seq)
            entry_id = f"{ms}-{seq}"
            if holder is not None:
                holder[0] = entry_id
            out.append(RawEntry(stream, entry_id, data, ts))
        return out

    def __len__(self) -> int:
        return len(self._heap)
