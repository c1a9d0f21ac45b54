"""The simulated audience of one live session: a seeded, closed-loop source of stream entries.

The model, per whole second of session time (rates are drawn as Poisson counts, then users
are picked, so a 5,000-attendee room costs no per-user work per second):

- Joining: 94 % of attendees join in the first ~2.5 minutes (triangular, mode 15 s); 6 %
  join late, spread over the session. Churn: a connected user leaves with hazard 1.5 % per
  10 minutes; a fifth of them reconnect 5-90 s later (a disconnect also sends `user_leave`).
- Activity is heavy-tailed: users fall in six tiers (`room.py`); the top 4 % write about a
  third of the chat, 30 % barely write at all. A lively room writes 0.6 messages per person
  per minute at 20 people, scaling like (n/20)^-0.35 with the room size n (people talk less
  in big rooms), and reacts about twice as often as it writes.
- Polls: the host runs one every ~6-10 minutes, open 60-90 s, then a `poll.closed` entry.
  When a poll opens, each connected user votes once with probability 0.8 x liveliness, after
  1.5 s plus an exponential delay of mean 14 s (most votes land within 30 s); a vote that
  would land after the poll closes is lost. Chat is 5 % livelier while a poll is open.
- Liveliness multiplies all activity rates: the scenario's curve (`scenarios.py`) times slow
  natural noise (log-normal Ornstein-Uhlenbeck, sd 0.10, time constant 90 s, clamped to
  [0.75, 1.3]) and lifted by interventions received (`effects.py`).
- Delivery adds the platform's imperfections (`delivery.py`); sync entries say `unknown` as
  their event id at a small rate.

Seeded: the same arguments and the same `receive` calls give identical entries. Separate
generators drive the setup, the activity, the intervention noise and the delivery, so a
different imperfection rate does not change who says what.
"""

from __future__ import annotations

import math
import random
import re
from bisect import bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from conductor.core.model import RawEntry
from conductor.core.vocabulary import AnomalyType, InterventionType
from conductor.sim import payloads
from conductor.sim.delivery import Delivery, Imperfections
from conductor.sim.effects import Effects, challenge_minutes, lifted
from conductor.sim.room import CHAT_WEIGHTS, REACTION_WEIGHTS, TIERS, Room, draw_tier
from conductor.sim.scenarios import Condition, Plan, make_plan, validate_scenario

MIN_ATTENDEES = 10
MAX_ATTENDEES = 10_000
MAX_MINUTES = 24 * 60.0

CHAT_PER_MIN_AT_20 = 0.6
SIZE_EXPONENT = -0.35
REACTIONS_PER_CHAT = 2.0
POLL_CHAT_BONUS = 1.05
VOTE_SHARE = 0.8
VOTE_MIN_DELAY = 1.5
VOTE_MEAN_DELAY = 14.0
CHURN_PER_S = 0.015 / 600.0
REJOIN_SHARE = 0.2
LATE_SHARE = 0.06
NOISE_SD = 0.10
NOISE_TAU = 90.0
NOISE_RANGE = (0.75, 1.3)
ORGANIC_FIRST = (150.0, 420.0)
ORGANIC_GAP = (300.0, 510.0)
"""Seconds from one organic poll's close to the next one's opening (6-10 min apart)."""
ORGANIC_DURATION = (60.0, 90.0)
DEFAULT_POLL_SECONDS = 60.0

_JOIN, _LEAVE, _EXIT = 0, 1, 2
_ID = re.compile(r"[A-Za-z0-9_-]{1,255}")
_ONES = (1.0,) * TIERS


@dataclass(slots=True)
class _Poll:
    id: str
    question: str
    options: list[tuple[str, str]]
    counts: list[int]
    close_at: float
    base_level: float
    """Liveliness when it opened: votes thin out if the room drops while it is open."""
    organic: bool


@dataclass(frozen=True, slots=True)
class _PollRequest:
    open_at: float
    question: str
    options: tuple[str, ...]
    duration: float
    pull: float


def _poisson(rng: random.Random, lam: float) -> int:
    if lam <= 0.0:
        return 0
    if lam < 30.0:
        limit = math.exp(-lam)
        k, p = 0, rng.random()
        while p > limit:
            k += 1
            p *= rng.random()
        return k
    return max(0, int(rng.gauss(lam, math.sqrt(lam)) + 0.5))


