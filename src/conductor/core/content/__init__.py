"""Real content for interventions: polls, chat prompts, organiser notifications and games.

Everything is package data in Python, so choosing content needs no file I/O.
"""

from conductor.core.content.gamification import GAME_TEMPLATES, GameTemplate
from conductor.core.content.library import POLL_CATEGORIES, ContentLibrary
from conductor.core.content.notifications import NOTIFICATION_TEMPLATES, NotificationTemplate
from conductor.core.content.polls import POLL_TEMPLATES, PollTemplate
from conductor.core.content.prompts import CHAT_TEMPLATES, ChatTemplate

__all__ = [
    "CHAT_TEMPLATES",
    "GAME_TEMPLATES",
    "NOTIFICATION_TEMPLATES",
    "POLL_CATEGORIES",
    "POLL_TEMPLATES",
    "ChatTemplate",
    "ContentLibrary",
    "GameTemplate",
    "NotificationTemplate",
    "PollTemplate",
]
