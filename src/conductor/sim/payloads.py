"""Stream payloads shaped exactly as the platform writes them, quirks included.

The consumer is tested against these shapes, so they follow the platform contract to the
letter: a vote's `eventId` is the session id, a reaction has no `eventId`, a sync entry's
`eventId` may be the string `unknown`, and a closed poll has no top-level `pollId`.
Payloads are fresh dicts; nothing is shared between entries except immutable strings.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from conductor.core.vocabulary import Stream

CHAT = Stream.CHAT.value
VOTE = Stream.VOTE.value
POLL_CLOSED = Stream.POLL_CLOSED.value
SYNC = Stream.SYNC.value
REACTION = Stream.REACTION.value

UNKNOWN_EVENT = "unknown"
"""What the platform writes as a sync entry's `eventId` when the client gave none."""

FIRST_NAMES = (
    "Ada", "Ben", "Chloe", "Dev", "Elena", "Farid", "Grace", "Hiro", "Ines", "Jonas", "Kemi",
    "Liam", "Maya", "Nils", "Olga", "Priya", "Quinn", "Rosa", "Sam", "Tariq", "Uma", "Victor",
    "Wen", "Ximena", "Yusuf", "Zoe",
)  # fmt: skip
LAST_NAMES = (
    "Adeyemi", "Berg", "Costa", "Dubois", "Eriksen", "Fischer", "Garcia", "Haddad", "Ito",
    "Jensen", "Kowalski", "Lopez", "Moreau", "Nakamura", "Okafor", "Patel", "Rossi", "Schmidt",
    "Tanaka", "Usman", "Varga", "Weber", "Yilmaz", "Zhang",
)  # fmt: skip
CHAT_LINES = (
    "Great point!", "Can you share the slides?", "Agreed", "How does this scale?",
    "Thanks for the demo", "Is there a recording?", "+1", "Interesting, never thought of it",
    "What about security?", "Hello from Lisbon", "Could you repeat the last part?",
    "This is really useful", "Love this example", "Which tool is that?", "Nice!",
    "Do you have a link for that?", "We tried that, it works well", "Audio is a bit low",
    "Question: how long did the migration take?", "Makes sense", "lol", "So true",
    "Any tips for beginners?", "What would you do differently next time?", "Brilliant",
)  # fmt: skip
EMOJIS = ("👏", "🔥", "❤️", "😂", "👍", "🎉", "🤔", "😮", "💯", "🙌")
ORGANIC_POLLS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Which topic should we dig into next?", ("Architecture", "Testing", "Operations")),
    ("How familiar are you with this topic?", ("New to it", "Some experience", "Expert")),
    ("Where are you joining from?", ("Europe", "Americas", "Asia-Pacific", "Africa")),
    ("Is the pace right?", ("Too fast", "Just right", "Too slow")),
    ("Would you use this in your team?", ("Yes", "Maybe", "No")),
)
DEFAULT_AGENT_POLL: tuple[str, tuple[str, ...]] = (
    "Quick check: what would help you most right now?",
    ("A live demo", "Questions and answers", "A short recap"),
)


def hex12(rng: random.Random) -> str:
    return f"{rng.getrandbits(48):012x}"


def session_id(rng: random.Random) -> str:
    return "ses_" + hex12(rng)


def event_id(rng: random.Random) -> str:
    return "evt_" + hex12(rng)


def user_ids(rng: random.Random, count: int) -> list[str]:
    """Distinct opaque user ids."""
    seen: set[str] = set()
    out: list[str] = []
    while len(out) < count:
        uid = "usr_" + hex12(rng)
        if uid not in seen:
            seen.add(uid)
            out.append(uid)
    return out


class IsoClock:
    """ISO 8601 UTC text with milliseconds, caching the per-second prefix (hot path)."""

    __slots__ = ("_prefix", "_sec")

    def __init__(self) -> None:
        self._sec = -1
        self._prefix = ""

    def __call__(self, ts: float) -> str:
        ms = int(ts * 1000)
        sec = ms // 1000
        if sec != self._sec:
            self._sec = sec
            self._prefix = datetime.fromtimestamp(sec, UTC).strftime("%Y-%m-%dT%H:%M:%S")
        return f"{self._prefix}.{ms - sec * 1000:03d}Z"


def chat_message(
    session: str,
    event: str,
    message_id: str,
    text: str,
    iso: str,
    user: str,
    first_name: str,
    last_name: str,
) -> dict[str, Any]:
    return {
        "sessionId": session,
        "eventId": event,
        "message": {
            "id": message_id,
            "text": text,
            "timestamp": iso,
            "authorId": user,
            "sessionId": session,
            "author": {"id": user, "firstName": first_name, "lastName": last_name},
        },
    }


def poll_vote(session: str, user: str, poll_id: str, option_id: str, iso: str) -> dict[str, Any]:
    # The producer sets eventId to the session id: a platform quirk, reproduced on purpose.
    return {
        "userId": user,
        "pollId": poll_id,
        "optionId": option_id,
        "sessionId": session,
        "eventId": session,
        "voteTimestamp": iso,
    }


def poll_closed(
    session: str,
    poll_id: str,
    question: str,
    options: Sequence[tuple[str, str]],
    counts: Sequence[int],
) -> dict[str, Any]:
    return {
        "poll": {
            "id": poll_id,
            "sessionId": session,
            "question": question,
            "options": [
                {"id": oid, "text": text, "voteCount": n}
                for (oid, text), n in zip(options, counts, strict=True)
            ],
            "totalVotes": sum(counts),
        },
        "userVotedForOptionId": None,
    }


def live_sync(kind: str, session: str, event: str, user: str) -> dict[str, Any]:
    return {"type": kind, "sessionId": session, "eventId": event, "userId": user}


def live_reaction(session: str, user: str, emoji: str, iso: str) -> dict[str, Any]:
    return {"userId": user, "sessionId": session, "emoji": emoji, "timestamp": iso}
