"""Per-session tracking in event time, and the windows it is built on."""

from __future__ import annotations

import dataclasses
import math
import random
from collections.abc import Iterable, Sequence
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conductor.core.model import SessionSignals, Signal
from conductor.core.tracker import SessionTracker, TrackerConfig
from conductor.core.vocabulary import SignalKind
from conductor.core.windows import BucketedCounter, MultiCounter, RecentKeys

SID = "ses_3fa85f64a1b2"
T0 = 1_767_225_600.0
FLAT = TrackerConfig(small_room=0, poll_settle_s=0.0)
"""Rates over the rate window alone (no small-room blend) and polls judged at once: for tests
of de-duplication and event time, where a one-user room would otherwise be blended."""
CHAT, VOTE, REACTION = SignalKind.CHAT, SignalKind.VOTE, SignalKind.REACTION
JOIN, LEAVE, CLOSED = SignalKind.JOIN, SignalKind.LEAVE, SignalKind.POLL_CLOSED


# -- signal builders (times in seconds after T0; entry ids follow the time) ----------------------


class Feed:
    """Makes signals with fresh entry ids, as the platform's streams would."""

    def __init__(self) -> None:
        self.seq = 0

    def _entry(self, t: float) -> str:
        self.seq += 1
        return f"{round((T0 + t) * 1000)}-{self.seq}"

    def chat(
        self, t: float, user: str = "u1", msg: str | None = None, entry: str | None = None
    ) -> Signal:
        entry = entry or self._entry(t)
        return Signal(CHAT, SID, T0 + t, user, None, entry, msg or f"m-{entry}")

    def vote(
        self, t: float, user: str = "u1", poll: str = "p1", entry: str | None = None
    ) -> Signal:
        entry = entry or self._entry(t)
        return Signal(VOTE, SID, T0 + t, user, None, entry, f"{user}:{poll}", poll)

    def react(self, t: float, user: str = "u1", entry: str | None = None) -> Signal:
        return Signal(REACTION, SID, T0 + t, user, None, entry or self._entry(t))

    def join(
        self, t: float, user: str = "u1", entry: str | None = None, event: str | None = None
    ) -> Signal:
        return Signal(JOIN, SID, T0 + t, user, event, entry or self._entry(t))

    def leave(self, t: float, user: str = "u1", entry: str | None = None) -> Signal:
        return Signal(LEAVE, SID, T0 + t, user, None, entry or self._entry(t))

    def closed(self, t: float, poll: str = "p1", entry: str | None = None) -> Signal:
        return Signal(CLOSED, SID, T0 + t, None, None, entry or self._entry(t), None, poll)


@pytest.fixture
def feed() -> Feed:
    return Feed()


def run(
    signals: Iterable[Signal], now: float, config: TrackerConfig | None = None
) -> SessionSignals:
    tracker = SessionTracker(SID, config)
    for s in signals:
        tracker.apply(s)
    return tracker.advance(T0 + now)


# -- windows -------------------------------------------------------------------------------------


def test_counter_window_is_closed_on_the_right() -> None:
    c = BucketedCounter(60.0, 1.0)
    for ts in (100.0, 100.5, 101.0, 159.0, 160.0):
        c.add(ts)
    assert c.total(160.0) == 4  # (100, 160]: 100.0 is out
    assert c.total(161.0) == 2  # (101, 161]
    assert c.rate_per_min(161.0) == 2.0
    assert c.total(220.0) == 0


def test_counter_takes_late_events_inside_the_window_and_drops_older_ones() -> None:
    c = BucketedCounter(10.0, 1.0)
    c.add(50.0)
    c.add(45.0)  # late but inside (40, 50]
    c.add(40.0)  # outside: would already have expired
    assert c.total(50.0) == 2
    c.add(49.5, -1)
    assert c.total(50.0) == 1


def test_counter_forgets_everything_after_a_long_gap() -> None:
    c = BucketedCounter(5.0, 1.0)
    c.add(1.0, 3)
    c.add(1000.0)
    assert c.total(1000.0) == 1


def test_counter_read_in_the_past_sees_only_buckets_still_held() -> None:
    c = BucketedCounter(10.0, 1.0)
    for ts in (12.0, 15.0, 20.0):
        c.add(ts)
    assert c.total(15.0) == 2
    assert c.total(20.0) == 3


def test_counter_with_sub_second_buckets() -> None:
    c = BucketedCounter(0.3, 0.1)
    assert c.span_s == pytest.approx(0.3)
    c.add(1.05)
    c.add(1.25)
    assert c.total(1.3) == 2
    assert c.total(1.4) == 1


@pytest.mark.parametrize(
    ("window", "bucket"), [(0, 1), (10, 0), (-1, 1), (float("inf"), 1), (10, float("nan"))]
)
def test_counter_rejects_bad_sizes(window: float, bucket: float) -> None:
    with pytest.raises(ValueError, match="must be a positive"):
        BucketedCounter(window, bucket)


