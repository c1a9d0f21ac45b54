"""Anomaly detection for one session, tick by tick, in event time.

The detector keeps a short history of the tracker's raw counts, one slot per
`recent_window_s` (the engine sets it to the tick): chat messages and reactions, people in the
room, people leaving. It stores running totals, every slot of the last minute and one point
every 30 s up to ten minutes back, so any window is two look-ups. Each anomaly type reads the
windows that move first when its condition starts, per person in the room, so people arriving
or leaving do not look like activity changing:

- SUDDEN_DROP: a cumulative-sum (CUSUM) test on each slot's count against the rate of the
  minutes just before. Evidence builds up slot by slot and comes fast where counts are large:
  a keynote's drop shows within a tick or two, a ten-person seminar needs a longer silence.
- MASS_EXIT: people who left within the last 15, 30 or 60 s, as a share of the recent peak.
- LOW_ENGAGEMENT: the score under an absolute floor for long enough not to be noise, or about
  to be there: near the floor while chat and reactions have all but stopped.
- GRADUAL_DECLINE: chat and reactions per person at the end of the last few minutes well
  below their level before, beyond Poisson noise and a room's natural ebb and flow, and falling
  in turn through the minutes in between: a slope, not a step.

An alert opens an episode of its type: one alert per episode plus one escalation from WARNING
to CRITICAL at most. An episode closes once its measure has recovered for a while; drops and
declines that last `rebaseline_after_s` close too, and the new level is the room's normal from
then on. A drop that begins inside a decline already raised is the decline's, not a new alert.
The score baseline (the `expected` of alerts) follows the session while no activity
episode is open. Nothing fires before `warmup_s` of session time. The thresholds were set on
the simulator's scenarios; docs/detection.md gives the measured recall, delays and false alarms.
"""

from __future__ import annotations

import math
from array import array
from dataclasses import dataclass
from itertools import pairwise

from conductor.core.model import Anomaly, Engagement
from conductor.core.vocabulary import AnomalyType, Severity

_DROP = AnomalyType.SUDDEN_DROP
_EXIT = AnomalyType.MASS_EXIT
_LOW = AnomalyType.LOW_ENGAGEMENT
_DECLINE = AnomalyType.GRADUAL_DECLINE

_Totals = tuple[int, int, int, int]
"""Running totals after a slot: actions, audience (people summed over slots), leaves, and the
slot number they were taken at."""
_ZERO: _Totals = (0, 0, 0, 0)


