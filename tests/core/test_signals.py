"""Parsing the platform's stream entries, in the exact shapes of the platform contract."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conductor.core.model import PlatformOutcome, RawEntry, Rejected, Signal
from conductor.core.signals import MAX_RAW_CHARS, entry_id_seconds, parse_entry
from conductor.core.vocabulary import SignalKind, Stream

SESSION = "ses_3fa85f64a1b2"
EVENT = "evt_0a1b2c3d4e5f"
MS = 1_767_225_600_123
ENTRY = f"{MS}-0"
T = MS / 1000.0
ISO = "2026-01-01T00:00:00.123Z"


# -- payloads as the platform writes them -------------------------------------------------------


def chat_data(
    *,
    session_id: str = SESSION,
    event_id: str | None = None,
    message_id: str = "clx2m3n4o0000qwerty1234ab",
    author: str = "user-1",
) -> dict[str, Any]:
    """`eventId` falls back to the session id when the client sent none (a platform quirk)."""
    return {
        "sessionId": session_id,
        "eventId": event_id if event_id is not None else session_id,
        "message": {
            "id": message_id,
            "text": "Great point about caching!",
            "timestamp": ISO,
            "authorId": author,
            "sessionId": session_id,
            "author": {"id": author, "firstName": "Ada", "lastName": "Lovelace"},
        },
    }


def vote_data(
    *, session_id: str = SESSION, user: str = "user-1", poll: str = "poll_42"
) -> dict[str, Any]:
    """The producer sets `eventId` to the session id (a platform quirk)."""
    return {
        "userId": user,
        "pollId": poll,
        "optionId": "opt_1",
        "sessionId": session_id,
        "eventId": session_id,
        "voteTimestamp": ISO,
    }


def poll_closed_data(*, session_id: str = SESSION, poll: str = "poll_42") -> dict[str, Any]:
    """No top-level pollId: the poll's ids are nested under `poll`."""
    return {
        "poll": {
            "id": poll,
            "sessionId": session_id,
            "question": "Which topic next?",
            "options": [{"id": "opt_1", "text": "Caching", "voteCount": 3}],
            "totalVotes": 3,
        },
        "userVotedForOptionId": None,
    }


def sync_data(
    *, type: str = "user_join", event_id: str = "unknown", user: str = "user-1"
) -> dict[str, Any]:
    return {"type": type, "sessionId": SESSION, "eventId": event_id, "userId": user}


def reaction_data(*, user: str = "user-1", emoji: str = "🔥") -> dict[str, Any]:
    """Reactions carry no eventId."""
    return {"userId": user, "sessionId": SESSION, "emoji": emoji, "timestamp": ISO}


def outcome_data(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "success": True,
        "intervention_id": "int_7f3a",
        "session_id": SESSION,
        "event_id": EVENT,
        "result": {"pollId": "poll_9"},
        "timestamp": "2026-01-01T00:00:05.000Z",
    }
    data.update(overrides)
    return data


def entry(
    stream: Stream | str,
    data: Any,
    *,
    entry_id: str | None = ENTRY,
    ts: float | None = None,
) -> RawEntry:
    return RawEntry(str(stream), entry_id, data, ts)


def parse_signal(stream: Stream, data: Any, **kw: Any) -> Signal:
    item = parse_entry(entry(stream, data, **kw))
    assert isinstance(item, Signal), item
    return item


def parse_rejected(stream: Stream | str, data: Any, **kw: Any) -> Rejected:
    item = parse_entry(entry(stream, data, **kw))
    assert isinstance(item, Rejected), item
    return item


# -- entry ids -----------------------------------------------------------------------------------


def test_entry_id_seconds_is_the_millisecond_part() -> None:
    assert entry_id_seconds("1767225600123-7") == pytest.approx(1_767_225_600.123)
    assert entry_id_seconds("1500-0") == 1.5
    assert entry_id_seconds("2000") == 2.0


@pytest.mark.parametrize("bad", ["", "-0", "abc-0", "12-x", "12-", "1.5-0", "١٢-0", " 12-0"])
def test_entry_id_seconds_rejects_bad_ids_clearly(bad: str) -> None:
    with pytest.raises(ValueError, match="entry id"):
        entry_id_seconds(bad)


