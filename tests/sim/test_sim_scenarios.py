"""Each scenario's ground truth is visible in the stream it produces."""

from __future__ import annotations

from statistics import median

import pytest

from conductor.core.model import RawEntry
from conductor.core.vocabulary import AnomalyType, Stream
from conductor.sim import SCENARIOS, AudienceSimulator, Condition


def whole(scenario: str, **kwargs: object) -> tuple[AudienceSimulator, list[RawEntry]]:
    sim = AudienceSimulator(scenario, **kwargs)  # type: ignore[arg-type]
    return sim, sim.step(sim.end)


def count(entries: list[RawEntry], stream: str, t0: float, t1: float) -> int:
    return sum(1 for e in entries if e.stream == stream and e.ts is not None and t0 <= e.ts < t1)


def connected_at(entries: list[RawEntry], t: float) -> int:
    n = 0
    seen: set[tuple[str, str | None]] = set()
    for e in sorted(entries, key=lambda e: e.ts or 0.0):
        if e.stream != Stream.SYNC or e.ts is None or e.ts > t or (e.stream, e.entry_id) in seen:
            continue
        seen.add((e.stream, e.entry_id))
        assert isinstance(e.data, dict)
        n += 1 if e.data["type"] == "user_join" else -1
    return n


def only_condition(sim: AudienceSimulator, kind: AnomalyType) -> Condition:
    (condition,) = sim.conditions
    assert condition.type is kind
    assert sim.labels()["conditions"] == [
        {"type": kind.value, "start": condition.start, "end": condition.end}
    ]
    return condition


def test_steady_has_no_condition_and_no_drop() -> None:
    sim, entries = whole("steady", attendees=200, minutes=12, seed=21)
    assert sim.conditions == ()
    assert sim.labels()["conditions"] == [] and sim.labels()["onset"] is None
    minutes = [
        count(entries, Stream.CHAT, sim.start + 60 * m, sim.start + 60 * (m + 1))
        for m in range(3, 12)
    ]
    typical = median(minutes)
    assert typical > 30
    assert min(minutes) > 0.5 * typical
    assert connected_at(entries, sim.end) > 0.9 * 200


def test_sudden_drop_falls_abruptly_and_stays_low() -> None:
    sim, entries = whole("sudden_drop", attendees=300, minutes=10, seed=22, onset=300)
    cond = only_condition(sim, AnomalyType.SUDDEN_DROP)
    assert cond.start == sim.start + 300 and cond.end is None
    before = count(entries, Stream.CHAT, cond.start - 120, cond.start)
    after = count(entries, Stream.CHAT, cond.start + 10, cond.start + 130)
    late = count(entries, Stream.CHAT, sim.end - 120, sim.end)
    assert before > 60
    assert after < 0.5 * before
    assert late < 0.5 * before
    assert connected_at(entries, sim.end) > 0.85 * connected_at(entries, cond.start)


def test_gradual_decline_is_gradual() -> None:
    sim, entries = whole("gradual_decline", attendees=300, minutes=16, seed=23, onset=240)
    cond = only_condition(sim, AnomalyType.GRADUAL_DECLINE)
    before = count(entries, Stream.CHAT, cond.start - 120, cond.start)
    first = count(entries, Stream.CHAT, cond.start, cond.start + 120)
    final = count(entries, Stream.CHAT, cond.start + 480, cond.start + 600)
    assert first > 0.55 * before, "no cliff at onset"
    assert final < 0.5 * before
    assert final < first


def test_mass_exit_leaves_at_least_thirty_percent() -> None:
    sim, entries = whole("mass_exit", attendees=200, minutes=8, seed=24, onset=260)
    cond = only_condition(sim, AnomalyType.MASS_EXIT)
    at_onset = connected_at(entries, cond.start)
    after = connected_at(entries, cond.start + 90)
    assert after <= 0.75 * at_onset, "late joiners barely offset the wave"
    assert after >= 0.35 * at_onset
    leaves = [
        e
        for e in entries
        if e.stream == Stream.SYNC and isinstance(e.data, dict) and e.data["type"] == "user_leave"
    ]
    in_wave = [e for e in leaves if e.ts is not None and cond.start <= e.ts < cond.start + 61]
    assert len(in_wave) >= 0.3 * at_onset


