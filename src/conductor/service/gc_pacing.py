"""Full garbage collections at quiet moments, never in the middle of a tick part.

With thousands of live sessions the interpreter holds millions of objects, and a full (oldest
generation) collection takes a few hundred milliseconds; left to itself it starts whenever an
allocation tips the counters, often halfway through scoring, and every command decided after
it waits. The pacer keeps the young generations automatic, takes the oldest off automatic
collection, and collects it between ticks, at most every `every_s` seconds.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable

NEVER = 1_000_000
"""A threshold for the oldest generation that automatic collection never reaches."""


class GcPacer:
    def __init__(
        self, every_s: float = 30.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if every_s <= 0:
            raise ValueError("every_s must be > 0")
        self.every_s = every_s
        self._clock = clock
        self.collections = 0
        self.last_pause_s = 0.0
        self._saved: tuple[int, int, int] | None = None
        self._last = clock()

    def install(self) -> None:
        if self._saved is None:
            self._saved = gc.get_threshold()
            young, middle, _ = self._saved
            gc.set_threshold(young, middle, NEVER)
            self._last = self._clock()

    def uninstall(self) -> None:
        if self._saved is not None:
            gc.set_threshold(*self._saved)
            self._saved = None

    def quiet(self) -> bool:
        """Called when no tick part is due for a while: collect if it is time. True if it did."""
        if self._saved is None:
            return False
        now = self._clock()
        if now - self._last < self.every_s:
            return False
        started = time.perf_counter()
        gc.collect()
        self.last_pause_s = time.perf_counter() - started
        self._last = now
        self.collections += 1
        return True