# -- each stream, quirks included ----------------------------------------------------------------


def test_chat_message() -> None:
    s = parse_signal(Stream.CHAT, chat_data(event_id=EVENT))
    assert s == Signal(
        kind=SignalKind.CHAT,
        session_id=SESSION,
        ts=T,
        user_id="user-1",
        event_id=EVENT,
        entry_id=ENTRY,
        key="clx2m3n4o0000qwerty1234ab",
        poll_id=None,
    )


def test_chat_event_id_falling_back_to_the_session_is_no_event_id() -> None:
    assert parse_signal(Stream.CHAT, chat_data()).event_id is None


def test_chat_reply_fields_are_accepted() -> None:
    data = chat_data()
    data["message"]["replyingToMessageId"] = "clx0000000000parent00001"
    data["message"]["parentMessage"] = {"id": "clx0000000000parent00001", "text": "hi"}
    assert parse_signal(Stream.CHAT, data).key == "clx2m3n4o0000qwerty1234ab"


def test_chat_author_falls_back_to_author_object() -> None:
    data = chat_data(author="user-9")
    del data["message"]["authorId"]
    assert parse_signal(Stream.CHAT, data).user_id == "user-9"


def test_vote_event_id_copied_from_the_session_is_no_event_id() -> None:
    s = parse_signal(Stream.VOTE, vote_data(user="user-3", poll="poll_7"))
    assert (s.kind, s.user_id, s.poll_id, s.event_id) == (SignalKind.VOTE, "user-3", "poll_7", None)
    assert s.key == "user-3:poll_7"
    assert s.ts == T


def test_poll_closed_takes_its_ids_from_the_nested_poll() -> None:
    s = parse_signal(Stream.POLL_CLOSED, poll_closed_data(poll="poll_8"))
    assert (s.kind, s.session_id, s.poll_id) == (SignalKind.POLL_CLOSED, SESSION, "poll_8")
    assert (s.user_id, s.key, s.event_id) == (None, None, None)


def test_poll_closed_with_only_a_top_level_poll_id_is_rejected() -> None:
    r = parse_rejected(Stream.POLL_CLOSED, {"pollId": "poll_8", "sessionId": SESSION})
    assert r.reason == "missing poll"


@pytest.mark.parametrize(
    ("type", "kind"), [("user_join", SignalKind.JOIN), ("user_leave", SignalKind.LEAVE)]
)
def test_sync_join_and_leave(type: str, kind: SignalKind) -> None:
    s = parse_signal(Stream.SYNC, sync_data(type=type, user="user-5"))
    assert (s.kind, s.user_id, s.event_id, s.key) == (kind, "user-5", None, None)


def test_sync_keeps_a_real_event_id() -> None:
    assert parse_signal(Stream.SYNC, sync_data(event_id=EVENT)).event_id == EVENT


def test_sync_unknown_type_is_rejected_by_name() -> None:
    r = parse_rejected(Stream.SYNC, sync_data(type="user_typing"))
    assert r.reason == "unknown sync type 'user_typing'"
    assert r.stream == Stream.SYNC.value
    assert r.entry_id == ENTRY


def test_reaction_has_no_event_id_and_no_key() -> None:
    s = parse_signal(Stream.REACTION, reaction_data(user="user-2"))
    assert (s.kind, s.user_id, s.event_id, s.key, s.poll_id) == (
        SignalKind.REACTION,
        "user-2",
        None,
        None,
        None,
    )


def test_outcome() -> None:
    item = parse_entry(entry(Stream.OUTCOMES, outcome_data()))
    assert isinstance(item, PlatformOutcome)
    assert item.intervention_id == "int_7f3a"
    assert item.session_id == SESSION
    assert item.event_id == EVENT
    assert item.success is True
    assert item.result == {"pollId": "poll_9"}
    assert item.error is None
    assert item.entry_id == ENTRY
    assert item.ts == pytest.approx(1_767_225_605.0)


