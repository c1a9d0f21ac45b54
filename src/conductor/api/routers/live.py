"""Server-sent event streams of one session or one event, fed by the in-process bus.

Each stream owns one bus subscription, filtered to what the caller asked for, and closes it
when the client goes away. The bus never waits for a slow browser: its bounded queue drops the
oldest messages instead.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from conductor.api.access import require_event, require_session_or_unseen
from conductor.api.auth import RuntimeDep, StreamReader
from conductor.api.routers.common import EventId, SessionId
from conductor.bus.memory import BusMessage, Subscription, SubscriptionClosed
from conductor.bus.messages import (
    ANOMALY_DETECTED_CHANNEL,
    ENGAGEMENT_UPDATE_CHANNEL,
    SESSION_EVENTS_PATTERN,
    session_events_channel,
)
from conductor.service.agent import AgentService

router = APIRouter(tags=["live"])

KEEPALIVE_S = 15.0
STREAM_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}

Frame = tuple[str, Mapping[str, Any]]
Selector = Callable[[BusMessage], Frame | None]


def sse_frame(kind: str, data: Mapping[str, Any]) -> bytes:
    payload = orjson.dumps(data, default=str, option=orjson.OPT_NON_STR_KEYS)
    return b"event: " + kind.encode() + b"\ndata: " + payload + b"\n\n"


def _frame(item: BusMessage) -> Frame | None:
    """The SSE event type and data of a bus message, as the platform re-emits them."""
    message = item.message
    if item.channel == ENGAGEMENT_UPDATE_CHANNEL:
        return "engagement", message
    if item.channel == ANOMALY_DETECTED_CHANNEL:
        return "anomaly", message
    kind, data = message.get("type"), message.get("data")
    if isinstance(kind, str) and isinstance(data, Mapping):
        return kind, data
    return None


def _session_of(item: BusMessage) -> Any:
    if item.channel in (ENGAGEMENT_UPDATE_CHANNEL, ANOMALY_DETECTED_CHANNEL):
        return item.message.get("sessionId")
    return item.message.get("session_id")


def session_selector(session_id: str) -> Selector:
    def select(item: BusMessage) -> Frame | None:
        return _frame(item) if _session_of(item) == session_id else None

    return select


def event_selector(service: AgentService, event_id: str) -> Selector:
    """Messages of the event's sessions; remembers them, so an ended session's last status
    (sent after the agent forgot it) still reaches the stream."""
    members: set[str] = set()

    def select(item: BusMessage) -> Frame | None:
        session_id = _session_of(item)
        if not isinstance(session_id, str):
            return None
        live = service.live.get(session_id)
        if (live is not None and live.event_id == event_id) or item.message.get(
            "eventId"
        ) == event_id:
            members.add(session_id)
        return _frame(item) if session_id in members else None

    return select


async def _events(
    request: Request, subscription: Subscription, select: Selector, keepalive_s: float
) -> AsyncIterator[bytes]:
    streams: dict[str, int] = request.app.state.live_streams
    streams["open"] = streams.get("open", 0) + 1
    try:
        yield b"retry: 3000\n: connected\n\n"
        while True:
            try:
                async with asyncio.timeout(keepalive_s):
                    item = await subscription.get()
            except TimeoutError:
                if await request.is_disconnected():
                    return
                yield b": keep-alive\n\n"
                continue
            except SubscriptionClosed:
                return
            frame = select(item)
            if frame is not None:
                yield sse_frame(*frame)
    finally:
        subscription.close()
        streams["open"] -= 1


def _stream(request: Request, patterns: tuple[str, ...], select: Selector) -> StreamingResponse:
    runtime = request.app.state.runtime
    subscription = runtime.live.subscribe(*patterns)
    keepalive_s: float = getattr(request.app.state, "keepalive_s", KEEPALIVE_S)
    return StreamingResponse(
        _events(request, subscription, select, keepalive_s),
        media_type="text/event-stream",
        headers=STREAM_HEADERS,
    )


STREAM_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/event-stream": {}}, "description": "A server-sent event stream."}
}


@router.get(
    "/sessions/{session_id}/live", response_class=StreamingResponse, responses=STREAM_RESPONSES
)
async def session_live(
    session_id: SessionId, request: Request, runtime: RuntimeDep, principal: StreamReader
) -> StreamingResponse:
    """One session's engagement, anomalies and agent events as they happen."""
    await require_session_or_unseen(runtime, principal, session_id)
    patterns = (
        session_events_channel(session_id),
        ENGAGEMENT_UPDATE_CHANNEL,
        ANOMALY_DETECTED_CHANNEL,
    )
    return _stream(request, patterns, session_selector(session_id))


@router.get("/events/{event_id}/live", response_class=StreamingResponse, responses=STREAM_RESPONSES)
async def event_live(
    event_id: EventId, request: Request, runtime: RuntimeDep, principal: StreamReader
) -> StreamingResponse:
    """Every session of one event, as it happens."""
    await require_event(runtime, principal, event_id)
    patterns = (SESSION_EVENTS_PATTERN, ENGAGEMENT_UPDATE_CHANNEL, ANOMALY_DETECTED_CHANNEL)
    return _stream(request, patterns, event_selector(runtime.service, event_id))
