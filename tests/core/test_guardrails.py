"""Guardrails: cooldowns, gaps and budgets that keep the agent from spamming an audience."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conductor.core.guardrails import GuardrailConfig, Guardrails
from conductor.core.vocabulary import InterventionType

POLL = InterventionType.POLL
CHAT = InterventionType.CHAT_PROMPT
NOTE = InterventionType.NOTIFICATION
GAME = InterventionType.GAMIFICATION

NO_SPACING = {t: 0.0 for t in InterventionType}


def loose(**overrides: int) -> Guardrails:
    """Guardrails with no cooldowns or gaps, so one budget can be tested on its own."""
    return Guardrails(GuardrailConfig(cooldown_s=NO_SPACING, min_gap_s=0.0, **overrides))


@pytest.mark.parametrize(("type", "seconds"), [(POLL, 120), (CHAT, 60), (NOTE, 300), (GAME, 180)])
def test_default_cooldown_per_type(type: InterventionType, seconds: int) -> None:
    guard = Guardrails()
    guard.record("ses_a", "evt_a", type, 1_000.0)
    reason = guard.check("ses_a", "evt_a", type, 1_000.0 + seconds - 1)
    assert reason == f"{type.value} is cooling down for 1 s more"
    assert guard.check("ses_a", "evt_a", type, 1_000.0 + seconds) is None


def test_cooldown_reason_counts_whole_seconds_left() -> None:
    guard = Guardrails()
    guard.record("ses_a", None, POLL, 0.0)
    assert guard.check("ses_a", None, POLL, 77.5) == "POLL is cooling down for 43 s more"


def test_one_types_cooldown_leaves_other_types_free_after_the_gap() -> None:
    guard = Guardrails()
    guard.record("ses_a", None, POLL, 0.0)
    assert guard.check("ses_a", None, CHAT, 30.0) is None
    assert guard.check("ses_a", None, POLL, 30.0) is not None


def test_minimum_gap_between_any_two_interventions() -> None:
    guard = Guardrails()
    guard.record("ses_a", None, POLL, 0.0)
    reason = guard.check("ses_a", None, CHAT, 10.0)
    assert reason is not None and "gap" in reason and "20 s left" in reason
    assert guard.check("ses_b", None, CHAT, 10.0) is None


def test_session_budget_is_configurable_and_per_session() -> None:
    guard = loose(max_per_session=3)
    for i in range(3):
        assert guard.check("ses_a", None, POLL, float(i)) is None
        guard.record("ses_a", None, POLL, float(i))
    assert guard.check("ses_a", None, CHAT, 10.0) == "session budget of 3 used"
    assert guard.check("ses_b", None, CHAT, 10.0) is None


def test_default_session_budget_is_twelve() -> None:
    guard = loose(max_per_session_per_hour=100)
    for i in range(12):
        guard.record("ses_a", None, CHAT, float(i))
    assert guard.check("ses_a", None, CHAT, 20.0) == "session budget of 12 used"


def test_event_budget_spans_sessions() -> None:
    guard = loose(max_per_event=2)
    guard.record("ses_a", "evt_a", POLL, 0.0)
    guard.record("ses_b", "evt_a", CHAT, 0.0)
    assert guard.check("ses_c", "evt_a", POLL, 1.0) == "event budget of 2 used"
    assert guard.check("ses_c", "evt_b", POLL, 1.0) is None
    assert guard.check("ses_c", None, POLL, 1.0) is None


def test_hourly_limit_per_session_slides() -> None:
    guard = loose(max_per_session_per_hour=2)
    guard.record("ses_a", None, POLL, 0.0)
    guard.record("ses_a", None, CHAT, 100.0)
    reason = guard.check("ses_a", None, GAME, 200.0)
    assert reason is not None and "hourly limit of 2" in reason
    assert guard.check("ses_a", None, GAME, 3_600.0) is None


def test_release_refunds_the_budget_but_keeps_the_cooldown() -> None:
    guard = Guardrails(GuardrailConfig(max_per_session=1, max_per_event=1))
    guard.record("ses_a", "evt_a", POLL, 0.0)
    assert guard.check("ses_a", "evt_a", CHAT, 100.0) == "session budget of 1 used"
    guard.release("ses_a", "evt_a", POLL, 50.0)
    assert guard.check("ses_a", "evt_a", CHAT, 100.0) is None
    assert guard.check("ses_a", "evt_a", POLL, 100.0) == "POLL is cooling down for 20 s more"
    assert guard.used("ses_a", "evt_a") == (0, 0)


def test_release_refunds_the_hourly_slot() -> None:
    guard = loose(max_per_session_per_hour=1)
    guard.record("ses_a", None, POLL, 0.0)
    assert guard.check("ses_a", None, CHAT, 10.0) is not None
    guard.release("ses_a", None, POLL, 10.0)
    assert guard.check("ses_a", None, CHAT, 10.0) is None


def test_release_without_a_reservation_never_creates_credit() -> None:
    guard = loose(max_per_session=1, max_per_event=1)
    guard.release("ses_a", "evt_a", POLL, 0.0)
    guard.record("ses_a", "evt_a", POLL, 1.0)
    guard.release("ses_a", "evt_a", POLL, 2.0)
    guard.release("ses_a", "evt_a", POLL, 3.0)
    guard.record("ses_a", "evt_a", POLL, 4.0)
    assert guard.used("ses_a", "evt_a") == (1, 1)
    assert guard.check("ses_a", "evt_a", CHAT, 5.0) == "session budget of 1 used"


def test_forget_session_drops_its_state_but_not_the_event_budget() -> None:
    guard = Guardrails(GuardrailConfig(max_per_event=2))
    guard.record("ses_a", "evt_a", POLL, 0.0)
    guard.forget_session("ses_a")
    assert guard.check("ses_a", "evt_a", POLL, 1.0) is None
    assert guard.used("ses_a", "evt_a") == (0, 1)


def test_event_memory_is_bounded() -> None:
    guard = loose(max_tracked_events=3)
    for i in range(5):
        guard.record(f"ses_{i}", f"evt_{i}", POLL, float(i))
    assert guard.used("ses_x", "evt_0") == (0, 0)
    assert guard.used("ses_x", "evt_4") == (0, 1)


def test_out_of_order_time_stays_blocked() -> None:
    guard = Guardrails()
    guard.record("ses_a", None, POLL, 1_000.0)
    assert guard.check("ses_a", None, POLL, 900.0) is not None


@pytest.mark.parametrize(
    "kwargs",
    [
        {"cooldown_s": {POLL: -1.0}},
        {"cooldown_s": {"POLL": 10.0}},
        {"min_gap_s": float("nan")},
        {"max_per_session": -1},
        {"max_per_event": -1},
        {"max_per_session_per_hour": -1},
    ],
)
def test_bad_config_is_rejected(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        GuardrailConfig(**kwargs)  # type: ignore[arg-type]


def test_zero_budget_blocks_everything() -> None:
    guard = loose(max_per_session=0)
    assert guard.check("ses_a", None, POLL, 0.0) == "session budget of 0 used"


operations = st.lists(
    st.tuples(
        st.sampled_from(["try", "release"]),
        st.sampled_from(["ses_a", "ses_b"]),
        st.sampled_from(list(InterventionType)),
        st.floats(0.0, 400.0),
    ),
    max_size=60,
)


@given(operations)
def test_only_checked_records_never_break_a_limit(
    ops: list[tuple[str, str, InterventionType, float]],
) -> None:
    config = GuardrailConfig(max_per_session=5, max_per_event=7, max_per_session_per_hour=4)
    guard = Guardrails(config)
    now = 0.0
    made: dict[str, list[tuple[float, InterventionType]]] = {"ses_a": [], "ses_b": []}
    live = {"ses_a": 0, "ses_b": 0}
    for action, session, type, step in ops:
        now += step
        if action == "try":
            if guard.check(session, "evt_a", type, now) is None:
                guard.record(session, "evt_a", type, now)
                made[session].append((now, type))
                live[session] += 1
        elif live[session] > 0:
            guard.release(session, "evt_a", type, now)
            live[session] = max(0, live[session] - 1)
        assert all(n <= config.max_per_session for n in live.values())
        assert sum(live.values()) <= config.max_per_event
    for history in made.values():
        for (t1, _), (t2, _) in itertools.pairwise(history):
            assert t2 - t1 >= config.min_gap_s
        for i, (t1, k1) in enumerate(history):
            for t2, k2 in history[i + 1 :]:
                if k1 is k2:
                    assert t2 - t1 >= config.cooldown_s[k1]
