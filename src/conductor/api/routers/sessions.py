"""Sessions: registration, the detailed view, mode overrides, score history, anomalies."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query

from conductor.api.access import find_session, may_see, org_of_event, require_session
from conductor.api.auth import Reader, RuntimeDep, Steerer
from conductor.api.errors import forbidden, invalid
from conductor.api.routers.common import SessionId
from conductor.api.schemas import (
    AnomaliesOut,
    EngagementOut,
    ModeIn,
    ModeOut,
    SessionDetail,
    SessionIn,
    SessionOut,
)
from conductor.api.views import (
    effective_mode,
    session_anomalies,
    session_detail,
    session_record_json,
)
from conductor.bus.messages import iso_utc
from conductor.service.records import SessionRecord

router = APIRouter(prefix="/sessions", tags=["sessions"])


def _aware(moment: datetime | None) -> datetime | None:
    """Times without a zone are UTC, as everywhere in the service."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


@router.put("/{session_id}", response_model=SessionOut)
async def put_session(
    session_id: SessionId, body: SessionIn, runtime: RuntimeDep, principal: Steerer
) -> dict[str, Any]:
    """Register a session with its event (and title, topic, tags, mode); left-out fields are
    kept."""
    ref = await find_session(runtime, session_id)
    if not principal.service:
        if not may_see(principal, await org_of_event(runtime, body.event_id)):
            raise forbidden(f"event {body.event_id} is outside your organisation")
        # A session already seen must be provably the organiser's: one whose event nobody
        # has named yet could belong to any organisation.
        if ref is not None and ref.event_id != body.event_id:
            if ref.event_id is None:
                raise forbidden(
                    f"session {session_id} has no event yet; only the service may register it"
                )
            if not may_see(principal, await org_of_event(runtime, ref.event_id)):
                raise forbidden(f"session {session_id} is outside your organisation")
    record = (ref.record if ref else None) or SessionRecord(session_id, body.event_id)
    given = body.model_fields_set
    changes: dict[str, Any] = {"event_id": body.event_id}
    if "title" in given:
        changes["title"] = body.title
    if "topic" in given:
        changes["topic"] = body.topic
    if "tags" in given:
        changes["tags"] = tuple(body.tags or ())
    if "mode" in given:
        changes["mode"] = body.mode
        if body.mode is None:
            runtime.service.session_modes.pop(session_id, None)
    record = dataclasses.replace(record, **changes)
    runtime.service.register_session(record)
    return session_record_json(record)


@router.get("/{session_id}", response_model=SessionDetail)
async def get_session(
    session_id: SessionId, runtime: RuntimeDep, principal: Reader
) -> dict[str, Any]:
    """Everything the dashboard shows about one session."""
    ref = await require_session(runtime, principal, session_id)
    return await session_detail(runtime, session_id, ref.record)


@router.put("/{session_id}/mode", response_model=ModeOut)
async def put_mode(
    session_id: SessionId, body: ModeIn, runtime: RuntimeDep, principal: Steerer
) -> dict[str, Any]:
    """Override the session's mode, or (null) make it follow its event again."""
    ref = await require_session(runtime, principal, session_id)
    await runtime.service.set_session_mode(session_id, body.mode)
    await runtime.service.drain()
    return {
        "session_id": session_id,
        "mode": effective_mode(runtime.service, session_id, ref.event_id).value,
    }


@router.get("/{session_id}/engagement", response_model=EngagementOut)
async def engagement(
    session_id: SessionId,
    runtime: RuntimeDep,
    principal: Reader,
    since: Annotated[datetime | None, Query(description="ISO 8601, inclusive.")] = None,
    until: Annotated[datetime | None, Query(description="ISO 8601, exclusive.")] = None,
    bucket: Annotated[int | None, Query(ge=1, le=86_400, description="Seconds.")] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1_000,
) -> dict[str, Any]:
    """The session's score over time, oldest first (the latest `limit` points)."""
    await require_session(runtime, principal, session_id)
    since, until = _aware(since), _aware(until)
    if since is not None and until is not None and until <= since:
        raise invalid("until", "until must be later than since")
    points = await runtime.store.engagement_history(
        session_id, since=since, until=until, bucket_s=bucket, limit=limit
    )
    return {"points": [{"ts": iso_utc(p["ts"]), "score": p["score"]} for p in points]}


@router.get("/{session_id}/anomalies", response_model=AnomaliesOut)
async def anomalies(
    session_id: SessionId,
    runtime: RuntimeDep,
    principal: Reader,
    limit: Annotated[int, Query(ge=1, le=500)] = 20,
) -> dict[str, Any]:
    """The session's anomalies, latest first."""
    await require_session(runtime, principal, session_id)
    return {"anomalies": await session_anomalies(runtime, session_id, limit)}
