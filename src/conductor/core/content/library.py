"""The content library: picks and renders the poll, chat prompt, notification or game for one
intervention. Plain data in, plain dicts out (the shapes the platform's commands carry)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from conductor.core.content.gamification import (
    BIG_ROOM,
    GAME_TEMPLATES,
    SMALL_ROOM,
    START_CHALLENGE,
    GameTemplate,
)
from conductor.core.content.notifications import CHECK_IN, NOTIFICATION_TEMPLATES
from conductor.core.content.polls import (
    CRISIS,
    INTERACTIVE,
    OPINION,
    POLL_TEMPLATES,
    QUICK_PULSE,
    TOPIC_SPECIFIC,
    PollTemplate,
)
from conductor.core.content.prompts import (
    CATEGORY_FOR,
    CHAT_TEMPLATES,
    GENERAL,
    WARM_UP,
    ChatTemplate,
)
from conductor.core.content.rotation import Rotation
from conductor.core.content.topics import display_topic, matches
from conductor.core.model import Anomaly, SessionInfo
from conductor.core.vocabulary import AnomalyType, InterventionType, Severity

POLL_CATEGORIES: Mapping[AnomalyType, tuple[str, ...]] = {
    AnomalyType.LOW_ENGAGEMENT: (QUICK_PULSE, INTERACTIVE, OPINION),
    AnomalyType.GRADUAL_DECLINE: (OPINION, INTERACTIVE, QUICK_PULSE),
    AnomalyType.SUDDEN_DROP: (INTERACTIVE, QUICK_PULSE, OPINION),
    AnomalyType.MASS_EXIT: (CRISIS, QUICK_PULSE, INTERACTIVE),
}
"""The general categories that fit each anomaly, best first."""

MANUAL_POLL_CATEGORIES: tuple[str, ...] = (INTERACTIVE, QUICK_PULSE, OPINION)
"""For an organiser's request without an anomaly: let the audience steer."""

NOTIFICATION_TARGET = "organizer"
CHECK_IN_TYPE = "CHECK_IN"
"""`notification_type` of a notification an organiser asked for without an anomaly."""


def _percent(value: float) -> str:
    return f"{min(1.0, max(0.0, value)):.0%}"


