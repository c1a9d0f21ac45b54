"""The content library: real templates, no repeats within a session, topic-aware choices and
the platform's own gamification vocabulary."""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conductor.core.content import (
    CHAT_TEMPLATES,
    GAME_TEMPLATES,
    NOTIFICATION_TEMPLATES,
    POLL_CATEGORIES,
    POLL_TEMPLATES,
    ContentLibrary,
)
from conductor.core.content.polls import PollTemplate
from conductor.core.content.prompts import CATEGORY_FOR
from conductor.core.content.topics import matches
from conductor.core.model import Anomaly, SessionInfo
from conductor.core.vocabulary import AnomalyType, InterventionType, Severity

PLACEHOLDER = re.compile(r"todo|lorem|ipsum|placeholder|option \d|[{}]|xxx|tbd", re.IGNORECASE)
CATEGORIES = {"quick_pulse", "opinion", "interactive", "topic_specific", "crisis"}
NO_TOPIC = SessionInfo("ses_a")
POLL_TYPES = {"multiple_choice", "rating", "yes_no"}


def anomaly(
    type: AnomalyType = AnomalyType.LOW_ENGAGEMENT, severity: Severity = Severity.WARNING
) -> Anomaly:
    return Anomaly("ses_a", "evt_a", 0.0, type, severity, 0.2, 0.5, 0.6, "Chat went quiet")


def texts(content: dict[str, Any]) -> list[str]:
    """Every string a person would read in a piece of content."""
    out: list[str] = []
    for value in content.values():
        if isinstance(value, str):
            out.append(value)
        elif isinstance(value, list):
            out.extend(v for v in value if isinstance(v, str))
    return out


def assert_clean(content: dict[str, Any]) -> None:
    for text in texts(content):
        assert text.strip(), content
        assert not PLACEHOLDER.search(text), text


def test_the_poll_catalogue_is_rich_and_well_formed() -> None:
    assert len(POLL_TEMPLATES) >= 24
    categories = {t.category for t in POLL_TEMPLATES}
    assert categories >= CATEGORIES
    assert len({t.id for t in POLL_TEMPLATES}) == len(POLL_TEMPLATES)
    assert len({t.question for t in POLL_TEMPLATES}) == len(POLL_TEMPLATES)
    for template in POLL_TEMPLATES:
        assert 2 <= len(template.options) <= 6
        assert len(set(template.options)) == len(template.options)
        assert template.duration > 0
        assert template.type in POLL_TYPES
    for category in CATEGORIES - {"topic_specific"}:
        assert sum(t.category == category for t in POLL_TEMPLATES) >= 4


def test_topic_templates_cover_many_subjects() -> None:
    keyworded = [t for t in POLL_TEMPLATES if t.keywords]
    subjects = [
        "ai", "security", "product", "leadership", "marketing", "data", "design", "devops",
        "sales", "hr", "finance", "health", "education",
    ]  # fmt: skip
    for subject in subjects:
        assert any(subject in t.keywords for t in keyworded), subject
    assert all(t.category == "topic_specific" for t in keyworded)


def test_a_template_with_bad_options_is_rejected() -> None:
    with pytest.raises(ValueError, match=r"2\.\.6 options"):
        PollTemplate("x", "opinion", "Pick one?", ("Only",), "multiple_choice", 30)
    with pytest.raises(ValueError, match="duration"):
        PollTemplate("x", "opinion", "Pick one?", ("A", "B"), "multiple_choice", 0)


@pytest.mark.parametrize("type", list(AnomalyType))
def test_rendered_polls_have_the_platform_shape(type: AnomalyType) -> None:
    library = ContentLibrary()
    info = SessionInfo("ses_a", topic="Cloud cost control", tags=("finance",))
    for _ in range(len(POLL_TEMPLATES) + 5):
        poll = library.poll("ses_a", type, info)
        assert set(poll) == {"question", "options", "type", "duration", "category", "template_id"}
        assert 2 <= len(poll["options"]) <= 6
        assert poll["duration"] > 0
        assert poll["type"] in POLL_TYPES
        assert_clean(poll)


