"""Event-time sliding windows: bucketed counters and keys remembered for a horizon.

Buckets are aligned to multiples of `bucket_s` since the epoch, so two structures fed the same
events agree bucket for bucket whatever order the events came in, as long as each event is
still inside the window when it arrives. Bucket `k` holds the events with
`(k - 1) * bucket_s < ts <= k * bucket_s`: closed on the right, so a window read at an instant
on a bucket boundary (the engine ticks on whole seconds) covers exactly `(now - window, now]`.
The counters keep a fixed amount of memory per window, not per event.
"""

from __future__ import annotations

import math
from array import array


def _check_positive(name: str, value: float) -> None:
    if not (value > 0 and math.isfinite(value)):
        raise ValueError(f"{name} must be a positive, finite number of seconds (got {value!r})")


class BucketedCounter:
    """Counts over the last `window_s` of event time, in buckets of `bucket_s`.

    The window at `now` is the bucket holding `now` and the buckets before it, `ceil(window_s /
    bucket_s)` in all. Counts go in a ring of 32-bit integers: an event older than the window
    (relative to the newest bucket seen) is dropped on arrival, because it would already have
    expired. `add` accepts negative amounts so callers can move a unit between buckets.
    """

    __slots__ = ("_counts", "_head", "_n", "_total", "bucket_s", "span_s", "window_s")

    def __init__(self, window_s: float, bucket_s: float = 1.0) -> None:
        _check_positive("bucket_s", bucket_s)
        _check_positive("window_s", window_s)
        self.window_s = float(window_s)
        self.bucket_s = float(bucket_s)
        # The small allowance keeps 0.3 / 0.1 (= 2.9999999999999996) from growing a bucket.
        self._n = max(1, math.ceil(window_s / bucket_s - 1e-9))
        self.span_s = self._n * self.bucket_s
        """The time the window actually covers: a whole number of buckets."""
        self._counts = array("i", bytes(4 * self._n))
        self._head: int | None = None
        self._total = 0

    def bucket_of(self, ts: float) -> int:
        return -int(-ts // self.bucket_s)

    def add(self, ts: float, n: int = 1) -> None:
        self.add_to_bucket(-int(-ts // self.bucket_s), n)

    def add_to_bucket(self, idx: int, n: int = 1) -> None:
        """`add` for a caller that already knows the bucket (see `bucket_of`)."""
        head = self._head
        if head is None or idx > head:
            self._roll(idx)
        elif idx <= head - self._n:
            return
        self._counts[idx % self._n] += n
        self._total += n

    def total(self, now: float) -> int:
        """The count of the window ending at `now` (moves the window forward when `now` is newer).

        For an instant before the newest bucket seen, only the buckets still held are summed.
        """
        head = self._head
        if head is None:
            return 0
        idx = -int(-now // self.bucket_s)
        if idx > head:
            self._roll(idx)
            return self._total
        if idx == head:
            return self._total
        n = self._n
        counts = self._counts
        return sum(counts[b % n] for b in range(head - n + 1, idx + 1))

    def rate_per_min(self, now: float) -> float:
        return self.total(now) * 60.0 / self.span_s

    def _roll(self, idx: int) -> None:
        """Make `idx` the newest bucket, emptying the buckets it pushes out of the window."""
        head = self._head
        n = self._n
        if head is None or idx - head >= n:
            if self._total or head is not None:
                self._counts = array("i", bytes(4 * n))
            self._total = 0
        else:
            counts = self._counts
            total = self._total
            for b in range(head + 1, idx + 1):
                j = b % n
                c = counts[j]
                if c:
                    total -= c
                    counts[j] = 0
            self._total = total
        self._head = idx


class MultiCounter:
    """Several counts over the same window, sharing one ring of buckets.

    Works like `BucketedCounter` with `channels` counts per bucket: one object, one array and
    one roll of the window for all of them, which keeps a session's trackers small and cheap to
    read. Counts are added one channel at a time and read all at once.
    """

    __slots__ = ("_counts", "_head", "_k", "_n", "_totals", "bucket_s", "channels", "span_s")

    def __init__(self, window_s: float, bucket_s: float, channels: int) -> None:
        _check_positive("bucket_s", bucket_s)
        _check_positive("window_s", window_s)
        if channels < 1:
            raise ValueError(f"channels must be >= 1, got {channels!r}")
        self.bucket_s = float(bucket_s)
        self.channels = channels
        self._k = channels
        self._n = max(1, math.ceil(window_s / bucket_s - 1e-9))
        self.span_s = self._n * self.bucket_s
        """The time the window actually covers: a whole number of buckets."""
        self._counts = array("i", bytes(4 * self._n * channels))
        self._head: int | None = None
        self._totals = [0] * channels

    def add(self, ts: float, channel: int, n: int = 1) -> None:
        idx = -int(-ts // self.bucket_s)
        head = self._head
        if head is None or idx > head:
            self._roll(idx)
        elif idx <= head - self._n:
            return  # older than the window: it would already have expired
        self._counts[(idx % self._n) * self._k + channel] += n
        self._totals[channel] += n

    def totals(self, now: float) -> list[int]:
        """Every channel's count of the window ending at `now` (moves the window forward when
        `now` is newer; before the newest bucket seen, only the buckets still held count)."""
        head = self._head
        if head is None:
            return [0] * self._k
        idx = -int(-now // self.bucket_s)
        if idx > head:
            self._roll(idx)
        if idx >= head:
            return list(self._totals)
        n, k, counts = self._n, self._k, self._counts
        out = [0] * k
        for b in range(head - n + 1, idx + 1):
            base = (b % n) * k
            for c in range(k):
                out[c] += counts[base + c]
        return out

    def _roll(self, idx: int) -> None:
        head = self._head
        n, k = self._n, self._k
        if head is None or idx - head >= n:
            if head is not None:
                self._counts = array("i", bytes(4 * n * k))
            self._totals = [0] * k
        else:
            counts, totals = self._counts, self._totals
            for b in range(head + 1, idx + 1):
                base = (b % n) * k
                for c in range(k):
                    v = counts[base + c]
                    if v:
                        totals[c] -= v
                        counts[base + c] = 0
        self._head = idx


class RecentKeys:
    """A set that remembers each key for at least `horizon_s` of event time (at most 1.5x).

    Keys live in three generations of `horizon_s / 2` each, keyed by the newest time the caller
    has reported, so forgetting costs nothing per key and a lookup is at most three set probes.
    A key is remembered from the newest time seen when it was added, which gives late arrivals
    the full horizon too. Only the keys' hashes are kept (a 64-bit collision within one
    session's horizon is far less likely than a lost entry), which halves the memory.
    """

    __slots__ = ("_gen", "_mid", "_new", "_old", "_span", "horizon_s")

    def __init__(self, horizon_s: float) -> None:
        _check_positive("horizon_s", horizon_s)
        self.horizon_s = float(horizon_s)
        self._span = self.horizon_s / 2.0
        self._gen: int | None = None
        self._new: set[int] = set()
        self._mid: set[int] = set()
        self._old: set[int] = set()

    def add(self, key: str, now: float) -> bool:
        """Remember `key`; False when it was already remembered (a duplicate)."""
        gen = int(now // self._span)
        if self._gen is None or gen > self._gen:
            self._rotate(gen)
        h = hash(key)
        if h in self._new or h in self._mid or h in self._old:
            return False
        self._new.add(h)
        return True

    def __contains__(self, key: object) -> bool:
        h = hash(key)
        return h in self._new or h in self._mid or h in self._old

    def __len__(self) -> int:
        return len(self._new) + len(self._mid) + len(self._old)

    def _rotate(self, gen: int) -> None:
        shift = 3 if self._gen is None else gen - self._gen
        if shift == 1:
            self._old = self._mid
            self._mid = self._new
            self._new = set()
        elif shift == 2:
            self._old = self._new
            self._mid = set()
            self._new = set()
        elif len(self):
            self._old = set()
            self._mid = set()
            self._new = set()
        self._gen = gen
