"""An in-process publish/subscribe bus: the broker of embedded mode, tests and live dashboards.

Publishing never waits: each subscriber has a bounded queue and a slow subscriber loses its
oldest messages (counted) rather than slowing the agent down. Channels and patterns follow the
broker's glob rules (`*`, `?`, `[...]`), so `session:*:events` means the same everywhere.

Single event loop only: publish and consume from the loop that owns the bus.
"""

from __future__ import annotations

import asyncio
import re
from collections import deque
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any

DEFAULT_QUEUE_SIZE = 1_000


class SubscriptionClosed(Exception):
    """Raised by `Subscription.get` once the subscription (or its bus) is closed and drained."""


@dataclass(slots=True, frozen=True)
class BusMessage:
    channel: str
    message: Mapping[str, Any]
    """Shared with every subscriber: treat it as read-only."""


def _is_pattern(channel: str) -> bool:
    return any(ch in channel for ch in "*?[\\")


def glob_regex(pattern: str) -> re.Pattern[str]:
    """The broker's glob as a regex: `*`, `?`, `[abc]`, `[^a-z]` and `\\` escapes.

    An unterminated `[` is taken literally.
    """
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        ch = pattern[i]
        if ch == "\\" and i + 1 < n:
            out.append(re.escape(pattern[i + 1]))
            i += 2
        elif ch == "*":
            out.append(".*")
            i += 1
        elif ch == "?":
            out.append(".")
            i += 1
        elif ch == "[" and "]" in pattern[i + 1 :]:
            cls, i = _glob_class(pattern, i + 1)
            out.append(cls)
        else:
            out.append(re.escape(ch))
            i += 1
    return re.compile("".join(out), re.DOTALL)


def _glob_class(pattern: str, i: int) -> tuple[str, int]:
    """Translate a `[...]` class starting after its `[`; returns the regex and the next index."""
    negate = pattern[i] == "^"
    if negate:
        i += 1
    members: list[str] = []
    while pattern[i] != "]":
        ch = pattern[i]
        if ch == "\\" and pattern[i + 1] != "]":
            members.append(re.escape(pattern[i + 1]))
            i += 2
        elif pattern[i + 1] == "-" and pattern[i + 2] != "]":
            low, high = sorted((ch, pattern[i + 2]))
            members.append(f"{re.escape(low)}-{re.escape(high)}")
            i += 3
        else:
            members.append(re.escape(ch))
            i += 1
    body = "".join(members)
    if not body:
        return ("." if negate else "(?!)"), i + 1
    return f"[{'^' if negate else ''}{body}]", i + 1


class Subscription:
    """One subscriber's bounded queue; iterate it with `async for` or call `get`."""

    def __init__(self, bus: InProcessBus, patterns: tuple[str, ...], queue_size: int) -> None:
        if queue_size < 1:
            raise ValueError(f"queue_size must be at least 1, got {queue_size}")
        self.patterns = patterns
        self.queue_size = queue_size
        self.dropped = 0
        """Messages lost because this subscriber fell `queue_size` messages behind."""
        self.received = 0
        self._bus = bus
        self._items: deque[BusMessage] = deque()
        self._ready = asyncio.Event()
        self._closed = False
        self._regexes = tuple(glob_regex(p) for p in patterns if _is_pattern(p))
        self._exact = frozenset(p for p in patterns if not _is_pattern(p))

    @property
    def closed(self) -> bool:
        return self._closed

    def pending(self) -> int:
        return len(self._items)

    def matches(self, channel: str) -> bool:
        return channel in self._exact or any(r.fullmatch(channel) for r in self._regexes)

    def _offer(self, item: BusMessage) -> None:
        if self._closed:
            return
        if len(self._items) >= self.queue_size:
            self._items.popleft()
            self.dropped += 1
        self._items.append(item)
        self.received += 1
        self._ready.set()

    def get_nowait(self) -> BusMessage | None:
        return self._items.popleft() if self._items else None

    async def get(self) -> BusMessage:
        """The next message (bound the wait with `asyncio.timeout`); SubscriptionClosed once
        closed and drained."""
        while not self._items:
            if self._closed:
                raise SubscriptionClosed(f"subscription to {self.patterns} is closed")
            self._ready.clear()
            await self._ready.wait()
        return self._items.popleft()

    def close(self) -> None:
        """Stop receiving; messages already queued can still be read."""
        if not self._closed:
            self._closed = True
            self._bus._remove(self)
            self._ready.set()

    def __aiter__(self) -> AsyncIterator[BusMessage]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[BusMessage]:
        while True:
            try:
                yield await self.get()
            except SubscriptionClosed:
                return

    def __enter__(self) -> Subscription:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class InProcessBus:
    """Fan-out of published messages to every subscription whose channel or pattern matches."""

    def __init__(self, queue_size: int = DEFAULT_QUEUE_SIZE) -> None:
        self.queue_size = queue_size
        self.published = 0
        self._subscriptions: list[Subscription] = []

    async def publish(self, channel: str, message: Mapping[str, Any]) -> None:
        self.publish_nowait(channel, message)

    def publish_nowait(self, channel: str, message: Mapping[str, Any]) -> int:
        """Deliver to every matching subscriber now; returns how many received it."""
        if not isinstance(channel, str) or not channel:
            raise ValueError(f"channel must be a non-empty string, got {channel!r}")
        if not isinstance(message, Mapping):
            raise ValueError(f"message must be an object, got {type(message).__name__}")
        self.published += 1
        item = BusMessage(channel, message)
        delivered = 0
        for subscription in self._subscriptions:
            if subscription.matches(channel):
                subscription._offer(item)
                delivered += 1
        return delivered

    def subscribe(self, *patterns: str, queue_size: int | None = None) -> Subscription:
        """Subscribe to exact channels and/or glob patterns (one delivery per message)."""
        if not patterns:
            raise ValueError("subscribe needs at least one channel or pattern")
        for pattern in patterns:
            if not isinstance(pattern, str) or not pattern:
                raise ValueError(f"channel or pattern must be a non-empty string, got {pattern!r}")
        subscription = Subscription(self, patterns, queue_size or self.queue_size)
        self._subscriptions.append(subscription)
        return subscription

    @property
    def subscribers(self) -> int:
        return len(self._subscriptions)

    def close(self) -> None:
        """Close every subscription: their readers drain what is queued and then stop."""
        for subscription in list(self._subscriptions):
            subscription.close()

    def _remove(self, subscription: Subscription) -> None:
        if subscription in self._subscriptions:
            self._subscriptions.remove(subscription)
