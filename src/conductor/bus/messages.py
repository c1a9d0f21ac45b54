"""The platform's Pub/Sub messages, built exactly as the platform reads them.

Pure functions from our records to JSON-ready dicts: the one place that knows the platform's
field names, so a change of the contract is a change of this module alone. Builders refuse
(ValueError) what the platform would silently drop, so the mistake surfaces where it is made.

Unknown event ids are sent as JSON null: the contract requires `event_id`/`eventId` to be
present but never a string (only `type`, `intervention_id` and `session_id` are checked), and
inventing a placeholder would route a command to an event that does not exist.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Final

from conductor.core.model import Anomaly, Component, Engagement, SessionSignals
from conductor.core.vocabulary import (
    AnomalyType,
    InterventionOrigin,
    InterventionType,
    Priority,
    Severity,
)
from conductor.service.records import Intervention

# --- channels -------------------------------------------------------------------------------

INTERVENTIONS_CHANNEL: Final = "agent.interventions"
ENGAGEMENT_UPDATE_CHANNEL: Final = "engagement:update"
ANOMALY_DETECTED_CHANNEL: Final = "anomaly:detected"
SESSION_EVENTS_PATTERN: Final = "session:*:events"
NOTIFICATIONS_PATTERN: Final = "agent:notifications:*"


def session_events_channel(session_id: str) -> str:
    return f"session:{_channel_id('session_id', session_id)}:events"


def notifications_channel(event_id: str) -> str:
    return f"agent:notifications:{_channel_id('event_id', event_id)}"


# --- command and event type names ------------------------------------------------------------

POLL_COMMAND: Final = "agent.intervention.poll"
BROADCAST_COMMAND: Final = "agent.intervention.broadcast"
NOTIFICATION_COMMAND: Final = "agent.intervention.notification"
GAMIFICATION_COMMAND: Final = "agent.intervention.gamification"

COMMAND_TYPES: Final[Mapping[InterventionType, str]] = {
    InterventionType.POLL: POLL_COMMAND,
    # The platform knows four command types only: a chat prompt reaches the room as a banner.
    InterventionType.CHAT_PROMPT: BROADCAST_COMMAND,
    InterventionType.NOTIFICATION: NOTIFICATION_COMMAND,
    InterventionType.GAMIFICATION: GAMIFICATION_COMMAND,
}

AGENT_STATUS: Final = "agent.status"
AGENT_DECISION: Final = "agent.decision"
AGENT_INTERVENTION_EXECUTED: Final = "agent.intervention.executed"
AGENT_REWARD_MEASURED: Final = "agent.reward.measured"
SESSION_EVENT_TYPES: Final = frozenset(
    {AGENT_STATUS, AGENT_DECISION, AGENT_INTERVENTION_EXECUTED, AGENT_REWARD_MEASURED}
)

GAMIFICATION_ACTIONS: Final = frozenset({"START_CHALLENGE", "POINTS_BOOST"})
GAMIFICATION_TEMPLATES: Final = frozenset({"CHAT_BLITZ", "POLL_RUSH", "QA_SPRINT", "POINTS_RACE"})
REWARD_PLACES: Final = ("first", "second", "third")
DEFAULT_NOTIFICATION_TYPE: Final = "ENGAGEMENT_ALERT"

_ID_PATTERN: Final = re.compile(r"[A-Za-z0-9_-]{1,255}")
_MAX_ID: Final = 255


# --- builders -------------------------------------------------------------------------------


def intervention_command(iv: Intervention) -> dict[str, Any]:
    """The command for `agent.interventions` that makes the platform execute `iv`.

    Content keys read per type (aliases in brackets):
    POLL `question`, `options` (strings, or objects with `text`), `type` [`poll_type`],
    `duration` [`duration_seconds`]; CHAT_PROMPT `message` [`prompt`, `text`]; NOTIFICATION
    `notification_type`, `target`, `escalate` (default: priority CRITICAL), and `title`,
    `body` [`message`], `suggested_action` (kept in metadata); GAMIFICATION `action`,
    `template`, `name`, `description`, `rewards`, `duration_minutes`, `multiplier`.
    """
    try:
        kind = InterventionType(iv.type)
    except ValueError:
        raise ValueError(f"intervention {iv.id!r}: unknown intervention type {iv.type!r}") from None
    command_type = COMMAND_TYPES[kind]
    priority = Priority(iv.priority)
    metadata: dict[str, Any] = {
        "reason": _text("reason", iv.reason, allow_empty=True),
        "confidence": _number("confidence", iv.confidence),
        "priority": priority.value,
        "estimated_impact": _number("expected_impact", iv.expected_impact),
        "intervention_type": kind.value,
        "origin": InterventionOrigin(iv.origin).value,
    }
    message: dict[str, Any] = {
        "type": command_type,
        "intervention_id": _wire_id("intervention_id", iv.id),
        "session_id": _wire_id("session_id", iv.session_id),
        "event_id": _optional_id("event_id", iv.event_id),
        "timestamp": iso_utc(iv.created_at),
        "metadata": metadata,
    }
    content = iv.content
    if not isinstance(content, Mapping):
        raise ValueError(f"intervention {iv.id!r}: content must be an object, got {_kind(content)}")
    try:
        if kind is InterventionType.POLL:
            message["poll"] = _poll(content)
        elif kind is InterventionType.CHAT_PROMPT:
            message["message"] = _required_text(content, "message", "prompt", "text")
        elif kind is InterventionType.NOTIFICATION:
            message.update(_notification(content, priority))
            extras = (("title", "title"), ("body", "body", "message"), ("suggested_action",) * 2)
            for key, *aliases in extras:
                value = _optional_text(content, *aliases)
                if value is not None:
                    metadata[key] = value
        else:
            message["content"] = _gamification(content)
    except ValueError as error:
        raise ValueError(f"intervention {iv.id!r} ({kind.value}): {error}") from None
    return message


def engagement_update(e: Engagement) -> dict[str, Any]:
    """The score of one session for `engagement:update`, with why it is what it is."""
    score = _number("score", e.score)
    if not 0.0 <= score <= 1.0:
        raise ValueError(f"engagement score must be within [0, 1], got {score}")
    signals = signals_payload(e.signals)
    signals["components"] = [_component(c) for c in e.components]
    return {
        "timestamp": iso_utc(e.ts),
        "sessionId": _wire_id("session_id", e.session_id),
        "eventId": _optional_id("event_id", e.event_id),
        "score": score,
        "signals": signals,
    }


def anomaly_detected(
    anomaly_id: str, a: Anomaly, signals: SessionSignals | None = None
) -> dict[str, Any]:
    """An anomaly for `anomaly:detected`.

    `anomalyScore` is the deviation below expectation clipped to [0, 1] (1 = nothing left).
    `signals` is the tracker's snapshot when the caller has it, else an empty object.
    """
    deviation = _number("deviation", a.deviation)
    return {
        "id": _wire_id("anomaly_id", anomaly_id),
        "sessionId": _wire_id("session_id", a.session_id),
        "eventId": _optional_id("event_id", a.event_id),
        "timestamp": iso_utc(a.ts),
        "type": AnomalyType(a.type).value,
        "severity": Severity(a.severity).value,
        "anomalyScore": min(1.0, max(0.0, deviation)),
        "currentEngagement": _number("current", a.current),
        "expectedEngagement": _number("expected", a.expected),
        "deviation": deviation,
        "explanation": a.explanation,
        "startedAt": None if a.started_at is None else iso_utc(a.started_at),
        "signals": {} if signals is None else signals_payload(signals),
    }


def session_event(
    session_id: str, type: str, data: Mapping[str, Any], ts: float | datetime
) -> tuple[str, dict[str, Any]]:
    """Agent state for one session: the platform re-emits `data` under the event name `type`."""
    if type not in SESSION_EVENT_TYPES:
        known = ", ".join(sorted(SESSION_EVENT_TYPES))
        raise ValueError(f"unknown session event type {type!r} (known: {known})")
    if not isinstance(data, Mapping):
        raise ValueError(f"session event data must be an object, got {_kind(data)}")
    channel = session_events_channel(session_id)
    return channel, {
        "type": type,
        "session_id": session_id,
        "timestamp": iso_utc(ts),
        "data": dict(data),
    }


def organizer_notification(
    event_id: str,
    session_id: str | None,
    type: str,
    severity: Severity | str,
    data: Mapping[str, Any],
) -> tuple[str, dict[str, Any]]:
    """A notification for the organizers' bell of one event."""
    if not isinstance(data, Mapping):
        raise ValueError(f"notification data must be an object, got {_kind(data)}")
    channel = notifications_channel(event_id)
    return channel, {
        "type": str(_text("type", type)),
        "severity": str(_text("severity", severity)),
        "sessionId": _optional_id("session_id", session_id),
        "data": dict(data),
    }


