"""Every stream's payload has exactly the platform's shape, quirks included."""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import pytest

from conductor.core.model import RawEntry
from conductor.core.vocabulary import SIGNAL_STREAMS, InterventionType, Stream
from conductor.sim import AudienceSimulator, Imperfections

SES = re.compile(r"ses_[0-9a-f]{12}")
EVT = re.compile(r"evt_[0-9a-f]{12}")
ISO = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")
ENTRY_ID = re.compile(r"\d+-\d+")
OPAQUE = re.compile(r"[A-Za-z0-9_-]{1,255}")


def iso_time(text: str) -> float:
    assert ISO.fullmatch(text), text
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


def check_payload(entry: RawEntry, session: str, event: str) -> None:
    """Fail unless `entry.data` has exactly the fields and types the platform writes."""
    data = entry.data
    assert isinstance(data, dict)
    assert entry.ts is not None
    if entry.stream == Stream.CHAT:
        assert set(data) == {"sessionId", "eventId", "message"}
        assert (data["sessionId"], data["eventId"]) == (session, event)
        message = data["message"]
        assert set(message) == {"id", "text", "timestamp", "authorId", "sessionId", "author"}
        assert all(isinstance(message[k], str) and message[k] for k in message if k != "author")
        assert message["sessionId"] == session
        assert iso_time(message["timestamp"]) == pytest.approx(entry.ts, abs=0.0011)
        author = message["author"]
        assert set(author) == {"id", "firstName", "lastName"}
        assert author["id"] == message["authorId"]
        assert all(isinstance(v, str) and v for v in author.values())
    elif entry.stream == Stream.VOTE:
        assert set(data) == {
            "userId",
            "pollId",
            "optionId",
            "sessionId",
            "eventId",
            "voteTimestamp",
        }
        assert all(isinstance(v, str) and v for v in data.values())
        assert data["sessionId"] == session
        assert data["eventId"] == session, "the producer writes the session id as eventId"
        assert iso_time(data["voteTimestamp"]) == pytest.approx(entry.ts, abs=0.0011)
    elif entry.stream == Stream.POLL_CLOSED:
        assert set(data) == {"poll", "userVotedForOptionId"}
        assert data["userVotedForOptionId"] is None
        poll = data["poll"]
        assert set(poll) == {"id", "sessionId", "question", "options", "totalVotes"}
        assert poll["sessionId"] == session
        assert isinstance(poll["id"], str) and isinstance(poll["question"], str)
        assert isinstance(poll["options"], list) and len(poll["options"]) >= 2
        for option in poll["options"]:
            assert set(option) == {"id", "text", "voteCount"}
            assert isinstance(option["id"], str) and isinstance(option["text"], str)
            assert type(option["voteCount"]) is int and option["voteCount"] >= 0
        assert type(poll["totalVotes"]) is int
        assert poll["totalVotes"] == sum(o["voteCount"] for o in poll["options"])
    elif entry.stream == Stream.SYNC:
        assert set(data) == {"type", "sessionId", "eventId", "userId"}
        assert data["type"] in ("user_join", "user_leave")
        assert data["sessionId"] == session
        assert data["eventId"] in (event, "unknown")
        assert isinstance(data["userId"], str) and OPAQUE.fullmatch(data["userId"])
    elif entry.stream == Stream.REACTION:
        assert set(data) == {"userId", "sessionId", "emoji", "timestamp"}, "no eventId"
        assert data["sessionId"] == session
        assert isinstance(data["emoji"], str) and 1 <= len(data["emoji"]) <= 10
        assert iso_time(data["timestamp"]) == pytest.approx(entry.ts, abs=0.0011)
    else:
        pytest.fail(f"unexpected stream {entry.stream!r}")


@pytest.fixture(scope="module")
def session() -> tuple[AudienceSimulator, list[RawEntry]]:
    sim = AudienceSimulator("sudden_drop", attendees=120, minutes=6, seed=11, onset=250)
    entries = sim.step(sim.start + 200)
    sim.receive(InterventionType.POLL, {"duration": 40}, sim.start + 260)
    return sim, entries + sim.step(sim.end)


def test_every_stream_appears_with_the_platform_shape(
    session: tuple[AudienceSimulator, list[RawEntry]],
) -> None:
    sim, entries = session
    streams = Counter(e.stream for e in entries)
    assert set(streams) == set(SIGNAL_STREAMS)
    for entry in entries:
        assert isinstance(entry.entry_id, str) and ENTRY_ID.fullmatch(entry.entry_id)
        check_payload(entry, sim.session_id, sim.event_id)


def test_ids_follow_the_platform_formats(
    session: tuple[AudienceSimulator, list[RawEntry]],
) -> None:
    sim, entries = session
    assert SES.fullmatch(sim.session_id) and EVT.fullmatch(sim.event_id)
    by_message: dict[str, list[RawEntry]] = {}
    for entry in entries:
        if entry.stream == Stream.CHAT:
            by_message.setdefault(_data(entry)["message"]["id"], []).append(entry)
    assert len(by_message) > 100
    for message_id, copies in by_message.items():
        assert OPAQUE.fullmatch(message_id)
        # A message id repeats only where the same entry was delivered again.
        assert all(c.data == copies[0].data and c.ts == copies[0].ts for c in copies)
    users = {_data(e)["userId"] for e in entries if e.stream == Stream.SYNC}
    assert 100 <= len(users) <= 120
    assert all(OPAQUE.fullmatch(u) for u in users)


def _data(entry: RawEntry) -> dict[str, Any]:
    assert isinstance(entry.data, dict)
    return entry.data


def test_unknown_event_id_rate_is_configurable() -> None:
    def unknown_share(rate: float) -> float:
        sim = AudienceSimulator(
            "steady",
            attendees=1000,
            minutes=2,
            seed=5,
            imperfections=Imperfections(unknown_event_rate=rate),
        )
        syncs = [_data(e) for e in sim.step(sim.end) if e.stream == Stream.SYNC]
        assert len(syncs) > 900
        unknown = sum(1 for d in syncs if d["eventId"] == "unknown")
        return unknown / len(syncs)

    assert unknown_share(0.0) == 0.0
    assert 0.005 < unknown_share(0.02) < 0.05
    assert 0.45 < unknown_share(0.5) < 0.55


def test_given_ids_are_used_everywhere() -> None:
    sim = AudienceSimulator(
        "steady", attendees=30, minutes=3, seed=1, session_id="room-42", event_id="conf_2026"
    )
    entries = sim.step(sim.end)
    assert entries
    for entry in entries:
        check_payload(entry, "room-42", "conf_2026")