@settings(max_examples=200, deadline=None)
@given(
    times=st.lists(st.integers(0, 3000), max_size=40),
    extra=st.integers(0, 3000),
    seed=st.integers(0, 2**32),
)
def test_counter_matches_brute_force_whatever_the_order(
    times: list[int], extra: int, seed: int
) -> None:
    events = [t / 10.0 for t in times]
    random.Random(seed).shuffle(events)
    c = BucketedCounter(60.0, 1.0)
    for ts in events:
        c.add(ts)
    now = float(math.ceil(max(events, default=0.0)) + extra // 100)  # read after the last event
    assert c.total(now) == sum(1 for ts in events if now - 60 < ts <= now)


@settings(max_examples=150, deadline=None)
@given(
    events=st.lists(st.tuples(st.integers(0, 3000), st.integers(0, 2)), max_size=40),
    reads=st.lists(st.integers(0, 1000), max_size=5),
    seed=st.integers(0, 2**32),
)
def test_multi_counter_matches_brute_force_per_channel(
    events: list[tuple[int, int]], reads: list[int], seed: int
) -> None:
    shuffled = events[:]
    random.Random(seed).shuffle(shuffled)
    multi = MultiCounter(60.0, 1.0, 3)
    for t, channel in shuffled:
        multi.add(t / 10.0, channel)
    last = math.ceil(max((t for t, _ in events), default=0) / 10.0)
    for extra in sorted(reads):  # read after the last event, as the tracker does
        now = float(last + extra // 10)
        want = [
            sum(1 for t, c in events if c == channel and now - 60 < t / 10.0 <= now)
            for channel in range(3)
        ]
        assert multi.totals(now) == want


def test_multi_counter_forgets_after_a_long_gap_and_refuses_bad_sizes() -> None:
    multi = MultiCounter(10.0, 1.0, 2)
    multi.add(1.0, 0, 5)
    multi.add(2.0, 1)
    assert multi.totals(5.0) == [5, 1]
    assert multi.totals(500.0) == [0, 0]
    multi.add(500.0, 1)
    assert multi.totals(500.0) == [0, 1]
    with pytest.raises(ValueError, match="channels"):
        MultiCounter(10.0, 1.0, 0)
    with pytest.raises(ValueError, match="positive"):
        MultiCounter(0.0, 1.0, 2)


def test_recent_keys_remember_for_the_horizon_then_forget() -> None:
    keys = RecentKeys(100.0)
    assert keys.add("a", 10.0)
    assert not keys.add("a", 10.0)
    assert not keys.add("a", 109.0)
    assert "a" in keys and len(keys) == 1
    assert keys.add("b", 140.0)
    assert "a" in keys
    assert keys.add("c", 150.0)
    assert "a" not in keys  # forgotten at most 1.5 horizons on
    assert keys.add("a", 160.0)
    assert not keys.add("b", 239.0)  # b is held at least a horizon from when it was seen


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.sampled_from("abcdef"), st.integers(0, 1000)), max_size=60))
def test_recent_keys_never_forget_within_the_horizon(steps: list[tuple[str, int]]) -> None:
    keys = RecentKeys(50.0)
    last_seen: dict[str, float] = {}
    clock = 0.0
    for key, t in sorted(steps, key=lambda s: s[1]):
        clock = float(t)
        new = keys.add(key, clock)
        if key in last_seen and clock - last_seen[key] < 50.0:
            assert not new
        if new:
            last_seen[key] = clock
        if clock - last_seen.get(key, clock) >= 75.0:
            assert new


# -- de-duplication ------------------------------------------------------------------------------


def test_same_entry_is_applied_once(feed: Feed) -> None:
    tracker = SessionTracker(SID, FLAT)
    s = feed.react(1.0)
    assert tracker.apply(s)
    assert not tracker.apply(s)
    assert not tracker.apply(dataclasses.replace(s, user_id="u2"))
    assert tracker.duplicates == 2
    assert tracker.advance(T0 + 2).reactions_per_min == 1.0


def test_join_and_leave_share_the_sync_stream_ids(feed: Feed) -> None:
    tracker = SessionTracker(SID)
    assert tracker.apply(feed.join(1.0, entry="1000-0"))
    assert not tracker.apply(feed.leave(1.0, entry="1000-0"))
    assert tracker.advance(T0 + 2).connected == 1


def test_equal_entry_ids_of_different_streams_are_distinct(feed: Feed) -> None:
    tracker = SessionTracker(SID)
    assert tracker.apply(feed.join(1.0, entry="1000-0"))
    assert tracker.apply(feed.react(1.0, entry="1000-0"))
    assert tracker.apply(feed.closed(1.0, entry="1000-0"))
    assert tracker.duplicates == 0