@dataclass(frozen=True, slots=True)
class DetectorConfig:
    warmup_s: float = 90.0
    min_audience: int = 3
    fine_history_s: float = 60.0
    """History kept slot by slot; older windows start on a `coarse_step_s` boundary."""
    coarse_step_s: float = 30.0
    coarse_history_s: float = 600.0
    score_half_life_s: float = 150.0
    rebaseline_after_s: float = 600.0

    drop_to: float = 0.25
    """SUDDEN_DROP is a CUSUM for activity falling to this share of its reference: each slot
    adds `k ln(drop_to) + (1 - drop_to) * expected` (the log-likelihood ratio of that against
    no change, for `k` events where `expected` were due); the sum, floored at 0, must reach
    `drop_threshold`. A slot with more than ~54 % of its expected events counts against."""
    drop_threshold: float = 7.5
    """A steady room reaches it by chance at least e^7.5 slots apart on average (Lorden's
    bound: 1,800 slots, 2.5 h of 5 s slots); with the reference's own noise and delivery
    hiccups, measured on the simulator and on plain Poisson rooms, about 0.1-0.2 false drops
    an hour. At 8 a 100-person room's drop often took one slot longer to show."""
    drop_max_run_s: float = 120.0
    """A drop is sudden: evidence that takes longer than this to build up starts over against
    the room as it is now (a slow slide is a GRADUAL_DECLINE)."""
    drop_reference_s: tuple[float, ...] = (60.0, 120.0, 180.0, 240.0)
    """The period before each slot it is compared with: the shortest one holding
    `drop_reference_events` (a quiet room needs longer); frozen while the sum is above 0."""
    drop_reference_events: float = 100.0
    drop_min_reference_events: float = 15.0
    """With fewer events than this even in the longest reference, a room is too quiet to tell."""
    drop_critical_ratio: float = 0.3
    drop_recover_ratio: float = 0.75
    drop_recover_s: float = 30.0

    exit_windows_s: tuple[float, ...] = (15.0, 30.0, 60.0)
    """People leaving within each of these count; the one with the largest share speaks."""
    exit_share_warning: float = 0.08
    exit_share_critical: float = 0.25
    exit_min_leavers: int = 3
    exit_peak_window_s: float = 300.0
    exit_calm_s: float = 120.0

    low_warning: float = 0.25
    low_critical: float = 0.15
    low_sustain_s: float = 10.0
    low_evidence_person_s: float = 600.0
    """Once the room has gone quieter than it was, the score must stay under the floor for
    this many person-seconds (at least `low_sustain_s`, at most `low_max_sustain_s`): a
    keynote for 10 s, a ten-person room for a minute."""
    low_max_sustain_s: float = 60.0
    low_fallen_ratio: float = 0.6
    """The room has gone quieter when chat and reactions per person in its last minute are
    under this share of the three minutes before."""
    low_persistent_s: float = 180.0
    """A room under the floor that has not gone quieter (quiet all along, or a noisy score in a
    small room) must stay there this long."""
    low_recover_margin: float = 0.1
    low_recover_s: float = 60.0
    low_lookahead_margin: float = 0.2
    """A score this close above the floor counts as low when chat and reactions have collapsed
    under `low_collapse_ratio` of the minutes before: the windows have not caught up, the room
    has."""
    low_collapse_ratio: float = 0.2
    low_collapse_windows_s: tuple[float, ...] = (5.0, 10.0, 15.0, 30.0, 60.0, 120.0)
    """Tried shortest first, until one would hold 40 events."""
    low_collapse_reference_s: float = 180.0
    low_collapse_false_alarms_per_hour: float = 0.02
    """A window of W seconds tested every tick gives about 3600 / W independent chances an
    hour, so its p-value (binomial, given the events of window and reference) must be under
    this times W / 3600."""

    decline_every_s: float = 10.0
    """A slow measure: checked every this many seconds."""
    decline_recent_s: tuple[float, ...] = (60.0, 90.0, 120.0, 180.0)
    """The end of the slope: the shortest of these that would hold `decline_recent_events` at
    the reference rate (a small room needs longer to tell)."""
    decline_recent_events: float = 50.0
    decline_spans_s: tuple[float, ...] = (120.0, 180.0, 240.0, 300.0, 360.0)
    """How long ago the slope may have started; the reference is the period before that."""
    decline_reference_s: float = 180.0
    decline_min_drop: float = 0.25
    decline_critical_drop: float = 0.5
    decline_noise: float = 0.12
    """A room's natural ebb and flow: the sd of the log ratio of its activity in two periods
    minutes apart, on top of the counts' Poisson noise."""
    decline_min_z: float = 3.25
    """How many standard errors (Poisson and natural) the end must be below the reference."""
    decline_max_step: float = 0.7
    """No step between the reference, the two halves of the middle and the end may make more
    than this share of the whole fall (in log terms)."""
    decline_min_step: float = 0.1
    decline_recover_s: float = 90.0
    decline_after_step_s: float = 30.0
    """A SUDDEN_DROP that showed within this long of its start, in a room that was not already
    sliding (its last minute before at least `decline_before_step` of the three minutes before
    that), was a step: while it is open, and after it, a decline is measured only from after
    it. So is a mass exit."""
    decline_before_step: float = 0.85

    def __post_init__(self) -> None:
        if not 0.0 < self.drop_to < 1.0:
            raise ValueError("drop_to must be between 0 and 1")
        if self.drop_threshold <= 0:
            raise ValueError("drop_threshold must be > 0")
        for name in ("fine_history_s", "coarse_step_s", "coarse_history_s", "decline_every_s"):
            value = getattr(self, name)
            if not (value > 0 and math.isfinite(value)):
                raise ValueError(f"{name} must be a positive, finite number of seconds")
        longest = (
            max(self.decline_spans_s, default=0.0) + self.decline_reference_s + self.coarse_step_s
        )
        if longest > self.coarse_history_s:
            raise ValueError("decline spans plus their reference must fit in coarse_history_s")
        if not self.exit_windows_s or not self.drop_reference_s:
            raise ValueError("exit_windows_s and drop_reference_s must not be empty")
        if max(self.drop_reference_s) + self.drop_max_run_s > self.coarse_history_s:
            raise ValueError("drop references must fit in coarse_history_s")


