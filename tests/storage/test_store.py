"""The store against SQLite and the real PostgreSQL: same suite, same expectations."""

from __future__ import annotations

import asyncio
import math
import random
import threading
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import asdict, replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from conductor.core.model import Anomaly, Component, Engagement, PlatformOutcome, SessionSignals
from conductor.core.vocabulary import (
    AgentMode,
    AnomalyType,
    DecisionStatus,
    InterventionOrigin,
    InterventionType,
    Priority,
    SessionStatus,
    Severity,
)
from conductor.service.records import (
    DeadLetter,
    Decision,
    EventSettings,
    Intervention,
    Outcome,
    SessionRecord,
    from_epoch,
)
from conductor.storage import StorageUnavailable, Store, upgrade

SES = "ses_3fa85f64a1b2"
CUID = "ckx7z2q9b0000abcd1234efgh"
EVT = "evt_0a1b2c3d4e5f"
T0 = datetime(2025, 3, 14, 9, 30, 0, 123456, tzinfo=UTC)
EPOCH0 = T0.timestamp()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'conductor.db'}"
    else:
        url = request.getfixturevalue("pg_url")
    upgrade(url)
    opened = await Store.connect(url)
    try:
        yield opened
    finally:
        await opened.close()


def _signals(connected: int = 40) -> SessionSignals:
    return SessionSignals(
        connected=connected,
        active_users=12,
        chat_per_min=3.5,
        reactions_per_min=8.0,
        votes_per_min=1.25,
        joins_per_min=2.0,
        leaves_per_min=0.5,
        poll_participation=None,
    )


def _engagement(session_id: str, ts: float, score: float, event_id: str | None = EVT) -> Engagement:
    components = (
        Component(name="chat", value=0.5, weight=0.6, contribution=0.3),
        Component(name="reactions", value=score, weight=0.4, contribution=score * 0.4),
    )
    return Engagement(session_id, event_id, ts, score, components, _signals())


def _anomaly(session_id: str, ts: float, event_id: str | None = EVT) -> Anomaly:
    return Anomaly(
        session_id=session_id,
        event_id=event_id,
        ts=ts,
        type=AnomalyType.SUDDEN_DROP,
        severity=Severity.CRITICAL,
        current=0.21,
        expected=0.55,
        deviation=0.618,
        explanation="score fell from 0.55 to 0.21 within a minute",
        started_at=ts - 42.5,
    )


def _intervention(
    iid: str,
    *,
    session_id: str = SES,
    event_id: str | None = EVT,
    created_at: datetime = T0,
    type: InterventionType = InterventionType.POLL,
    confidence: float = 0.8,
) -> Intervention:
    return Intervention(
        id=iid,
        session_id=session_id,
        event_id=event_id,
        created_at=created_at,
        type=type,
        origin=InterventionOrigin.APPROVED,
        confidence=confidence,
        priority=Priority.HIGH,
        expected_impact=0.12,
        reason="engagement dropped",
        content={"poll": {"question": "Pace OK?", "options": ["yes", "no"]}, "n": [1, 2.5]},
        metadata={"reason": "drop", "confidence": confidence},
        decision_id="dec_" + iid,
    )


def _outcome(iid: str, *, success: bool, lift: float, at: datetime = T0) -> Outcome:
    return Outcome(
        intervention_id=iid,
        measured_at=at + timedelta(minutes=5),
        score_before=0.3,
        score_after=0.3 + lift + 0.05,
        expected_after=0.35,
        lift=lift,
        success=success,
    )


# -- time series ------------------------------------------------------------------------------


async def test_engagement_round_trip_is_tz_aware_and_complete(store: Store) -> None:
    items = [_engagement(SES, EPOCH0 + i * 2.5, 0.1 * i) for i in range(5)]
    await store.add_engagement(items)
    history = await store.engagement_history(SES, None, None, None, 100)
    assert [p["ts"] for p in history] == [from_epoch(e.ts) for e in items]
    assert all(p["ts"].utcoffset() == timedelta(0) for p in history)
    for point, item in zip(history, items, strict=True):
        assert point["session_id"] == SES
        assert point["event_id"] == EVT
        assert point["score"] == pytest.approx(item.score)
        assert point["components"] == [asdict(c) for c in item.components]
        assert point["signals"] == asdict(item.signals)


