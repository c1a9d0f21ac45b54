"""Chat prompts: short messages that invite the audience to write in the chat.

The platform shows them to every attendee as a banner. Each anomaly has its own category;
`general` prompts back them up and `topic` prompts (with `{topic}`) join in when the topic is
known.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from conductor.core.vocabulary import AnomalyType


@dataclass(frozen=True, slots=True)
class ChatTemplate:
    id: str
    category: str
    message: str

    @property
    def needs_topic(self) -> bool:
        return "{topic}" in self.message


WARM_UP = "warm_up"
RE_ENGAGE = "re_engage"
RESET = "reset"
RETENTION = "retention"
GENERAL = "general"
TOPIC = "topic"

CATEGORY_FOR: Mapping[AnomalyType, str] = {
    AnomalyType.LOW_ENGAGEMENT: WARM_UP,
    AnomalyType.GRADUAL_DECLINE: RE_ENGAGE,
    AnomalyType.SUDDEN_DROP: RESET,
    AnomalyType.MASS_EXIT: RETENTION,
}

CHAT_TEMPLATES: tuple[ChatTemplate, ...] = (
    ChatTemplate(
        "cp_warm_role",
        WARM_UP,
        "Let's hear from you! Drop your role and where you're joining from in the chat.",
    ),
    ChatTemplate(
        "cp_warm_why",
        WARM_UP,
        "What made you join this session today? Tell us in the chat.",
    ),
    ChatTemplate(
        "cp_warm_one_word",
        WARM_UP,
        "In one word: how would you describe your week so far? Type it in the chat.",
    ),
    ChatTemplate(
        "cp_warm_example",
        WARM_UP,
        "Have you seen this work (or fail) in real life? Share a quick example in the chat.",
    ),
    ChatTemplate(
        "cp_warm_question",
        WARM_UP,
        "No question is too small. What would you like answered before the end of the session?",
    ),
    ChatTemplate(
        "cp_reengage_takeaway",
        RE_ENGAGE,
        "What's the most useful idea you've heard so far? Share it in the chat.",
    ),
    ChatTemplate(
        "cp_reengage_apply",
        RE_ENGAGE,
        "How would you apply this in your own work? One sentence in the chat is plenty.",
    ),
    ChatTemplate(
        "cp_reengage_disagree",
        RE_ENGAGE,
        "Anyone see it differently? Disagreement welcome: tell us why in the chat.",
    ),
    ChatTemplate(
        "cp_reengage_tip",
        RE_ENGAGE,
        "Got a tip that has worked for you? Share it and help everyone here.",
    ),
    ChatTemplate(
        "cp_reengage_rate",
        RE_ENGAGE,
        "Quick gut check: is this helpful so far? Type yes, no or 'tell me more'.",
    ),
    ChatTemplate(
        "cp_reset_check",
        RESET,
        "Quick check: is everyone still with us? Type a 👍 in the chat if you can hear us clearly.",
    ),
    ChatTemplate(
        "cp_reset_unclear",
        RESET,
        "Was anything unclear in the last few minutes? Tell us in the chat and we'll go over it.",
    ),
    ChatTemplate(
        "cp_reset_choose",
        RESET,
        "We can go deeper or move on: type DEEPER or NEXT in the chat.",
    ),
    ChatTemplate(
        "cp_reset_question",
        RESET,
        "Let's pause for your questions. What's on your mind right now?",
    ),
    ChatTemplate(
        "cp_reset_react",
        RESET,
        "What's your reaction to what you just heard? Surprised, convinced or sceptical?",
    ),
    ChatTemplate(
        "cp_retain_coming_up",
        RETENTION,
        "Stay with us: the most practical part is coming up next. "
        "What should we make sure to cover?",
    ),
    ChatTemplate(
        "cp_retain_ask_now",
        RETENTION,
        "Short on time? Ask your most important question in the chat now "
        "and we'll answer it first.",
    ),
    ChatTemplate(
        "cp_retain_feedback",
        RETENTION,
        "Tell us honestly: what would make the rest of this session worth your time?",
    ),
    ChatTemplate(
        "cp_retain_resources",
        RETENTION,
        "Everyone who stays gets the resources and the checklist at the end. What else would help?",
    ),
    ChatTemplate(
        "cp_general_hello",
        GENERAL,
        "The chat is open! Say hello and tell us one thing you're hoping to learn today.",
    ),
    ChatTemplate(
        "cp_general_experience",
        GENERAL,
        "Who here has tried something similar? Share how it went, good or bad.",
    ),
    ChatTemplate(
        "cp_general_rate",
        GENERAL,
        "On a scale of 1 to 5, how relevant is this to your work? Type your number in the chat.",
    ),
    ChatTemplate(
        "cp_topic_challenge",
        TOPIC,
        "What's the hardest thing about {topic} for you right now? Share it in the chat.",
    ),
    ChatTemplate(
        "cp_topic_win",
        TOPIC,
        "What's one win you've had with {topic} recently? Tell us in the chat.",
    ),
    ChatTemplate(
        "cp_topic_ask",
        TOPIC,
        "What's one question about {topic} you'd like answered today?",
    ),
)
