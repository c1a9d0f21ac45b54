"""Turn the platform's raw stream entries into signals and outcomes, or say why not.

The formats and their quirks are the platform's (see the platform contract): the vote producer
copies the session id into `eventId`, chat falls back to the session id, sync sends the string
`unknown`, reactions carry no event id and a closed poll nests its ids under `poll`. An event
id that merely repeats the session id is no event id, so it becomes None.

This runs once per entry on the hot path: each field gets one cheap inline test, and only a
failing field goes through the slower checks that word the reason. No date is parsed for a
signal: event time is the entry's explicit `ts`, else its id's milliseconds. Bad input never
raises; it comes back as `Rejected` with a reason that names the field.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import orjson

from conductor.core.model import PlatformOutcome, RawEntry, Rejected, Signal
from conductor.core.vocabulary import SignalKind, Stream

MAX_ID_LEN = 255
MAX_RAW_CHARS = 2000
_ID_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
_NO_EVENT = "unknown"
_CHAT = SignalKind.CHAT
_VOTE = SignalKind.VOTE
_POLL_CLOSED = SignalKind.POLL_CLOSED
_REACTION = SignalKind.REACTION
_SYNC_KINDS = {"user_join": SignalKind.JOIN, "user_leave": SignalKind.LEAVE}


class _Bad(Exception):
    """A malformed entry; the message is the reason shown in the dead letter."""


def entry_id_seconds(entry_id: str) -> float:
    """The time a stream entry was written: the millisecond part of `<ms>-<seq>`, in seconds."""
    if not isinstance(entry_id, str):
        raise ValueError(f"stream entry id must be a string, got {type(entry_id).__name__}")
    ms, sep, seq = entry_id.partition("-")
    if not (ms.isascii() and ms.isdigit()) or (sep and not (seq.isascii() and seq.isdigit())):
        raise ValueError(f"bad stream entry id {entry_id[:60]!r}: expected '<ms>-<seq>'")
    return int(ms) / 1000.0


def parse_entry(entry: RawEntry) -> Signal | PlatformOutcome | Rejected:
    """Parse one entry; never raises."""
    stream = entry.stream
    try:
        parser = _PARSERS.get(stream)
        if parser is None:
            raise _Bad(f"unknown stream {str(stream)[:80]!r}")
        data = entry.data
        if type(data) is not dict and not isinstance(data, Mapping):
            data = _decode(data)
        return parser(data, entry)
    except _Bad as bad:
        return _rejected(entry, str(bad))
    except Exception as error:  # a bug must not stop the loop that feeds us
        return _rejected(entry, f"unexpected {type(error).__name__} while parsing")


def raw_text(data: object) -> str:
    """The entry's data as text for a dead letter, cut to MAX_RAW_CHARS characters."""
    try:
        if isinstance(data, str):
            text = data[:MAX_RAW_CHARS]
        elif isinstance(data, bytes | bytearray | memoryview):
            text = bytes(data[: MAX_RAW_CHARS * 4]).decode("utf-8", "replace")
        else:
            text = orjson.dumps(data, default=repr, option=orjson.OPT_NON_STR_KEYS).decode()
    except Exception:
        text = repr(data)
    return text[:MAX_RAW_CHARS]


def _rejected(entry: RawEntry, reason: str) -> Rejected:
    try:
        stream = str(entry.stream)
        entry_id = entry.entry_id
        if entry_id is not None and not isinstance(entry_id, str):
            entry_id = repr(entry_id)[:MAX_ID_LEN]
    except Exception:
        stream, entry_id = "?", None
    return Rejected(stream, reason, entry_id, raw_text(entry.data))


# -- field checks: a cheap test for the common valid case, then the slower checks that word ----
# -- the reason (raised as _Bad naming the field) ------------------------------------------------


def _decode(data: object) -> Mapping[str, Any]:
    if not isinstance(data, str | bytes | bytearray | memoryview):
        raise _Bad(f"data is not a JSON object (got {type(data).__name__})")
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError:
        raise _Bad("data is not valid JSON") from None
    if not isinstance(value, dict):
        raise _Bad("data is not a JSON object")
    return value


def _object(value: object, path: str) -> Mapping[str, Any]:
    if value is None:
        raise _Bad(f"missing {path}")
    if not isinstance(value, Mapping):
        raise _Bad(f"{path} is not an object")
    return value


def _text(value: object, path: str) -> str:
    """An opaque id (user, poll, message, intervention): a non-empty string of at most
    MAX_ID_LEN characters."""
    if type(value) is str and 0 < len(value) <= MAX_ID_LEN:
        return value
    if not isinstance(value, str):
        raise _Bad(f"missing {path}" if value is None else f"{path} is not a string")
    if not value:
        raise _Bad(f"{path} is empty")
    if len(value) > MAX_ID_LEN:
        raise _Bad(f"{path} is longer than {MAX_ID_LEN} characters")
    return str(value)


def _id(value: object, path: str) -> str:
    """A session or event id: opaque, but only `[A-Za-z0-9_-]`."""
    if type(value) is str and 0 < len(value) <= MAX_ID_LEN and _ID_CHARS.issuperset(value):
        return value
    text = _text(value, path)
    if not _ID_CHARS.issuperset(text):
        raise _Bad(f"{path} has characters outside [A-Za-z0-9_-]")
    return text


