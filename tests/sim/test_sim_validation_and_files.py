"""Bad arguments get clear errors; `simulate_file` writes a replay file and its labels."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from conductor.core.vocabulary import SIGNAL_STREAMS
from conductor.sim import SCENARIOS, AudienceSimulator, Imperfections, simulate_file


def test_unknown_scenario_lists_the_valid_names() -> None:
    with pytest.raises(ValueError) as error:
        AudienceSimulator("chaos")
    assert all(name in str(error.value) for name in SCENARIOS)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"attendees": 9}, "attendees"),
        ({"attendees": 10_001}, "attendees"),
        ({"attendees": True}, "attendees"),
        ({"attendees": 50.0}, "attendees"),
        ({"minutes": 0}, "minutes"),
        ({"minutes": float("nan")}, "minutes"),
        ({"onset": 0}, "onset"),
        ({"onset": 600.0}, "onset"),
        ({"start": float("inf")}, "start"),
        ({"session_id": "has space"}, "session_id"),
        ({"event_id": ""}, "event_id"),
        ({"event_id": "x" * 256}, "event_id"),
    ],
)
def test_bad_arguments_are_rejected(kwargs: dict[str, Any], message: str) -> None:
    args: dict[str, Any] = {"minutes": 10.0, **kwargs}
    with pytest.raises(ValueError, match=message):
        AudienceSimulator("sudden_drop", **args)


def test_room_size_bounds_are_inclusive() -> None:
    assert AudienceSimulator("steady", attendees=10, minutes=1).step(0.0) == []
    AudienceSimulator("steady", attendees=10_000, minutes=1)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"duplicate_rate": -0.1},
        {"reorder_rate": 1.5},
        {"duplicate_rate": 0.6, "reorder_rate": 0.6},
        {"reorder_max_delay": 3.0},
        {"unknown_event_rate": 2.0},
    ],
)
def test_bad_imperfection_rates_are_rejected(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        Imperfections(**kwargs)


def test_step_rejects_a_non_time() -> None:
    sim = AudienceSimulator("steady", attendees=10, minutes=1)
    with pytest.raises(ValueError, match="until"):
        sim.step(float("nan"))


def test_simulate_file_writes_jsonl_and_labels(tmp_path: Path) -> None:
    output = tmp_path / "runs" / "drop.jsonl"
    written, labels_path = simulate_file("sudden_drop", 60, 6, 5, output)
    assert labels_path == tmp_path / "runs" / "drop.labels.json"
    lines = output.read_bytes().splitlines()
    assert written == len(lines) > 100
    streams = set()
    last_ts = ""
    for line in lines:
        obj = orjson.loads(line)
        assert set(obj) == {"stream", "id", "ts", "data"}
        assert isinstance(obj["data"], dict) and isinstance(obj["id"], str)
        assert obj["ts"].endswith("Z") and len(obj["ts"]) == len("2026-01-01T00:00:00.000Z")
        datetime.fromisoformat(obj["ts"])
        streams.add(obj["stream"])
        last_ts = max(last_ts, obj["ts"])
    assert streams == set(SIGNAL_STREAMS)
    labels = orjson.loads(labels_path.read_bytes())
    assert labels["scenario"] == "sudden_drop" and labels["seed"] == 5
    assert labels["attendees"] == 60
    assert [c["type"] for c in labels["conditions"]] == ["SUDDEN_DROP"]
    assert labels["start"] < labels["conditions"][0]["start"] < labels["end"]
    assert labels["interventions"] == []
    sim = AudienceSimulator("sudden_drop", attendees=60, minutes=6, seed=5)
    assert labels == orjson.loads(orjson.dumps(sim.labels()))
    assert [orjson.loads(line)["data"] for line in lines] == [e.data for e in sim.step(sim.end)]


def test_simulate_file_is_byte_identical_for_the_same_seed(tmp_path: Path) -> None:
    first, second, other = tmp_path / "a.jsonl", tmp_path / "b.jsonl", tmp_path / "c.jsonl"
    simulate_file("mass_exit", 40, 5, 9, first)
    simulate_file("mass_exit", 40, 5, 9, second)
    simulate_file("mass_exit", 40, 5, 10, other)
    assert first.read_bytes() == second.read_bytes()
    assert (tmp_path / "a.labels.json").read_bytes() == (tmp_path / "b.labels.json").read_bytes()
    assert first.read_bytes() != other.read_bytes()
