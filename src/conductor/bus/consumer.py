"""The platform's Redis Streams, read through a consumer group with at-least-once delivery.

An entry is acknowledged only after the caller applied it, so a crash redelivers instead of
losing: on start this consumer first re-reads its own unacknowledged entries (a previous life
under the same name), then claims entries that dead consumers left pending, then reads new
ones; the claim sweep repeats every `claim_idle_ms` so a peer that dies later is covered too.

Redis going away never raises into the caller's loop: `read` backs off and returns an empty
batch, acks and dead letters are retried later, and a group lost in a restart without
persistence is recreated.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from redis.exceptions import ResponseError

from conductor.bus.connection import TRANSIENT_ERRORS, connect, redacted

log = logging.getLogger(__name__)

DEFAULT_GROUP = "engagement-conductor"
DEAD_LETTER_STREAM = "conductor.dead-letters.v1"

Entry = tuple[str, str, Mapping[str, Any] | str]
"""(stream, entry id, data): the `data` field as text, or all fields when it has none."""


_GROUP_GONE = ("NOGROUP", "UNBLOCKED")


@dataclass(slots=True, frozen=True)
class ConsumerStats:
    read: int
    """Entries handed to the caller (redeliveries included)."""
    acked: int
    dead_lettered: int
    claimed: int
    """Entries taken over from other consumers' pending lists."""
    reconnects: int
    """Outages recovered from."""
    errors: int
    """Failed broker calls (connection errors and refusals)."""
    groups_recreated: int
    buffered: int
    """Entries fetched and delivered to this consumer but not yet handed to the caller."""
    connected: bool


def default_consumer_name() -> str:
    """Unique per process; pass a stable name instead to re-read a previous life's entries."""
    return f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"


def _id_key(entry_id: str) -> tuple[int, int]:
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq or 0)


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "surrogateescape") if isinstance(value, bytes) else value


def _is_group_gone(error: ResponseError) -> bool:
    return str(error).startswith(_GROUP_GONE)