def test_same_chat_message_under_two_entries_counts_once(feed: Feed) -> None:
    tracker = SessionTracker(SID, FLAT)
    assert tracker.apply(feed.chat(1.0, msg="msg-1"))
    assert not tracker.apply(feed.chat(1.2, msg="msg-1"))
    assert tracker.apply(feed.chat(1.3, msg="msg-2"))
    assert tracker.advance(T0 + 2).chat_per_min == 2.0


def test_a_revote_on_the_same_poll_is_not_a_new_vote(feed: Feed) -> None:
    tracker = SessionTracker(SID)
    assert tracker.apply(feed.vote(1.0, "u1", "p1"))
    assert not tracker.apply(feed.vote(5.0, "u1", "p1"))
    assert tracker.apply(feed.vote(6.0, "u1", "p2"))
    assert tracker.apply(feed.vote(6.0, "u2", "p1"))
    out = tracker.advance(T0 + 10)
    assert out.votes_per_min == 3.0
    assert tracker.duplicates == 1


def test_of_two_waiting_copies_the_earlier_is_kept(feed: Feed) -> None:
    tracker = SessionTracker(SID, FLAT)
    tracker.apply(feed.chat(70.0, msg="msg-1"))
    tracker.apply(feed.chat(10.0, msg="msg-1"))
    assert tracker.advance(T0 + 65).chat_per_min == 1.0  # the copy at 10 s
    assert tracker.pending == 0
    assert tracker.advance(T0 + 75).chat_per_min == 0.0  # ... has left the window


def test_ids_are_remembered_for_the_dedup_horizon(feed: Feed) -> None:
    tracker = SessionTracker(SID, TrackerConfig(dedup_horizon_s=100.0))
    s = feed.react(0.0, entry="1767225600000-0")
    assert tracker.apply(s)
    tracker.apply(feed.react(99.0))
    assert not tracker.apply(s)
    tracker.apply(feed.react(200.0))
    assert tracker.apply(s)  # forgotten: memory stays bounded


def test_signals_without_any_identity_are_always_applied() -> None:
    tracker = SessionTracker(SID, FLAT)
    s = Signal(REACTION, SID, T0 + 1, "u1")
    assert tracker.apply(s) and tracker.apply(s)
    assert tracker.advance(T0 + 2).reactions_per_min == 2.0


# -- event time ----------------------------------------------------------------------------------


def test_apply_only_buffers_until_advance(feed: Feed) -> None:
    tracker = SessionTracker(SID)
    tracker.advance(T0)
    tracker.apply(feed.join(1.0))
    assert tracker.pending == 1
    assert tracker.advance(T0 + 0.5).connected == 0  # not yet: its time has not come
    assert tracker.pending == 1
    assert tracker.advance(T0 + 1).connected == 1
    assert tracker.pending == 0


def test_late_signals_are_counted_and_folded_at_the_next_advance(feed: Feed) -> None:
    tracker = SessionTracker(SID, FLAT)
    tracker.apply(feed.chat(10.0))
    tracker.advance(T0 + 20)
    assert tracker.late_signals == 0
    tracker.apply(feed.chat(15.0))
    tracker.apply(feed.chat(20.0))
    tracker.apply(feed.chat(21.0))
    assert tracker.late_signals == 2
    assert tracker.advance(T0 + 25).chat_per_min == 4.0


def test_time_does_not_run_backwards(feed: Feed) -> None:
    tracker = SessionTracker(SID)
    tracker.apply(feed.chat(10.0))
    tracker.advance(T0 + 100)
    tracker.apply(feed.chat(50.0))
    out = tracker.advance(T0 + 20)  # read as T0 + 100
    assert out.chat_per_min == 1.0
    assert tracker.late_signals == 1


def test_last_signal_time_and_event_id(feed: Feed) -> None:
    tracker = SessionTracker(SID)
    assert tracker.last_signal_ts is None and tracker.event_id is None
    tracker.apply(feed.react(5.0))
    tracker.apply(feed.react(3.0))
    assert tracker.last_signal_ts == T0 + 5
    assert tracker.event_id is None
    tracker.apply(feed.join(4.0, event="evt_0a1b2c3d4e5f"))
    tracker.apply(feed.join(6.0, "u2", event="evt_other000000"))
    assert tracker.event_id == "evt_0a1b2c3d4e5f"
    assert tracker.last_signal_ts == T0 + 6


def test_idle(feed: Feed) -> None:
    tracker = SessionTracker(SID, TrackerConfig(idle_timeout_s=60.0))
    assert tracker.is_idle(T0)
    tracker.apply(feed.react(0.0))
    assert not tracker.is_idle(T0 + 60)
    assert tracker.is_idle(T0 + 61)