def _check_id(name: str, value: str | None) -> None:
    if value is not None and (not isinstance(value, str) or not _ID.fullmatch(value)):
        raise ValueError(f"{name} must be 1-255 characters of [A-Za-z0-9_-], got {value!r}")


def _poll_request(content: Mapping[str, Any]) -> tuple[str, tuple[str, ...], float]:
    """Question, options and duration of a POLL command; the platform's `poll{}` or flat."""
    inner = content.get("poll")
    source: Mapping[str, Any] = inner if isinstance(inner, Mapping) else content
    question = source.get("question", payloads.DEFAULT_AGENT_POLL[0])
    if not isinstance(question, str) or not question:
        raise ValueError(f"poll question must be a non-empty string, got {question!r}")
    options = source.get("options", payloads.DEFAULT_AGENT_POLL[1])
    if (
        isinstance(options, str)
        or not isinstance(options, Iterable)
        or not 2 <= len(options := tuple(options)) <= 10
        or not all(isinstance(o, str) and o for o in options)
    ):
        raise ValueError(f"poll options must be 2-10 non-empty strings, got {options!r}")
    duration = source.get("duration", DEFAULT_POLL_SECONDS)
    if isinstance(duration, bool) or not isinstance(duration, int | float):
        raise ValueError(f"poll duration must be a number of seconds, got {duration!r}")
    if not 0 < duration <= 3600:
        raise ValueError(f"poll duration must be in (0, 3600] seconds, got {duration!r}")
    return question, options, float(duration)


