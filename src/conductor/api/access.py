"""Tenant isolation: which organisation owns an event, a session or a decision.

Ownership follows one chain: a decision belongs to its session, a session to its event, an
event to the organisation it was registered for. Anything the chain cannot tie to the caller's
organisation is refused, so an unregistered event is visible to the service token alone.
"""

from __future__ import annotations

from dataclasses import dataclass

from conductor.api.auth import Principal
from conductor.api.errors import forbidden, not_found
from conductor.core.vocabulary import DecisionStatus
from conductor.runtime import Runtime
from conductor.service.records import Decision, EventSettings, SessionRecord


def may_see(principal: Principal, org_id: str | None) -> bool:
    if principal.service:
        return True
    return principal.org_id is not None and org_id == principal.org_id


async def registered_event(runtime: Runtime, event_id: str) -> EventSettings | None:
    settings = runtime.service.events.get(event_id)
    if settings is None:
        settings = await runtime.store.get_event(event_id)
    return settings


async def event_has_sessions(runtime: Runtime, event_id: str) -> bool:
    if runtime.service.sessions_of(event_id):
        return True
    return bool(await runtime.store.list_sessions(event_id=event_id))


async def org_of_event(runtime: Runtime, event_id: str | None) -> str | None:
    if event_id is None:
        return None
    settings = await registered_event(runtime, event_id)
    return settings.org_id if settings else None


async def require_event(runtime: Runtime, principal: Principal, event_id: str) -> EventSettings:
    """The event's settings (defaults when it is known only from its sessions), or 404/403."""
    settings = await registered_event(runtime, event_id)
    if settings is None:
        if not await event_has_sessions(runtime, event_id):
            raise not_found(f"event {event_id} is unknown")
        settings = runtime.service.event_settings(event_id)
    if not may_see(principal, settings.org_id):
        raise forbidden(f"event {event_id} is outside your organisation")
    return settings


@dataclass(slots=True)
class SessionRef:
    session_id: str
    event_id: str | None
    record: SessionRecord | None


async def find_session(runtime: Runtime, session_id: str) -> SessionRef | None:
    record = await runtime.store.get_session(session_id)
    live = runtime.service.live.get(session_id)
    if live is None and record is None:
        return None
    event_id = live.event_id if live and live.event_id else (record.event_id if record else None)
    return SessionRef(session_id, event_id, record)


async def require_session(runtime: Runtime, principal: Principal, session_id: str) -> SessionRef:
    ref = await find_session(runtime, session_id)
    if ref is None:
        raise not_found(f"session {session_id} is unknown")
    if not principal.service and not may_see(principal, await org_of_event(runtime, ref.event_id)):
        raise forbidden(f"session {session_id} is outside your organisation")
    return ref


async def require_session_or_unseen(
    runtime: Runtime, principal: Principal, session_id: str
) -> SessionRef | None:
    """As `require_session`, except that the service may ask about a session not seen yet
    (its history is simply empty); an organiser cannot, as nothing ties it to them."""
    if principal.service and await find_session(runtime, session_id) is None:
        return None
    return await require_session(runtime, principal, session_id)


async def find_decision(runtime: Runtime, decision_id: str) -> Decision | None:
    pending = runtime.service.pending.get(decision_id)
    if pending is not None:
        return pending.decision
    return await runtime.store.get_decision(decision_id)


async def require_pending_decision(
    runtime: Runtime, principal: Principal, decision_id: str
) -> Decision:
    """A decision the caller may act on and that still waits for an answer, or 404/403."""
    decision = await find_decision(runtime, decision_id)
    if decision is None:
        raise not_found(f"decision {decision_id} is unknown")
    if not principal.service:
        event_id = decision.event_id
        if event_id is None:
            ref = await find_session(runtime, decision.session_id)
            event_id = ref.event_id if ref else None
        if not may_see(principal, await org_of_event(runtime, event_id)):
            raise forbidden(f"decision {decision_id} is outside your organisation")
    if decision_id not in runtime.service.pending:
        status = DecisionStatus(decision.status).value
        raise not_found(f"decision {decision_id} is no longer pending (it is {status})")
    return decision
