"""Organiser notifications: what happened, in numbers, and what to do about it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from conductor.core.vocabulary import AnomalyType, Severity


@dataclass(frozen=True, slots=True)
class NotificationTemplate:
    id: str
    title: str
    lead: str
    """Opening sentence of the body; the measured numbers follow it."""
    suggested_action: str


NOTIFICATION_TEMPLATES: Mapping[tuple[AnomalyType, Severity], NotificationTemplate] = {
    (AnomalyType.SUDDEN_DROP, Severity.WARNING): NotificationTemplate(
        "nt_sudden_drop_warning",
        "Engagement dropped suddenly",
        "Audience activity fell quickly in the last few minutes.",
        "Pause for a moment and put a direct question to the audience, or launch a quick poll.",
    ),
    (AnomalyType.SUDDEN_DROP, Severity.CRITICAL): NotificationTemplate(
        "nt_sudden_drop_critical",
        "Sharp engagement drop: act now",
        "Audience activity collapsed within minutes.",
        "Check that audio, video and slides are working, then change format: open the floor "
        "for questions or run a poll.",
    ),
    (AnomalyType.GRADUAL_DECLINE, Severity.WARNING): NotificationTemplate(
        "nt_gradual_decline_warning",
        "Engagement is slowly fading",
        "Activity has been sliding steadily for a while.",
        "Change the rhythm: tell a story, show a demo or ask the room a question.",
    ),
    (AnomalyType.GRADUAL_DECLINE, Severity.CRITICAL): NotificationTemplate(
        "nt_gradual_decline_critical",
        "Engagement has declined a long way",
        "Activity has been falling for some time and is now far below where it started.",
        "Jump to the most practical part, invite questions now, or offer a two-minute break.",
    ),
    (AnomalyType.LOW_ENGAGEMENT, Severity.WARNING): NotificationTemplate(
        "nt_low_engagement_warning",
        "The room is quiet",
        "Few attendees are chatting, reacting or voting.",
        "Invite the audience in: ask for examples in the chat or run a quick poll.",
    ),
    (AnomalyType.LOW_ENGAGEMENT, Severity.CRITICAL): NotificationTemplate(
        "nt_low_engagement_critical",
        "Almost no audience activity",
        "Hardly anyone is participating.",
        "Address the audience directly by name or role, call for questions, and consider a "
        "short challenge to restart participation.",
    ),
    (AnomalyType.MASS_EXIT, Severity.WARNING): NotificationTemplate(
        "nt_mass_exit_warning",
        "Attendees are leaving",
        "More people than usual are leaving the session.",
        "Tell the audience what is coming next and why it is worth staying for.",
    ),
    (AnomalyType.MASS_EXIT, Severity.CRITICAL): NotificationTemplate(
        "nt_mass_exit_critical",
        "Many attendees are leaving right now",
        "A large share of the audience has left within minutes.",
        "Check for technical problems first; then move to the most valuable content or open "
        "questions straight away.",
    ),
}

CHECK_IN = NotificationTemplate(
    "nt_check_in",
    "Audience check-in requested",
    "An organiser asked for a check-in on this session.",
    "Look at the live engagement panel, then put a question to the room or run a quick poll.",
)
"""For a notification an organiser requested without an anomaly."""
