"""A clock the tests move by hand: the service's event time, stepped tick by tick."""

from __future__ import annotations

START = 1_767_225_600.0
"""2026-01-01T00:00:00Z."""


class Clock:
    def __init__(self, t: float = START) -> None:
        self.t = t

    def now(self) -> float:
        return self.t
