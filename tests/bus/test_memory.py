"""The in-process bus: glob routing, bounded subscribers, never a blocked publisher."""

from __future__ import annotations

import asyncio
import fnmatch
from collections.abc import Mapping
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conductor.bus.memory import InProcessBus, SubscriptionClosed, glob_regex
from conductor.bus.publisher import TeePublisher


async def test_exact_channel_and_pattern_routing() -> None:
    bus = InProcessBus()
    exact = bus.subscribe("engagement:update")
    sessions = bus.subscribe("session:*:events")
    await bus.publish("engagement:update", {"n": 1})
    await bus.publish("session:ses_a:events", {"n": 2})
    await bus.publish("session:ses_b:status", {"n": 3})
    assert [(msg.channel, msg.message["n"]) for msg in _drain(exact)] == [("engagement:update", 1)]
    assert [(msg.channel, msg.message["n"]) for msg in _drain(sessions)] == [
        ("session:ses_a:events", 2)
    ]


async def test_a_subscription_with_overlapping_patterns_gets_each_message_once() -> None:
    bus = InProcessBus()
    sub = bus.subscribe("session:*:events", "session:ses_a:*", "session:ses_a:events")
    delivered = bus.publish_nowait("session:ses_a:events", {"n": 1})
    assert delivered == 1
    assert [msg.message for msg in _drain(sub)] == [{"n": 1}]


async def test_slow_subscriber_loses_oldest_and_counts_without_blocking_the_publisher() -> None:
    bus = InProcessBus()
    slow = bus.subscribe("c", queue_size=3)
    fast = bus.subscribe("c", queue_size=100)
    for n in range(10):
        await bus.publish("c", {"n": n})
    assert [msg.message["n"] for msg in _drain(slow)] == [7, 8, 9]
    assert slow.dropped == 7
    assert [msg.message["n"] for msg in _drain(fast)] == list(range(10))
    assert fast.dropped == 0


async def test_get_waits_for_a_later_message() -> None:
    bus = InProcessBus()
    sub = bus.subscribe("c")
    waiter = asyncio.create_task(sub.get())
    await asyncio.sleep(0)
    assert not waiter.done()
    bus.publish_nowait("c", {"x": 1})
    async with asyncio.timeout(1):
        message = await waiter
    assert message.message == {"x": 1}


async def test_iteration_drains_then_ends_when_closed() -> None:
    bus = InProcessBus()
    sub = bus.subscribe("c")
    for n in range(3):
        bus.publish_nowait("c", {"n": n})
    bus.close()
    bus.publish_nowait("c", {"n": 99})
    assert bus.subscribers == 0
    async with asyncio.timeout(1):
        got = [msg.message["n"] async for msg in sub]
    assert got == [0, 1, 2]
    with pytest.raises(SubscriptionClosed):
        await sub.get()


async def test_closing_wakes_a_waiting_reader() -> None:
    bus = InProcessBus()
    sub = bus.subscribe("c")
    waiter = asyncio.create_task(sub.get())
    await asyncio.sleep(0)
    sub.close()
    async with asyncio.timeout(1):
        with pytest.raises(SubscriptionClosed):
            await waiter


@pytest.mark.parametrize(
    ("args", "needle"),
    [((), "at least one"), (("",), "non-empty")],
)
def test_subscribe_validates(args: tuple[str, ...], needle: str) -> None:
    with pytest.raises(ValueError, match=needle):
        InProcessBus().subscribe(*args)


def test_publish_validates() -> None:
    bus = InProcessBus()
    with pytest.raises(ValueError, match="channel"):
        bus.publish_nowait("", {})
    with pytest.raises(ValueError, match="object"):
        bus.publish_nowait("c", [1, 2])  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("pattern", "channel", "matches"),
    [
        ("session:*:events", "session:ses_a:events", True),
        ("session:*:events", "session:ses_a:status", False),
        ("session:?:events", "session:ab:events", False),
        ("h[ae]llo", "hallo", True),
        ("h[^e]llo", "hello", False),
        ("h[^e]llo", "hallo", True),
        ("h[a-c]llo", "hbllo", True),
        ("h[c-a]llo", "hbllo", True),
        ("h\\*llo", "h*llo", True),
        ("h\\*llo", "hello", False),
        ("h[llo", "h[llo", True),
        ("a.b", "axb", False),
        ("*", "any:thing\nwith newline", True),
    ],
)
def test_glob_follows_the_broker_rules(pattern: str, channel: str, matches: bool) -> None:
    assert bool(glob_regex(pattern).fullmatch(channel)) is matches


plain = st.text(alphabet="ab:._-*?", max_size=12)


@given(plain, st.text(alphabet="ab:._-", max_size=12))
def test_glob_agrees_with_shell_globbing_without_classes(pattern: str, channel: str) -> None:
    expected = fnmatch.fnmatchcase(channel, pattern)
    assert bool(glob_regex(pattern).fullmatch(channel)) is expected


class Recorder:
    def __init__(self, fail: bool = False) -> None:
        self.got: list[tuple[str, Mapping[str, Any]]] = []
        self.fail = fail

    async def publish(self, channel: str, message: Mapping[str, Any]) -> None:
        if self.fail:
            raise ValueError("refused")
        self.got.append((channel, message))


async def test_tee_reaches_every_publisher_even_after_one_fails() -> None:
    first, second = Recorder(fail=True), Recorder()
    tee = TeePublisher(first, second)
    with pytest.raises(ValueError, match="refused"):
        await tee.publish("c", {"a": 1})
    assert second.got == [("c", {"a": 1})]


async def test_tee_to_the_in_process_bus() -> None:
    bus, recorder = InProcessBus(), Recorder()
    sub = bus.subscribe("agent:notifications:*")
    await TeePublisher(recorder, bus).publish("agent:notifications:evt_1", {"k": "v"})
    assert recorder.got == [("agent:notifications:evt_1", {"k": "v"})]
    assert [msg.message for msg in _drain(sub)] == [{"k": "v"}]


def _drain(sub: Any) -> list[Any]:
    out = []
    while (item := sub.get_nowait()) is not None:
        out.append(item)
    return out