@settings(max_examples=60)
@given(
    topic=st.none() | st.text(max_size=120),
    tags=st.lists(st.text(max_size=20), max_size=4),
    type=st.sampled_from(list(AnomalyType)),
    severity=st.sampled_from(list(Severity)),
)
def test_no_placeholder_survives_any_topic(
    topic: str | None, tags: list[str], type: AnomalyType, severity: Severity
) -> None:
    library = ContentLibrary(seed=3)
    info = SessionInfo("ses_a", topic=topic, tags=tuple(tags))
    for kind in InterventionType:
        for _ in range(4):
            content = library.content(kind, "ses_a", anomaly(type, severity), info, 50)
            for text in texts(content):
                assert "{" not in text and "}" not in text
                assert "TODO" not in text and "Option 1" not in text


def test_topic_is_shown_as_given_but_cannot_inject_markup() -> None:
    library = ContentLibrary()
    info = SessionInfo("ses_a", topic="  Remote {team} <b>rituals</b>  ")
    seen = [library.poll("ses_a", AnomalyType.LOW_ENGAGEMENT, info) for _ in range(3)]
    topical = [p["question"] for p in seen if p["category"] == "topic_specific"]
    assert len(topical) == 3
    assert all("Remote team b rituals /b" in q for q in topical)


@settings(max_examples=80)
@given(st.lists(st.sampled_from(list(AnomalyType)), min_size=1, max_size=120), st.integers())
def test_no_poll_repeats_until_its_category_is_exhausted(
    sequence: list[AnomalyType], seed: int
) -> None:
    library = ContentLibrary(seed=seed)
    members: dict[str, set[str]] = defaultdict(set)
    for template in POLL_TEMPLATES:
        members[template.category].add(template.id)
    shown: dict[str, set[str]] = defaultdict(set)
    for type in sequence:
        poll = library.poll("ses_a", type, NO_TOPIC)
        category, template_id = poll["category"], poll["template_id"]
        assert category != "topic_specific"  # no topic, no tags
        if template_id in shown[category]:
            assert shown[category] == members[category], "repeated before the category ran out"
            shown[category] = set()
        shown[category].add(template_id)


@settings(max_examples=60)
@given(st.lists(st.sampled_from(list(AnomalyType)), min_size=1, max_size=80), st.integers())
def test_no_chat_prompt_repeats_until_its_category_is_exhausted(
    sequence: list[AnomalyType], seed: int
) -> None:
    library = ContentLibrary(seed=seed)
    members: dict[str, set[str]] = defaultdict(set)
    for template in CHAT_TEMPLATES:
        if not template.needs_topic:
            members[template.category].add(template.id)
    shown: dict[str, set[str]] = defaultdict(set)
    for type in sequence:
        prompt = library.chat_prompt("ses_a", type, NO_TOPIC)
        category, template_id = prompt["category"], prompt["template_id"]
        if template_id in shown[category]:
            assert shown[category] == members[category]
            shown[category] = set()
        shown[category].add(template_id)
        assert_clean(prompt)


@pytest.mark.parametrize(
    ("type", "severity", "first_category"),
    [
        (AnomalyType.LOW_ENGAGEMENT, Severity.WARNING, "quick_pulse"),
        (AnomalyType.GRADUAL_DECLINE, Severity.WARNING, "opinion"),
        (AnomalyType.SUDDEN_DROP, Severity.WARNING, "interactive"),
        (AnomalyType.SUDDEN_DROP, Severity.CRITICAL, "crisis"),
        (AnomalyType.MASS_EXIT, Severity.WARNING, "crisis"),
        (AnomalyType.MASS_EXIT, Severity.CRITICAL, "crisis"),
    ],
)
def test_without_a_topic_the_anomaly_picks_the_category(
    type: AnomalyType, severity: Severity, first_category: str
) -> None:
    library = ContentLibrary()
    poll = library.content(InterventionType.POLL, "ses_a", anomaly(type, severity), NO_TOPIC, 40)
    assert poll["category"] == first_category
    assert POLL_CATEGORIES[type][0] == first_category or severity is Severity.CRITICAL


def test_a_category_falls_back_to_the_next_once_used_up() -> None:
    library = ContentLibrary()
    quick = sum(t.category == "quick_pulse" for t in POLL_TEMPLATES)
    categories = [
        library.poll("ses_a", AnomalyType.LOW_ENGAGEMENT, NO_TOPIC)["category"]
        for _ in range(quick + 1)
    ]
    assert categories == ["quick_pulse"] * quick + ["interactive"]