def test_low_engagement_room_stays_but_falls_silent() -> None:
    sim, entries = whole("low_engagement", attendees=200, minutes=9, seed=25, onset=270)
    cond = only_condition(sim, AnomalyType.LOW_ENGAGEMENT)
    active = [Stream.CHAT, Stream.REACTION]
    before = sum(count(entries, s, cond.start - 120, cond.start) for s in active)
    quiet = sum(count(entries, s, cond.start + 90, cond.start + 210) for s in active)
    assert quiet < 0.2 * before
    assert connected_at(entries, cond.start + 210) > 0.9 * connected_at(entries, cond.start)


def test_recovery_drops_then_comes_back() -> None:
    sim, entries = whole("recovery", attendees=200, minutes=16, seed=26, onset=300)
    cond = only_condition(sim, AnomalyType.SUDDEN_DROP)
    assert cond.end is not None and 180 + 30 <= cond.end - cond.start <= 300 + 60
    before = count(entries, Stream.CHAT, cond.start - 150, cond.start) / 150
    during = count(entries, Stream.CHAT, cond.start + 15, cond.start + 135) / 120
    after = count(entries, Stream.CHAT, cond.end, cond.end + 180) / 180
    assert during < 0.45 * before
    assert after > 0.6 * before
    assert after > 1.5 * during


@pytest.mark.parametrize("scenario", [s for s in SCENARIOS if s != "steady"])
def test_default_onset_is_mid_session_and_not_before_four_minutes(scenario: str) -> None:
    for seed in range(5):
        sim = AudienceSimulator(scenario, attendees=10, minutes=20, seed=seed)
        (cond,) = sim.conditions
        share = (cond.start - sim.start) / (20 * 60)
        assert 0.35 <= share <= 0.55
        assert sim.labels()["onset"] == cond.start
    short = AudienceSimulator(scenario, attendees=10, minutes=8, seed=1)
    assert short.conditions[0].start - short.start >= 240


def test_bigger_rooms_talk_less_per_person() -> None:
    small, small_entries = whole("steady", attendees=20, minutes=10, seed=27)
    big, big_entries = whole("steady", attendees=2000, minutes=10, seed=27)

    def per_person_per_min(sim: AudienceSimulator, entries: list[RawEntry], n: int) -> float:
        return count(entries, Stream.CHAT, sim.start + 180, sim.end) / n / 7

    small_rate = per_person_per_min(small, small_entries, 20)
    big_rate = per_person_per_min(big, big_entries, 2000)
    assert 0.3 < small_rate < 0.9
    assert big_rate < 0.4 * small_rate


def test_organic_polls_run_and_close() -> None:
    _, entries = whole("steady", attendees=100, minutes=20, seed=28)
    closed = [e for e in entries if e.stream == Stream.POLL_CLOSED]
    assert 2 <= len({e.data["poll"]["id"] for e in closed if isinstance(e.data, dict)}) <= 4
    for e in closed:
        assert isinstance(e.data, dict)
        assert e.data["poll"]["totalVotes"] >= 40, "most of a lively room votes"


def test_chat_is_heavy_tailed() -> None:
    _, entries = whole("steady", attendees=300, minutes=10, seed=29)
    authors: dict[str, int] = {}
    for e in entries:
        if e.stream == Stream.CHAT and isinstance(e.data, dict):
            uid = e.data["message"]["authorId"]
            authors[uid] = authors.get(uid, 0) + 1
    counts = sorted(authors.values(), reverse=True)
    top = counts[: len(counts) // 10]
    assert sum(top) > 0.3 * sum(counts), "a few chatty users"
    assert len(authors) < 0.95 * 300, "some lurkers never write"