async def test_engagement_resent_after_an_outage_is_stored_once(store: Store) -> None:
    items = [_engagement(CUID, EPOCH0 + i, 0.5, event_id=None) for i in range(4)]
    await store.add_engagement(items)
    await store.add_engagement([*items[1:], _engagement(CUID, EPOCH0 + 10, 0.9, event_id=None)])
    history = await store.engagement_history(CUID, None, None, None, 100)
    assert len(history) == 5
    assert history[-1]["score"] == pytest.approx(0.9)
    assert history[0]["event_id"] is None


async def test_history_window_is_half_open_and_limit_keeps_the_latest(store: Store) -> None:
    items = [_engagement(SES, EPOCH0 + i * 10, i / 20) for i in range(20)]
    await store.add_engagement([*items, _engagement("ses_000000000000", EPOCH0 + 5, 0.3)])
    since, until = from_epoch(EPOCH0 + 50), from_epoch(EPOCH0 + 120)
    window = await store.engagement_history(SES, since, until, None, 100)
    assert [p["ts"] for p in window] == [from_epoch(EPOCH0 + i * 10) for i in range(5, 12)]
    latest = await store.engagement_history(SES, None, None, None, 3)
    assert [p["ts"] for p in latest] == [from_epoch(EPOCH0 + i * 10) for i in (17, 18, 19)]
    newest = await store.latest_engagement(SES)
    assert newest is not None and newest["ts"] == from_epoch(EPOCH0 + 190)
    assert await store.latest_engagement("ses_ffffffffffff") is None


