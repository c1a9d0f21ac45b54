from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from conductor.runtime import Runtime, build_runtime
from conductor.settings import Settings
from event_clock import Clock


@pytest.fixture
async def loop(tmp_path: Path) -> AsyncIterator[tuple[Runtime, Clock]]:
    """The service on a SQLite file and the in-process bus, driven by a hand-moved clock."""
    clock = Clock()
    settings = Settings(
        database_url=f"sqlite:///{tmp_path}/agent.db",
        auth_enabled=False,
        decision_ttl_s=60.0,
        outcome_delay_s=60.0,
    )
    runtime = await build_runtime(settings, clock=clock)
    await runtime.service.load()
    yield runtime, clock
    await runtime.store.close()