def test_a_signal_of_another_session_or_without_a_finite_time_is_refused(feed: Feed) -> None:
    tracker = SessionTracker(SID)
    with pytest.raises(ValueError, match="session"):
        tracker.apply(dataclasses.replace(feed.react(1.0), session_id="ses_other"))
    with pytest.raises(ValueError, match="finite"):
        tracker.apply(dataclasses.replace(feed.react(1.0), ts=float("nan")))
    with pytest.raises(ValueError, match="finite"):
        tracker.advance(float("inf"))


# -- presence ------------------------------------------------------------------------------------


def test_join_and_leave(feed: Feed) -> None:
    out = run([feed.join(1, "a"), feed.join(2, "b"), feed.leave(3, "a")], now=10)
    assert (out.connected, out.joins_per_min, out.leaves_per_min) == (1, 2.0, 1.0)


def test_a_reconnect_join_is_idempotent(feed: Feed) -> None:
    out = run([feed.join(1, "a"), feed.join(2, "a"), feed.join(3, "a")], now=10)
    assert (out.connected, out.joins_per_min) == (1, 1.0)


def test_a_leave_for_an_unknown_user_is_ignored(feed: Feed) -> None:
    out = run([feed.leave(1, "ghost"), feed.join(2, "a")], now=10)
    assert (out.connected, out.leaves_per_min) == (1, 0.0)


def test_a_second_leave_after_a_disconnect_counts_once(feed: Feed) -> None:
    out = run([feed.join(1, "a"), feed.leave(5, "a"), feed.leave(5.2, "a")], now=10)
    assert (out.connected, out.leaves_per_min) == (0, 1.0)


@pytest.mark.parametrize("action", ["chat", "vote", "react"])
def test_acting_without_a_join_counts_as_connected(feed: Feed, action: str) -> None:
    out = run([getattr(feed, action)(1, "a")], now=10)
    assert (out.connected, out.joins_per_min, out.active_users) == (1, 0.0, 1)


def test_acting_after_leaving_reconnects(feed: Feed) -> None:
    out = run([feed.join(1, "a"), feed.leave(2, "a"), feed.chat(3, "a")], now=10)
    assert out.connected == 1


def test_a_leave_keeps_the_user_in_the_active_history(feed: Feed) -> None:
    out = run([feed.join(1, "a"), feed.chat(2, "a"), feed.leave(3, "a")], now=10)
    assert (out.connected, out.active_users) == (0, 1)


def test_a_late_earlier_join_does_not_revive_a_user_who_left(feed: Feed) -> None:
    tracker = SessionTracker(SID)
    tracker.apply(feed.leave(5, "a"))
    tracker.apply(feed.join(1, "b"))
    tracker.advance(T0 + 10)
    tracker.apply(feed.join(3, "a"))  # late, and older than the leave
    assert tracker.advance(T0 + 11).connected == 1


@pytest.mark.parametrize("order", [0, 1])
def test_join_and_leave_in_the_same_millisecond_leave_the_user_gone(feed: Feed, order: int) -> None:
    pair = [feed.join(2, "a"), feed.leave(2, "a")]
    out = run(pair if order == 0 else pair[::-1], now=10)
    assert (out.connected, out.joins_per_min, out.leaves_per_min) == (0, 1.0, 1.0)


# -- rates and activity --------------------------------------------------------------------------


def test_rates_per_minute_over_the_rate_window(feed: Feed) -> None:
    signals = [feed.chat(t, f"u{t}") for t in range(1, 31)]  # 30 messages in 30 s
    signals += [feed.react(5, "u1"), feed.react(6, "u2"), feed.vote(7, "u3")]
    out = run(signals, now=40, config=FLAT)
    assert out.chat_per_min == 30.0
    assert (out.reactions_per_min, out.votes_per_min) == (2.0, 1.0)
    assert out.rate_window_s == 60.0
    config = TrackerConfig(rate_window_s=30.0, small_room=0)
    assert run(signals, now=40, config=config).chat_per_min == 2 * 20  # (10, 40]: 20 in 30 s


def test_a_silent_room_decays_to_zero(feed: Feed) -> None:
    tracker = SessionTracker(SID, FLAT)
    for t in range(10):
        tracker.apply(feed.chat(t, "a"))
    tracker.apply(feed.join(1, "b"))
    tracker.apply(feed.leave(2, "b"))
    assert tracker.advance(T0 + 10).chat_per_min == 10.0
    assert tracker.advance(T0 + 65).chat_per_min == 4.0  # (5, 65]: the messages at 6..9 s
    out = tracker.advance(T0 + 200)
    rates = (
        out.chat_per_min,
        out.reactions_per_min,
        out.votes_per_min,
        out.joins_per_min,
        out.leaves_per_min,
    )
    assert rates == (0.0, 0.0, 0.0, 0.0, 0.0)
    assert (out.active_users, out.recent_actions, out.recent_leaves) == (0, 0, 0)