def _event_id(value: object, path: str, session_id: str) -> str | None:
    """An event id, or None where the platform put a placeholder: absent, empty, `unknown`, or
    a copy of the session id."""
    if value is None or value in (session_id, _NO_EVENT, ""):
        return None
    return _id(value, path)


def _time(entry: RawEntry) -> float:
    """Event time: the explicit `ts` when usable, else the entry id's milliseconds."""
    ts = entry.ts
    if ts is not None and type(ts) in (float, int) and ts >= 0 and ts != math.inf:
        return float(ts)  # NaN fails `ts >= 0`
    entry_id = entry.entry_id
    if type(entry_id) is str:
        ms, sep, seq = entry_id.partition("-")
        if ms.isdigit() and ms.isascii() and (not sep or (seq.isdigit() and seq.isascii())):
            return int(ms) / 1000.0
    if ts is not None:
        raise _Bad("no usable event time: ts is not a finite number >= 0 and the entry id is bad")
    if entry_id is None:
        raise _Bad("no usable event time: no ts and no entry id")
    raise _Bad("no usable event time: no ts and the entry id is not '<ms>-<seq>'")


def _iso_seconds(value: object) -> float | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


# -- one parser per stream ----------------------------------------------------------------------


def _chat(data: Mapping[str, Any], entry: RawEntry) -> Signal:
    session_id = _id(data.get("sessionId"), "sessionId")
    message = data.get("message")
    if type(message) is not dict:
        message = _object(message, "message")
    message_id = _text(message.get("id"), "message.id")
    author = message.get("author")
    if message.get("authorId") is None and isinstance(author, Mapping):
        user_id = _text(author.get("id"), "message.author.id")
    else:
        user_id = _text(message.get("authorId"), "message.authorId")
    event_id = _event_id(data.get("eventId"), "eventId", session_id)
    return Signal(_CHAT, session_id, _time(entry), user_id, event_id, entry.entry_id, message_id)


def _vote(data: Mapping[str, Any], entry: RawEntry) -> Signal:
    session_id = _id(data.get("sessionId"), "sessionId")
    user_id = _text(data.get("userId"), "userId")
    poll_id = _text(data.get("pollId"), "pollId")
    event_id = _event_id(data.get("eventId"), "eventId", session_id)
    return Signal(
        _VOTE,
        session_id,
        _time(entry),
        user_id,
        event_id,
        entry.entry_id,
        f"{user_id}:{poll_id}",
        poll_id,
    )


def _poll_closed(data: Mapping[str, Any], entry: RawEntry) -> Signal:
    poll = data.get("poll")
    if type(poll) is not dict:
        poll = _object(poll, "poll")
    session_id = _id(poll.get("sessionId"), "poll.sessionId")
    poll_id = _text(poll.get("id"), "poll.id")
    event_id = _event_id(poll.get("eventId"), "poll.eventId", session_id)
    return Signal(
        _POLL_CLOSED, session_id, _time(entry), None, event_id, entry.entry_id, None, poll_id
    )


def _sync(data: Mapping[str, Any], entry: RawEntry) -> Signal:
    kind_name = data.get("type")
    kind = _SYNC_KINDS.get(kind_name) if type(kind_name) is str else None
    if kind is None:
        if not isinstance(kind_name, str):
            raise _Bad("missing type" if kind_name is None else "type is not a string")
        kind = _SYNC_KINDS.get(str(kind_name))
        if kind is None:
            raise _Bad(f"unknown sync type {kind_name[:60]!r}")
    session_id = _id(data.get("sessionId"), "sessionId")
    user_id = _text(data.get("userId"), "userId")
    event_id = _event_id(data.get("eventId"), "eventId", session_id)
    return Signal(kind, session_id, _time(entry), user_id, event_id, entry.entry_id)


def _reaction(data: Mapping[str, Any], entry: RawEntry) -> Signal:
    session_id = _id(data.get("sessionId"), "sessionId")
    user_id = _text(data.get("userId"), "userId")
    return Signal(_REACTION, session_id, _time(entry), user_id, None, entry.entry_id)


def _outcome(data: Mapping[str, Any], entry: RawEntry) -> PlatformOutcome:
    success = data.get("success")
    if not isinstance(success, bool):
        raise _Bad("missing success" if success is None else "success is not a boolean")
    intervention_id = _text(data.get("intervention_id"), "intervention_id")
    session_id = _id(data.get("session_id"), "session_id")
    event_id = _event_id(data.get("event_id"), "event_id", session_id)
    result = data.get("result")
    if result is None:
        result = {}
    elif not isinstance(result, Mapping):
        raise _Bad("result is not an object")
    error = data.get("error")
    if error is not None and not isinstance(error, str):
        # The platform may pass an error object through; keep its text rather than lose the report.
        error = raw_text(error)
    ts = _iso_seconds(data.get("timestamp"))
    if ts is None:
        ts = _time(entry)
    return PlatformOutcome(
        intervention_id, session_id, success, ts, event_id, result, error, entry.entry_id
    )


_PARSERS: dict[str, Callable[[Mapping[str, Any], RawEntry], Signal | PlatformOutcome]] = {
    Stream.CHAT.value: _chat,
    Stream.VOTE.value: _vote,
    Stream.POLL_CLOSED.value: _poll_closed,
    Stream.SYNC.value: _sync,
    Stream.REACTION.value: _reaction,
    Stream.OUTCOMES.value: _outcome,
}
