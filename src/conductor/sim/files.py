"""Simulated sessions as replay files: one platform stream entry a line, plus the ground truth."""

from __future__ import annotations

from pathlib import Path

import orjson

from conductor.sim.audience import AudienceSimulator
from conductor.sim.payloads import IsoClock


def labels_path(output: Path) -> Path:
    """Where the ground truth of `output` goes: `out.jsonl` -> `out.labels.json`."""
    return output.with_suffix(".labels.json")


def simulate_file(
    scenario: str, attendees: int, minutes: float, seed: int, output: Path
) -> tuple[int, Path]:
    """Simulate one whole session into `output` (JSONL) and its labels next to it.

    Each line is `{"stream", "id", "ts" (ISO 8601 UTC, ms), "data"}`; returns the number of
    lines written and the labels file's path.
    """
    output = Path(output)
    sim = AudienceSimulator(scenario, attendees=attendees, minutes=minutes, seed=seed)
    entries = sim.step(sim.end)
    iso = IsoClock()
    dumps = orjson.dumps
    lines = [
        dumps(
            {
                "stream": e.stream,
                "id": e.entry_id,
                "ts": iso(e.ts if e.ts is not None else sim.end),
                "data": e.data,
            }
        )
        for e in entries
    ]
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_bytes(b"\n".join(lines) + b"\n" if lines else b"")
    labels = labels_path(output)
    labels.write_bytes(orjson.dumps(sim.labels(), option=orjson.OPT_INDENT_2))
    return len(lines), labels
