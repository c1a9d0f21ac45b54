"""Decisions waiting for an organiser, and the organiser's answer to them."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from conductor.api.access import (
    find_session,
    may_see,
    org_of_event,
    require_event,
    require_pending_decision,
    require_session,
)
from conductor.api.auth import Principal, Reader, RuntimeDep, Steerer
from conductor.api.routers.common import DecisionId
from conductor.api.schemas import ID_PATTERN, ApproveOut, DecisionsOut, DismissIn, DismissOut
from conductor.core.vocabulary import DecisionStatus
from conductor.runtime import Runtime
from conductor.service.agent import decision_json, intervention_json
from conductor.service.records import Decision

router = APIRouter(prefix="/decisions", tags=["decisions"])


async def _visible(
    runtime: Runtime, principal: Principal, decisions: list[Decision]
) -> list[Decision]:
    """Only the decisions of the caller's organisation (one lookup per event)."""
    if principal.service:
        return decisions
    orgs: dict[str | None, str | None] = {}
    out = []
    for d in decisions:
        event_id = d.event_id
        if event_id is None:
            ref = await find_session(runtime, d.session_id)
            event_id = ref.event_id if ref else None
        if event_id not in orgs:
            orgs[event_id] = await org_of_event(runtime, event_id)
        if may_see(principal, orgs[event_id]):
            out.append(d)
    return out


@router.get("", response_model=DecisionsOut)
async def list_decisions(
    runtime: RuntimeDep,
    principal: Reader,
    session_id: Annotated[str | None, Query(pattern=ID_PATTERN)] = None,
    event_id: Annotated[str | None, Query(pattern=ID_PATTERN)] = None,
    status: DecisionStatus = DecisionStatus.PENDING,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> dict[str, Any]:
    """Newest first; pending ones come from the agent itself, the others from storage."""
    if session_id is not None:
        await require_session(runtime, principal, session_id)
    if event_id is not None:
        await require_event(runtime, principal, event_id)
    if status is DecisionStatus.PENDING:
        found = runtime.service.pending_for(session_id=session_id, event_id=event_id)
    elif principal.service or session_id is not None or event_id is not None:
        found = await runtime.store.list_decisions(
            session_id=session_id, event_id=event_id, status=status, limit=limit
        )
    else:  # an organiser's whole history: event by event, so others' never crowd it out
        found = []
        own = await runtime.store.list_events(principal.org_id) if principal.org_id else []
        for event in own:
            found += await runtime.store.list_decisions(
                event_id=event.event_id, status=status, limit=limit
            )
        found.sort(key=lambda d: (d.created_at, d.id), reverse=True)
    visible = await _visible(runtime, principal, found)
    return {"decisions": [decision_json(d) for d in visible[:limit]]}


@router.post("/{decision_id}/approve", response_model=ApproveOut)
async def approve(
    decision_id: DecisionId, runtime: RuntimeDep, principal: Steerer
) -> dict[str, Any]:
    """Execute a pending decision now; 404 when it is unknown or already answered."""
    await require_pending_decision(runtime, principal, decision_id)
    decision, intervention = runtime.service.approve(decision_id, principal.actor)
    await runtime.service.drain()
    return {"decision": decision_json(decision), "intervention": intervention_json(intervention)}


@router.post("/{decision_id}/dismiss", response_model=DismissOut)
async def dismiss(
    decision_id: DecisionId,
    runtime: RuntimeDep,
    principal: Steerer,
    body: DismissIn | None = None,
) -> dict[str, Any]:
    """Turn a pending decision down, optionally saying why (the agent learns nothing from it)."""
    await require_pending_decision(runtime, principal, decision_id)
    decision = runtime.service.dismiss(decision_id, principal.actor, body.reason if body else None)
    await runtime.service.drain()
    return {"decision": decision_json(decision)}