class StreamConsumer:
    def __init__(
        self,
        redis_url: str,
        streams: Sequence[str],
        group: str = DEFAULT_GROUP,
        consumer: str | None = None,
        batch_size: int = 500,
        block_ms: int = 1000,
        dead_letter_stream: str = DEAD_LETTER_STREAM,
        claim_idle_ms: int = 60_000,
        *,
        dead_letter_maxlen: int = 100_000,
        initial_backoff: float = 0.1,
        max_backoff: float = 5.0,
        connect_timeout: float = 2.0,
    ) -> None:
        if not streams:
            raise ValueError("StreamConsumer needs at least one stream")
        if len(set(streams)) != len(streams):
            raise ValueError(f"duplicate streams in {list(streams)}")
        if batch_size < 1 or block_ms < 0 or claim_idle_ms < 0:
            raise ValueError("batch_size must be >= 1, block_ms and claim_idle_ms >= 0")
        self.redis_url = redis_url
        self.streams = tuple(streams)
        self.group = group
        self.consumer = consumer or default_consumer_name()
        self.batch_size = batch_size
        self.block_ms = block_ms
        self.dead_letter_stream = dead_letter_stream
        self.dead_letter_maxlen = dead_letter_maxlen
        self.claim_idle_ms = claim_idle_ms
        self.initial_backoff = initial_backoff
        self.max_backoff = max_backoff
        self._client = connect(
            redis_url,
            connect_timeout=connect_timeout,
            read_timeout=block_ms / 1000 + max(connect_timeout, 5.0),
        )
        self._started = False
        self._needs_groups = True
        self._buffer: deque[Entry] = deque()
        self._history: dict[str, str] = {}
        """Streams whose own pending list is still being re-read, with the last id seen."""
        self._claiming: dict[str, str] = {}
        """Streams with a claim sweep under way, with the XAUTOCLAIM cursor."""
        self._next_sweep = 0.0
        self._last_seen: dict[str, str] = {}
        self._unacked: dict[str, set[str]] = {}
        self._dead_pending: deque[tuple[str, str, str, str | None]] = deque()
        self._backoff = initial_backoff
        self._outage_started: float | None = None
        self._read = self._acked = self._dead_lettered = self._claimed = 0
        self._reconnects = self._errors = self._groups_recreated = 0

    def stats(self) -> ConsumerStats:
        return ConsumerStats(
            read=self._read,
            acked=self._acked,
            dead_lettered=self._dead_lettered,
            claimed=self._claimed,
            reconnects=self._reconnects,
            errors=self._errors,
            groups_recreated=self._groups_recreated,
            buffered=len(self._buffer),
            connected=self._outage_started is None,
        )

    async def start(self) -> None:
        """Create the groups (from the start of each stream) and queue the recovery reads.

        A broker that is away now is not an error: `read` finishes the setup once it is back.
        """
        self._started = True
        self._history = dict.fromkeys(self.streams, "0")
        self._claiming = {}
        self._next_sweep = 0.0
        try:
            await self._ensure_groups(start_id=lambda _stream: "0")
        except TRANSIENT_ERRORS as error:
            self._note_outage(error)
            return
        self._needs_groups = False
        self._note_ok()

    async def read(self) -> list[Entry]:
        """Up to `batch_size` entries, oldest first; waits at most about `block_ms`."""
        if not self._started:
            raise RuntimeError("call start() before read()")
        if not self._buffer:
            try:
                await self._retry_deferred()
                if self._needs_groups:
                    await self._ensure_groups(start_id=lambda _stream: "0")
                    self._needs_groups = False
                fetched = await self._fetch_recovering()
            except TRANSIENT_ERRORS as error:
                self._note_outage(error)
                # A reply lost in the outage may have delivered entries to us: re-read our
                # pending list once the broker is back instead of waiting for the claim sweep.
                self._history = dict.fromkeys(self.streams, "0")
                await self._sleep_backoff()
                return []
            except ResponseError as error:
                self._errors += 1
                log.error("stream read refused by Redis: %s", error)
                await self._sleep_backoff()
                return []
            self._note_ok()
            fetched.sort(key=lambda entry: _id_key(entry[1]))
            self._buffer.extend(fetched)
        batch = [self._buffer.popleft() for _ in range(min(self.batch_size, len(self._buffer)))]
        self._read += len(batch)
        return batch

    async def ack(self, items: Sequence[tuple[str, str]]) -> None:
        """Acknowledge applied entries; retried later if Redis is away (never raises for it)."""
        by_stream: dict[str, set[str]] = {}
        for stream, entry_id in items:
            by_stream.setdefault(stream, set()).add(entry_id)
        try:
            await self._xack(by_stream)
        except TRANSIENT_ERRORS as error:
            self._defer_acks(by_stream)
            self._note_outage(error)

    async def dead_letter(self, stream: str, entry_id: str, reason: str, raw: str | None) -> None:
        """Keep an entry that cannot be applied for a person to inspect, and stop redelivering it.

        Fields: `stream`, `entry_id`, `reason`, and `raw` (absent when there was no text).
        """
        try:
            await self._xadd_dead_letter(stream, entry_id, reason, raw)
        except TRANSIENT_ERRORS as error:
            self._dead_pending.append((stream, entry_id, reason, raw))
            self._note_outage(error)

    async def close(self) -> None:
        """Best effort to deliver deferred acks and dead letters, then disconnect."""
        try:
            await self._retry_deferred()
        except Exception as error:  # best effort: closing must not fail
            unsent = sum(map(len, self._unacked.values())) + len(self._dead_pending)
            log.warning("closing with %d deferred ack(s)/dead letter(s) unsent: %s", unsent, error)
        await self._client.aclose()

    # --- fetching ---------------------------------------------------------------------------

    async def _fetch_recovering(self) -> list[Entry]:
        try:
            return await self._fetch()
        except ResponseError as error:
            if not _is_group_gone(error):
                raise
            log.warning("consumer group %r vanished (%s); recreating it", self.group, error)
            await self._recreate_groups()
            return await self._fetch()

    async def _fetch(self) -> list[Entry]:
        if self._history:
            entries = await self._read_history()
            if entries:
                return entries
        now = time.monotonic()
        if not self._claiming and not self._history and now >= self._next_sweep:
            self._claiming = dict.fromkeys(self.streams, "0-0")
            self._next_sweep = now + max(self.claim_idle_ms, 1000) / 1000
        if self._claiming:
            entries = await self._claim_page()
            if entries:
                return entries
        block = None if self._claiming or self._history else (self.block_ms or None)
        live: dict[Any, Any] = dict.fromkeys(self.streams, ">")
        response: Any = await self._client.xreadgroup(
            self.group,
            self.consumer,
            live,
            count=self.batch_size,
            block=block,
        )
        return self._entries(response)

    async def _read_history(self) -> list[Entry]:
        """This consumer name's delivered-but-unacknowledged entries, oldest first."""
        streams: dict[Any, Any] = dict(self._history)
        response: Any = await self._client.xreadgroup(
            self.group, self.consumer, streams, count=self.batch_size
        )
        got = {_text(stream): items for stream, items in response or []}
        for stream in list(self._history):
            items = got.get(stream) or []
            if items:
                self._history[stream] = _text(items[-1][0])
            else:
                del self._history[stream]
        return self._entries(response)

    async def _claim_page(self) -> list[Entry]:
        """One XAUTOCLAIM page per stream: entries idle longer than `claim_idle_ms`."""
        entries: list[Entry] = []
        for stream, cursor in list(self._claiming.items()):
            reply: Any = await self._client.xautoclaim(
                stream,
                self.group,
                self.consumer,
                self.claim_idle_ms,
                start_id=cursor,
                count=self.batch_size,
            )
            next_cursor, claimed = _text(reply[0]), reply[1]
            if next_cursor == "0-0":
                del self._claiming[stream]
            else:
                self._claiming[stream] = next_cursor
            found = self._entries([(stream, claimed)])
            self._claimed += len(found)
            entries.extend(found)
        return entries

    def _entries(self, response: Any) -> list[Entry]:
        entries: list[Entry] = []
        for raw_stream, items in response or []:
            stream = _text(raw_stream)
            for raw_id, fields in items:
                entry_id = _text(raw_id)
                self._see(stream, entry_id)
                if not fields:
                    # Deleted from the stream while pending: nothing to apply, just release it.
                    self._unacked.setdefault(stream, set()).add(entry_id)
                    continue
                data = fields.get(b"data")
                if data is not None:
                    entries.append((stream, entry_id, _text(data)))
                else:
                    decoded = {_text(k): _text(v) for k, v in fields.items()}
                    entries.append((stream, entry_id, decoded))
        return entries

    def _see(self, stream: str, entry_id: str) -> None:
        last = self._last_seen.get(stream)
        if last is None or _id_key(entry_id) > _id_key(last):
            self._last_seen[stream] = entry_id

    # --- groups -----------------------------------------------------------------------------

    async def _ensure_groups(self, start_id: Callable[[str], str]) -> int:
        created = 0
        for stream in self.streams:
            try:
                await self._client.xgroup_create(
                    stream, self.group, start_id(stream), mkstream=True
                )
                created += 1
            except ResponseError as error:
                if not str(error).startswith("BUSYGROUP"):
                    raise
        return created

    async def _recreate_groups(self) -> None:
        """Recreate lost groups without replaying history the caller already saw.

        If the last entry we saw is still in the stream, the history survived (only the group
        was lost): continue after it. Otherwise the stream is new: read it from the start.
        """
        resume: dict[str, str] = {}
        for stream in self.streams:
            last = self._last_seen.get(stream)
            if last is not None and await self._client.xrange(stream, last, last, count=1):
                resume[stream] = last
        created = await self._ensure_groups(start_id=lambda stream: resume.get(stream, "0"))
        self._groups_recreated += created
        self._history.clear()
        self._claiming.clear()
        self._unacked.clear()

    # --- acks and dead letters --------------------------------------------------------------

    async def _xack(self, by_stream: Mapping[str, set[str]]) -> None:
        for stream, ids in by_stream.items():
            if not ids:
                continue
            try:
                self._acked += await self._client.xack(stream, self.group, *sorted(ids))
            except ResponseError as error:
                if not _is_group_gone(error):
                    raise
                # The group (and its pending list) is gone: nothing is left to acknowledge.

    async def _xadd_dead_letter(
        self, stream: str, entry_id: str, reason: str, raw: str | None
    ) -> None:
        fields: dict[str | bytes, str | bytes] = {
            "stream": stream,
            "entry_id": entry_id,
            "reason": reason,
        }
        if raw is not None:
            fields["raw"] = raw.encode("utf-8", "surrogateescape")
        async with self._client.pipeline(transaction=True) as pipe:
            pipe.xadd(
                self.dead_letter_stream,
                fields,  # type: ignore[arg-type]
                maxlen=self.dead_letter_maxlen,
                approximate=True,
            )
            pipe.xack(stream, self.group, entry_id)
            added, acked = await pipe.execute(raise_on_error=False)
        if isinstance(added, Exception):
            # Keeping the entry pending would only bring it back forever: log what is lost.
            self._errors += 1
            log.error(
                "dead letter for %s %s not stored (%s); reason: %s; raw: %.500r",
                stream,
                entry_id,
                added,
                reason,
                raw,
            )
        else:
            self._dead_lettered += 1
        if isinstance(acked, int):
            self._acked += acked

    def _defer_acks(self, by_stream: Mapping[str, set[str]]) -> None:
        for stream, ids in by_stream.items():
            self._unacked.setdefault(stream, set()).update(ids)

    async def _retry_deferred(self) -> None:
        if self._unacked:
            pending, self._unacked = self._unacked, {}
            try:
                await self._xack(pending)
            except BaseException:
                self._defer_acks(pending)
                raise
        while self._dead_pending:
            await self._xadd_dead_letter(*self._dead_pending[0])
            self._dead_pending.popleft()

    # --- outages ----------------------------------------------------------------------------

    def _note_outage(self, error: BaseException) -> None:
        self._errors += 1
        if self._outage_started is None:
            self._outage_started = time.monotonic()
            log.warning(
                "Redis unavailable at %s (%s); retrying with backoff",
                redacted(self.redis_url),
                error,
            )

    def _note_ok(self) -> None:
        self._backoff = self.initial_backoff
        if self._outage_started is not None:
            self._reconnects += 1
            log.info("Redis back after %.1fs", time.monotonic() - self._outage_started)
            self._outage_started = None

    async def _sleep_backoff(self) -> None:
        await asyncio.sleep(self._backoff)
        self._backoff = min(self._backoff * 2, self.max_backoff)