def test_active_users_over_the_activity_window(feed: Feed) -> None:
    signals = [feed.chat(0, "a"), feed.vote(50, "b"), feed.react(100, "c"), feed.react(101, "c")]
    signals += [feed.join(100, "d")]  # connected, but not active
    assert run(signals, now=110).active_users == 3
    assert run(signals, now=120).active_users == 2  # a acted at 0 s: outside (0, 120]
    assert run(signals, now=169).active_users == 2
    assert run(signals, now=170).active_users == 1  # b voted at 50 s: outside (50, 170]
    assert run(signals, now=220).active_users == 1
    assert run(signals, now=221).active_users == 0


def test_repeated_activity_keeps_a_user_active_from_the_latest(feed: Feed) -> None:
    tracker = SessionTracker(SID)
    for t in (0, 30, 60, 90):
        tracker.apply(feed.chat(t, "a"))
    assert tracker.advance(T0 + 100).active_users == 1
    assert tracker.advance(T0 + 209).active_users == 1
    assert tracker.advance(T0 + 210).active_users == 0


def test_recent_counts_for_sudden_change(feed: Feed) -> None:
    signals = [feed.chat(1, "a"), feed.react(10, "b"), feed.vote(16, "c"), feed.chat(20, "d")]
    signals += [feed.join(2, "e"), feed.leave(18, "e")]
    out = run(signals, now=20)
    # (5, 20]: the reaction and the chat at 20 s; the vote does not count (votes come in bursts)
    assert (out.recent_actions, out.recent_leaves, out.recent_window_s) == (2, 1, 15.0)
    assert run(signals, now=40).recent_actions == 0


def test_votes_alone_leave_the_recent_actions_at_zero(feed: Feed) -> None:
    out = run([feed.vote(t, f"u{t}") for t in range(1, 11)], now=10)
    assert (out.recent_actions, out.votes_per_min) == (0, 10.0)


# -- small rooms ----------------------------------------------------------------------------------

SMALL = TrackerConfig(rate_window_s=30.0, small_room=50, long_window_s=120.0, long_bucket_s=5.0)


def _busy_then_quiet(feed: Feed, people: int) -> list[Signal]:
    """`people` joined; 60 chat messages and 30 reactions over the first 60 s, nothing after."""
    signals = [feed.join(0.5, f"p{i}") for i in range(people)]
    signals += [feed.chat(1 + t, f"p{t % people}") for t in range(60)]
    signals += [feed.react(1 + 2 * t, f"p{t % people}") for t in range(30)]
    return signals


def test_a_small_room_blends_its_rates_with_the_long_window(feed: Feed) -> None:
    out = run(_busy_then_quiet(feed, 10), now=90, config=SMALL)
    # (60, 90] holds nothing; (0, 120] holds everything: 60 chat and 30 reactions in 120 s.
    short = 10 / 50
    assert out.chat_per_min == pytest.approx((1 - short) * 60 * 60 / 120)
    assert out.reactions_per_min == pytest.approx((1 - short) * 30 * 60 / 120)
    assert out.rate_window_s == pytest.approx(short * 30 + (1 - short) * 120)


def test_a_room_of_small_room_size_or_more_uses_the_rate_window_alone(feed: Feed) -> None:
    out = run(_busy_then_quiet(feed, 50), now=90, config=SMALL)
    assert (out.chat_per_min, out.reactions_per_min, out.rate_window_s) == (0.0, 0.0, 30.0)


@settings(max_examples=50, deadline=None)
@given(people=st.integers(1, 80))
def test_the_blend_moves_smoothly_with_the_room_size(people: int) -> None:
    feed = Feed()
    out = run(_busy_then_quiet(feed, people), now=90, config=SMALL)
    share_long = max(0.0, 1 - people / 50)
    assert out.chat_per_min == pytest.approx(share_long * 30.0)
    assert 30.0 <= out.rate_window_s <= 120.0
    assert out.rate_window_s == pytest.approx(30.0 + share_long * 90.0)


# -- polls ---------------------------------------------------------------------------------------


def test_no_poll_no_participation(feed: Feed) -> None:
    out = run([feed.join(1, "a"), feed.chat(2, "a")], now=10)
    assert (out.poll_participation, out.active_poll_id) == (None, None)


def test_participation_is_voters_over_connected(feed: Feed) -> None:
    signals = [feed.join(1, u) for u in "abcd"]
    signals += [feed.vote(5, "a", "p1"), feed.vote(6, "b", "p1"), feed.vote(7, "b", "p1")]
    out = run(signals, now=10, config=FLAT)
    assert (out.poll_participation, out.active_poll_id) == (0.5, "p1")