class ContentLibrary:
    """Deterministic for a given seed, session and sequence of calls."""

    def __init__(self, seed: int = 0, big_room: int = 100, small_room: int = 15) -> None:
        self.big_room = big_room
        self.small_room = small_room
        self._polls = Rotation(seed, "poll")
        self._prompts = Rotation(seed, "chat")
        self._games = Rotation(seed, "game")

    def poll(
        self,
        session_id: str,
        anomaly_type: AnomalyType | None,
        info: SessionInfo,
        severity: Severity | None = None,
    ) -> dict[str, Any]:
        """A topic-specific poll when the topic or tags match, else one of the categories that
        fit the anomaly; a critical drop or exit asks the crisis questions first. Without an
        anomaly (an organiser's request) the interactive questions come first."""
        topic = display_topic(info)
        by_category = _group(POLL_TEMPLATES)
        topical = [
            t
            for t in by_category[TOPIC_SPECIFIC]
            if matches(t.keywords, info) or (t.needs_topic and topic is not None)
        ]
        pools: list[Sequence[PollTemplate]] = [topical]
        categories = (
            POLL_CATEGORIES[anomaly_type] if anomaly_type is not None else MANUAL_POLL_CATEGORIES
        )
        pools += [by_category[c] for c in categories]
        urgent = anomaly_type in (AnomalyType.SUDDEN_DROP, AnomalyType.MASS_EXIT)
        if urgent and severity is Severity.CRITICAL:
            pools.insert(0, by_category[CRISIS])
        chosen = self._polls.pick(session_id, pools)
        return {
            "question": _render(chosen.question, topic),
            "options": list(chosen.options),
            "type": chosen.type,
            "duration": chosen.duration,
            "category": chosen.category,
            "template_id": chosen.id,
        }

    def chat_prompt(
        self, session_id: str, anomaly_type: AnomalyType | None, info: SessionInfo
    ) -> dict[str, Any]:
        """A prompt of the anomaly's own category (or about the topic, when known), then the
        general ones; without an anomaly, general prompts then warm-ups."""
        topic = display_topic(info)
        own = CATEGORY_FOR[anomaly_type] if anomaly_type is not None else GENERAL
        backup = GENERAL if anomaly_type is not None else WARM_UP
        first = [
            t for t in CHAT_TEMPLATES if t.category == own or (t.needs_topic and topic is not None)
        ]
        second = [t for t in CHAT_TEMPLATES if t.category == backup]
        chosen: ChatTemplate = self._prompts.pick(session_id, [first, second])
        return {
            "message": _render(chosen.message, topic),
            "template_id": chosen.id,
            "category": chosen.category,
        }

    def notification(
        self, session_id: str, anomaly: Anomaly | None, info: SessionInfo
    ) -> dict[str, Any]:
        """What happened, the numbers, and one concrete next step for the organiser."""
        name = _display_name(info)
        if anomaly is None:
            return _render_check_in(name)
        template = NOTIFICATION_TEMPLATES[(anomaly.type, anomaly.severity)]
        parts = [f"“{name}”: {template.lead}" if name else template.lead]
        current, expected = anomaly.current, anomaly.expected
        if math.isfinite(current) and math.isfinite(expected) and expected > 0:
            parts.append(
                f"Engagement is at {_percent(current)}, where {_percent(expected)} was expected."
            )
        explanation = anomaly.explanation.strip()
        if explanation:
            parts.append(explanation if explanation.endswith(".") else explanation + ".")
        critical = anomaly.severity is Severity.CRITICAL
        return {
            "title": template.title,
            "body": " ".join(parts),
            "suggested_action": template.suggested_action,
            "notification_type": anomaly.type.value,
            "severity": anomaly.severity.value,
            "escalate": critical,
            "target": NOTIFICATION_TARGET,
            "template_id": template.id,
        }

    def gamification(
        self, session_id: str, anomaly_type: AnomalyType | None, info: SessionInfo, audience: int
    ) -> dict[str, Any]:
        """A game that suits the anomaly and the room: leaderboards need a crowd, question
        rounds shine in small rooms, boosts reward staying when people leave."""
        fitting_room = [t for t in GAME_TEMPLATES if self._room_fits(t, audience)]
        best = [t for t in fitting_room if anomaly_type is None or anomaly_type in t.anomalies]
        chosen = self._games.pick(session_id, [best, fitting_room])
        content: dict[str, Any] = {
            "action": chosen.action,
            "name": chosen.name,
            "description": chosen.description,
            "duration_minutes": chosen.duration_minutes,
            "template_id": chosen.id,
        }
        if chosen.action == START_CHALLENGE and chosen.rewards is not None:
            first, second, third = chosen.rewards
            content["template"] = chosen.template
            content["rewards"] = {"first": first, "second": second, "third": third}
        else:
            content["multiplier"] = chosen.multiplier
        return content

    def content(
        self,
        type: InterventionType,
        session_id: str,
        anomaly: Anomaly | None,
        info: SessionInfo,
        audience: int,
    ) -> dict[str, Any]:
        """The content for one intervention; `anomaly` is None for an organiser's request."""
        anomaly_type = anomaly.type if anomaly is not None else None
        severity = anomaly.severity if anomaly is not None else None
        match type:
            case InterventionType.POLL:
                return self.poll(session_id, anomaly_type, info, severity)
            case InterventionType.CHAT_PROMPT:
                return self.chat_prompt(session_id, anomaly_type, info)
            case InterventionType.NOTIFICATION:
                return self.notification(session_id, anomaly, info)
            case InterventionType.GAMIFICATION:
                return self.gamification(session_id, anomaly_type, info, audience)
        raise ValueError(f"unknown intervention type {type!r}")

    def forget_session(self, session_id: str) -> None:
        for rotation in (self._polls, self._prompts, self._games):
            rotation.forget(session_id)

    def _room_fits(self, template: GameTemplate, audience: int) -> bool:
        if template.room == BIG_ROOM:
            return audience >= self.big_room
        if template.room == SMALL_ROOM:
            return 0 < audience <= self.small_room
        return True


def _group(templates: Sequence[PollTemplate]) -> dict[str, list[PollTemplate]]:
    groups: dict[str, list[PollTemplate]] = {}
    for template in templates:
        groups.setdefault(template.category, []).append(template)
    return groups


def _display_name(info: SessionInfo) -> str | None:
    """The session as organisers know it: its title, else its (cleaned) topic."""
    title = (info.title or "").strip()
    if title:
        return title[:120]
    return display_topic(info)


def _render_check_in(name: str | None) -> dict[str, Any]:
    lead = f"“{name}”: {CHECK_IN.lead}" if name else CHECK_IN.lead
    return {
        "title": CHECK_IN.title,
        "body": lead,
        "suggested_action": CHECK_IN.suggested_action,
        "notification_type": CHECK_IN_TYPE,
        "severity": None,
        "escalate": False,
        "target": NOTIFICATION_TARGET,
        "template_id": CHECK_IN.id,
    }


def _render(text: str, topic: str | None) -> str:
    if "{topic}" in text:
        if topic is None:
            raise ValueError("a topic template was chosen without a topic")
        return text.replace("{topic}", topic)
    return text