def test_outcome_failure_with_error_text() -> None:
    item = parse_entry(
        entry(Stream.OUTCOMES, outcome_data(success=False, error="unknown type", result=None))
    )
    assert isinstance(item, PlatformOutcome)
    assert (item.success, item.error, dict(item.result)) == (False, "unknown type", {})


def test_outcome_error_object_is_kept_as_text() -> None:
    item = parse_entry(entry(Stream.OUTCOMES, outcome_data(error={"message": "boom"})))
    assert isinstance(item, PlatformOutcome)
    assert item.error is not None and "boom" in item.error


@pytest.mark.parametrize("stamp", [None, "", "yesterday", 12345])
def test_outcome_without_a_valid_timestamp_uses_the_entry_time(stamp: object) -> None:
    item = parse_entry(entry(Stream.OUTCOMES, outcome_data(timestamp=stamp)))
    assert isinstance(item, PlatformOutcome)
    assert item.ts == T


def test_outcome_naive_timestamp_is_utc() -> None:
    item = parse_entry(entry(Stream.OUTCOMES, outcome_data(timestamp="2026-01-01T00:00:05")))
    assert isinstance(item, PlatformOutcome)
    assert item.ts == pytest.approx(1_767_225_605.0)


# -- data encodings and event time ---------------------------------------------------------------


def test_data_as_mapping_text_or_bytes_parse_alike() -> None:
    data = chat_data(event_id=EVENT)
    as_dict = parse_signal(Stream.CHAT, data)
    assert parse_signal(Stream.CHAT, orjson.dumps(data)) == as_dict
    assert parse_signal(Stream.CHAT, orjson.dumps(data).decode()) == as_dict


def test_explicit_ts_wins_over_the_entry_id() -> None:
    assert parse_signal(Stream.REACTION, reaction_data(), ts=42.5).ts == 42.5


def test_without_ts_the_entry_id_gives_the_time() -> None:
    assert parse_signal(Stream.REACTION, reaction_data(), entry_id="1000-3").ts == 1.0


@pytest.mark.parametrize("ts", [float("nan"), float("inf"), -1.0])
def test_unusable_ts_falls_back_to_the_entry_id(ts: float) -> None:
    assert parse_signal(Stream.REACTION, reaction_data(), ts=ts, entry_id="2000-0").ts == 2.0


def test_no_usable_time_is_rejected() -> None:
    r = parse_rejected(Stream.REACTION, reaction_data(), entry_id=None)
    assert "event time" in r.reason
    r = parse_rejected(Stream.REACTION, reaction_data(), entry_id="not-an-id")
    assert "event time" in r.reason
    r = parse_rejected(Stream.REACTION, reaction_data(), entry_id="x", ts=float("nan"))
    assert "event time" in r.reason


def test_signal_without_entry_id_but_with_ts_is_accepted() -> None:
    s = parse_signal(Stream.REACTION, reaction_data(), entry_id=None, ts=7.0)
    assert (s.ts, s.entry_id) == (7.0, None)


# -- ids -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "session_id", ["ses_3fa85f64a1b2", "clx2m3n4o0000qwerty1234ab", "a", "A-b_9"]
)
def test_opaque_session_ids_are_accepted(session_id: str) -> None:
    assert parse_signal(Stream.REACTION, {"userId": "u", "sessionId": session_id}).session_id == (
        session_id
    )


def test_session_id_length_limit_is_255() -> None:
    assert parse_signal(Stream.REACTION, {"userId": "u", "sessionId": "s" * 255})
    r = parse_rejected(Stream.REACTION, {"userId": "u", "sessionId": "s" * 256})
    assert r.reason == "sessionId is longer than 255 characters"


@pytest.mark.parametrize("session_id", ["ses 1", "ses/1", "ses:1", "séance", "ses.1"])
def test_session_id_with_foreign_characters_is_rejected(session_id: str) -> None:
    r = parse_rejected(Stream.REACTION, {"userId": "u", "sessionId": session_id})
    assert r.reason == "sessionId has characters outside [A-Za-z0-9_-]"


def test_user_ids_are_any_non_empty_string() -> None:
    s = parse_signal(Stream.REACTION, reaction_data(user="auth0|Ünïcode user@example.com"))
    assert s.user_id == "auth0|Ünïcode user@example.com"
    r = parse_rejected(Stream.REACTION, reaction_data(user="u" * 256))
    assert r.reason == "userId is longer than 255 characters"


