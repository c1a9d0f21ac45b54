"""The agent loop's own rules, driven tick by tick in event time on a real SQLite store and the
in-process bus: modes and thresholds, expiry, outcome measurement, the session registry."""

from __future__ import annotations

from typing import Any

import pytest

from conductor.bus.messages import INTERVENTIONS_CHANNEL
from conductor.core.vocabulary import (
    AgentMode,
    AgentStatus,
    DecisionStatus,
    InterventionType,
)
from conductor.runtime import Runtime
from conductor.service.records import EventSettings, SessionRecord
from conductor.sim import AudienceSimulator
from event_clock import START, Clock

EVENT = "evt_0000000000aa"


def room(scenario: str, session_id: str, seed: int = 1, start: float = START) -> AudienceSimulator:
    return AudienceSimulator(
        scenario,
        attendees=80,
        minutes=12,
        seed=seed,
        session_id=session_id,
        event_id=EVENT,
        start=start,
        onset=250,
    )


async def run(
    runtime: Runtime,
    clock: Clock,
    sims: list[AudienceSimulator],
    until: float,
    commands: list[dict[str, Any]] | None = None,
) -> None:
    subscription = runtime.live.subscribe(INTERVENTIONS_CHANNEL)
    while clock.t < until:
        clock.t += 5.0
        for sim in sims:
            runtime.service.ingest(sim.step(clock.t))
        runtime.service.step()
        await runtime.service.drain()
        while (item := subscription.get_nowait()) is not None:
            if commands is not None:
                commands.append(dict(item.message))
    subscription.close()
    await runtime.writer.flush()


async def until_pending(
    runtime: Runtime, clock: Clock, sim: AudienceSimulator, limit: float = START + 600
) -> str:
    """Tick until a decision waits for the organiser; its id."""
    while clock.t < limit:
        pending = runtime.service.pending_for(session_id=sim.session_id)
        if pending:
            return pending[0].id
        await run(runtime, clock, [sim], clock.t + 5)
    raise AssertionError(f"no decision for {sim.session_id}")


async def test_manual_mode_waits_and_semi_auto_runs_only_the_confident(
    loop: tuple[Runtime, Clock],
) -> None:
    runtime, clock = loop
    service = runtime.service
    service.put_event_settings(EventSettings(EVENT, mode=AgentMode.MANUAL))
    manual = room("sudden_drop", "ses_00000000man1")
    commands: list[dict[str, Any]] = []
    await run(runtime, clock, [manual], START + 240, commands)
    await until_pending(runtime, clock, manual)
    assert commands == []  # nothing reaches the audience without the organiser
    assert service.live[manual.session_id].status is AgentStatus.WAITING_APPROVAL

    # SEMI_AUTO with an impossible threshold waits; with 0 it runs at once.
    service.put_event_settings(
        EventSettings(EVENT, mode=AgentMode.SEMI_AUTO, confidence_threshold=0.0)
    )
    semi = room("sudden_drop", "ses_0000000semi1", seed=2, start=clock.t)
    commands.clear()
    await run(runtime, clock, [semi], clock.t + 400, commands)
    assert [c["session_id"] for c in commands if c["session_id"] == semi.session_id]
    assert not service.pending_for(session_id=semi.session_id)


async def test_pending_decisions_expire_and_the_status_clears(
    loop: tuple[Runtime, Clock],
) -> None:
    runtime, clock = loop
    service = runtime.service
    sim = room("sudden_drop", "ses_00000000exp1")
    decision_id = await until_pending(runtime, clock, sim)
    await run(runtime, clock, [sim], clock.t + 65)  # decision_ttl_s = 60
    stored = await runtime.store.get_decision(decision_id)
    assert stored is not None and stored.status is DecisionStatus.EXPIRED
    if not service.pending_for(session_id=sim.session_id):
        assert service.live[sim.session_id].status is not AgentStatus.WAITING_APPROVAL


async def test_an_approved_intervention_gets_its_outcome_measured(
    loop: tuple[Runtime, Clock],
) -> None:
    runtime, clock = loop
    service = runtime.service
    sim = room("low_engagement", "ses_00000000out1")
    decision_id = await until_pending(runtime, clock, sim)
    rewards = runtime.live.subscribe(f"session:{sim.session_id}:events")
    decision, intervention = service.approve(decision_id, actor="organiser-1")
    sim.receive(intervention.type, intervention.content, clock.t)
    await run(runtime, clock, [sim], clock.t + 75)  # outcome_delay_s = 60
    measured = []
    while (item := rewards.get_nowait()) is not None:
        if item.message["type"] == "agent.reward.measured":
            measured.append(item.message["data"])
    assert len(measured) == 1
    reward = measured[0]
    assert reward["intervention_id"] == intervention.id
    assert reward["lift"] == pytest.approx(
        reward["score_after"] - reward["expected_after"], abs=1e-3
    )
    stored = await runtime.store.get_intervention(intervention.id)
    assert stored is not None and stored.outcome is not None
    assert stored.outcome.lift == pytest.approx(reward["lift"])
    assert decision.status is DecisionStatus.EXECUTED and decision.resolved_by == "organiser-1"


async def test_a_registered_session_keeps_its_topic_when_signals_arrive(
    loop: tuple[Runtime, Clock],
) -> None:
    runtime, clock = loop
    service = runtime.service
    service.register_session(
        SessionRecord(
            "ses_00000000reg1",
            EVENT,
            topic="security",
            tags=("security", "devops"),
            mode=AgentMode.AUTO,
        )
    )
    sim = room("steady", "ses_00000000reg1")
    await run(runtime, clock, [sim], START + 60)
    stored = await runtime.store.get_session("ses_00000000reg1")
    assert stored is not None
    assert (stored.topic, tuple(stored.tags), stored.mode) == (
        "security",
        ("security", "devops"),
        AgentMode.AUTO,
    )
    assert service.mode_of("ses_00000000reg1") is AgentMode.AUTO


async def test_the_session_budget_caps_interventions(loop: tuple[Runtime, Clock]) -> None:
    runtime, clock = loop
    service = runtime.service
    service.put_event_settings(EventSettings(EVENT, mode=AgentMode.AUTO, max_per_session=1))
    sim = room("sudden_drop", "ses_00000000bud1")
    commands: list[dict[str, Any]] = []
    await run(runtime, clock, [sim], START + 700, commands)
    mine = [c for c in commands if c["session_id"] == sim.session_id]
    assert len(mine) == 1


async def test_manual_interventions_use_real_content(loop: tuple[Runtime, Clock]) -> None:
    runtime, clock = loop
    sim = room("steady", "ses_00000000mnl1")
    await run(runtime, clock, [sim], START + 30)
    subscription = runtime.live.subscribe(INTERVENTIONS_CHANNEL)
    iv = runtime.service.manual(
        sim.session_id,
        EVENT,
        InterventionType.POLL,
        "warm-up",
        {"topic": "security"},
        actor="organiser-1",
    )
    await runtime.service.drain()
    item = subscription.get_nowait()
    assert item is not None and item.message["intervention_id"] == iv.id
    poll = item.message["poll"]
    assert poll["question"] and 2 <= len(poll["options"]) <= 6
