"""Replay files: platform stream entries in, the engine's results out, one JSON object a line.

Input line: ``{"stream": "<platform stream>", "id": "<ms>-<seq>", "ts": "<ISO 8601>",
"data": {...}}``. Event time is ``ts`` when present, else the id's milliseconds. Output lines
carry ``kind`` = ``engagement`` | ``anomaly`` | ``intervention``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO, Any

import orjson

from conductor.core.engine import Engine, TickResult
from conductor.core.model import Anomaly, Engagement, RawEntry, Rejected, Suggestion


@dataclass(frozen=True, slots=True)
class BadLine:
    line: int
    reason: str


def iso(ts: float) -> str:
    """Event time as ISO 8601 UTC with milliseconds."""
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_line(text: bytes | str, number: int) -> RawEntry | BadLine:
    """One input line to a RawEntry, or the reason it cannot be one."""
    try:
        obj = orjson.loads(text)
    except orjson.JSONDecodeError as error:
        return BadLine(number, f"not JSON ({error.msg})")
    if not isinstance(obj, dict):
        return BadLine(number, "not a JSON object")
    stream = obj.get("stream")
    if not isinstance(stream, str) or not stream:
        return BadLine(number, "missing 'stream'")
    entry_id = obj.get("id")
    if entry_id is not None and not isinstance(entry_id, str):
        return BadLine(number, "'id' is not a string")
    ts_value = obj.get("ts")
    ts: float | None = None
    if ts_value is not None:
        if isinstance(ts_value, str):
            try:
                moment = datetime.fromisoformat(ts_value)
            except ValueError:
                return BadLine(number, f"'ts' is not ISO 8601: {ts_value[:40]!r}")
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=UTC)
            ts = moment.timestamp()
        elif isinstance(ts_value, int | float) and not isinstance(ts_value, bool):
            ts = float(ts_value)
        else:
            return BadLine(number, "'ts' is neither an ISO string nor a number")
    if entry_id is None and ts is None:
        return BadLine(number, "neither 'id' nor 'ts': no event time")
    data = obj.get("data")
    if not isinstance(data, dict | str):
        return BadLine(number, "'data' is missing or not an object")
    return RawEntry(stream=stream, entry_id=entry_id, data=data, ts=ts)


def read_lines(lines: Iterable[bytes]) -> Iterator[RawEntry | BadLine]:
    for number, text in enumerate(lines, start=1):
        if text.strip():
            yield parse_line(text, number)


def engagement_record(e: Engagement) -> dict[str, Any]:
    return {
        "kind": "engagement",
        "session_id": e.session_id,
        "event_id": e.event_id,
        "ts": iso(e.ts),
        "score": round(e.score, 4),
        "components": {
            c.name: {
                "value": round(c.value, 4),
                "weight": c.weight,
                "contribution": round(c.contribution, 4),
            }
            for c in e.components
        },
        "signals": {
            name: round(value, 4) if isinstance(value, float) else value
            for name, value in e.signals.as_dict().items()
        },
    }


def anomaly_record(a: Anomaly) -> dict[str, Any]:
    return {
        "kind": "anomaly",
        "session_id": a.session_id,
        "event_id": a.event_id,
        "ts": iso(a.ts),
        "type": str(a.type),
        "severity": str(a.severity),
        "current": a.current,
        "expected": a.expected,
        "deviation": a.deviation,
        "explanation": a.explanation,
    }


def intervention_record(s: Suggestion) -> dict[str, Any]:
    return {
        "kind": "intervention",
        "session_id": s.session_id,
        "event_id": s.event_id,
        "ts": iso(s.ts),
        "type": str(s.type),
        "confidence": round(s.confidence, 4),
        "priority": str(s.priority),
        "expected_impact": round(s.expected_impact, 4),
        "reason": s.reason,
        "content": dict(s.content),
        "anomaly_type": str(s.anomaly.type) if s.anomaly else None,
    }


def result_records(result: TickResult) -> Iterator[dict[str, Any]]:
    for e in result.engagements:
        yield engagement_record(e)
    for a in result.anomalies:
        yield anomaly_record(a)
    for s in result.suggestions:
        yield intervention_record(s)


@dataclass(slots=True)
class ReplaySummary:
    lines: int = 0
    bad_lines: int = 0
    rejected: int = 0
    duplicates: int = 0
    signals: int = 0
    engagements: int = 0
    anomalies: int = 0
    interventions: int = 0


def replay(
    items: Iterable[RawEntry | BadLine],
    engine: Engine,
    out: IO[bytes] | None,
    *,
    on_bad: Callable[[BadLine], None] | None = None,
    on_rejected: Callable[[int, Rejected], None] | None = None,
) -> ReplaySummary:
    """Run the engine over entries, writing results as they become due.

    Suggestions are treated as executed (there is nobody to approve them in a replay), so the
    engine's cooldowns and budgets apply as they would in AUTO mode.
    """
    summary = ReplaySummary()

    def emit(results: list[TickResult]) -> None:
        for result in results:
            summary.engagements += len(result.engagements)
            summary.anomalies += len(result.anomalies)
            summary.interventions += len(result.suggestions)
            for suggestion in result.suggestions:
                engine.record_intervention(suggestion.session_id, suggestion.type)
            if out is not None:
                out.write(b"".join(orjson.dumps(r) + b"\n" for r in result_records(result)))

    for item in items:
        summary.lines += 1
        if isinstance(item, BadLine):
            summary.bad_lines += 1
            if on_bad is not None:
                on_bad(item)
            continue
        before = engine.stats.duplicates
        parsed = engine.ingest_entry(item)
        if isinstance(parsed, Rejected):
            summary.rejected += 1
            if on_rejected is not None:
                on_rejected(summary.lines, parsed)
            continue
        summary.duplicates += engine.stats.duplicates - before
        summary.signals += 1
        emit(engine.catch_up())
    emit(engine.flush())
    return summary
