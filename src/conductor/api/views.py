"""The service's records and live state shaped as the API's JSON (see docs/api.md)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from datetime import datetime
from typing import Any

from conductor.bus.messages import iso_utc
from conductor.core.vocabulary import AgentMode, AgentStatus, InterventionType, Trend
from conductor.runtime import Runtime
from conductor.service.agent import AgentService, LiveSession
from conductor.service.records import EventSettings, SessionRecord

SPARKLINE_POINTS = 60
DETAIL_ANOMALIES = 20


def event_json(s: EventSettings) -> dict[str, Any]:
    return {
        "event_id": s.event_id,
        "org_id": s.org_id,
        "name": s.name,
        "enabled": s.enabled,
        "mode": AgentMode(s.mode).value,
        "confidence_threshold": s.confidence_threshold,
        "allowed_types": sorted(InterventionType(t).value for t in s.allowed_types),
        "max_per_session": s.max_per_session,
        "max_per_event": s.max_per_event,
    }


def session_record_json(r: SessionRecord) -> dict[str, Any]:
    return {
        "session_id": r.session_id,
        "event_id": r.event_id,
        "title": r.title,
        "topic": r.topic,
        "tags": list(r.tags),
        "mode": None if r.mode is None else AgentMode(r.mode).value,
        "status": str(r.status),
    }


def effective_mode(service: AgentService, session_id: str, event_id: str | None) -> AgentMode:
    """The session's own mode, else its event's (also for sessions not live right now)."""
    if session_id in service.session_modes:
        return service.session_modes[session_id]
    return service.event_settings(event_id).mode


def _time(value: datetime | float) -> str:
    return iso_utc(value)


def session_summary(
    runtime: Runtime,
    session_id: str,
    live: LiveSession | None,
    record: SessionRecord | None,
) -> dict[str, Any]:
    service = runtime.service
    event_id = (live.event_id if live else None) or (record.event_id if record else None)
    last = live.last if live else None
    history = list(live.history)[-SPARKLINE_POINTS:] if live else []
    return {
        "session_id": session_id,
        "event_id": event_id,
        "title": record.title if record else None,
        "topic": record.topic if record else None,
        "score": last.score if last else None,
        "trend": live.trend.value if live else Trend.STABLE.value,
        "status": (live.status if live else AgentStatus.IDLE).value,
        "mode": effective_mode(service, session_id, event_id).value,
        "connected": last.signals.connected if last else 0,
        "open_alerts": [
            {"type": kind, "severity": severity}
            for kind, severity in service.engine.open_episodes(session_id).items()
        ],
        "sparkline": [score for _, score in history],
        "pending_decisions": len(service.pending_for(session_id=session_id)),
        "updated_at": _time(last.ts) if last else None,
    }


def signals_now(signals: Mapping[str, Any] | None) -> dict[str, Any]:
    """The tracker's snapshot (live, or as stored) in the API's field names."""
    s = signals or {}
    connected = int(s.get("connected", 0) or 0)
    active = int(s.get("active_users", 0) or 0)
    return {
        "connected": connected,
        "active_users": active,
        "active_share": active / connected if connected else 0.0,
        "chat_per_min": float(s.get("chat_per_min", 0.0) or 0.0),
        "reactions_per_min": float(s.get("reactions_per_min", 0.0) or 0.0),
        "votes_per_min": float(s.get("votes_per_min", 0.0) or 0.0),
        "poll_participation": s.get("poll_participation"),
        "leaves_per_min": float(s.get("leaves_per_min", 0.0) or 0.0),
    }


def stored_anomaly_json(row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "sessionId": row["session_id"],
        "eventId": row["event_id"],
        "timestamp": _time(row["ts"]),
        "type": str(row["type"]),
        "severity": str(row["severity"]),
        "currentEngagement": row["current"],
        "expectedEngagement": row["expected"],
        "deviation": row["deviation"],
        "explanation": row["explanation"],
    }


async def session_anomalies(runtime: Runtime, session_id: str, limit: int) -> list[dict[str, Any]]:
    """Latest first: the live session's recent ones (maybe not stored yet) and the stored ones."""
    live = runtime.service.live.get(session_id)
    recent = [dict(a) for a in live.anomalies] if live else []
    seen = {a.get("id") for a in recent}
    stored = await runtime.store.list_anomalies(session_id=session_id, limit=limit)
    merged = recent + [stored_anomaly_json(r) for r in stored if r["id"] not in seen]
    merged.sort(key=lambda a: str(a.get("timestamp", "")), reverse=True)
    return merged[:limit]


async def session_detail(
    runtime: Runtime, session_id: str, record: SessionRecord | None
) -> dict[str, Any]:
    live = runtime.service.live.get(session_id)
    out = session_summary(runtime, session_id, live, record)
    last = live.last if live else None
    if last is not None:
        components = [asdict(c) for c in last.components]
        signals = last.signals.as_dict()
    else:
        stored = await runtime.store.latest_engagement(session_id)
        components = list(stored["components"]) if stored else []
        signals = dict(stored["signals"]) if stored else {}
        if stored:
            out["score"] = stored["score"]
            out["updated_at"] = _time(stored["ts"])
            out["connected"] = int(signals.get("connected", 0) or 0)
    out["components"] = components
    out["signals"] = signals_now(signals)
    out["threshold"] = runtime.service.engine.config.detector.low_warning
    out["anomalies"] = await session_anomalies(runtime, session_id, DETAIL_ANOMALIES)
    out["activity"] = (
        [{"ts": _time(a["ts"]), "kind": a["kind"], "text": a["text"]} for a in live.activity]
        if live
        else []
    )
    return out