def test_tags_steer_the_poll_to_matching_templates() -> None:
    library = ContentLibrary()
    info = SessionInfo("ses_a", tags=("AI",))
    ai_ids = {t.id for t in POLL_TEMPLATES if "ai" in t.keywords}
    first = [library.poll("ses_a", AnomalyType.LOW_ENGAGEMENT, info) for _ in range(len(ai_ids))]
    assert {p["template_id"] for p in first} == ai_ids
    after = library.poll("ses_a", AnomalyType.LOW_ENGAGEMENT, info)
    assert after["category"] == "quick_pulse"


def test_topic_words_steer_the_poll_and_fill_in_the_topic() -> None:
    library = ContentLibrary()
    info = SessionInfo("ses_a", topic="Security in the CI/CD pipeline")
    polls = [library.poll("ses_a", AnomalyType.GRADUAL_DECLINE, info) for _ in range(6)]
    chosen = {p["template_id"] for p in polls}
    fitting = {
        t.id
        for t in POLL_TEMPLATES
        if t.category == "topic_specific" and (matches(t.keywords, info) or t.needs_topic)
    }
    assert chosen <= fitting
    assert any("security" in t.keywords for t in POLL_TEMPLATES if t.id in fitting)
    assert any("devops" in t.keywords for t in POLL_TEMPLATES if t.id in fitting)
    assert any("Security in the CI/CD pipeline" in p["question"] for p in polls)


def test_topic_words_match_whole_words_only() -> None:
    info = SessionInfo("ses_a", topic="Email campaigns that convert", tags=("retail",))
    library = ContentLibrary()
    ids = {library.poll("ses_a", AnomalyType.LOW_ENGAGEMENT, info)["template_id"] for _ in range(6)}
    ai_ids = {t.id for t in POLL_TEMPLATES if "ai" in t.keywords}
    assert not ids & ai_ids


def test_same_seed_same_choices_and_sessions_do_not_interfere() -> None:
    one, two = ContentLibrary(seed=7), ContentLibrary(seed=7)
    alone = [one.poll("ses_a", AnomalyType.LOW_ENGAGEMENT, NO_TOPIC) for _ in range(10)]
    mixed = []
    for _ in range(10):
        two.poll("ses_b", AnomalyType.MASS_EXIT, NO_TOPIC)
        mixed.append(two.poll("ses_a", AnomalyType.LOW_ENGAGEMENT, NO_TOPIC))
    assert alone == mixed


def test_forget_session_starts_the_rotation_over() -> None:
    library = ContentLibrary(seed=1)
    first = [library.chat_prompt("ses_a", AnomalyType.SUDDEN_DROP, NO_TOPIC) for _ in range(3)]
    library.forget_session("ses_a")
    again = [library.chat_prompt("ses_a", AnomalyType.SUDDEN_DROP, NO_TOPIC) for _ in range(3)]
    assert first == again


@pytest.mark.parametrize("type", list(AnomalyType))
def test_chat_prompts_fit_the_anomaly_first(type: AnomalyType) -> None:
    library = ContentLibrary()
    own = [t for t in CHAT_TEMPLATES if t.category == CATEGORY_FOR[type]]
    assert len(own) >= 4
    prompts = [library.chat_prompt("ses_a", type, NO_TOPIC) for _ in range(len(own) + 1)]
    assert {p["template_id"] for p in prompts[:-1]} == {t.id for t in own}
    assert prompts[-1]["category"] == "general"


def test_chat_prompts_use_the_topic_when_known() -> None:
    library = ContentLibrary()
    info = SessionInfo("ses_a", topic="data mesh")
    reachable = [t for t in CHAT_TEMPLATES if t.category in {"warm_up", "general"} or t.needs_topic]
    prompts = [library.chat_prompt("ses_a", AnomalyType.LOW_ENGAGEMENT, info) for _ in reachable]
    assert len({p["template_id"] for p in prompts}) == len(reachable)
    topical = [p["message"] for p in prompts if p["category"] == "topic"]
    assert len(topical) == sum(t.needs_topic for t in CHAT_TEMPLATES)
    assert all("data mesh" in m for m in topical)


