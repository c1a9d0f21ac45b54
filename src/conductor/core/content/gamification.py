"""Gamification in the platform's own vocabulary: challenges (`START_CHALLENGE` with one of
`CHAT_BLITZ`, `POLL_RUSH`, `QA_SPRINT`, `POINTS_RACE`) and `POINTS_BOOST` with a multiplier."""

from __future__ import annotations

from dataclasses import dataclass

from conductor.core.vocabulary import AnomalyType

START_CHALLENGE = "START_CHALLENGE"
POINTS_BOOST = "POINTS_BOOST"
ACTIONS = frozenset({START_CHALLENGE, POINTS_BOOST})
CHALLENGE_TEMPLATES = frozenset({"CHAT_BLITZ", "POLL_RUSH", "QA_SPRINT", "POINTS_RACE"})

ANY_ROOM = "any"
BIG_ROOM = "big"
SMALL_ROOM = "small"


@dataclass(frozen=True, slots=True)
class GameTemplate:
    id: str
    action: str
    name: str
    description: str
    duration_minutes: int
    anomalies: frozenset[AnomalyType]
    """Anomalies this game answers best; others may still use it as a fallback."""
    room: str = ANY_ROOM
    """`big` or `small` when it only suits rooms of that size."""
    template: str | None = None
    rewards: tuple[int, int, int] | None = None
    """Points for first, second and third place."""
    multiplier: float | None = None

    @property
    def category(self) -> str:
        return self.template or self.action

    def __post_init__(self) -> None:
        if self.action not in ACTIONS:
            raise ValueError(f"unknown gamification action {self.action!r}")
        if self.action == START_CHALLENGE and (
            self.template not in CHALLENGE_TEMPLATES or self.rewards is None
        ):
            raise ValueError(f"challenge {self.id} needs a platform template and rewards")
        if self.action == POINTS_BOOST and (self.multiplier is None or self.multiplier <= 1):
            raise ValueError(f"boost {self.id} needs a multiplier above 1")


GAME_TEMPLATES: tuple[GameTemplate, ...] = (
    GameTemplate(
        "gm_chat_blitz",
        START_CHALLENGE,
        "Chat Blitz",
        "Share a tip, a question or an example in the chat: the most active contributors over "
        "the next 5 minutes win points.",
        5,
        frozenset({AnomalyType.LOW_ENGAGEMENT, AnomalyType.SUDDEN_DROP}),
        template="CHAT_BLITZ",
        rewards=(50, 30, 20),
    ),
    GameTemplate(
        "gm_tip_swap",
        START_CHALLENGE,
        "Tip Swap",
        "Post your best practical tip on today's subject. The most useful tips over the next "
        "5 minutes earn bonus points.",
        5,
        frozenset({AnomalyType.GRADUAL_DECLINE, AnomalyType.LOW_ENGAGEMENT}),
        template="CHAT_BLITZ",
        rewards=(50, 30, 20),
    ),
    GameTemplate(
        "gm_poll_rush",
        START_CHALLENGE,
        "Poll Rush",
        "Answer every poll in the next 10 minutes to climb the leaderboard.",
        10,
        frozenset({AnomalyType.LOW_ENGAGEMENT, AnomalyType.GRADUAL_DECLINE}),
        template="POLL_RUSH",
        rewards=(40, 25, 15),
    ),
    GameTemplate(
        "gm_qa_sprint",
        START_CHALLENGE,
        "Q&A Sprint",
        "Ask your sharpest question in the next 5 minutes: the best questions earn points and "
        "get answered live.",
        5,
        frozenset({AnomalyType.SUDDEN_DROP, AnomalyType.GRADUAL_DECLINE}),
        template="QA_SPRINT",
        rewards=(60, 35, 20),
    ),
    GameTemplate(
        "gm_question_round",
        START_CHALLENGE,
        "Question Round",
        "Small room, big advantage: everyone gets their question answered. Ask yours in the "
        "next 5 minutes; the best three earn points.",
        5,
        frozenset({AnomalyType.LOW_ENGAGEMENT, AnomalyType.SUDDEN_DROP}),
        room=SMALL_ROOM,
        template="QA_SPRINT",
        rewards=(50, 30, 20),
    ),
    GameTemplate(
        "gm_points_race",
        START_CHALLENGE,
        "Points Race",
        "Every message, vote and reaction earns points for the next 10 minutes. The top three "
        "take the prizes!",
        10,
        frozenset({AnomalyType.GRADUAL_DECLINE, AnomalyType.LOW_ENGAGEMENT}),
        room=BIG_ROOM,
        template="POINTS_RACE",
        rewards=(100, 60, 30),
    ),
    GameTemplate(
        "gm_final_stretch",
        START_CHALLENGE,
        "Final Stretch Race",
        "Stay to the end: every contribution from now until the session wraps up earns points, "
        "with prizes for the top three.",
        15,
        frozenset({AnomalyType.MASS_EXIT}),
        room=BIG_ROOM,
        template="POINTS_RACE",
        rewards=(100, 60, 30),
    ),
    GameTemplate(
        "gm_double_points",
        POINTS_BOOST,
        "Double Points",
        "All participation earns double points for the next 5 minutes. Chat, vote and react now!",
        5,
        frozenset({AnomalyType.MASS_EXIT, AnomalyType.SUDDEN_DROP}),
        multiplier=2.0,
    ),
    GameTemplate(
        "gm_stay_boost",
        POINTS_BOOST,
        "Stay and Score",
        "Points are worth one and a half times as much for the next 10 minutes, for everyone "
        "who stays and takes part.",
        10,
        frozenset({AnomalyType.MASS_EXIT, AnomalyType.GRADUAL_DECLINE}),
        multiplier=1.5,
    ),
)