def signals_payload(s: SessionSignals) -> dict[str, Any]:
    """The tracker's snapshot in the platform's camelCase."""
    return {
        "connected": s.connected,
        "activeUsers": s.active_users,
        "activeShare": s.active_share,
        "chatPerMin": s.chat_per_min,
        "reactionsPerMin": s.reactions_per_min,
        "votesPerMin": s.votes_per_min,
        "joinsPerMin": s.joins_per_min,
        "leavesPerMin": s.leaves_per_min,
        "leaveRate": s.leave_rate,
        "pollParticipation": s.poll_participation,
        "activePollId": s.active_poll_id,
    }


def iso_utc(ts: float | datetime) -> str:
    """ISO 8601 in UTC with milliseconds and `Z`, the form the platform writes itself."""
    if isinstance(ts, datetime):
        if ts.tzinfo is None:
            raise ValueError(f"timestamp {ts!r} has no time zone; use an aware UTC datetime")
        moment = ts.astimezone(UTC)
    else:
        if isinstance(ts, bool) or not isinstance(ts, int | float) or not math.isfinite(ts):
            raise ValueError(f"timestamp must be finite epoch seconds, got {ts!r}")
        moment = datetime.fromtimestamp(ts, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


# --- per-type content -------------------------------------------------------------------------


def _poll(content: Mapping[str, Any]) -> dict[str, Any]:
    question = _required_text(content, "question")
    raw_options = content.get("options")
    if not isinstance(raw_options, Sequence) or isinstance(raw_options, str | bytes):
        raise ValueError(f"poll options must be a list, got {_kind(raw_options)}")
    options: list[str] = []
    for i, option in enumerate(raw_options):
        text = option.get("text") if isinstance(option, Mapping) else option
        if not isinstance(text, str) or not text.strip():
            raise ValueError(f"poll option {i} must be non-empty text, got {option!r}")
        options.append(text)
    if len(options) < 2:
        raise ValueError(f"a poll needs at least two options, got {len(options)}")
    poll: dict[str, Any] = {"question": question, "options": options}
    poll_type = _optional_text(content, "type", "poll_type")
    if poll_type is not None:
        poll["type"] = poll_type
    duration = _first(content, "duration", "duration_seconds")
    if duration is not None:
        poll["duration"] = _positive("poll duration", duration)
    return poll


def _notification(content: Mapping[str, Any], priority: Priority) -> dict[str, Any]:
    notification_type = _optional_text(content, "notification_type")
    escalate = content.get("escalate", priority is Priority.CRITICAL)
    if not isinstance(escalate, bool):
        raise ValueError(f"escalate must be true or false, got {escalate!r}")
    fields: dict[str, Any] = {
        "notification_type": notification_type or DEFAULT_NOTIFICATION_TYPE,
        "escalate": escalate,
    }
    target = _optional_text(content, "target")
    if target is not None:
        fields["target"] = target
    return fields


def _gamification(content: Mapping[str, Any]) -> dict[str, Any]:
    action = content.get("action")
    if action not in GAMIFICATION_ACTIONS:
        raise ValueError(f"action must be one of {sorted(GAMIFICATION_ACTIONS)}, got {action!r}")
    result: dict[str, Any] = {
        "action": action,
        "name": _required_text(content, "name"),
        "description": _required_text(content, "description"),
        "duration_minutes": _positive("duration_minutes", content.get("duration_minutes")),
    }
    template = content.get("template")
    if template is not None:
        if template not in GAMIFICATION_TEMPLATES:
            allowed = sorted(GAMIFICATION_TEMPLATES)
            raise ValueError(f"template must be one of {allowed}, got {template!r}")
        result["template"] = template
    rewards = content.get("rewards")
    if rewards is not None:
        result["rewards"] = _rewards(rewards)
    multiplier = content.get("multiplier")
    if multiplier is not None:
        result["multiplier"] = _positive("multiplier", multiplier)
    return result


def _rewards(rewards: object) -> dict[str, Any]:
    if not isinstance(rewards, Mapping):
        raise ValueError(f"rewards must be an object, got {_kind(rewards)}")
    unknown = set(rewards) - set(REWARD_PLACES)
    if unknown:
        raise ValueError(
            f"rewards accepts only {list(REWARD_PLACES)}, got {sorted(map(str, unknown))}"
        )
    result: dict[str, Any] = {}
    for place in REWARD_PLACES:
        if place in rewards:
            value = rewards[place]
            if isinstance(value, bool) or not isinstance(value, int | float | str):
                raise ValueError(f"reward {place!r} must be points or text, got {value!r}")
            result[place] = value
    return result


def _component(c: Component) -> dict[str, Any]:
    return {
        "name": c.name,
        "value": _number("component value", c.value),
        "weight": _number("component weight", c.weight),
        "contribution": _number("component contribution", c.contribution),
    }


# --- checks ---------------------------------------------------------------------------------


def _wire_id(name: str, value: object) -> str:
    """An id the platform will accept: a non-empty string of at most 255 characters."""
    if not isinstance(value, str) or not value:
        raise ValueError(f"{name} must be a non-empty string, got {value!r}")
    if len(value) > _MAX_ID:
        raise ValueError(f"{name} is longer than {_MAX_ID} characters")
    return value


def _optional_id(name: str, value: object) -> str | None:
    return None if value is None else _wire_id(name, value)


def _channel_id(name: str, value: object) -> str:
    """An id safe inside a channel name: the platform's own id alphabet."""
    if not isinstance(value, str) or not _ID_PATTERN.fullmatch(value):
        raise ValueError(f"{name} must be 1-255 characters of [A-Za-z0-9_-], got {value!r}")
    return value


def _number(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    return float(value)


def _positive(name: str, value: object) -> int | float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise ValueError(f"{name} must be a positive number, got {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return value


def _text(name: str, value: object, *, allow_empty: bool = False) -> str:
    if not isinstance(value, str) or (not allow_empty and not value.strip()):
        raise ValueError(f"{name} must be non-empty text, got {value!r}")
    return value


def _first(content: Mapping[str, Any], *keys: str) -> Any:
    for key in keys:
        if content.get(key) is not None:
            return content[key]
    return None


def _optional_text(content: Mapping[str, Any], *keys: str) -> str | None:
    value = _first(content, *keys)
    return None if value is None else _text(keys[0], value)


def _required_text(content: Mapping[str, Any], *keys: str) -> str:
    value = _first(content, *keys)
    if value is None:
        raise ValueError(f"content needs {' or '.join(repr(k) for k in keys)}")
    return _text(keys[0], value)


def _kind(value: object) -> str:
    return type(value).__name__
