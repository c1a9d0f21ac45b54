"""The audience reacts to interventions: polls get votes, activity rises, effects fade."""

from __future__ import annotations

import random
from typing import Any

import pytest

from conductor.core.model import RawEntry
from conductor.core.vocabulary import AnomalyType, InterventionType, Stream
from conductor.sim import AudienceSimulator
from conductor.sim.effects import EFFECTS, REPEAT_FACTOR, TIMINGS, Effects


def data(entry: RawEntry) -> dict[str, Any]:
    assert isinstance(entry.data, dict)
    return entry.data


def talk(entries: list[RawEntry], t0: float, t1: float) -> int:
    streams = (Stream.CHAT, Stream.REACTION)
    return sum(1 for e in entries if e.stream in streams and e.ts is not None and t0 <= e.ts < t1)


def activity(entries: list[RawEntry], t0: float, t1: float) -> int:
    streams = (Stream.CHAT, Stream.REACTION, Stream.VOTE)
    return sum(1 for e in entries if e.stream in streams and e.ts is not None and t0 <= e.ts < t1)


def with_intervention(
    kind: InterventionType | None, seed: int, attendees: int = 150, minutes: float = 10
) -> tuple[AudienceSimulator, list[RawEntry], float]:
    """A quiet room (low engagement from 4 min), optionally helped at 5.5 min."""
    sim = AudienceSimulator(
        "low_engagement", attendees=attendees, minutes=minutes, seed=seed, onset=240
    )
    at = sim.start + 330
    entries = sim.step(at)
    if kind is not None:
        sim.receive(kind, {}, at)
    return sim, entries + sim.step(sim.end), at


def test_a_poll_gets_votes_on_a_new_poll_and_is_closed() -> None:
    sim = AudienceSimulator("low_engagement", attendees=150, minutes=10, seed=31, onset=240)
    at = sim.start + 330
    entries = sim.step(at)
    earlier_polls = {data(e)["pollId"] for e in entries if e.stream == Stream.VOTE}
    content = {"poll": {"question": "Pick one", "options": ["A", "B", "C"], "duration": 45}}
    sim.receive(InterventionType.POLL, content, at)
    entries += sim.step(sim.end)
    (closing,) = [
        e
        for e in entries
        if e.stream == Stream.POLL_CLOSED and data(e)["poll"]["question"] == "Pick one"
    ]
    poll = data(closing)["poll"]
    assert poll["id"] not in earlier_polls
    assert [o["text"] for o in poll["options"]] == ["A", "B", "C"]
    votes = [e for e in entries if e.stream == Stream.VOTE and data(e)["pollId"] == poll["id"]]
    assert len({data(e)["userId"] for e in votes}) == poll["totalVotes"]
    assert poll["totalVotes"] >= 20, "a poll pulls even a quiet room in"
    # Seconds already generated cannot change, so the poll opens 2-5 s after the next one.
    assert closing.ts is not None and at + 45 <= closing.ts <= at + 1 + 5 + 45
    assert all(e.ts is not None and at < e.ts < closing.ts for e in votes)
    assert {data(e)["optionId"] for e in votes} <= {o["id"] for o in poll["options"]}


@pytest.mark.parametrize("kind", list(InterventionType))
def test_every_intervention_lifts_a_quiet_room(kind: InterventionType) -> None:
    # NOTIFICATION acts through the organiser, so it starts later: measure over 4 minutes.
    lifted, base = 0, 0
    for seed in (32, 33):
        _, plain, at = with_intervention(None, seed)
        _, helped, _ = with_intervention(kind, seed)
        base += activity(plain, at, at + 240)
        lifted += activity(helped, at, at + 240)
    assert lifted > 1.5 * base


def test_the_lift_fades_within_minutes() -> None:
    early = late = 0
    for seed in (34, 38, 39):
        _, plain, at = with_intervention(None, seed, attendees=300, minutes=15)
        _, helped, _ = with_intervention(InterventionType.CHAT_PROMPT, seed, 300, 15)
        for t0, t1, is_early in ((at + 10, at + 130, True), (at + 420, at + 540, False)):
            excess = talk(helped, t0, t1) - talk(plain, t0, t1)
            early, late = (early + excess, late) if is_early else (early, late + excess)
    assert early > 45
    assert late < 0.35 * early


def test_gamification_slows_a_mass_exit() -> None:
    def leaves(kind: InterventionType | None, seed: int) -> int:
        sim = AudienceSimulator("mass_exit", attendees=400, minutes=8, seed=seed, onset=300)
        entries = sim.step(sim.start + 270)
        if kind is not None:
            sim.receive(kind, {"duration_minutes": 4}, sim.start + 270)
        entries += sim.step(sim.end)
        return sum(
            1
            for e in entries
            if e.stream == Stream.SYNC
            and data(e)["type"] == "user_leave"
            and e.ts is not None
            and e.ts >= sim.start + 300
        )

    plain = leaves(None, 35) + leaves(None, 36)
    kept = leaves(InterventionType.GAMIFICATION, 35) + leaves(InterventionType.GAMIFICATION, 36)
    assert kept < 0.8 * plain