def poisson_lower_tail(k: int, mean: float) -> float:
    """P(X <= k) for X ~ Poisson(mean): how surprising so few events are."""
    if mean <= 0.0:
        return 1.0
    if k < 0:
        return 0.0
    if mean > 60.0:
        z = (k + 0.5 - mean) / math.sqrt(mean)
        return 0.5 * math.erfc(-z / math.sqrt(2.0))
    term = math.exp(-mean)
    total = term
    for i in range(1, k + 1):
        term *= mean / i
        total += term
    return min(1.0, total)


def binomial_lower_tail(k: int, n: int, p: float) -> float:
    """P(X <= k) for X ~ Binomial(n, p), exactly.

    Given the events of a window and of its reference together, the window's share is
    binomial when both have the same rate: the test that counts the reference's own noise.
    Summed from k outwards, away from the mean, where the terms fall geometrically.
    """
    if k < 0:
        return 0.0
    if k >= n or p <= 0.0:
        return 1.0
    if p >= 1.0:
        return 0.0
    q = 1.0 - p
    upper = k >= n * p  # sum the far side, above k, and take the complement
    j = k + 1 if upper else k
    log_term = (
        math.lgamma(n + 1)
        - math.lgamma(j + 1)
        - math.lgamma(n - j + 1)
        + j * math.log(p)
        + (n - j) * math.log(q)
    )
    term = math.exp(log_term)
    total = term
    if upper:
        while j < n and term > total * 1e-15:
            term *= (n - j) * p / ((j + 1) * q)
            total += term
            j += 1
        return max(0.0, 1.0 - total)
    while j > 0 and term > total * 1e-15:
        term *= j * q / ((n - j + 1) * p)
        total += term
        j -= 1
    return min(1.0, total)


