"""The four intervention endpoints organisers' tools already call, with their limits."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query

from conductor.api.access import (
    find_session,
    may_see,
    org_of_event,
    require_event,
    require_session_or_unseen,
)
from conductor.api.auth import Reader, RuntimeDep, Steerer
from conductor.api.errors import forbidden, invalid
from conductor.api.routers.common import EventId, SessionId
from conductor.api.schemas import HistoryOut, ManualIn, ManualOut, StatsOut
from conductor.service.agent import intervention_json
from conductor.service.records import from_epoch

router = APIRouter(prefix="/interventions", tags=["interventions"])


@router.post("/manual", response_model=ManualOut)
async def manual(body: ManualIn, runtime: RuntimeDep, principal: Steerer) -> dict[str, Any]:
    """Run an intervention now, chosen by the organiser; the content comes from the library."""
    ref = await find_session(runtime, body.session_id)
    known_event = ref.event_id if ref else None
    if known_event and body.event_id and known_event != body.event_id:
        raise invalid(
            "event_id",
            f"session {body.session_id} belongs to event {known_event}, not {body.event_id}",
        )
    event_id = body.event_id or known_event
    if not principal.service and not may_see(principal, await org_of_event(runtime, event_id)):
        raise forbidden(f"session {body.session_id} is outside your organisation")
    try:
        intervention = runtime.service.manual(
            body.session_id,
            event_id,
            body.intervention_type,
            body.reason,
            body.context,
            actor=principal.actor,
        )
    except ValueError as error:
        raise invalid("context", f"cannot build this intervention: {error}") from None
    await runtime.service.drain()
    return {
        "success": True,
        "intervention_id": intervention.id,
        "message": f"{intervention.type} sent to session {intervention.session_id}",
        "details": intervention_json(intervention),
    }


@router.get("/history/{session_id}", response_model=HistoryOut)
async def session_history(
    session_id: SessionId,
    runtime: RuntimeDep,
    principal: Reader,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    """One session's interventions, newest first."""
    await require_session_or_unseen(runtime, principal, session_id)
    total, items = await runtime.store.session_history(session_id, limit=limit, offset=offset)
    return {"total": total, "interventions": [intervention_json(i) for i in items]}


@router.get("/history/event/{event_id}", response_model=HistoryOut)
async def event_history(
    event_id: EventId,
    runtime: RuntimeDep,
    principal: Reader,
    hours: Annotated[int, Query(ge=1, le=168)] = 24,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> dict[str, Any]:
    """One event's interventions of the last `hours`, newest first."""
    if not principal.service:
        await require_event(runtime, principal, event_id)
    since = from_epoch(runtime.service.clock.now()) - timedelta(hours=hours)
    total, items = await runtime.store.event_history(event_id, since, limit=limit)
    return {"total": total, "interventions": [intervention_json(i) for i in items]}


@router.get("/stats/{session_id}", response_model=StatsOut)
async def session_stats(
    session_id: SessionId, runtime: RuntimeDep, principal: Reader
) -> dict[str, Any]:
    """How many interventions a session had, of which types, and how many worked."""
    await require_session_or_unseen(runtime, principal, session_id)
    return await runtime.store.session_stats(session_id)