async def test_bucketed_history_averages_each_bucket(store: Store) -> None:
    rng = random.Random(7)
    bucket_s = 60
    start = math.floor(EPOCH0 / bucket_s) * bucket_s
    # Points on, just before and just after bucket boundaries, plus random ones.
    times = {start + k * bucket_s + d for k in range(1, 6) for d in (0.0, -0.25, 0.5)}
    times |= {start + rng.uniform(0, 8 * bucket_s) for _ in range(40)}
    items = [_engagement(SES, ts, round(rng.random(), 4)) for ts in sorted(times)]
    await store.add_engagement(items)

    expected: dict[int, list[float]] = {}
    for item in items:
        expected.setdefault(math.floor(item.ts) // bucket_s, []).append(item.score)
    buckets = await store.engagement_history(SES, None, None, bucket_s, 1000)
    assert [b["ts"] for b in buckets] == [from_epoch(k * bucket_s) for k in sorted(expected)]
    for bucket in buckets:
        scores = expected[int(bucket["ts"].timestamp()) // bucket_s]
        assert bucket["samples"] == len(scores)
        assert bucket["score"] == pytest.approx(sum(scores) / len(scores))

    last_two = await store.engagement_history(SES, None, None, bucket_s, 2)
    assert last_two == buckets[-2:]


@pytest.mark.parametrize("bucket_s", [0, -60])
async def test_bucket_size_must_be_positive(store: Store, bucket_s: int) -> None:
    with pytest.raises(ValueError, match="bucket_s"):
        await store.engagement_history(SES, None, None, bucket_s, 10)


async def test_anomalies_round_trip_idempotent_and_filtered(store: Store) -> None:
    items = [
        ("anm_1", _anomaly(SES, EPOCH0)),
        ("anm_2", _anomaly(SES, EPOCH0 + 30)),
        ("anm_3", _anomaly(CUID, EPOCH0 + 60, event_id="evt_ffffffffffff")),
    ]
    await store.add_anomalies(items)
    await store.add_anomalies(items[:2])
    everything = await store.list_anomalies()
    assert [a["id"] for a in everything] == ["anm_3", "anm_2", "anm_1"]
    first = everything[-1]
    source = items[0][1]
    assert first["ts"] == from_epoch(source.ts) and first["ts"].tzinfo is not None
    assert first["started_at"] == from_epoch(source.started_at or 0)
    assert first["type"] is AnomalyType.SUDDEN_DROP and first["severity"] is Severity.CRITICAL
    assert (first["current"], first["expected"], first["deviation"]) == pytest.approx(
        (source.current, source.expected, source.deviation)
    )
    assert first["explanation"] == source.explanation
    assert [a["id"] for a in await store.list_anomalies(session_id=SES)] == ["anm_2", "anm_1"]
    assert [a["id"] for a in await store.list_anomalies(event_id=EVT)] == ["anm_2", "anm_1"]
    since = from_epoch(EPOCH0 + 30)
    assert [a["id"] for a in await store.list_anomalies(since=since)] == ["anm_3", "anm_2"]
    assert [a["id"] for a in await store.list_anomalies(limit=1)] == ["anm_3"]


async def test_bad_time_series_input_is_refused_before_writing(store: Store) -> None:
    good = _engagement(SES, EPOCH0, 0.5)
    with pytest.raises(ValueError, match="finite"):
        await store.add_engagement([good, _engagement(SES, math.nan, 0.5)])
    with pytest.raises(ValueError, match="score"):
        await store.add_engagement([_engagement(SES, EPOCH0 + 1, math.inf)])
    with pytest.raises(ValueError, match="session_id"):
        await store.add_engagement([_engagement("x" * 256, EPOCH0, 0.5)])
    assert await store.latest_engagement(SES) is None


# -- registry ---------------------------------------------------------------------------------


async def test_event_settings_round_trip_update_and_list(store: Store) -> None:
    first = EventSettings(
        event_id=EVT,
        org_id="org_1",
        enabled=True,
        mode=AgentMode.SEMI_AUTO,
        confidence_threshold=0.6,
        allowed_types=frozenset({InterventionType.POLL, InterventionType.NOTIFICATION}),
        max_per_session=3,
        max_per_event=None,
        name="Spring Summit",
    )
    other = EventSettings(event_id="evt_bbbbbbbbbbbb", org_id="org_2")
    await store.upsert_event(first)
    await store.upsert_event(other)
    assert await store.get_event(EVT) == first
    assert await store.get_event("evt_unknown") is None

    changed = replace(first, mode=AgentMode.AUTO, enabled=False, max_per_event=9, name=None)
    await store.upsert_event(changed)
    assert await store.get_event(EVT) == changed
    assert await store.list_events("org_1") == [changed]
    assert await store.list_events(None) == sorted([changed, other], key=lambda e: e.event_id)
    assert await store.list_events("org_none") == []


async def test_sessions_round_trip_end_and_filter(store: Store) -> None:
    live = SessionRecord(
        session_id=SES,
        event_id=EVT,
        topic="Scaling streams",
        tags=("backend", "redis"),
        mode=AgentMode.MANUAL,
        started_at=T0,
        last_seen_at=T0 + timedelta(minutes=3),
    )
    chat = SessionRecord(
        session_id=CUID,
        event_id=EVT,
        started_at=T0,
        last_seen_at=T0 + timedelta(minutes=9),
    )
    elsewhere = SessionRecord(
        session_id="ses_cccccccccccc", event_id="evt_cccccccccccc", started_at=T0, last_seen_at=T0
    )
    for record in (live, chat, elsewhere):
        await store.upsert_session(record)
    assert await store.get_session(SES) == live
    assert await store.get_session("ses_missing") is None

    ended = replace(
        chat,
        status=SessionStatus.ENDED,
        ended_at=T0 + timedelta(minutes=10),
        # Another zone on the way in, UTC on the way out.
        last_seen_at=(T0 + timedelta(minutes=10)).astimezone(timezone(timedelta(hours=2))),
    )
    await store.upsert_session(ended)
    stored = await store.get_session(CUID)
    assert stored is not None
    assert stored.status is SessionStatus.ENDED and stored.mode is None
    assert stored.last_seen_at == T0 + timedelta(minutes=10)
    assert stored.last_seen_at.utcoffset() == timedelta(0)
    assert [s.session_id for s in await store.list_sessions(EVT)] == [CUID, SES]
    assert [s.session_id for s in await store.list_sessions(status=SessionStatus.LIVE)] == [
        SES,
        "ses_cccccccccccc",
    ]
    assert [s.session_id for s in await store.list_sessions(EVT, SessionStatus.ENDED)] == [CUID]


async def test_naive_datetimes_are_refused(store: Store) -> None:
    naive = SessionRecord(session_id=SES, started_at=datetime(2025, 1, 1), last_seen_at=T0)
    with pytest.raises(ValueError, match="naive datetime"):
        await store.upsert_session(naive)
    assert await store.get_session(SES) is None


# -- decisions --------------------------------------------------------------------------------


def _decision(did: str, created_at: datetime, session_id: str = SES) -> Decision:
    return Decision(
        id=did,
        session_id=session_id,
        event_id=EVT,
        created_at=created_at,
        type=InterventionType.CHAT_PROMPT,
        confidence=0.66,
        priority=Priority.MEDIUM,
        expected_impact=0.08,
        reason="chat went quiet",
        content={"message": "What would you ask the speaker?"},
        mode=AgentMode.SEMI_AUTO,
        anomaly={"type": "GRADUAL_DECLINE", "deviation": 0.3},
        expires_at=created_at + timedelta(minutes=2),
    )


async def test_decisions_round_trip_update_and_list(store: Store) -> None:
    decisions = [_decision(f"dec_{i:02d}", T0 + timedelta(seconds=i)) for i in range(4)]
    decisions.append(_decision("dec_other", T0, session_id=CUID))
    for decision in decisions:
        await store.save_decision(decision)
    assert await store.get_decision("dec_00") == decisions[0]
    assert await store.get_decision("dec_missing") is None

    resolved = replace(
        decisions[1],
        status=DecisionStatus.EXECUTED,
        resolved_at=T0 + timedelta(minutes=1),
        resolved_by="usr_42",
        intervention_id="int_from_dec_01",
    )
    await store.save_decision(resolved)
    await store.save_decision(resolved)
    assert await store.get_decision("dec_01") == resolved

    in_session = await store.list_decisions(session_id=SES)
    assert [d.id for d in in_session] == ["dec_03", "dec_02", "dec_01", "dec_00"]
    pending = await store.list_decisions(event_id=EVT, status=DecisionStatus.PENDING, limit=2)
    assert [d.id for d in pending] == ["dec_03", "dec_02"]
    executed = await store.list_decisions(status=DecisionStatus.EXECUTED)
    assert executed == [resolved]


# -- interventions ----------------------------------------------------------------------------


async def test_intervention_round_trip_with_outcome(store: Store) -> None:
    item = _intervention("int_8c1f0e2a")
    item.outcome = _outcome(item.id, success=True, lift=0.07)
    await store.save_intervention(item)
    stored = await store.get_intervention(item.id)
    assert stored == item
    assert stored is not None and stored.created_at.tzinfo is not None
    assert await store.get_intervention("int_missing") is None


async def test_intervention_resaved_is_stored_once_and_keeps_its_report(store: Store) -> None:
    item = _intervention("int_once")
    await store.save_intervention(item)
    reported = replace(item, delivered=False, delivery_error="poll service down", delivered_at=T0)
    await store.save_intervention(reported)
    # A retried first save (no report yet) must not erase what the platform said.
    await store.save_intervention(item)
    total, page = await store.session_history(SES, 10, 0)
    assert total == 1
    assert page[0].delivered is False
    assert page[0].delivery_error == "poll service down"
    assert page[0].delivered_at == T0
    # Content is written once: a later save cannot rewrite what was published.
    await store.save_intervention(replace(item, reason="rewritten"))
    stored = await store.get_intervention(item.id)
    assert stored is not None and stored.reason == item.reason


async def test_platform_delivery_report_is_recorded(store: Store) -> None:
    item = _intervention("int_delivered")
    await store.save_intervention(item)
    report = PlatformOutcome(
        intervention_id=item.id,
        session_id=SES,
        success=True,
        ts=EPOCH0 + 3.5,
        event_id=EVT,
        result={"pollId": "poll_1"},
    )
    assert await store.record_delivery(report) is True
    assert await store.record_delivery(report) is True
    stored = await store.get_intervention(item.id)
    assert stored is not None
    assert stored.delivered is True and stored.delivery_error is None
    assert stored.delivered_at == from_epoch(EPOCH0 + 3.5)
    unknown = replace(report, intervention_id="int_never_sent")
    assert await store.record_delivery(unknown) is False
    assert await store.get_intervention("int_never_sent") is None


async def test_outcome_is_stored_once_and_needs_its_intervention(store: Store) -> None:
    item = _intervention("int_measured")
    await store.save_intervention(item)
    outcome = _outcome(item.id, success=False, lift=-0.02)
    await store.save_outcome(outcome)
    await store.save_outcome(outcome)
    rates = await store.type_success_rates(EVT)
    assert rates["POLL"]["measured"] == 1
    stored = await store.get_intervention(item.id)
    assert stored is not None and stored.outcome == outcome
    # Saving the intervention again without its outcome keeps the outcome.
    await store.save_intervention(item)
    again = await store.get_intervention(item.id)
    assert again is not None and again.outcome == outcome
    with pytest.raises(LookupError, match="int_ghost"):
        await store.save_outcome(_outcome("int_ghost", success=True, lift=0.1))


async def test_session_history_pages_newest_first_with_total(store: Store) -> None:
    created = [T0 + timedelta(seconds=17 * i) for i in range(7)]
    for i, at in enumerate(created):
        await store.save_intervention(_intervention(f"int_{i}", created_at=at))
    await store.save_intervention(_intervention("int_other", session_id=CUID))
    newest_first = [f"int_{i}" for i in reversed(range(7))]
    seen: list[str] = []
    for offset in (0, 3, 6):
        total, page = await store.session_history(SES, 3, offset)
        assert total == 7
        seen += [item.id for item in page]
    assert seen == newest_first
    total, page = await store.session_history(SES, 3, 9)
    assert (total, page) == (7, [])


async def test_event_history_counts_only_since(store: Store) -> None:
    for i in range(6):
        await store.save_intervention(
            _intervention(f"int_e{i}", created_at=T0 + timedelta(minutes=i))
        )
    await store.save_intervention(_intervention("int_x", event_id="evt_other"))
    since = T0 + timedelta(minutes=2)
    total, items = await store.event_history(EVT, since, 10)
    assert total == 4
    assert [i.id for i in items] == ["int_e5", "int_e4", "int_e3", "int_e2"]
    total, items = await store.event_history(EVT, since, 2)
    assert total == 4 and [i.id for i in items] == ["int_e5", "int_e4"]


async def test_stats_are_computed_from_stored_rows(store: Store) -> None:
    rng = random.Random(11)
    types = list(InterventionType)
    made: list[Intervention] = []
    for i in range(24):
        item = _intervention(
            f"int_s{i}",
            type=rng.choice(types),
            confidence=round(rng.uniform(0.3, 0.99), 3),
            created_at=T0 + timedelta(seconds=i),
            event_id=EVT if i % 4 else "evt_second",
        )
        if rng.random() < 0.7:
            item.outcome = _outcome(item.id, success=rng.random() < 0.5, lift=rng.uniform(-1, 1))
        made.append(item)
        await store.save_intervention(item)
    await store.save_intervention(
        _intervention("int_elsewhere", session_id=CUID, event_id="evt_third")
    )

    measured = [m for m in made if m.outcome is not None]
    wins = [m for m in measured if m.outcome is not None and m.outcome.success]
    stats = await store.session_stats(SES)
    assert set(stats) == {
        "total_interventions",
        "by_type",
        "success_rate",
        "avg_confidence",
        "successful_interventions",
    }
    assert stats["total_interventions"] == len(made)
    assert stats["by_type"] == dict(Counter(m.type.value for m in made))
    assert stats["successful_interventions"] == len(wins)
    assert stats["success_rate"] == pytest.approx(len(wins) / len(measured))
    assert stats["avg_confidence"] == pytest.approx(sum(m.confidence for m in made) / len(made))

    in_event = [m for m in made if m.event_id == EVT]
    rates = await store.type_success_rates(EVT)
    assert set(rates) == {m.type.value for m in in_event}
    for name, figures in rates.items():
        of_type = [m for m in in_event if m.type == name]
        lifts = [m.outcome.lift for m in of_type if m.outcome is not None]
        successes = sum(1 for m in of_type if m.outcome is not None and m.outcome.success)
        assert figures["count"] == len(of_type)
        assert figures["measured"] == len(lifts)
        assert figures["successes"] == successes
        assert figures["success_rate"] == pytest.approx(successes / len(lifts) if lifts else 0)
        assert figures["mean_lift"] == pytest.approx(sum(lifts) / len(lifts) if lifts else 0)
    everywhere = await store.type_success_rates(None)
    assert sum(f["count"] for f in everywhere.values()) == len(made) + 1


async def test_stats_of_a_quiet_session_are_zero(store: Store) -> None:
    assert await store.session_stats("ses_quiet0000000") == {
        "total_interventions": 0,
        "by_type": {},
        "success_rate": 0.0,
        "avg_confidence": 0.0,
        "successful_interventions": 0,
    }
    await store.save_intervention(_intervention("int_unmeasured", session_id="ses_quiet0000000"))
    stats = await store.session_stats("ses_quiet0000000")
    assert stats["total_interventions"] == 1 and stats["success_rate"] == 0.0


# -- dead letters and health ------------------------------------------------------------------


async def test_dead_letters_are_kept_once_per_entry_newest_first(store: Store) -> None:
    letters = [
        DeadLetter(
            "platform.events.chat.message.v1",
            f"1700000000000-{i}",
            "no sessionId",
            '{"x": 1}',
            received_at=T0 + timedelta(seconds=i),
        )
        for i in range(3)
    ]
    anonymous = DeadLetter(
        "platform.agent.intervention-outcomes.v1",
        None,
        "unknown id",
        None,
        received_at=T0 + timedelta(seconds=10),
    )
    await store.add_dead_letters([*letters, anonymous])
    await store.add_dead_letters([letters[0], anonymous])
    assert await store.count_dead_letters() == 5
    listed = await store.list_dead_letters(10)
    assert [d.entry_id for d in listed] == [None, None, *[d.entry_id for d in reversed(letters)]]
    assert listed[-1] == letters[0]
    assert [d.entry_id for d in await store.list_dead_letters(2)] == [None, None]


@pytest.mark.parametrize("limit", [0, -1, 10_001])
async def test_limits_are_checked(store: Store, limit: int) -> None:
    with pytest.raises(ValueError, match="limit"):
        await store.list_dead_letters(limit)
    with pytest.raises(ValueError, match="limit"):
        await store.session_history(SES, limit, 0)


async def test_negative_offset_is_refused(store: Store) -> None:
    with pytest.raises(ValueError, match="offset"):
        await store.session_history(SES, 10, -1)


async def test_ping_answers_when_reachable(store: Store) -> None:
    await store.ping()


@pytest.mark.postgres
async def test_unreachable_postgres_is_reported_unavailable(pg_server: str) -> None:
    # Port 9 (discard) has no PostgreSQL: the connection is refused.
    store = await Store.connect("postgresql://postgres@127.0.0.1:9/nowhere")
    try:
        with pytest.raises(StorageUnavailable):
            await store.ping()
        with pytest.raises(StorageUnavailable):
            await store.add_dead_letters([DeadLetter("s", "1-0", "r", None)])
    finally:
        await store.close()


async def test_unopenable_sqlite_is_reported_unavailable(tmp_path: Path) -> None:
    store = await Store.connect(f"sqlite:///{tmp_path / 'missing' / 'dir' / 'c.db'}")
    try:
        with pytest.raises(StorageUnavailable):
            await store.ping()
    finally:
        await store.close()
    # The driver stops its worker thread after a failed connect without awaiting it; let it
    # finish while this test's event loop still runs.
    for _ in range(200):
        if not any(t.name.endswith("(_connection_worker_thread)") for t in threading.enumerate()):
            break
        await asyncio.sleep(0.01)