def test_receive_is_recorded_and_deterministic() -> None:
    sim, entries, at = with_intervention(InterventionType.CHAT_PROMPT, seed=37)
    again, entries_again, _ = with_intervention(InterventionType.CHAT_PROMPT, seed=37)
    assert sim.labels()["interventions"] == [{"type": "CHAT_PROMPT", "ts": at}]
    assert sim.labels() == again.labels()
    assert [(e.entry_id, e.data) for e in entries] == [(e.entry_id, e.data) for e in entries_again]


def test_receive_rejects_bad_input() -> None:
    sim = AudienceSimulator("steady", attendees=20, minutes=3, seed=1)
    with pytest.raises(ValueError):
        sim.receive("BROADCAST", {}, sim.start + 5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="before the session start"):
        sim.receive(InterventionType.POLL, {}, sim.start - 1)
    with pytest.raises(ValueError, match="finite"):
        sim.receive(InterventionType.POLL, {}, float("nan"))
    with pytest.raises(ValueError, match="options"):
        sim.receive(InterventionType.POLL, {"options": ["only one"]}, sim.start + 5)
    with pytest.raises(ValueError, match="duration"):
        sim.receive(InterventionType.POLL, {"duration": -5}, sim.start + 5)
    with pytest.raises(ValueError, match="duration_minutes"):
        sim.receive(InterventionType.GAMIFICATION, {"duration_minutes": "long"}, sim.start + 5)
    assert sim.labels()["interventions"] == [], "rejected interventions leave no trace"
    sim.receive("POLL", {}, sim.end + 100)  # type: ignore[arg-type]
    assert sim.labels()["interventions"] == [{"type": "POLL", "ts": sim.end + 100}]


def test_repeating_an_intervention_soon_gives_diminishing_returns() -> None:
    repeated, fresh = Effects(random.Random(9), 100), Effects(random.Random(9), 100)
    repeated.add(InterventionType.POLL, None, 0.0, {})
    fresh.add(InterventionType.CHAT_PROMPT, None, 0.0, {})
    again = repeated.add(InterventionType.POLL, AnomalyType.LOW_ENGAGEMENT, 100.0, {})
    first_time = fresh.add(InterventionType.POLL, AnomalyType.LOW_ENGAGEMENT, 100.0, {})
    assert again.lift.chat == pytest.approx(REPEAT_FACTOR * first_time.lift.chat)
    later = Effects(random.Random(9), 100)
    later.add(InterventionType.POLL, None, 0.0, {})
    recovered = later.add(InterventionType.POLL, AnomalyType.LOW_ENGAGEMENT, 400.0, {})
    assert recovered.lift.chat == pytest.approx(first_time.lift.chat)


def test_effect_table_covers_every_type_and_situation() -> None:
    situations = {None, *AnomalyType}
    assert set(EFFECTS) == set(InterventionType) == set(TIMINGS)
    for kind, table in EFFECTS.items():
        assert set(table) == situations, kind
        for lift in table.values():
            assert all(
                0.0 <= v < 1.0 for v in (lift.chat, lift.reactions, lift.votes, lift.retention)
            )

    # A policy has something to learn: the best type depends on the situation.
    def best(situation: AnomalyType | None) -> InterventionType:
        table = {k: EFFECTS[k][situation] for k in EFFECTS}
        return max(table, key=lambda k: table[k].chat + table[k].reactions)

    assert len({best(s) for s in situations}) > 1


def test_effect_shape_rises_holds_and_decays() -> None:
    effects = Effects(random.Random(3), 500)
    effect = effects.add(
        InterventionType.GAMIFICATION,
        AnomalyType.SUDDEN_DROP,
        100.0,
        {"content": {"duration_minutes": 4}},
    )
    assert effect.hold == 120.0
    assert effect.shape(effect.start) == 0.0
    assert 0.0 < effect.shape(effect.start + effect.rise / 2) < 1.0
    assert effect.shape(effect.start + effect.rise + effect.hold) == 1.0
    assert effect.shape(effect.start + effect.rise + effect.hold + effect.tau) == pytest.approx(
        0.3679, abs=1e-3
    )
    assert effects.at(effect.start + effect.rise + 1).chat == pytest.approx(effect.lift.chat)
    assert effects.at(effect.start + 10_000).chat == 0.0
