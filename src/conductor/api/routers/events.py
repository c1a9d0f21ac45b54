"""Events: their agent settings, their sessions' overview, and what worked in them."""

from __future__ import annotations

import dataclasses
from typing import Any

from fastapi import APIRouter

from conductor.api.access import may_see, registered_event, require_event
from conductor.api.auth import Reader, RuntimeDep, Steerer
from conductor.api.errors import forbidden, invalid
from conductor.api.routers.common import EventId
from conductor.api.schemas import EventIn, EventSettingsOut, EventsOut, OutcomesOut, SessionsOut
from conductor.api.views import event_json, session_summary
from conductor.core.vocabulary import SessionStatus
from conductor.service.records import EventSettings

router = APIRouter(prefix="/events", tags=["events"])

NOT_NULL = frozenset({"enabled", "mode", "confidence_threshold", "allowed_types"})


@router.get("", response_model=EventsOut)
async def list_events(runtime: RuntimeDep, principal: Reader) -> dict[str, Any]:
    """The events the caller may see: its organisation's, or every one for the service."""
    if not principal.service and principal.org_id is None:
        return {"events": []}
    org = None if principal.service else principal.org_id
    found = {s.event_id: s for s in await runtime.store.list_events(org)}
    for event_id, settings in runtime.service.events.items():
        if may_see(principal, settings.org_id):
            found[event_id] = settings
    if principal.service:
        for live in runtime.service.live.values():
            if live.event_id and live.event_id not in found:
                found[live.event_id] = runtime.service.event_settings(live.event_id)
    return {"events": [event_json(found[k]) for k in sorted(found)]}


@router.put("/{event_id}", response_model=EventSettingsOut)
async def put_event(
    event_id: EventId, body: EventIn, runtime: RuntimeDep, principal: Steerer
) -> dict[str, Any]:
    """Register an event or change its settings; fields left out keep their value."""
    existing = await registered_event(runtime, event_id)
    given = body.model_fields_set
    if principal.service:
        org_id = body.org_id if "org_id" in given else (existing.org_id if existing else None)
    else:
        if principal.org_id is None:
            raise forbidden("your token names no organisation")
        if existing is not None and existing.org_id != principal.org_id:
            raise forbidden(f"event {event_id} is outside your organisation")
        if "org_id" in given and body.org_id != principal.org_id:
            raise forbidden("an organiser may only register events of its own organisation")
        org_id = principal.org_id
    changes: dict[str, Any] = {}
    for name in given - {"org_id"}:
        value = getattr(body, name)
        if value is None and name in NOT_NULL:
            raise invalid(name, f"{name} cannot be null")
        changes[name] = frozenset(value) if name == "allowed_types" else value
    base: EventSettings = existing or runtime.service.event_settings(event_id)
    settings = dataclasses.replace(base, event_id=event_id, org_id=org_id, **changes)
    runtime.service.put_event_settings(settings)
    return event_json(settings)


@router.get("/{event_id}", response_model=EventSettingsOut)
async def get_event(event_id: EventId, runtime: RuntimeDep, principal: Reader) -> dict[str, Any]:
    return event_json(await require_event(runtime, principal, event_id))


@router.get("/{event_id}/sessions", response_model=SessionsOut)
async def event_sessions(
    event_id: EventId, runtime: RuntimeDep, principal: Reader
) -> dict[str, Any]:
    """The event's live sessions, worst score first (sessions without a score yet last)."""
    await require_event(runtime, principal, event_id)
    records = {r.session_id: r for r in await runtime.store.list_sessions(event_id=event_id)}
    summaries = [
        session_summary(runtime, live.session_id, live, records.get(live.session_id))
        for live in runtime.service.sessions_of(event_id)
    ]
    shown = {s["session_id"] for s in summaries}
    summaries.extend(
        session_summary(runtime, record.session_id, None, record)
        for record in records.values()
        if record.status == SessionStatus.LIVE
        and record.session_id not in shown
        and record.session_id not in runtime.service.live
    )
    summaries.sort(key=lambda s: (s["score"] is None, s["score"] or 0.0, s["session_id"]))
    return {"sessions": summaries}


@router.get("/{event_id}/outcomes", response_model=OutcomesOut)
async def event_outcomes(
    event_id: EventId, runtime: RuntimeDep, principal: Reader
) -> dict[str, Any]:
    """Per intervention type: how often it ran in this event and how often it worked."""
    await require_event(runtime, principal, event_id)
    return {"by_type": await runtime.store.type_success_rates(event_id)}
