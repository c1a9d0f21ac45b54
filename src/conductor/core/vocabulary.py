"""The one vocabulary of types and statuses used across the whole code base.

Every layer (engine, storage, bus, API, dashboard) speaks these names; the values are the
strings stored in the database and sent over the wire, so they never change spelling.
"""

from __future__ import annotations

from enum import StrEnum


class SignalKind(StrEnum):
    """What an attendee did, as one internal signal type for all five platform streams."""

    CHAT = "chat"
    VOTE = "vote"
    POLL_CLOSED = "poll_closed"
    REACTION = "reaction"
    JOIN = "join"
    LEAVE = "leave"


class AnomalyType(StrEnum):
    SUDDEN_DROP = "SUDDEN_DROP"
    GRADUAL_DECLINE = "GRADUAL_DECLINE"
    LOW_ENGAGEMENT = "LOW_ENGAGEMENT"
    MASS_EXIT = "MASS_EXIT"


class Severity(StrEnum):
    WARNING = "WARNING"
    CRITICAL = "CRITICAL"


class InterventionType(StrEnum):
    POLL = "POLL"
    CHAT_PROMPT = "CHAT_PROMPT"
    NOTIFICATION = "NOTIFICATION"
    GAMIFICATION = "GAMIFICATION"


class Priority(StrEnum):
    LOW = "LOW"
    MEDIUM = "MEDIUM"
    HIGH = "HIGH"
    CRITICAL = "CRITICAL"


class AgentMode(StrEnum):
    """Who pulls the trigger: the organiser (MANUAL), the agent when confident (SEMI_AUTO), or
    the agent always (AUTO)."""

    MANUAL = "MANUAL"
    SEMI_AUTO = "SEMI_AUTO"
    AUTO = "AUTO"


class DecisionStatus(StrEnum):
    """Life of one decision: PENDING until approved (EXECUTED), dismissed or expired."""

    PENDING = "PENDING"
    EXECUTED = "EXECUTED"
    DISMISSED = "DISMISSED"
    EXPIRED = "EXPIRED"


class AgentStatus(StrEnum):
    """What the agent is doing for one session, as shown to organisers (`agent.status`)."""

    MONITORING = "MONITORING"
    ANOMALY_DETECTED = "ANOMALY_DETECTED"
    WAITING_APPROVAL = "WAITING_APPROVAL"
    INTERVENING = "INTERVENING"
    LEARNING = "LEARNING"
    IDLE = "IDLE"


class SessionStatus(StrEnum):
    LIVE = "LIVE"
    ENDED = "ENDED"


class Trend(StrEnum):
    RISING = "RISING"
    STABLE = "STABLE"
    FALLING = "FALLING"


class Stream(StrEnum):
    """The platform's Redis Streams, spelled exactly as the platform writes them."""

    CHAT = "platform.events.chat.message.v1"
    VOTE = "platform.events.poll.vote.v1"
    POLL_CLOSED = "platform.events.poll.closed.v1"
    SYNC = "platform.events.live.sync.v1"
    REACTION = "platform.events.live.reaction.v1"
    OUTCOMES = "platform.agent.intervention-outcomes.v1"


SIGNAL_STREAMS: tuple[Stream, ...] = (
    Stream.CHAT,
    Stream.VOTE,
    Stream.POLL_CLOSED,
    Stream.SYNC,
    Stream.REACTION,
)


class InterventionOrigin(StrEnum):
    """Why an intervention ran: the agent on its own, an organiser's approval, or an organiser's
    explicit request through the manual endpoint."""

    AUTO = "AUTO"
    APPROVED = "APPROVED"
    MANUAL = "MANUAL"