@pytest.mark.parametrize("type", list(AnomalyType))
@pytest.mark.parametrize("severity", list(Severity))
def test_notifications_tell_the_organiser_what_and_what_to_do(
    type: AnomalyType, severity: Severity
) -> None:
    info = SessionInfo("ses_a", topic="Quarterly roadmap")
    note = ContentLibrary().notification("ses_a", anomaly(type, severity), info)
    assert note["notification_type"] == type.value
    assert note["escalate"] is (severity is Severity.CRITICAL)
    assert note["target"] == "organizer"
    assert "20%" in note["body"] and "50%" in note["body"] and "Quarterly roadmap" in note["body"]
    assert "Chat went quiet." in note["body"]
    assert note["title"] and note["suggested_action"]
    assert_clean(note)


def test_every_anomaly_and_severity_has_its_own_notification() -> None:
    assert set(NOTIFICATION_TEMPLATES) == {(t, s) for t in AnomalyType for s in Severity}
    titles = [t.title for t in NOTIFICATION_TEMPLATES.values()]
    assert len(set(titles)) == len(titles)


CHALLENGE_KEYS = {"action", "template", "name", "description", "rewards", "duration_minutes"}
BOOST_KEYS = {"action", "name", "description", "multiplier", "duration_minutes"}


@given(
    sequence=st.lists(st.sampled_from(list(AnomalyType)), min_size=1, max_size=20),
    audience=st.integers(0, 5_000),
)
def test_gamification_speaks_only_the_platform_vocabulary(
    sequence: list[AnomalyType], audience: int
) -> None:
    library = ContentLibrary()
    for type in sequence:
        game = library.gamification("ses_a", type, NO_TOPIC, audience)
        assert game["action"] in {"START_CHALLENGE", "POINTS_BOOST"}
        assert game["duration_minutes"] > 0
        if game["action"] == "START_CHALLENGE":
            assert set(game) - {"template_id"} == CHALLENGE_KEYS
            assert game["template"] in {"CHAT_BLITZ", "POLL_RUSH", "QA_SPRINT", "POINTS_RACE"}
            rewards = game["rewards"]
            assert set(rewards) == {"first", "second", "third"}
            assert rewards["first"] > rewards["second"] > rewards["third"] > 0
        else:
            assert set(game) - {"template_id"} == BOOST_KEYS
            assert game["multiplier"] > 1.0
        assert_clean(game)


def test_leaderboard_races_need_a_big_room() -> None:
    library = ContentLibrary()
    small = {
        library.gamification("ses_a", AnomalyType.GRADUAL_DECLINE, NO_TOPIC, 10)["template_id"]
        for _ in range(len(GAME_TEMPLATES) * 2)
    }
    races = {t.id for t in GAME_TEMPLATES if t.room == "big"}
    assert races and not small & races
    big = ContentLibrary().gamification("ses_b", AnomalyType.MASS_EXIT, NO_TOPIC, 800)
    assert big["template_id"] in {
        t.id for t in GAME_TEMPLATES if AnomalyType.MASS_EXIT in t.anomalies
    }


def test_content_dispatches_by_type() -> None:
    library = ContentLibrary()
    found = {
        kind: library.content(kind, "ses_a", anomaly(), NO_TOPIC, 30) for kind in InterventionType
    }
    assert "question" in found[InterventionType.POLL]
    assert "message" in found[InterventionType.CHAT_PROMPT]
    assert "suggested_action" in found[InterventionType.NOTIFICATION]
    assert "action" in found[InterventionType.GAMIFICATION]


def test_an_organisers_request_without_an_anomaly_gets_content_too() -> None:
    library = ContentLibrary()
    info = SessionInfo("ses_a", topic="Design systems")
    found = {kind: library.content(kind, "ses_a", None, info, 30) for kind in InterventionType}
    poll = found[InterventionType.POLL]
    assert poll["category"] == "topic_specific" and "Design systems" in poll["question"]
    plain = library.content(InterventionType.POLL, "ses_b", None, NO_TOPIC, 30)
    assert plain["category"] == "interactive"
    assert found[InterventionType.CHAT_PROMPT]["category"] in {"general", "topic"}
    note = found[InterventionType.NOTIFICATION]
    assert note["escalate"] is False and note["target"] == "organizer"
    assert "Design systems" in note["body"]
    assert found[InterventionType.GAMIFICATION]["action"] in {"START_CHALLENGE", "POINTS_BOOST"}
    for content in found.values():
        assert_clean(content)
