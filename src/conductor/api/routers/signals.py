"""Platform signals over HTTP: the ingest path when no Redis is configured (and for tests)."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter

from conductor.api.auth import RuntimeDep, ServiceCaller
from conductor.api.schemas import SignalsIn, SignalsOut
from conductor.core.model import RawEntry
from conductor.replay import BadLine, iso, parse_line
from conductor.service.records import DeadLetter

router = APIRouter(tags=["signals"])
HTTP_SOURCE = "http"
"""The dead-letter stream name of an item too broken to name its own stream."""


def _entry(item: Any, index: int, now: float) -> RawEntry | str:
    """One replay line to an entry, or why it is not one; no id and no ts means 'now'."""
    if not isinstance(item, dict):
        return "not a JSON object"
    if item.get("id") is None and item.get("ts") is None:
        item = {**item, "ts": iso(now)}
    try:
        text = orjson.dumps(item)
    except (TypeError, orjson.JSONEncodeError) as error:
        return f"cannot be read: {error}"
    parsed = parse_line(text, index)
    if isinstance(parsed, BadLine):
        return parsed.reason
    return parsed


def _raw(item: Any) -> str:
    try:
        return orjson.dumps(item, default=repr).decode()[:2_000]
    except (TypeError, orjson.JSONEncodeError):
        return repr(item)[:2_000]


@router.post("/signals", status_code=202, response_model=SignalsOut)
async def post_signals(body: SignalsIn, runtime: RuntimeDep, _: ServiceCaller) -> dict[str, Any]:
    """Apply a batch of platform stream entries (service token only)."""
    service = runtime.service
    now = service.clock.now()
    entries: list[RawEntry] = []
    positions: list[int] = []
    rejected: list[tuple[int, str]] = []
    for index, item in enumerate(body.signals):
        entry = _entry(item, index, now)
        if isinstance(entry, str):
            rejected.append((index, entry))
            service.counters["rejected"] += 1
            stream = item.get("stream") if isinstance(item, dict) else None
            entry_id = item.get("id") if isinstance(item, dict) else None
            runtime.writer.dead_letter(
                DeadLetter(
                    stream if isinstance(stream, str) and stream else HTTP_SOURCE,
                    entry_id if isinstance(entry_id, str) else None,
                    entry,
                    _raw(item),
                )
            )
            continue
        entries.append(entry)
        positions.append(index)
    report = service.ingest(entries)
    rejected.extend((positions[i], reason) for i, reason in report.rejected)
    rejected.sort()
    return {
        "accepted": report.accepted,
        "duplicates": report.duplicates,
        "outcomes": report.outcomes,
        "rejected": [{"index": i, "reason": reason} for i, reason in rejected],
    }
