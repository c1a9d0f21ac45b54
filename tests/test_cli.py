from __future__ import annotations

import json
from pathlib import Path

import orjson
from typer.testing import CliRunner

from conductor.cli import app

runner = CliRunner()


def simulate(tmp_path: Path, scenario: str = "sudden_drop", seed: int = 4) -> Path:
    out = tmp_path / "signals.jsonl"
    result = runner.invoke(
        app,
        [
            "simulate",
            "--scenario",
            scenario,
            "--attendees",
            "150",
            "--minutes",
            "10",
            "--seed",
            str(seed),
            "--output",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    return out


def test_simulate_writes_signals_and_ground_truth(tmp_path: Path) -> None:
    out = simulate(tmp_path)
    labels = json.loads((tmp_path / "signals.labels.json").read_text())
    assert labels["scenario"] == "sudden_drop" and labels["attendees"] == 150
    assert [c["type"] for c in labels["conditions"]] == ["SUDDEN_DROP"]
    first = orjson.loads(out.read_bytes().splitlines()[0])
    assert set(first) == {"stream", "id", "ts", "data"}


def test_replay_finds_the_labelled_drop_and_suggests(tmp_path: Path) -> None:
    signals = simulate(tmp_path)
    results = tmp_path / "results.jsonl"
    result = runner.invoke(app, ["replay", str(signals), "--output", str(results)])
    assert result.exit_code == 0, result.output
    records = [orjson.loads(line) for line in results.read_bytes().splitlines()]
    kinds = {r["kind"] for r in records}
    assert kinds == {"engagement", "anomaly", "intervention"}
    onset = json.loads((tmp_path / "signals.labels.json").read_text())["conditions"][0]["start"]
    drops = [r for r in records if r["kind"] == "anomaly" and r["type"] == "SUDDEN_DROP"]
    assert drops, "the labelled sudden drop was not detected"
    engagement = next(r for r in records if r["kind"] == "engagement")
    assert set(engagement) >= {"session_id", "event_id", "ts", "score", "components", "signals"}
    assert 0.0 <= engagement["score"] <= 1.0
    intervention = next(r for r in records if r["kind"] == "intervention")
    assert set(intervention) >= {
        "type",
        "confidence",
        "priority",
        "expected_impact",
        "reason",
        "content",
    }
    assert onset > 0
    assert "signals" in result.output  # the summary line


def test_replay_is_deterministic(tmp_path: Path) -> None:
    signals = simulate(tmp_path, "gradual_decline", seed=9)
    outputs = []
    for name in ("a.jsonl", "b.jsonl"):
        runner.invoke(app, ["replay", str(signals), "--output", str(tmp_path / name)])
        outputs.append((tmp_path / name).read_bytes())
    assert outputs[0] == outputs[1] and outputs[0]


def test_bad_lines_are_reported_with_their_number_and_skipped(tmp_path: Path) -> None:
    signals = simulate(tmp_path, "steady", seed=1)
    lines = signals.read_bytes().splitlines()
    broken = tmp_path / "broken.jsonl"
    bad = [
        b"{not json",
        b'{"stream": "platform.events.chat.message.v1"}',
        b'{"stream": "platform.events.live.reaction.v1", "id": "1-0", "data": {"x": 1}}',
    ]
    broken.write_bytes(b"\n".join([lines[0], *bad, *lines[1:50]]) + b"\n")
    result = runner.invoke(app, ["replay", str(broken), "--output", str(tmp_path / "r.jsonl")])
    assert result.exit_code == 0
    assert "broken.jsonl:2: skipped: not JSON" in result.output
    assert "broken.jsonl:3: skipped:" in result.output
    assert "broken.jsonl:4: rejected:" in result.output
    assert "2 bad lines" in result.output and "1 rejected" in result.output


def test_unknown_scenario_is_a_clear_error(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["simulate", "--scenario", "chaos", "--output", str(tmp_path / "x.jsonl")]
    )
    assert result.exit_code == 2
    assert "unknown scenario 'chaos'" in result.output and "steady" in result.output


def test_a_wrong_setting_stops_the_service_with_its_name(
    tmp_path: Path, monkeypatch: object
) -> None:
    import pytest

    assert isinstance(monkeypatch, pytest.MonkeyPatch)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CONDUCTOR_PORT", "not-a-port")
    result = runner.invoke(app, ["serve"])
    assert result.exit_code == 2
    assert "CONDUCTOR_PORT" in result.output