class AudienceSimulator:
    """One session's audience: call `step` to read what it did, `receive` to intervene."""

    def __init__(
        self,
        scenario: str,
        *,
        attendees: int = 200,
        minutes: float = 20.0,
        seed: int = 0,
        session_id: str | None = None,
        event_id: str | None = None,
        start: float = 1_767_225_600.0,
        onset: float | None = None,
        imperfections: Imperfections | None = None,
    ) -> None:
        validate_scenario(scenario)
        if isinstance(attendees, bool) or not isinstance(attendees, int):
            raise ValueError(f"attendees must be an integer, got {attendees!r}")
        if not MIN_ATTENDEES <= attendees <= MAX_ATTENDEES:
            raise ValueError(
                f"attendees must be in {MIN_ATTENDEES}..{MAX_ATTENDEES}, got {attendees}"
            )
        if isinstance(minutes, bool) or not isinstance(minutes, int | float):
            raise ValueError(f"minutes must be a number, got {minutes!r}")
        if not 0 < minutes <= MAX_MINUTES:
            raise ValueError(f"minutes must be in (0, {MAX_MINUTES:g}], got {minutes!r}")
        if isinstance(start, bool) or not isinstance(start, int | float):
            raise ValueError(f"start must be a number of epoch seconds, got {start!r}")
        if not (math.isfinite(start) and start >= 0):
            raise ValueError(f"start must be finite epoch seconds >= 0, got {start!r}")
        duration = float(minutes) * 60.0
        if onset is not None and not (
            isinstance(onset, int | float) and not isinstance(onset, bool) and 0 < onset < duration
        ):
            raise ValueError(f"onset must be in (0, {duration:g}) seconds, got {onset!r}")
        _check_id("session_id", session_id)
        _check_id("event_id", event_id)
        imperfections = imperfections if imperfections is not None else Imperfections()

        master = random.Random(seed)
        setup = random.Random(master.getrandbits(64))
        self._rng = random.Random(master.getrandbits(64))
        self._quirks = random.Random(master.getrandbits(64))
        effects_rng = random.Random(master.getrandbits(64))
        delivery_rng = random.Random(master.getrandbits(64))

        drawn_session, drawn_event = payloads.session_id(setup), payloads.event_id(setup)
        self.session_id: str = session_id or drawn_session
        self.event_id: str = event_id or drawn_event
        self.start: float = float(start)
        self.end: float = self.start + duration
        self._scenario = scenario
        self._seed = seed
        self._attendees = attendees
        self._minutes = float(minutes)
        self._duration = duration
        self._ticks = math.ceil(duration)
        self._next_tick = 0

        self._plan: Plan = make_plan(scenario, duration, onset, setup)
        self._levels = self._plan.levels(self._ticks)
        self._exit_tick = (
            int(self._plan.onset) if self._plan.exit_share and self._plan.onset is not None else -1
        )

        self._uid = payloads.user_ids(setup, attendees)
        self._names = [
            (setup.choice(payloads.FIRST_NAMES), setup.choice(payloads.LAST_NAMES))
            for _ in range(attendees)
        ]
        self._room = Room([draw_tier(setup) for _ in range(attendees)])
        self._sync: dict[int, list[tuple[float, int, int]]] = {}
        wave_end = min(150.0, 0.5 * duration)
        late = (wave_end, max(wave_end, 0.85 * duration))
        for user in range(attendees):
            if setup.random() < LATE_SHARE:
                at = setup.uniform(*late)
            else:
                at = setup.triangular(0.0, wave_end, min(15.0, wave_end))
            self._schedule(at, user, _JOIN)
        first_poll = setup.uniform(*ORGANIC_FIRST)
        self._next_poll: float | None = first_poll if first_poll < duration else None
        self._msg_prefix = f"msg_{setup.getrandbits(32):08x}"
        self._msg_n = 0

        self._chat_per_s = CHAT_PER_MIN_AT_20 * (attendees / 20) ** SIZE_EXPONENT / 60.0
        self._noise = 0.0
        self._noise_keep = math.exp(-1.0 / NOISE_TAU)
        self._noise_step = NOISE_SD * math.sqrt(1.0 - self._noise_keep**2)
        self._p_unknown = imperfections.unknown_event_rate
        self._effects = Effects(effects_rng, attendees)
        self._delivery = Delivery(imperfections, delivery_rng, self.end)
        self._iso = payloads.IsoClock()
        self._open: list[_Poll] = []
        self._requests: list[_PollRequest] = []
        self._votes: dict[int, list[tuple[float, int, _Poll, int]]] = {}
        self._received: list[tuple[InterventionType, float]] = []

    # ----------------------------------------------------------------- public

    @property
    def conditions(self) -> tuple[Condition, ...]:
        return tuple(
            Condition(kind, self.start + s, None if e is None else self.start + e)
            for kind, s, e in self._plan.conditions
        )

    @property
    def finished(self) -> bool:
        """True once every entry of the session has been returned by `step`."""
        return self._next_tick >= self._ticks and not len(self._delivery)

    def step(self, until: float) -> list[RawEntry]:
        """Entries that arrived by `until` and were not returned before, in arrival order.

        Every entry returned has `ts <= until`; a late entry comes with a later call, when it
        arrives. `until >= end` returns everything left.
        """
        if isinstance(until, bool) or not isinstance(until, int | float) or until != until:
            raise ValueError(f"until must be a number of epoch seconds, got {until!r}")
        rel = until - self.start
        while self._next_tick < self._ticks and self._next_tick <= rel:
            self._tick(self._next_tick)
            self._next_tick += 1
        return self._delivery.pop_until(until, flush=until >= self.end)

    def receive(
        self, intervention_type: InterventionType, content: Mapping[str, Any], ts: float
    ) -> None:
        """An intervention reaches the room at event time `ts`; the audience responds.

        Seconds already generated by `step` cannot change: the response starts no earlier
        than the next second to be generated.
        """
        kind = InterventionType(intervention_type)
        if not isinstance(content, Mapping):
            raise ValueError(f"content must be a mapping, got {type(content).__name__}")
        if isinstance(ts, bool) or not isinstance(ts, int | float) or not math.isfinite(ts):
            raise ValueError(f"ts must be finite epoch seconds, got {ts!r}")
        if ts < self.start:
            raise ValueError(f"ts {ts} is before the session start {self.start}")
        poll = _poll_request(content) if kind is InterventionType.POLL else None
        if kind is InterventionType.GAMIFICATION:
            challenge_minutes(content)  # reject a bad command before it leaves a trace
        self._received.append((kind, float(ts)))
        rel = max(ts - self.start, float(self._next_tick))
        if rel >= self._duration:
            return
        effect = self._effects.add(kind, self._situation(rel), rel, content)
        if poll is not None:
            question, options, duration = poll
            request = _PollRequest(effect.start, question, options, duration, effect.lift.votes)
            self._requests.append(request)

    def labels(self) -> dict[str, Any]:
        """Ground truth of the session, JSON-serialisable."""
        onset = self._plan.onset
        return {
            "scenario": self._scenario,
            "seed": self._seed,
            "attendees": self._attendees,
            "minutes": self._minutes,
            "session_id": self.session_id,
            "event_id": self.event_id,
            "start": self.start,
            "end": self.end,
            "onset": None if onset is None else self.start + onset,
            "conditions": [
                {"type": c.type.value, "start": c.start, "end": c.end} for c in self.conditions
            ],
            "interventions": [{"type": k.value, "ts": ts} for k, ts in self._received],
        }

    # ---------------------------------------------------------------- private

    def _schedule(self, at: float, user: int, action: int) -> None:
        if 0.0 <= at < self._duration:
            self._sync.setdefault(int(at), []).append((at, user, action))

    def _situation(self, rel: float) -> AnomalyType | None:
        for kind, s, e in self._plan.conditions:
            if s <= rel and (e is None or rel < e):
                return kind
        return None

    def _liveliness(self, t: int) -> float:
        self._noise = self._noise * self._noise_keep + self._noise_step * self._rng.gauss()
        low, high = NOISE_RANGE
        return self._levels[t] * min(high, max(low, math.exp(self._noise)))

    def _sync_entry(self, ts: float, kind: str, user: int) -> None:
        event = payloads.UNKNOWN_EVENT if self._quirks.random() < self._p_unknown else self.event_id
        data = payloads.live_sync(kind, self.session_id, event, self._uid[user])
        self._delivery.push(ts, payloads.SYNC, data)

    def _start_exit(self) -> None:
        plan = self._plan
        assert plan.onset is not None
        members = self._room.members()
        leavers = self._rng.sample(members, math.ceil(plan.exit_share * len(members)))
        window = plan.exit_window
        for user in leavers:
            self._schedule(
                plan.onset + self._rng.triangular(0.0, window, 0.2 * window), user, _EXIT
            )

    def _tick(self, t: int) -> None:
        rng, room, push = self._rng, self._room, self._delivery.push
        rnd = rng.random
        start = self.start
        base = start + t
        span = min(1.0, self._duration - t)
        level = self._liveliness(t)
        lift = self._effects.at(t + 0.5)
        fresh: dict[int, float] = {}

        if t == self._exit_tick:
            self._start_exit()
        sync = self._sync.pop(t, None)
        for at, user, action in sorted(sync) if sync else ():
            if action == _JOIN:
                if room.connect(user):
                    fresh[user] = start + at
                    self._sync_entry(start + at, "user_join", user)
            elif action == _EXIT and lift.retention and rnd() < lift.retention:
                continue  # persuaded to stay
            elif room.disconnect(user):
                self._sync_entry(start + at, "user_leave", user)
        self._churn(t, span, lift.retention, fresh)
        self._run_polls(t, level, lift.votes)

        chat_rate = self._chat_per_s * lifted(level, lift.chat)
        if self._open:
            chat_rate *= POLL_CHAT_BONUS
        react_rate = self._chat_per_s * REACTIONS_PER_CHAT * lifted(level, lift.reactions)
        sid, uid, names, iso = self.session_id, self._uid, self._names, self._iso
        lines, n_lines = payloads.CHAT_LINES, len(payloads.CHAT_LINES)
        for user, ts in self._actors(CHAT_WEIGHTS, chat_rate, base, span, fresh):
            self._msg_n += 1
            first, last = names[user]
            text = lines[int(rnd() * n_lines)]
            message_id = f"{self._msg_prefix}{self._msg_n:07x}"
            data = payloads.chat_message(
                sid, self.event_id, message_id, text, iso(ts), uid[user], first, last
            )
            push(ts, payloads.CHAT, data)
        emojis, n_emojis = payloads.EMOJIS, len(payloads.EMOJIS)
        for user, ts in self._actors(REACTION_WEIGHTS, react_rate, base, span, fresh):
            emoji = emojis[int(rnd() * n_emojis)]
            push(ts, payloads.REACTION, payloads.live_reaction(sid, uid[user], emoji, iso(ts)))

    def _actors(
        self,
        weights: tuple[float, ...],
        rate: float,
        base: float,
        span: float,
        fresh: dict[int, float],
    ) -> list[tuple[int, float]]:
        """Who acts within this second and when: a Poisson count of weighted picks.

        `rate` is per unit of user weight per second. A user who joined this second acts
        only after joining.
        """
        room, rng = self._room, self._rng
        cum = room.cumulative(weights)
        total = cum[-1]
        if not total:
            return []
        rnd, pick = rng.random, room.pick
        out = []
        for _ in range(_poisson(rng, rate * total)):
            user = pick(cum, weights, rnd() * total)
            ts = base + rnd() * span
            joined = fresh.get(user) if fresh else None
            if joined is not None and ts <= joined:
                ts = joined + (base + span - joined) * rnd()
            out.append((user, ts))
        return out

    def _churn(self, t: int, span: float, retention: float, fresh: dict[int, float]) -> None:
        room, rng = self._room, self._rng
        for _ in range(_poisson(rng, len(room) * CHURN_PER_S * (1.0 - retention))):
            cum = room.cumulative(_ONES)
            if not cum[-1]:
                return
            user = room.pick(cum, _ONES, rng.random() * cum[-1])
            if user in fresh or not room.disconnect(user):
                continue
            at = t + rng.random() * span
            self._sync_entry(self.start + at, "user_leave", user)
            if rng.random() < REJOIN_SHARE:
                self._schedule(at + rng.uniform(5.0, 90.0), user, _JOIN)

    def _run_polls(self, t: int, level: float, vote_lift: float) -> None:
        """Open due polls, cast due votes, close due polls (the last second closes all)."""
        rnd = self._rng.random
        due = [r for r in self._requests if r.open_at < t + 1] if self._requests else None
        if due:
            self._requests = [r for r in self._requests if r.open_at >= t + 1]
            for r in due:
                at = max(r.open_at, float(t))
                self._open_poll(
                    at, r.question, r.options, r.duration, level, max(vote_lift, r.pull)
                )
        if self._next_poll is not None and self._next_poll < t + 1 and not self._open:
            at = max(self._next_poll, float(t))
            question, options = payloads.ORGANIC_POLLS[int(rnd() * len(payloads.ORGANIC_POLLS))]
            duration = self._rng.uniform(*ORGANIC_DURATION)
            self._open_poll(at, question, options, duration, level, vote_lift, organic=True)
            self._next_poll = None

        room, start, sid = self._room, self.start, self.session_id
        votes = self._votes.pop(t, None)
        for at, user, poll, option in votes or ():
            if user not in room:
                continue
            if level < poll.base_level and rnd() * poll.base_level > level:
                continue
            poll.counts[option] += 1
            ts = start + at
            option_id = poll.options[option][0]
            data = payloads.poll_vote(sid, self._uid[user], poll.id, option_id, self._iso(ts))
            self._delivery.push(ts, payloads.VOTE, data)

        if not self._open:
            return
        last = t == self._ticks - 1
        for poll in [p for p in self._open if last or p.close_at < t + 1]:
            self._open.remove(poll)
            closed_at = min(poll.close_at, self._duration)
            data = payloads.poll_closed(sid, poll.id, poll.question, poll.options, poll.counts)
            self._delivery.push(start + closed_at, payloads.POLL_CLOSED, data)
            if poll.organic:
                self._next_poll = closed_at + self._rng.uniform(*ORGANIC_GAP)
            elif self._next_poll is not None:
                self._next_poll = max(self._next_poll, closed_at + 60.0)
            if self._next_poll is not None and self._next_poll >= self._duration:
                self._next_poll = None

    def _open_poll(
        self,
        at: float,
        question: str,
        texts: tuple[str, ...],
        duration: float,
        level: float,
        pull: float,
        organic: bool = False,
    ) -> None:
        rng = self._rng
        rnd = rng.random
        options = [("opt_" + payloads.hex12(rng), text) for text in texts]
        poll = _Poll(
            "poll_" + payloads.hex12(rng),
            question,
            options,
            [0] * len(options),
            at + duration,
            level,
            organic,
        )
        self._open.append(poll)
        prefs = list(_cumsum(rng.uniform(0.5, 2.0) for _ in options))
        share = VOTE_SHARE * min(1.0, lifted(level, pull))
        limit = duration - 0.5
        rate = 1.0 / VOTE_MEAN_DELAY
        for user in self._room.members():
            if rnd() >= share:
                continue
            delay = VOTE_MIN_DELAY + rng.expovariate(rate)
            if delay >= limit:
                continue
            option = min(len(options) - 1, bisect_right(prefs, rnd() * prefs[-1]))
            vote_at = at + delay
            if vote_at < self._duration:
                self._votes.setdefault(int(vote_at), []).append((vote_at, user, poll, option))


def _cumsum(values: Iterable[float]) -> Iterable[float]:
    total = 0.0
    for v in values:
        total += v
        yield total