class _History:
    """Running totals of actions, audience (people summed over slots) and leaves.

    The totals after each of the last `fine_n - 1` slots are kept, and after every `group`-th
    slot further back, in two fixed rings: a window reaching past the fine part starts at the
    nearest kept boundary before it.
    """

    __slots__ = ("coarse", "coarse_n", "fine", "fine_n", "group", "n", "slot_s", "totals")

    def __init__(self, slot_s: float, fine_s: float, step_s: float, coarse_s: float) -> None:
        self.slot_s = slot_s
        self.fine_n = math.ceil(fine_s / slot_s - 1e-9) + 1
        self.group = max(1, round(step_s / slot_s))
        self.coarse_n = math.ceil(coarse_s / (self.group * slot_s) - 1e-9) + 1
        self.fine = array("q", bytes(24 * self.fine_n))
        self.coarse = array("q", bytes(24 * self.coarse_n))
        self.n = 0
        """Slots recorded."""
        self.totals: _Totals = _ZERO

    def push(self, actions: int, audience: int, leaves: int) -> None:
        k, a, left, n = self.totals
        k += actions
        a += audience
        left += leaves
        n += 1
        self.n = n
        self.totals = (k, a, left, n)
        i = 3 * (n % self.fine_n)
        fine = self.fine
        fine[i] = k
        fine[i + 1] = a
        fine[i + 2] = left
        if n % self.group == 0:
            j = 3 * ((n // self.group) % self.coarse_n)
            coarse = self.coarse
            coarse[j] = k
            coarse[j + 1] = a
            coarse[j + 2] = left

    def at(self, b: int) -> _Totals | None:
        """Totals after slot `b`, or after the nearest kept boundary before it; None when that
        is older than the history or before the first slot."""
        if b <= 0:
            return _ZERO if b == 0 else None
        n = self.n
        if b > n - self.fine_n:
            i = 3 * (b % self.fine_n)
            fine = self.fine
            return fine[i], fine[i + 1], fine[i + 2], b
        g = self.group
        c = b // g
        if c == 0:
            return _ZERO
        if c <= n // g - self.coarse_n:
            return None
        j = 3 * (c % self.coarse_n)
        coarse = self.coarse
        return coarse[j], coarse[j + 1], coarse[j + 2], c * g


@dataclass(slots=True)
class _Episode:
    started: float
    severity: Severity
    raised: float = 0.0
    """When the first alert went out."""
    step: bool = False
    """A drop that was a step (see `AnomalyDetector._was_step`)."""
    calm_since: float | None = None
    reference: float = 0.0
    """Actions per person-slot a drop or decline is measured against."""


class _Cusum:
    """One-sided CUSUM of Poisson log-likelihood ratios, with its current run's counts."""

    __slots__ = ("expected", "observed", "reference", "started", "sum")

    def __init__(self) -> None:
        self.sum = 0.0
        self.reference = 0.0
        """Actions per person-slot expected; frozen while the sum is above 0."""
        self.started = 0.0
        self.observed = 0
        self.expected = 0.0

    def add(self, observed: int, expected: float, to: float, start: float, cap: float) -> None:
        step = observed * math.log(to) + (1.0 - to) * expected
        if self.sum <= 0.0:
            if step <= 0.0:
                return
            self.started, self.observed, self.expected = start, 0, 0.0
        self.sum = min(self.sum + step, cap)
        if self.sum <= 0.0:
            self.sum = 0.0
            return
        self.observed += observed
        self.expected += expected

    def reset(self) -> None:
        self.sum = 0.0


def _pct(x: float) -> str:
    return f"{x * 100:.0f} %"


class AnomalyDetector:
    """Per-session detector: feed every tick's engagement, get the alerts that start now."""

    __slots__ = (
        "_collapse_plan",
        "_drop",
        "_episodes",
        "_exit_plan",
        "_first_ts",
        "_history",
        "_last_slot_ts",
        "_low_needed",
        "_low_since",
        "_normal_from",
        "_peaks",
        "_score_base",
        "_score_ts",
        "config",
    )

    def __init__(self, config: DetectorConfig | None = None) -> None:
        self.config = config or DetectorConfig()
        self._first_ts: float | None = None
        self._history: _History | None = None
        self._collapse_plan: tuple[int, ...] = ()
        self._exit_plan: tuple[int, ...] = (1,)
        """Exit windows in slots, longest last."""
        self._drop = _Cusum()
        self._normal_from = 0
        """First slot of the room's current normal, set when a decline, a mass exit or a step
        ends: declines and drops are measured against nothing older."""
        self._last_slot_ts = -math.inf
        self._peaks = array("i")
        """Most people connected per coarse step, for the recent peak audience."""
        self._score_base: float | None = None
        self._score_ts = 0.0
        self._low_since: float | None = None
        self._low_needed: float | None = None
        """How long this stretch under the floor must last (see `_low_sustain`)."""
        self._episodes: dict[AnomalyType, _Episode] = {}

    @property
    def open_episodes(self) -> dict[AnomalyType, Severity]:
        return {t: e.severity for t, e in self._episodes.items()}

    @property
    def baseline(self) -> float | None:
        """The score the session usually has (what alerts call `expected`)."""
        return self._score_base

    def update(self, e: Engagement) -> list[Anomaly]:
        c = self.config
        s = e.signals
        if self._first_ts is None:
            self._first_ts = e.ts
        audience = max(s.connected, s.active_users)
        fresh = self._record(e, audience)

        alerts: list[Anomaly] = []
        if (
            e.ts - self._first_ts >= c.warmup_s
            and audience >= c.min_audience
            and self._score_base is not None
        ):
            if fresh:
                self._expire(e)
                alert = self._sudden_drop(e, audience)
                if alert is not None:
                    alerts.append(alert)
                alert = self._mass_exit(e)
                if alert is not None:
                    alerts.append(alert)
            alert = self._low(e, audience)
            if alert is not None:
                alerts.append(alert)
            if fresh:
                alert = self._decline(e)
                if alert is not None:
                    alerts.append(alert)
        self._learn_score(e)
        return alerts

    # -- history and baselines ---------------------------------------------------------------

    def _record(self, e: Engagement, audience: int) -> bool:
        """Add this tick's counts as a slot; False when the tick falls inside the last slot
        (ticks closer together than the tracker's recent window)."""
        s = e.signals
        window = s.recent_window_s
        if window <= 0 or e.ts < self._last_slot_ts + window - 1e-6:
            return False
        history = self._history
        if history is None or history.slot_s != window:
            history = self._start_history(window)
        self._last_slot_ts = e.ts
        history.push(s.recent_actions, audience, s.recent_leaves)
        peaks = self._peaks
        step = (history.n - 1) // history.group
        i = step % len(peaks)
        if (history.n - 1) % history.group == 0 or s.connected > peaks[i]:
            peaks[i] = s.connected
        return True

    def _start_history(self, window: float) -> _History:
        c = self.config
        history = self._history = _History(
            window, c.fine_history_s, c.coarse_step_s, c.coarse_history_s
        )
        steps = max(1, math.ceil(c.exit_peak_window_s / (history.group * window) - 1e-9))
        self._peaks = array("i", bytes(4 * steps))
        self._collapse_plan = tuple(max(1, round(w / window)) for w in c.low_collapse_windows_s)
        self._exit_plan = tuple(sorted(max(1, round(w / window)) for w in c.exit_windows_s))
        self._drop.reset()
        self._normal_from = 0
        return history

    def _learn_score(self, e: Engagement) -> None:
        """The usual score: exponentially weighted, frozen while activity is in trouble."""
        if self._score_base is None:
            self._score_base, self._score_ts = e.score, e.ts
            return
        step = max(0.0, e.ts - self._score_ts)
        self._score_ts = e.ts
        episodes = self._episodes
        if episodes and (_DROP in episodes or _DECLINE in episodes or _LOW in episodes):
            return
        elapsed = e.ts - (self._first_ts or e.ts)
        half_life = min(self.config.score_half_life_s, max(15.0, elapsed / 2))
        self._score_base += (1.0 - 0.5 ** (step / half_life)) * (e.score - self._score_base)

    def _rate(self, back: int, length: int) -> tuple[int, int, float] | None:
        """(actions, audience, seconds) of the `length` slots ending `back` slots ago."""
        history = self._history
        if history is None:
            return None
        end = history.at(history.n - back)
        start = history.at(history.n - back - length)
        if end is None or start is None or end[3] <= start[3]:
            return None
        return end[0] - start[0], end[1] - start[1], (end[3] - start[3]) * history.slot_s

    # -- episodes ----------------------------------------------------------------------------

    def _would_raise(self, kind: AnomalyType, severity: Severity) -> bool:
        """An alert is due: no episode of its kind yet, or an escalation to CRITICAL."""
        episode = self._episodes.get(kind)
        if episode is None:
            return True
        episode.calm_since = None
        return episode.severity is Severity.WARNING and severity is Severity.CRITICAL

    def _raise(
        self,
        kind: AnomalyType,
        severity: Severity,
        e: Engagement,
        expected: float,
        deviation: float,
        explanation: str,
        started: float,
        reference: float = 0.0,
    ) -> Anomaly:
        episode = self._episodes.get(kind)
        if episode is None:
            episode = self._episodes[kind] = _Episode(
                started, severity, raised=e.ts, reference=reference
            )
            if kind is _DROP:
                episode.step = self._was_step(e, started)
        else:
            episode.severity = severity
            episode.calm_since = None
        return Anomaly(
            session_id=e.session_id,
            event_id=e.event_id,
            ts=e.ts,
            type=kind,
            severity=severity,
            current=round(e.score, 4),
            expected=round(expected, 4),
            deviation=round(max(0.0, deviation), 4),
            explanation=explanation,
            started_at=episode.started,
        )

    def _calm(self, kind: AnomalyType, now: float, needed_s: float) -> None:
        episode = self._episodes.get(kind)
        if episode is None:
            return
        if episode.calm_since is None:
            episode.calm_since = now
        elif now - episode.calm_since >= needed_s:
            self._close(kind)

    def _not_calm(self, kind: AnomalyType) -> None:
        episode = self._episodes.get(kind)
        if episode is not None:
            episode.calm_since = None

    def _close(self, kind: AnomalyType) -> None:
        """End an episode: a new drop or decline is measured against the room as it is now."""
        episode = self._episodes.pop(kind)
        if kind is _DROP:
            self._drop.reset()
        if self._history is not None and self._explains_decline(kind, episode):
            self._normal_from = self._history.n
            self._drop.reset()  # a run under way was measured against the old normal

    @staticmethod
    def _explains_decline(kind: AnomalyType, episode: _Episode) -> bool:
        """Whether an episode accounts for the fall up to its start, so that a decline must be
        a further slide: a decline itself, a mass exit, or a drop that was a step (see
        `DetectorConfig.decline_after_step_s`). A drop that took long to show, as in a small
        room, or came in a room already sliding, may be the steep part of a slope; low
        engagement says where a room is, not how it got there."""
        return kind is _EXIT or kind is _DECLINE or (kind is _DROP and episode.step)

    def _was_step(self, e: Engagement, started: float) -> bool:
        """A drop that showed at once in a room that was not already sliding."""
        c = self.config
        history = self._history
        if history is None or e.ts - started > c.decline_after_step_s:
            return False
        back = max(0, round((e.ts - started) / history.slot_s))
        minute = max(1, round(60.0 / history.slot_s))
        before = self._rate(back, minute)
        earlier = self._rate(back + minute, 3 * minute)
        if before is None or earlier is None or earlier[0] <= 0 or before[1] <= 0:
            return True
        ratio = (before[0] / before[1]) / (earlier[0] / earlier[1])
        return ratio >= c.decline_before_step

    def _expire(self, e: Engagement) -> None:
        """A drop or decline that has lasted `rebaseline_after_s` is the room's new normal."""
        episodes = self._episodes
        if not episodes:
            return
        for kind in (_DROP, _DECLINE):
            episode = episodes.get(kind)
            if episode is not None and e.ts - episode.started >= self.config.rebaseline_after_s:
                self._close(kind)

    def _recovered(self, kind: AnomalyType, e: Engagement, share: float, needed_s: float) -> None:
        """Close a drop or decline once activity is back to `share` of its reference, judged
        over the last slots that would hold 10 events at that rate (a minute at most)."""
        episode = self._episodes.get(kind)
        history = self._history
        if episode is None or history is None:
            return
        s = e.signals
        per_slot = episode.reference * max(s.connected, s.active_users)
        longest = max(1, round(60.0 / history.slot_s))
        length = longest if per_slot <= 0.0 else min(longest, math.ceil(10.0 / per_slot))
        got = self._rate(0, length)
        if got is None:
            return
        if got[0] >= share * episode.reference * got[1]:
            self._calm(kind, e.ts, needed_s)
        else:
            self._not_calm(kind)

    # -- one method per anomaly type ---------------------------------------------------------

    def _activity_test(
        self, length: int, reference: int
    ) -> tuple[int, float, float, float, float] | None:
        """The last `length` slots against the `reference` slots before them:
        (observed, expected, ratio, p, seconds), or None without enough history."""
        now = self._rate(0, length)
        before = self._rate(length, reference)
        if now is None or before is None:
            return None
        k, a, seconds = now
        k_ref, a_ref, _ = before
        if a <= 0 or a_ref <= 0 or k_ref <= 0:
            return None
        expected = k_ref * a / a_ref
        ratio = k / expected
        return k, expected, ratio, binomial_lower_tail(k, k + k_ref, a / (a + a_ref)), seconds

    def _drop_reference(self) -> float | None:
        """Actions per person-slot before the newest slot, over the shortest reference period
        holding enough events; None when even the longest is too quiet to tell."""
        history = self._history
        assert history is not None
        c = self.config
        end = history.at(history.n - 1)
        if end is None:
            return None
        got: _Totals | None = None
        for seconds in c.drop_reference_s:
            back = history.n - 1 - max(1, round(seconds / history.slot_s))
            start = history.at(back) if back >= self._normal_from else None
            if start is None:
                break
            got = start
            if end[0] - start[0] >= c.drop_reference_events:
                break
        if got is None:
            return None
        events, people = end[0] - got[0], end[1] - got[1]
        if events < c.drop_min_reference_events or people <= 0:
            return None
        return events / people

    def _sudden_drop(self, e: Engagement, audience: int) -> Anomaly | None:
        c = self.config
        kind = _DROP
        if kind in self._episodes:
            self._recovered(kind, e, c.drop_recover_ratio, c.drop_recover_s)
        s = e.signals
        cusum = self._drop
        if 0.0 < cusum.sum < c.drop_threshold and e.ts - cusum.started > c.drop_max_run_s:
            cusum.reset()
        if cusum.sum <= 0.0:
            reference = self._drop_reference()
            if reference is None:
                return None
            cusum.reference = reference
        cusum.add(
            s.recent_actions,
            cusum.reference * audience,
            c.drop_to,
            e.ts - s.recent_window_s,
            c.drop_threshold,
        )
        if cusum.sum < c.drop_threshold or cusum.expected <= 0.0:
            return None
        decline = self._episodes.get(_DECLINE)
        if decline is not None and decline.raised < cusum.started and kind not in self._episodes:
            # The organiser was told the room is sliding before this fall began: it is the
            # decline's (which escalates on its own), not news of another kind.
            cusum.reset()
            return None
        ratio = cusum.observed / cusum.expected
        severity = Severity.CRITICAL if ratio <= c.drop_critical_ratio else Severity.WARNING
        if not self._would_raise(kind, severity):
            return None
        seconds = e.ts - cusum.started
        per_min = 60.0 / seconds
        return self._raise(
            kind,
            severity,
            e,
            expected=self._score_base or e.score,
            deviation=1.0 - ratio,
            explanation=(
                f"Chat and reactions fell to {cusum.observed * per_min:.0f}/min over the last "
                f"{seconds:.0f} s, from {cusum.expected * per_min:.0f}/min before "
                f"for {audience} people ({_pct(1.0 - ratio)} below)."
            ),
            started=cusum.started,
            reference=cusum.reference,
        )

    def _mass_exit(self, e: Engagement) -> Anomaly | None:
        c = self.config
        s = e.signals
        kind = _EXIT
        history = self._history
        assert history is not None
        left = history.totals[2]
        windows = self._exit_plan
        oldest = history.at(history.n - windows[-1]) or _ZERO
        if left - oldest[2] < c.exit_min_leavers:  # the usual case: hardly anyone left
            self._calm(kind, e.ts, c.exit_calm_s)
            return None
        peak = max(max(self._peaks), s.connected)
        worst: tuple[float, int, float] = (0.0, 0, 0.0)  # share, leavers, seconds
        for length in windows:
            start = history.at(history.n - length) or _ZERO
            leavers = left - start[2]
            share = leavers / peak if peak > 0 else 0.0
            if share > worst[0]:
                worst = (share, leavers, (history.n - start[3]) * history.slot_s)
        share, leavers, seconds = worst
        if leavers < c.exit_min_leavers or share < c.exit_share_warning:
            if share < c.exit_share_warning / 2 or leavers < c.exit_min_leavers:
                self._calm(kind, e.ts, c.exit_calm_s)
            return None
        severity = Severity.CRITICAL if share >= c.exit_share_critical else Severity.WARNING
        if not self._would_raise(kind, severity):
            return None
        return self._raise(
            kind,
            severity,
            e,
            expected=self._score_base or e.score,
            deviation=share,
            explanation=(
                f"{leavers} people left in the last {seconds:.0f} s: {_pct(share)} of the "
                f"{peak} who were here; {s.connected} remain."
            ),
            started=e.ts - seconds,
        )

    def _collapsed(self) -> tuple[float, float] | None:
        """(share of the minutes before, seconds) when chat and reactions have all but stopped:
        the first window, shortest first, significantly under `low_collapse_ratio`."""
        c = self.config
        history = self._history
        if history is None:
            return None
        reference = max(1, round(c.low_collapse_reference_s / history.slot_s))
        for length in self._collapse_plan:
            test = self._activity_test(length, reference)
            if test is None:
                return None
            _, expected, ratio, p, seconds = test
            if expected < 4.0:
                continue
            limit = c.low_collapse_false_alarms_per_hour * seconds / 3600.0
            if ratio <= c.low_collapse_ratio and p < limit:
                return ratio, seconds
            if expected >= 40.0:
                return None
        return None

    def _low_sustain(self, audience: int) -> float:
        """How long the score must stay under the floor: shortest in a big room that has just
        gone quieter, longest in a room that has been this quiet all along."""
        c = self.config
        history = self._history
        if history is not None:
            minute = max(1, round(60.0 / history.slot_s))
            test = self._activity_test(minute, 3 * minute)
            if test is not None and test[2] <= c.low_fallen_ratio:
                needed = c.low_evidence_person_s / max(1, audience)
                return min(c.low_max_sustain_s, max(c.low_sustain_s, needed))
        return c.low_persistent_s

    def _low(self, e: Engagement, audience: int) -> Anomaly | None:
        c = self.config
        kind = _LOW
        floor = c.low_warning
        score = e.score
        collapsed = None
        if floor <= score < floor + c.low_lookahead_margin and kind not in self._episodes:
            collapsed = self._collapsed()
        if score >= floor and collapsed is None:
            self._low_since = None
            if score >= floor + c.low_recover_margin:
                self._calm(kind, e.ts, c.low_recover_s)
            return None
        self._not_calm(kind)
        if self._low_since is None:
            self._low_since, self._low_needed = e.ts, None
        severity = Severity.CRITICAL if score < c.low_critical else Severity.WARNING
        if not self._would_raise(kind, severity):
            return None
        low_for = e.ts - self._low_since
        if collapsed is None and low_for < c.low_persistent_s:
            if low_for < c.low_sustain_s:
                return None
            # Whether the room has gone quieter is judged once, then every 30 s while not.
            needed = self._low_needed
            if needed is None or (needed >= c.low_persistent_s and low_for % 30.0 < 5.0):
                needed = self._low_needed = self._low_sustain(audience)
            if low_for < needed:
                return None
        weakest = sorted(
            (comp for comp in e.components if comp.weight > 0), key=lambda comp: comp.value
        )[:2]
        names = " and ".join(f"{comp.name} ({comp.value:.2f})" for comp in weakest)
        if collapsed is not None:
            share, seconds = collapsed
            explanation = (
                f"Engagement is {score:.2f} and heading under the {floor:.2f} floor: chat "
                f"and reactions in the last {seconds:.0f} s are {_pct(share)} of the minutes "
                f"before; weakest: {names}."
            )
        else:
            explanation = (
                f"Engagement has stayed at {score:.2f}, under the {floor:.2f} floor, "
                f"for {low_for:.0f} s; weakest: {names}."
            )
        return self._raise(
            kind,
            severity,
            e,
            expected=floor,
            deviation=(floor - score) / floor,
            explanation=explanation,
            started=self._low_since,
        )

    def _decline(self, e: Engagement) -> Anomaly | None:
        c = self.config
        kind = _DECLINE
        history = self._history
        assert history is not None
        slot = history.slot_s
        if kind in self._episodes:
            self._recovered(kind, e, 1.0 - c.decline_min_drop / 2, c.decline_recover_s)
        if history.n % max(1, round(c.decline_every_s / slot)):
            return None
        reference = max(1, round(c.decline_reference_s / slot))
        since = self._normal_from
        for other in (_DROP, _EXIT):
            episode = self._episodes.get(other)
            if episode is not None and self._explains_decline(other, episode):
                since = max(since, history.n - round((e.ts - episode.started) / slot))
        best: tuple[float, float, float, float, float, float] | None = None
        for span_s in c.decline_spans_s:
            span = max(2, round(span_s / slot))
            if history.n - span - reference < since:
                break
            before = self._rate(span, reference)
            if before is None:
                break
            k_ref, a_ref, _ = before
            if k_ref <= 0 or a_ref <= 0:
                continue
            ref_rate = k_ref / a_ref
            late = None
            recent = 1
            for late_s in c.decline_recent_s:
                length = round(late_s / slot)
                if length >= span:
                    break
                recent, late = length, self._rate(0, length)
                if late is None or ref_rate * late[1] >= c.decline_recent_events:
                    break
            if late is None or late[1] <= 0:
                continue
            k_late, a_late, late_seconds = late
            late_ratio = (k_late + 0.5) / a_late / ref_rate
            drop = 1.0 - late_ratio
            if drop < c.decline_min_drop:
                continue
            se = math.sqrt(1.0 / (k_late + 0.5) + 1.0 / k_ref + c.decline_noise**2)
            z = math.log(late_ratio) / se
            if z > -c.decline_min_z or (best is not None and z >= best[0]):
                continue
            # A slope, not a step: from the reference through the two halves of the middle to
            # the end, no single step makes most of the fall.
            half = (span - recent) // 2
            early = self._rate(recent + half, span - recent - half)
            middle = self._rate(recent, half)
            if early is None or middle is None or early[1] <= 0 or middle[1] <= 0:
                continue
            levels = (
                1.0,
                (early[0] + 0.5) / early[1] / ref_rate,
                (middle[0] + 0.5) / middle[1] / ref_rate,
                late_ratio,
            )
            fall = -math.log(late_ratio)
            steps = [math.log(a / b) for a, b in pairwise(levels)]
            if max(steps) > c.decline_max_step * fall or min(steps) < c.decline_min_step * fall:
                continue
            mid_ratio = (early[0] + middle[0] + 1.0) / (early[1] + middle[1]) / ref_rate
            best = (z, drop, span * slot, mid_ratio, ref_rate, late_seconds)
        if best is None:
            return None
        _, drop, seconds, mid_ratio, ref_rate, late_seconds = best
        severity = Severity.CRITICAL if drop >= c.decline_critical_drop else Severity.WARNING
        if not self._would_raise(kind, severity):
            return None
        per_min = 60.0 / slot
        return self._raise(
            kind,
            severity,
            e,
            expected=self._score_base or e.score,
            deviation=drop,
            explanation=(
                f"Chat and reactions per person have been falling steadily for "
                f"{seconds / 60:.0f} min: {ref_rate * per_min:.2f}/min before, "
                f"{ref_rate * mid_ratio * per_min:.2f} since, "
                f"{ref_rate * (1 - drop) * per_min:.2f} in the last {late_seconds:.0f} s "
                f"({_pct(drop)} down)."
            ),
            started=e.ts - seconds,
            reference=ref_rate,
        )