def test_bad_event_id_is_rejected() -> None:
    r = parse_rejected(Stream.SYNC, sync_data(event_id="evt 1"))
    assert r.reason == "eventId has characters outside [A-Za-z0-9_-]"


# -- malformed input: never raises, always says which field --------------------------------------


def _without(data: dict[str, Any], *path: str) -> dict[str, Any]:
    data = orjson.loads(orjson.dumps(data))
    target = data
    for name in path[:-1]:
        target = target[name]
    del target[path[-1]]
    return data


def _with(data: dict[str, Any], value: Any, *path: str) -> dict[str, Any]:
    data = orjson.loads(orjson.dumps(data))
    target = data
    for name in path[:-1]:
        target = target[name]
    target[path[-1]] = value
    return data


MALFORMED: list[tuple[Stream | str, Any, str]] = [
    ("platform.events.unknown.v1", reaction_data(), "unknown stream 'platform.events.unknown.v1'"),
    (Stream.CHAT, "{not json", "data is not valid JSON"),
    (Stream.CHAT, b"\xff\xfe", "data is not valid JSON"),
    (Stream.CHAT, "[1, 2]", "data is not a JSON object"),
    (Stream.CHAT, "null", "data is not a JSON object"),
    (Stream.CHAT, _without(chat_data(), "sessionId"), "missing sessionId"),
    (Stream.CHAT, _with(chat_data(), 12, "sessionId"), "sessionId is not a string"),
    (Stream.CHAT, _with(chat_data(), "", "sessionId"), "sessionId is empty"),
    (Stream.CHAT, _without(chat_data(), "message"), "missing message"),
    (Stream.CHAT, _with(chat_data(), "hello", "message"), "message is not an object"),
    (Stream.CHAT, _without(chat_data(), "message", "id"), "missing message.id"),
    (Stream.CHAT, _with(chat_data(), 7, "message", "id"), "message.id is not a string"),
    (Stream.CHAT, _with(chat_data(), "", "message", "id"), "message.id is empty"),
    (
        Stream.CHAT,
        _with(chat_data(), ["u"], "message", "authorId"),
        "message.authorId is not a string",
    ),
    (
        Stream.CHAT,
        _without(_without(chat_data(), "message", "authorId"), "message", "author"),
        "missing message.authorId",
    ),
    (
        Stream.CHAT,
        _with(
            _without(chat_data(), "message", "authorId"), {"firstName": "A"}, "message", "author"
        ),
        "missing message.author.id",
    ),
    (Stream.CHAT, _with(chat_data(), 5, "eventId"), "eventId is not a string"),
    (Stream.VOTE, _without(vote_data(), "userId"), "missing userId"),
    (Stream.VOTE, _with(vote_data(), None, "userId"), "missing userId"),
    (Stream.VOTE, _with(vote_data(), 3, "userId"), "userId is not a string"),
    (Stream.VOTE, _without(vote_data(), "pollId"), "missing pollId"),
    (Stream.VOTE, _with(vote_data(), {"id": 1}, "pollId"), "pollId is not a string"),
    (Stream.VOTE, _without(vote_data(), "sessionId"), "missing sessionId"),
    (Stream.POLL_CLOSED, _with(poll_closed_data(), [], "poll"), "poll is not an object"),
    (Stream.POLL_CLOSED, _without(poll_closed_data(), "poll", "id"), "missing poll.id"),
    (
        Stream.POLL_CLOSED,
        _without(poll_closed_data(), "poll", "sessionId"),
        "missing poll.sessionId",
    ),
    (
        Stream.POLL_CLOSED,
        _with(poll_closed_data(), 9, "poll", "sessionId"),
        "poll.sessionId is not a string",
    ),
    (Stream.SYNC, _without(sync_data(), "type"), "missing type"),
    (Stream.SYNC, _with(sync_data(), 1, "type"), "type is not a string"),
    (Stream.SYNC, _with(sync_data(), "USER_JOIN", "type"), "unknown sync type 'USER_JOIN'"),
    (Stream.SYNC, _without(sync_data(), "userId"), "missing userId"),
    (Stream.SYNC, _with(sync_data(), "", "userId"), "userId is empty"),
    (Stream.SYNC, _without(sync_data(), "sessionId"), "missing sessionId"),
    (Stream.REACTION, _without(reaction_data(), "userId"), "missing userId"),
    (Stream.REACTION, _with(reaction_data(), True, "sessionId"), "sessionId is not a string"),
    (Stream.OUTCOMES, _without(outcome_data(), "success"), "missing success"),
    (Stream.OUTCOMES, _with(outcome_data(), "true", "success"), "success is not a boolean"),
    (Stream.OUTCOMES, _with(outcome_data(), 1, "success"), "success is not a boolean"),
    (Stream.OUTCOMES, _without(outcome_data(), "intervention_id"), "missing intervention_id"),
    (
        Stream.OUTCOMES,
        _with(outcome_data(), 17, "intervention_id"),
        "intervention_id is not a string",
    ),
    (Stream.OUTCOMES, _without(outcome_data(), "session_id"), "missing session_id"),
    (Stream.OUTCOMES, _with(outcome_data(), "ok", "result"), "result is not an object"),
]


