"""One session's view of its attendees, kept in event time.

`apply` only de-duplicates and buffers; `advance(now)` folds the buffered signals with
`ts <= now` in timestamp order and reads the windows at `now`. Folding in event-time order is
what makes the result independent of arrival order: a backlog replayed at once and the same
signals lived through tick by tick give the same values. A signal that arrives after its time
was advanced past (late) still reaches the same room state (presence, activity, counts, polls);
only the join and leave rates, which count changes of presence as they are folded, can differ.

Per-user state sits in flat arrays indexed by a small integer per user, and the windows are
fixed rings of buckets, so a hundred-person room costs a few kilobytes, not one object per
user per structure. Remembered ids for de-duplication are the one part that grows with traffic
(bounded by `dedup_horizon_s`).
"""

from __future__ import annotations

import heapq
import math
from array import array
from dataclasses import dataclass

from conductor.core.model import SessionSignals, Signal
from conductor.core.vocabulary import SignalKind
from conductor.core.windows import BucketedCounter, MultiCounter, RecentKeys

_CHAT = SignalKind.CHAT
_VOTE = SignalKind.VOTE
_REACTION = SignalKind.REACTION
_JOIN = SignalKind.JOIN
_LEAVE = SignalKind.LEAVE
_POLL_CLOSED = SignalKind.POLL_CLOSED

# Fold order among signals with the same timestamp: arrive, act, close polls, then leave, so
# a user who joins, chats and leaves within one millisecond is counted as all three.
_RANK = {_JOIN: 0, _CHAT: 1, _REACTION: 1, _VOTE: 1, _POLL_CLOSED: 2, _LEAVE: 3}
# Identity prefixes: entry ids are per stream (join and leave share the sync stream); keys are
# per kind family. The two namespaces differ so an entry id never collides with a message id.
_ENTRY_PREFIX = {_CHAT: "c@", _VOTE: "v@", _POLL_CLOSED: "p@", _REACTION: "r@", _JOIN: "s@"}
_ENTRY_PREFIX[_LEAVE] = "s@"
_KEY_PREFIX = {_CHAT: "c#", _VOTE: "v#", _POLL_CLOSED: "p#", _REACTION: "r#", _JOIN: "s#"}
_KEY_PREFIX[_LEAVE] = "s#"
_NEVER = -math.inf
# Channels of the tracker's shared windows.
_CH_CHAT, _CH_REACTIONS, _CH_VOTES, _CH_JOINS, _CH_LEAVES = range(5)
_CH_ACTIONS, _CH_LEAVES_RECENT = range(2)


def _fold_order(signal: Signal) -> tuple[float, int]:
    return (signal.ts, _RANK[signal.kind])


@dataclass(frozen=True, slots=True)
class TrackerConfig:
    rate_window_s: float = 60.0
    """Chat, reaction, vote, join and leave per-minute rates are taken over this window."""
    activity_window_s: float = 120.0
    """A user is active if they chatted, voted or reacted within this window."""
    bucket_s: float = 1.0
    small_room: int = 50
    """Below this many people, chat and reaction rates blend in a long window (in proportion
    to how small the room is), so a seminar's rates rest on enough events to mean something."""
    long_window_s: float = 120.0
    long_bucket_s: float = 5.0
    poll_settle_s: float = 20.0
    """A poll's participation is reported once its first vote is this old: before that the
    share is still climbing (votes take a few seconds each) and says nothing about the room."""
    recent_window_s: float = 15.0
    """Raw counts of actions and leaves over this short window, for tests of sudden change."""
    dedup_horizon_s: float = 180.0
    """How long (event time) entry ids, message ids and votes are remembered."""
    idle_timeout_s: float = 900.0
    """A session with no signal for this long ends (the engine acts on it)."""

    def __post_init__(self) -> None:
        windows = ("rate_window_s", "activity_window_s", "recent_window_s")
        for name in (*windows, "bucket_s", "dedup_horizon_s"):
            value = getattr(self, name)
            if not (value > 0 and math.isfinite(value)):
                raise ValueError(f"{name} must be a positive, finite number of seconds")
        if self.bucket_s > min(getattr(self, name) for name in windows):
            raise ValueError("bucket_s must not exceed any window")
        if not self.idle_timeout_s > 0:
            raise ValueError("idle_timeout_s must be positive")
        if not (self.poll_settle_s >= 0 and math.isfinite(self.poll_settle_s)):
            raise ValueError("poll_settle_s must be a finite number of seconds >= 0")
        if self.small_room < 0:
            raise ValueError("small_room must be >= 0")
        for name in ("long_window_s", "long_bucket_s"):
            value = getattr(self, name)
            if not (value > 0 and math.isfinite(value)):
                raise ValueError(f"{name} must be a positive, finite number of seconds")
        if self.long_bucket_s > self.long_window_s:
            raise ValueError("long_bucket_s must not exceed long_window_s")