def test_participation_is_reported_once_the_poll_has_settled(feed: Feed) -> None:
    tracker = SessionTracker(SID, TrackerConfig(poll_settle_s=20.0))
    for u in "abcd":
        tracker.apply(feed.join(1, u))
    tracker.apply(feed.vote(5, "a", "p1"))
    out = tracker.advance(T0 + 24)  # the first vote is 19 s old: the share is still climbing
    assert (out.active_poll_id, out.poll_participation) == ("p1", None)
    tracker.apply(feed.vote(24.5, "b", "p1"))
    out = tracker.advance(T0 + 25)
    assert (out.active_poll_id, out.poll_participation) == ("p1", 0.5)


def test_the_latest_poll_is_the_active_one_and_closing_resets(feed: Feed) -> None:
    tracker = SessionTracker(SID, FLAT)
    for u in "abcd":
        tracker.apply(feed.join(1, u))
    tracker.apply(feed.vote(5, "a", "p1"))
    tracker.apply(feed.vote(20, "a", "p2"))
    tracker.apply(feed.vote(21, "b", "p2"))
    tracker.apply(feed.vote(22, "c", "p1"))  # a late vote on the older poll
    out = tracker.advance(T0 + 30)
    assert (out.active_poll_id, out.poll_participation) == ("p2", 0.5)
    tracker.apply(feed.closed(31, "p2"))
    out = tracker.advance(T0 + 32)
    assert (out.active_poll_id, out.poll_participation) == ("p1", 0.5)
    tracker.apply(feed.closed(33, "p1"))
    out = tracker.advance(T0 + 34)
    assert (out.active_poll_id, out.poll_participation) == (None, None)
    tracker.apply(feed.vote(35, "d", "p1"))  # a closed poll stays closed
    assert tracker.advance(T0 + 36).poll_participation is None


def test_participation_is_clipped_to_one(feed: Feed) -> None:
    signals = [feed.vote(1, u, "p1") for u in "abc"] + [feed.leave(5, "a"), feed.leave(5, "b")]
    signals += [feed.join(1, "z"), feed.leave(6, "z")]
    out = run(signals, now=10, config=FLAT)
    assert out.connected == 1
    assert out.poll_participation == 1.0


def test_participation_with_nobody_connected_is_zero(feed: Feed) -> None:
    out = run([feed.vote(1, "a", "p1"), feed.leave(2, "a")], now=10, config=FLAT)
    assert (out.connected, out.poll_participation, out.active_poll_id) == (0, 0.0, "p1")


def test_a_poll_closed_before_its_votes_arrive_stays_closed(feed: Feed) -> None:
    tracker = SessionTracker(SID)
    tracker.apply(feed.closed(10, "p1"))
    tracker.advance(T0 + 10)
    tracker.apply(feed.vote(5, "a", "p1"))
    out = tracker.advance(T0 + 11)
    assert (out.active_poll_id, out.votes_per_min) == (None, 1.0)


