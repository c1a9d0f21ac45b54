"""Publishing to the platform's Pub/Sub channels without ever blocking the agent on the broker.

Pub/Sub forgets messages sent while nobody listens and fails while the broker is away, so the
Redis publisher puts every message in a bounded outbox first and a single background task
sends them in order. During an outage the outbox keeps what matters: when it is full the
oldest engagement updates go first, then other informational messages; intervention commands
are never dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from enum import IntEnum
from typing import Any, Protocol

import orjson

from conductor.bus.connection import TRANSIENT_ERRORS, connect, redacted
from conductor.bus.messages import ENGAGEMENT_UPDATE_CHANNEL, INTERVENTIONS_CHANNEL

log = logging.getLogger(__name__)


class Publisher(Protocol):
    async def publish(self, channel: str, message: Mapping[str, Any]) -> None: ...


class MessageValue(IntEnum):
    """What losing a message costs; the outbox drops the lowest value first."""

    LOW = 0
    """Superseded within seconds by the next one (engagement updates)."""
    NORMAL = 1
    CRITICAL = 2
    """Never dropped: a command the platform must execute."""


def message_value(channel: str) -> MessageValue:
    if channel == INTERVENTIONS_CHANNEL:
        return MessageValue.CRITICAL
    if channel == ENGAGEMENT_UPDATE_CHANNEL:
        return MessageValue.LOW
    return MessageValue.NORMAL


@dataclass(slots=True, frozen=True)
class PublisherStats:
    published: int
    """Messages the broker accepted."""
    retried: int
    """Send attempts repeated after a broker error (one per message per failed attempt)."""
    dropped: int
    """Messages discarded because the outbox was full."""
    pending: int
    """Messages waiting in the outbox (including those being sent)."""
    rejected: int
    """Messages refused at `publish` because they could not be encoded."""
    connected: bool
    """Whether the latest send succeeded (False until the first one)."""


@dataclass(slots=True)
class _Item:
    seq: int
    channel: str
    payload: bytes


class Outbox:
    """A FIFO of encoded messages, bounded by dropping the oldest of the lowest value first.

    One queue per value keeps dropping O(1); the sequence number restores the global order.
    CRITICAL messages are kept even beyond `max_pending`.
    """

    def __init__(self, max_pending: int) -> None:
        if max_pending < 1:
            raise ValueError(f"max_pending must be at least 1, got {max_pending}")
        self.max_pending = max_pending
        self.dropped = 0
        self._queues: dict[MessageValue, deque[_Item]] = {v: deque() for v in MessageValue}
        self._seq = 0

    def __len__(self) -> int:
        return sum(len(q) for q in self._queues.values())

    def put(self, channel: str, payload: bytes, value: MessageValue) -> None:
        self._seq += 1
        self._queues[value].append(_Item(self._seq, channel, payload))
        self._enforce_bound()

    def take(self, limit: int) -> list[tuple[MessageValue, _Item]]:
        """Remove and return up to `limit` oldest messages in publish order."""
        batch: list[tuple[MessageValue, _Item]] = []
        while len(batch) < limit:
            heads = [(q[0].seq, v) for v, q in self._queues.items() if q]
            if not heads:
                break
            _, value = min(heads)
            batch.append((value, self._queues[value].popleft()))
        return batch

    def give_back(self, batch: list[tuple[MessageValue, _Item]]) -> None:
        """Return an unsent batch to the front, in order, then re-apply the bound."""
        for value, item in reversed(batch):
            self._queues[value].appendleft(item)
        self._enforce_bound()

    def _enforce_bound(self) -> None:
        excess = len(self) - self.max_pending
        for value in (MessageValue.LOW, MessageValue.NORMAL):
            queue = self._queues[value]
            while excess > 0 and queue:
                queue.popleft()
                self.dropped += 1
                excess -= 1


class RedisPublisher:
    """PUBLISH as JSON through an outbox drained in order by one background task.

    `publish` only encodes and enqueues: it never waits on the broker. Bad messages (not
    JSON-encodable, empty channel) raise ValueError at `publish` and are counted.
    """

    def __init__(
        self,
        url: str,
        *,
        max_pending: int = 10_000,
        batch_size: int = 100,
        initial_backoff: float = 0.05,
        max_backoff: float = 2.0,
        connect_timeout: float = 2.0,
        urgent_timeout: float = 0.5,
    ) -> None:
        self.url = url
        self.batch_size = batch_size
        self.urgent_timeout = urgent_timeout
        self.initial_backoff = initial_backoff
        self.max_backoff = max_backoff
        self._outbox = Outbox(max_pending)
        self._inflight = 0
        self._published = 0
        self._retried = 0
        self._rejected = 0
        self._connected = False
        self._outage_started: float | None = None
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._task: asyncio.Task[None] | None = None
        self._closed = False
        self._client = connect(
            url, connect_timeout=connect_timeout, read_timeout=max(connect_timeout, 5.0)
        )

    def stats(self) -> PublisherStats:
        return PublisherStats(
            published=self._published,
            retried=self._retried,
            dropped=self._outbox.dropped,
            pending=len(self._outbox) + self._inflight,
            rejected=self._rejected,
            connected=self._connected,
        )

    async def publish(self, channel: str, message: Mapping[str, Any]) -> None:
        self.publish_nowait(channel, message)

    def publish_nowait(self, channel: str, message: Mapping[str, Any]) -> None:
        """Encode and enqueue; the flusher sends it as soon as the broker takes it."""
        if self._closed:
            raise RuntimeError("publisher is closed")
        if not isinstance(channel, str) or not channel:
            self._rejected += 1
            raise ValueError(f"channel must be a non-empty string, got {channel!r}")
        try:
            payload = orjson.dumps(message if isinstance(message, dict) else dict(message))
        except (TypeError, ValueError) as error:
            self._rejected += 1
            raise ValueError(f"message for {channel!r} is not JSON-encodable: {error}") from None
        self._outbox.put(channel, payload, message_value(channel))
        self._idle.clear()
        self._wake.set()
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(
                self._flush_forever(), name="conductor-redis-publisher"
            )

    async def publish_urgent(self, channel: str, message: Mapping[str, Any]) -> None:
        """Send now, on its own round trip, ahead of whatever the outbox holds (commands);
        if the broker is away the message joins the outbox and is never lost."""
        if self._closed:
            raise RuntimeError("publisher is closed")
        try:
            payload = orjson.dumps(message if isinstance(message, dict) else dict(message))
        except (TypeError, ValueError) as error:
            self._rejected += 1
            raise ValueError(f"message for {channel!r} is not JSON-encodable: {error}") from None
        if self._connected or self._outage_started is None:
            try:
                async with asyncio.timeout(self.urgent_timeout):
                    await self._client.publish(channel, payload)
            except Exception as error:
                if not isinstance(error, (*TRANSIENT_ERRORS, TimeoutError)):
                    raise
                self._note_outage(error)
            else:
                self._published += 1
                self._note_recovered()
                return
        self.publish_nowait(channel, message)

    async def flush(self) -> None:
        """Wait until the outbox is empty (bound it with `asyncio.timeout`)."""
        await self._idle.wait()

    async def close(self, grace: float = 2.0) -> None:
        """Send what is pending for at most `grace` seconds, then stop (the rest is lost)."""
        if self._closed:
            return
        self._closed = True
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(grace):
                await self.flush()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        pending = len(self._outbox) + self._inflight
        if pending:
            log.warning("publisher closed with %d unsent message(s)", pending)
        await self._client.aclose()

    async def _flush_forever(self) -> None:
        backoff = self.initial_backoff
        while True:
            await self._wake.wait()
            self._wake.clear()
            while len(self._outbox):
                batch = self._outbox.take(self.batch_size)
                self._inflight = len(batch)
                try:
                    refused = await self._send(batch)
                except Exception as error:
                    self._inflight = 0
                    self._outbox.give_back(batch)
                    self._retried += len(batch)
                    if isinstance(error, TRANSIENT_ERRORS):
                        self._note_outage(error)
                    else:
                        log.exception("unexpected error while publishing; will retry")
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, self.max_backoff)
                    continue
                self._inflight = 0
                self._published += len(batch) - refused
                backoff = self.initial_backoff
                self._note_recovered()
            if not len(self._outbox):
                self._idle.set()

    async def _send(self, batch: list[tuple[MessageValue, _Item]]) -> int:
        """PUBLISH the batch in one round trip; returns how many the broker refused.

        A refusal (e.g. missing permission) will not heal by retrying and would hold up every
        later message, so those are logged and counted as dropped.
        """
        async with self._client.pipeline(transaction=False) as pipe:
            for _, item in batch:
                pipe.publish(item.channel, item.payload)
            results = await pipe.execute(raise_on_error=False)
        refused = 0
        for (_, item), result in zip(batch, results, strict=True):
            if isinstance(result, Exception):
                refused += 1
                log.error("broker refused a message for %r, dropped: %s", item.channel, result)
        self._outbox.dropped += refused
        return refused

    def _note_outage(self, error: Exception) -> None:
        self._connected = False
        if self._outage_started is None:
            self._outage_started = time.monotonic()
            log.warning(
                "Redis unavailable at %s (%s); holding messages in the outbox",
                redacted(self.url),
                error,
            )

    def _note_recovered(self) -> None:
        self._connected = True
        if self._outage_started is not None:
            log.info(
                "Redis back after %.1fs; outbox pending=%d",
                time.monotonic() - self._outage_started,
                len(self._outbox),
            )
            self._outage_started = None


class TeePublisher:
    """Publishes each message to several publishers in turn (e.g. Redis and a live dashboard)."""

    def __init__(self, *publishers: Publisher) -> None:
        if not publishers:
            raise ValueError("TeePublisher needs at least one publisher")
        self.publishers = publishers

    async def publish(self, channel: str, message: Mapping[str, Any]) -> None:
        await self._each(channel, message, urgent=False)

    async def publish_urgent(self, channel: str, message: Mapping[str, Any]) -> None:
        await self._each(channel, message, urgent=True)

    async def _each(self, channel: str, message: Mapping[str, Any], *, urgent: bool) -> None:
        first_error: Exception | None = None
        for publisher in self.publishers:
            try:
                await publish_urgently(publisher, channel, message) if urgent else (
                    await publisher.publish(channel, message))
            except Exception as error:
                first_error = first_error or error
        if first_error is not None:
            raise first_error


async def publish_urgently(publisher: Publisher, channel: str, message: Mapping[str, Any]) -> None:
    """`publish_urgent` where the publisher has one, else a plain publish."""
    urgent = getattr(publisher, "publish_urgent", None)
    if urgent is not None:
        await urgent(channel, message)
    else:
        await publisher.publish(channel, message)