class _Poll:
    __slots__ = ("first_ts", "voters", "voters_count")

    def __init__(self, first_ts: float) -> None:
        self.first_ts = first_ts
        self.voters = bytearray()
        """One byte per user index: 1 if that user voted on this poll."""
        self.voters_count = 0


class SessionTracker:
    """Connected and active users, activity rates and poll participation of one session.

    Duplicates are applied once: the same stream entry (by id, per stream), the same chat
    message (by message id) or the same user's vote on the same poll (a revote is not a new
    vote). Signals that carry a key are identified by it, others by their entry id; a signal
    with neither is always applied. When two copies wait in the buffer together the earlier
    one is kept, so arrival order does not decide an action's time.

    Presence follows each user's latest join, leave or action in event time: an action without
    a join counts as connected (the platform may have missed the join), a repeated join changes
    nothing, and a leave for a user never seen is remembered (so a late, earlier join cannot
    revive them) but not counted. The join and leave rates count users arriving and departing,
    not raw sync messages, since a disconnect can send a second `user_leave`.
    """

    __slots__ = (
        "_act",
        "_active",
        "_active_poll",
        "_closed_polls",
        "_conn",
        "_connected",
        "_long",
        "_now",
        "_pending",
        "_pending_anon",
        "_pending_max",
        "_polls",
        "_polls_dirty",
        "_presence_ts",
        "_queue",
        "_queued",
        "_rate_scale",
        "_rates",
        "_recent",
        "_seen",
        "_user_index",
        "config",
        "duplicates",
        "event_id",
        "last_signal_ts",
        "late_signals",
        "session_id",
    )

    def __init__(self, session_id: str, config: TrackerConfig | None = None) -> None:
        config = config if config is not None else TrackerConfig()
        self.session_id = session_id
        self.config = config
        self.event_id: str | None = None
        """Learned from the first signal that carries a real event id."""
        self.last_signal_ts: float | None = None
        """The greatest event time applied (buffered or folded)."""
        self.late_signals = 0
        """Signals applied with `ts <= ` the last advanced `now` (folded at the next advance)."""
        self.duplicates = 0

        self._now: float | None = None
        self._pending: dict[str, Signal] = {}
        """Buffered signals with an identity, by identity: where a later copy finds its twin."""
        self._pending_anon = 0
        """Buffered signals without one."""
        self._queue: list[tuple[float, int, str | None, Signal]] = []
        """Every buffered signal in event-time order (a heap), so an advance takes the ready
        ones without looking at those still waiting. An entry whose identity now maps to an
        earlier copy is stale and skipped."""
        self._queued = 0
        self._pending_max = _NEVER
        self._seen = RecentKeys(config.dedup_horizon_s)

        rate_window, bucket = config.rate_window_s, config.bucket_s
        self._rates = MultiCounter(rate_window, bucket, 5)
        """Chat, reactions, votes, joins, leaves over the rate window."""
        self._long = MultiCounter(config.long_window_s, config.long_bucket_s, 2)
        """Chat and reactions over the long window, blended in for small rooms."""
        self._recent = MultiCounter(config.recent_window_s, bucket, 2)
        """Actions (chat and reactions) and leaves over the recent window, as raw counts."""
        self._rate_scale = 60.0 / self._rates.span_s
        self._active = BucketedCounter(config.activity_window_s, bucket)
        """Users by the bucket of their last action: the window's total is the active count."""

        self._user_index: dict[int, int] = {}
        """User id's hash -> index: the ids themselves need not be kept (a 64-bit collision
        between two users of one session is far less likely than a lost signal)."""
        self._presence_ts = array("d")
        """Per user: time of the latest join, leave or action folded (-inf: never seen)."""
        self._conn = bytearray()
        """Per user: 1 while connected."""
        self._act = array("d")
        """Per user: activity-window bucket of the latest chat, vote or reaction (-inf: none).
        The active count is the number of users whose bucket is still in the window."""
        self._connected = 0

        self._polls: dict[str, _Poll] = {}
        """Polls that received votes and have not closed."""
        self._closed_polls: set[str] = set()
        self._active_poll: str | None = None
        self._polls_dirty = False

    # -- input ---------------------------------------------------------------------------------

    def apply(self, signal: Signal) -> bool:
        """Buffer one signal for the next `advance`; False if it was a duplicate."""
        ts = signal.ts
        if signal.session_id != self.session_id:
            raise ValueError(
                f"signal of session {signal.session_id!r} applied to tracker of {self.session_id!r}"
            )
        if not math.isfinite(ts):
            raise ValueError(f"signal time must be finite, got {ts!r}")
        if self.event_id is None and signal.event_id is not None:
            self.event_id = signal.event_id
        last = self.last_signal_ts
        if last is None or ts > last:
            self.last_signal_ts = last = ts

        key = signal.key
        if key is not None:
            ident: str | None = _KEY_PREFIX[signal.kind] + key
        elif signal.entry_id is not None:
            ident = _ENTRY_PREFIX[signal.kind] + signal.entry_id
        else:
            ident = None

        if ident is None:
            self._pending_anon += 1
        elif self._seen.add(ident, last):
            self._pending[ident] = signal
        else:
            self.duplicates += 1
            waiting = self._pending.get(ident)
            if waiting is not None and _earlier(signal, waiting):
                self._pending[ident] = signal
                self._enqueue(ident, signal)
            return False
        self._enqueue(ident, signal)

        if ts > self._pending_max:
            self._pending_max = ts
        if self._now is not None and ts <= self._now:
            self.late_signals += 1
        return True

    @property
    def pending(self) -> int:
        """Signals buffered for a later advance."""
        return len(self._pending) + self._pending_anon

    def is_idle(self, now: float) -> bool:
        """True when no signal came within `idle_timeout_s` of `now`."""
        last = self.last_signal_ts
        return last is None or now - last > self.config.idle_timeout_s

    # -- time ----------------------------------------------------------------------------------

    def advance(self, now: float) -> SessionSignals:
        """Fold every buffered signal with `ts <= now` and read the windows at `now`.

        Time does not run backwards: a `now` before the last one is read as the last one.
        """
        if not math.isfinite(now):
            raise ValueError(f"advance needs a finite time, got {now!r}")
        if self._now is not None and now < self._now:
            now = self._now
        self._now = now
        if self._queue:
            ready = self._take_ready(now)
            if ready:
                if len(ready) > 1:
                    ready.sort(key=_fold_order)
                self._fold(ready)
        return self._read(now)

    def _enqueue(self, ident: str | None, signal: Signal) -> None:
        self._queued += 1
        heapq.heappush(self._queue, (signal.ts, self._queued, ident, signal))

    def _take_ready(self, now: float) -> list[Signal]:
        queue = self._queue
        pending = self._pending
        if self._pending_max <= now:  # the usual case: everything buffered is due
            ready = [
                entry[3] for entry in queue if entry[2] is None or pending.get(entry[2]) is entry[3]
            ]
            self._queue = []
            pending.clear()  # frees the table, which `del` would keep at its largest
            self._pending_anon = 0
            self._pending_max = _NEVER
            return ready
        ready = []
        while queue and queue[0][0] <= now:
            _, _, ident, signal = heapq.heappop(queue)
            if ident is None:
                self._pending_anon -= 1
            elif pending.get(ident) is signal:
                del pending[ident]
            else:
                continue  # a later copy of an earlier twin: already taken
            ready.append(signal)
        return ready

    def _fold(self, ready: list[Signal]) -> None:
        for signal in ready:
            kind = signal.kind
            ts = signal.ts
            user = signal.user_id
            if kind is _CHAT:
                self._rates.add(ts, _CH_CHAT)
                self._long.add(ts, _CH_CHAT)
                self._recent.add(ts, _CH_ACTIONS)
                if user is not None:
                    self._touch(self._index(user), ts)
            elif kind is _REACTION:
                self._rates.add(ts, _CH_REACTIONS)
                self._long.add(ts, _CH_REACTIONS)
                self._recent.add(ts, _CH_ACTIONS)
                if user is not None:
                    self._touch(self._index(user), ts)
            elif kind is _VOTE:
                self._rates.add(ts, _CH_VOTES)
                if user is not None:
                    index = self._index(user)
                    self._touch(index, ts)
                    if signal.poll_id is not None:
                        self._vote(signal.poll_id, index, ts)
            elif kind is _JOIN:
                if user is not None:
                    self._presence(self._index(user), ts, True)
            elif kind is _LEAVE:
                if user is not None:
                    self._presence(self._index(user), ts, False)
            elif kind is _POLL_CLOSED and signal.poll_id is not None:
                self._closed_polls.add(signal.poll_id)
                if self._polls.pop(signal.poll_id, None) is not None:
                    self._polls_dirty = True

    def _index(self, user: str) -> int:
        key = hash(user)
        index = self._user_index.get(key)
        if index is None:
            index = self._user_index[key] = len(self._conn)
            self._presence_ts.append(_NEVER)
            self._conn.append(0)
            self._act.append(_NEVER)
        return index

    def _presence(self, index: int, ts: float, join: bool) -> None:
        """A join or leave: takes effect unless the user's presence is already newer.

        At equal times a leave wins, matching the fold order (joins before leaves)."""
        seen = self._presence_ts[index]
        connected = self._conn[index]
        if ts < seen or (ts == seen and (join or not connected)):
            return
        self._presence_ts[index] = ts
        if join:
            if not connected:
                self._conn[index] = 1
                self._connected += 1
                self._rates.add(ts, _CH_JOINS)
        elif connected:
            self._conn[index] = 0
            self._connected -= 1
            self._rates.add(ts, _CH_LEAVES)
            self._recent.add(ts, _CH_LEAVES_RECENT)

    def _touch(self, index: int, ts: float) -> None:
        """A chat, vote or reaction: the user is active, and connected unless they left later."""
        if ts > self._presence_ts[index]:
            self._presence_ts[index] = ts
            if not self._conn[index]:
                self._conn[index] = 1
                self._connected += 1
        active = self._active
        bucket = active.bucket_of(ts)
        last = self._act[index]
        if bucket <= last:
            return
        self._act[index] = bucket
        if last != _NEVER:
            active.add_to_bucket(int(last), -1)
        active.add_to_bucket(bucket)

    def _vote(self, poll_id: str, index: int, ts: float) -> None:
        if poll_id in self._closed_polls:
            return
        poll = self._polls.get(poll_id)
        if poll is None:
            poll = self._polls[poll_id] = _Poll(ts)
            self._polls_dirty = True
        elif ts < poll.first_ts:
            poll.first_ts = ts
            self._polls_dirty = True
        voters = poll.voters
        if index >= len(voters):
            voters.extend(bytes(index + 1 - len(voters)))
        if not voters[index]:
            voters[index] = 1
            poll.voters_count += 1

    def _read(self, now: float) -> SessionSignals:
        scale = self._rate_scale
        connected = self._connected
        if self._polls_dirty:
            self._polls_dirty = False
            self._active_poll = max(
                self._polls, key=lambda pid: (self._polls[pid].first_ts, pid), default=None
            )
        poll_id = self._active_poll
        participation: float | None = None
        if poll_id is not None:
            poll = self._polls[poll_id]
            if now - poll.first_ts >= self.config.poll_settle_s:
                voters = poll.voters_count
                participation = min(1.0, voters / connected) if connected else 0.0
        active = self._active.total(now)
        chat_n, reactions_n, votes_n, joins_n, leaves_n = self._rates.totals(now)
        chat = chat_n * scale
        reactions = reactions_n * scale
        window = self._rates.span_s
        room = max(connected, active)
        if room < self.config.small_room:
            short = room / self.config.small_room
            long_chat, long_reactions = self._long.totals(now)
            long_scale = 60.0 / self._long.span_s
            chat = short * chat + (1.0 - short) * long_chat * long_scale
            reactions = short * reactions + (1.0 - short) * long_reactions * long_scale
            window = short * window + (1.0 - short) * self._long.span_s
        recent_actions, recent_leaves = self._recent.totals(now)
        return SessionSignals(
            connected=connected,
            active_users=active,
            chat_per_min=chat,
            reactions_per_min=reactions,
            votes_per_min=votes_n * scale,
            joins_per_min=joins_n * scale,
            leaves_per_min=leaves_n * scale,
            poll_participation=participation,
            active_poll_id=poll_id,
            recent_actions=recent_actions,
            recent_leaves=recent_leaves,
            recent_window_s=self._recent.span_s,
            rate_window_s=window,
        )


def _earlier(a: Signal, b: Signal) -> bool:
    """Of two copies of one action, which to keep: the earlier, then the smaller entry id."""
    if a.ts != b.ts:
        return a.ts < b.ts
    return (a.entry_id or "") < (b.entry_id or "")