@pytest.mark.parametrize(("stream", "data", "reason"), MALFORMED)
def test_malformed_entries_are_rejected_with_the_field_named(
    stream: Stream | str, data: Any, reason: str
) -> None:
    r = parse_rejected(stream, data)
    assert r.reason == reason
    assert r.stream == str(stream)
    assert r.entry_id == ENTRY
    assert r.raw is not None and r.raw != ""


def test_rejected_raw_is_the_original_text_truncated() -> None:
    text = orjson.dumps({"sessionId": "bad id", "userId": "u", "pad": "x" * 5000}).decode()
    r = parse_rejected(Stream.REACTION, text)
    assert r.raw == text[:MAX_RAW_CHARS]
    r = parse_rejected(Stream.REACTION, {"sessionId": "bad id", "pad": "y" * 5000})
    assert r.raw is not None and len(r.raw) == MAX_RAW_CHARS and r.raw.startswith('{"sessionId"')


def test_data_of_a_wrong_type_is_rejected() -> None:
    r = parse_rejected(Stream.CHAT, 12345)
    assert r.reason.startswith("data is not a JSON object")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
FIELD_NAMES = [
    "sessionId", "eventId", "message", "id", "authorId", "author", "userId", "pollId", "poll",
    "type", "success", "intervention_id", "session_id", "event_id", "result", "error", "timestamp",
]  # fmt: skip
payloads = st.dictionaries(st.sampled_from(FIELD_NAMES), json_values, max_size=8)
streams = st.sampled_from([*(s.value for s in Stream), "other"])


@settings(max_examples=300, deadline=None)
@given(
    stream=streams,
    data=payloads | st.binary(max_size=40) | st.text(max_size=40) | json_values,
    entry_id=st.none() | st.text(max_size=12) | st.just(ENTRY),
    ts=st.none() | st.floats(),
)
def test_parse_never_raises(stream: str, data: Any, entry_id: str | None, ts: float | None) -> None:
    item = parse_entry(RawEntry(stream, entry_id, data, ts))
    assert isinstance(item, Signal | PlatformOutcome | Rejected)
    if isinstance(item, Rejected):
        assert item.reason
        assert item.raw is not None and len(item.raw) <= MAX_RAW_CHARS
    else:
        assert item.ts == item.ts  # never NaN


@settings(max_examples=200, deadline=None)
@given(
    session_id=st.text("abcXYZ019_-", min_size=1, max_size=40),
    user=st.text(min_size=1, max_size=40),
    message_id=st.text(min_size=1, max_size=40),
)
def test_valid_chat_round_trips_its_ids(session_id: str, user: str, message_id: str) -> None:
    data = chat_data(session_id=session_id, author=user, message_id=message_id)
    s = parse_signal(Stream.CHAT, orjson.dumps(data))
    assert (s.session_id, s.user_id, s.key, s.event_id) == (session_id, user, message_id, None)