# -- configuration -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "overrides",
    [
        {"rate_window_s": 0},
        {"bucket_s": -1},
        {"dedup_horizon_s": float("nan")},
        {"bucket_s": 200},
        {"idle_timeout_s": 0},
        {"poll_settle_s": -1},
        {"small_room": -1},
        {"long_window_s": 0},
        {"long_bucket_s": 500},
    ],
)
def test_bad_configs_are_refused(overrides: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        TrackerConfig(**overrides)


# -- properties ----------------------------------------------------------------------------------

USERS = ["u0", "u1", "u2", "u3", "u4"]
POLLS = ["p0", "p1", "p2"]
KINDS = [CHAT, VOTE, REACTION, JOIN, LEAVE, CLOSED]
_RANK = {JOIN: 0, CHAT: 1, REACTION: 1, VOTE: 1, CLOSED: 2, LEAVE: 3}


@st.composite
def signal_sets(draw: st.DrawFn, max_size: int = 30, unique_votes: bool = False) -> list[Signal]:
    """Distinct platform actions over ~4 minutes; votes may repeat (revotes) unless told not to."""
    n = draw(st.integers(0, max_size))
    out: list[Signal] = []
    voted: set[tuple[str, str]] = set()
    for i in range(n):
        kind = draw(st.sampled_from(KINDS))
        ms = draw(st.integers(0, 240_000))
        user = draw(st.sampled_from(USERS))
        poll = draw(st.sampled_from(POLLS))
        entry = f"{round(T0 * 1000) + ms}-{i}"
        ts = T0 + ms / 1000
        if kind is VOTE:
            if unique_votes and (user, poll) in voted:
                continue
            voted.add((user, poll))
            out.append(Signal(VOTE, SID, ts, user, None, entry, f"{user}:{poll}", poll))
        elif kind is CHAT:
            out.append(Signal(CHAT, SID, ts, user, None, entry, f"msg-{i}"))
        elif kind is CLOSED:
            out.append(Signal(CLOSED, SID, ts, None, None, entry, None, poll))
        else:
            out.append(Signal(kind, SID, ts, user, None, entry))
    return out


NOWS = [30, 60, 90, 130, 180, 240, 300, 400]


def advance_all(tracker: SessionTracker, nows: Sequence[int] = NOWS) -> list[SessionSignals]:
    return [tracker.advance(T0 + n) for n in nows]


def apply_all(signals: Iterable[Signal], config: TrackerConfig | None = None) -> SessionTracker:
    tracker = SessionTracker(SID, config)
    for s in signals:
        tracker.apply(s)
    return tracker


@settings(max_examples=150, deadline=None)
@given(signals=signal_sets(), seed=st.integers(0, 2**32))
def test_any_arrival_order_before_an_advance_gives_the_same_result(
    signals: list[Signal], seed: int
) -> None:
    shuffled = signals[:]
    random.Random(seed).shuffle(shuffled)
    a, b = apply_all(signals), apply_all(shuffled)
    assert advance_all(a) == advance_all(b)
    assert a.duplicates == b.duplicates


@settings(max_examples=150, deadline=None)
@given(
    signals=signal_sets(),
    copies=st.lists(st.integers(1, 4), min_size=30, max_size=30),
    seed=st.integers(0, 2**32),
)
def test_duplicates_change_nothing(signals: list[Signal], copies: list[int], seed: int) -> None:
    repeated = [s for s, k in zip(signals, copies, strict=False) for _ in range(k)]
    random.Random(seed).shuffle(repeated)
    once, many = apply_all(signals), apply_all(repeated)
    assert advance_all(once) == advance_all(many)
    assert many.duplicates - once.duplicates == len(repeated) - len(signals)


@settings(max_examples=150, deadline=None)
@given(
    signals=signal_sets(max_size=40),
    cuts=st.lists(st.integers(0, 300), max_size=6),
    seed=st.integers(0, 2**32),
)
def test_values_stay_in_range(signals: list[Signal], cuts: list[int], seed: int) -> None:
    random.Random(seed).shuffle(signals)
    tracker = SessionTracker(SID)
    bounds = sorted(
        random.Random(seed).sample(range(len(signals) + 1), k=min(len(cuts), len(signals) + 1))
    )
    start = 0
    for bound, now in zip([*bounds, len(signals)], [*sorted(cuts), 400], strict=False):
        for s in signals[start:bound]:
            tracker.apply(s)
        start = bound
        out = tracker.advance(T0 + now)
        assert out.connected >= 0 and out.active_users >= 0
        assert out.active_users <= len(USERS) and out.connected <= len(USERS)
        rates = (
            out.chat_per_min,
            out.reactions_per_min,
            out.votes_per_min,
            out.joins_per_min,
            out.leaves_per_min,
        )
        assert all(r >= 0 for r in rates)
        assert out.recent_actions >= 0 and out.recent_leaves >= 0
        assert out.poll_participation is None or 0.0 <= out.poll_participation <= 1.0
        # An open poll may not have settled yet; a share without a poll never happens.
        assert out.poll_participation is None or out.active_poll_id is not None


@settings(max_examples=150, deadline=None)
@given(signals=signal_sets(), tick=st.sampled_from([1, 5, 7]), seed=st.integers(0, 2**32))
def test_backlog_replay_equals_living_through_it(
    signals: list[Signal], tick: int, seed: int
) -> None:
    rng = random.Random(seed)
    ticks = [T0 + t for t in range(tick, 300, tick)]
    live = SessionTracker(SID)
    lived: list[SessionSignals] = []
    arrived: list[Signal] = []
    previous = -float("inf")
    for now in ticks:
        batch = [s for s in signals if previous < s.ts <= now]
        rng.shuffle(batch)  # arrival order within a tick is anyone's guess
        for s in batch:
            live.apply(s)
        arrived += batch
        lived.append(live.advance(now))
        previous = now
    backlog = apply_all(arrived)
    assert [backlog.advance(now) for now in ticks] == lived
    assert live.late_signals == 0


@settings(max_examples=150, deadline=None)
@given(
    signals=signal_sets(unique_votes=True),
    cuts=st.lists(st.integers(0, 240), max_size=8),
    seed=st.integers(0, 2**32),
)
def test_late_arrivals_end_in_the_same_state(
    signals: list[Signal], cuts: list[int], seed: int
) -> None:
    """Signals arriving in any order across advances reach the same room state as a backlog.
    (Join and leave rates count changes of presence as folded, so they may differ.)"""
    rng = random.Random(seed)
    shuffled = signals[:]
    rng.shuffle(shuffled)
    tracker = SessionTracker(SID)
    for i, s in enumerate(shuffled):
        if i < len(cuts):
            tracker.advance(T0 + cuts[i])
        tracker.apply(s)
    end = 250
    got, want = tracker.advance(T0 + end), apply_all(signals).advance(T0 + end)
    for name in (
        "connected",
        "active_users",
        "chat_per_min",
        "reactions_per_min",
        "votes_per_min",
        "recent_actions",
        "poll_participation",
        "active_poll_id",
    ):
        assert getattr(got, name) == getattr(want, name), name


def oracle(signals: Sequence[Signal], now: float, config: TrackerConfig) -> SessionSignals:
    """What the tracker should report, from first principles: de-duplicate (keeping the earliest
    copy), replay in event-time order, count what falls in each window `(now - w, now]`."""
    best: dict[tuple[str, str], Signal] = {}
    family = {JOIN: "sync", LEAVE: "sync"}
    for s in signals:
        ident = (family.get(s.kind, s.kind.value), s.key if s.key is not None else f"@{s.entry_id}")
        held = best.get(ident)
        if held is None or (s.ts, s.entry_id or "") < (held.ts, held.entry_id or ""):
            best[ident] = s
    folded = sorted((s for s in best.values() if s.ts <= now), key=lambda s: (s.ts, _RANK[s.kind]))
    connected: set[str] = set()
    joins: list[float] = []
    leaves: list[float] = []
    last_action: dict[str, float] = {}
    first_vote: dict[str, float] = {}
    voters: dict[str, set[str]] = {}
    closed: set[str] = set()
    for s in folded:
        user = s.user_id or ""
        if s.kind is JOIN and user not in connected:
            connected.add(user)
            joins.append(s.ts)
        elif s.kind is LEAVE and user in connected:
            connected.discard(user)
            leaves.append(s.ts)
        elif s.kind in (CHAT, VOTE, REACTION):
            connected.add(user)
            last_action[user] = s.ts
            if s.kind is VOTE and s.poll_id not in closed:
                assert s.poll_id is not None
                first_vote.setdefault(s.poll_id, s.ts)
                voters.setdefault(s.poll_id, set()).add(user)
        elif s.kind is CLOSED:
            assert s.poll_id is not None
            closed.add(s.poll_id)
            first_vote.pop(s.poll_id, None)

    def within(times: Iterable[float], window: float) -> int:
        return sum(1 for t in times if now - window < t <= now)

    def times_of(*kinds: SignalKind) -> list[float]:
        return [s.ts for s in folded if s.kind in kinds]

    def within_long(times: Iterable[float]) -> int:
        # The long window is whole buckets: the bucket holding `now` and those before it.
        width = config.long_bucket_s
        head = math.ceil(now / width)
        buckets = math.ceil(config.long_window_s / width)
        return sum(1 for t in times if head - buckets < math.ceil(t / width) and t <= now)

    rate = 60.0 / config.rate_window_s
    poll = max(first_vote, key=lambda p: (first_vote[p], p), default=None)
    participation = None
    if poll is not None and now - first_vote[poll] >= config.poll_settle_s:
        participation = min(1.0, len(voters[poll]) / len(connected)) if connected else 0.0
    active = within(last_action.values(), config.activity_window_s)
    chat = within(times_of(CHAT), config.rate_window_s) * rate
    reactions = within(times_of(REACTION), config.rate_window_s) * rate
    window = config.rate_window_s
    room = max(len(connected), active)
    if room < config.small_room:  # blend in the long window, the more the smaller the room
        short = room / config.small_room
        long_span = math.ceil(config.long_window_s / config.long_bucket_s) * config.long_bucket_s
        long_rate = 60.0 / long_span
        chat = short * chat + (1.0 - short) * within_long(times_of(CHAT)) * long_rate
        reactions = short * reactions + (1.0 - short) * within_long(times_of(REACTION)) * long_rate
        window = short * window + (1.0 - short) * long_span
    return SessionSignals(
        connected=len(connected),
        active_users=active,
        chat_per_min=chat,
        reactions_per_min=reactions,
        votes_per_min=within(times_of(VOTE), config.rate_window_s) * rate,
        joins_per_min=within(joins, config.rate_window_s) * rate,
        leaves_per_min=within(leaves, config.rate_window_s) * rate,
        poll_participation=participation,
        active_poll_id=poll,
        recent_actions=within(times_of(CHAT, REACTION), config.recent_window_s),
        recent_leaves=within(leaves, config.recent_window_s),
        recent_window_s=config.recent_window_s,
        rate_window_s=window,
    )


@settings(max_examples=200, deadline=None)
@given(signals=signal_sets(max_size=40), seed=st.integers(0, 2**32))
def test_tracker_agrees_with_a_first_principles_model(signals: list[Signal], seed: int) -> None:
    config = TrackerConfig(rate_window_s=60.0, activity_window_s=120.0, recent_window_s=15.0)
    shuffled = signals[:]
    random.Random(seed).shuffle(shuffled)
    tracker = apply_all(shuffled, config)
    for n in NOWS:
        assert tracker.advance(T0 + n) == oracle(signals, T0 + n, config), n
