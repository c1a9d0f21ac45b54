"""The tick goes first: full collections between ticks, and work that can wait (storage,
stream batches) waits while a tick part runs, so a decided command goes out at once."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Mapping
from typing import Any

import pytest

from conductor.core.vocabulary import AgentMode
from conductor.runtime import Runtime
from conductor.service.gc_pacing import NEVER, GcPacer
from conductor.service.records import EventSettings
from conductor.sim import AudienceSimulator
from event_clock import START, Clock

EVENT = "evt_0000000000pc"


def test_the_pacer_takes_full_collections_off_automatic_and_gives_them_back() -> None:
    before = gc.get_threshold()
    clock = Clock(0.0)
    pacer = GcPacer(every_s=30.0, clock=clock.now)
    try:
        pacer.install()
        assert gc.get_threshold() == (before[0], before[1], NEVER)
        assert not pacer.quiet()  # not yet due
        clock.t = 31.0
        assert pacer.quiet()
        assert pacer.collections == 1 and pacer.last_pause_s >= 0.0
        clock.t = 40.0
        assert not pacer.quiet()  # at most every 30 s
        clock.t = 61.5
        assert pacer.quiet() and pacer.collections == 2
    finally:
        pacer.uninstall()
    assert gc.get_threshold() == before
    clock.t = 1000.0
    assert not pacer.quiet()  # uninstalled: Python's own schedule again


def test_a_pacing_interval_must_be_positive() -> None:
    with pytest.raises(ValueError, match="every_s"):
        GcPacer(every_s=0.0)


class HeldCommands:
    """A publisher that holds commands until released, sending everything else through."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.holding = asyncio.Event()
        self.release = asyncio.Event()

    async def publish(self, channel: str, message: Mapping[str, Any]) -> None:
        await self.inner.publish(channel, message)

    def publish_nowait(self, channel: str, message: Mapping[str, Any]) -> int:
        return int(self.inner.publish_nowait(channel, message))

    async def publish_urgent(self, channel: str, message: Mapping[str, Any]) -> None:
        self.holding.set()
        await self.release.wait()
        await self.inner.publish(channel, message)


async def test_storage_and_stream_batches_wait_while_a_tick_part_runs(
    loop: tuple[Runtime, Clock],
) -> None:
    rt, clock = loop
    service = rt.service
    service.put_event_settings(EventSettings(EVENT, mode=AgentMode.AUTO))
    held = HeldCommands(service.publisher)
    service.publisher = held
    sim = AudienceSimulator(
        "sudden_drop", attendees=80, minutes=12, seed=3, session_id="ses_0000000pace1",
        event_id=EVENT, start=START, onset=250,
    )
    part: asyncio.Task[None] | None = None
    while clock.t < START + 600:
        clock.t += 5.0
        service.ingest(sim.step(clock.t))
        part = asyncio.create_task(service.step_async())
        holding = asyncio.create_task(held.holding.wait())
        await asyncio.wait({part, holding}, return_when=asyncio.FIRST_COMPLETED)
        holding.cancel()
        if held.holding.is_set():
            break
        await part
    assert part is not None and held.holding.is_set(), "no command was decided"

    # A command is on its way out, in the middle of a part: the rest waits for the part.
    waiting = asyncio.create_task(service.between_parts())
    flushing = asyncio.create_task(rt.writer.flush())
    await asyncio.sleep(0.05)
    assert not waiting.done()
    assert not flushing.done()
    assert rt.writer.pending > 0

    held.release.set()
    await part
    await asyncio.wait_for(waiting, 1.0)
    await asyncio.wait_for(flushing, 5.0)
    assert rt.writer.pending == 0
    total, stored = await rt.store.session_history(sim.session_id)
    assert total == 1 and stored[0].session_id == sim.session_id
