"""Fixtures of the API tests: harnesses around real runtimes, on either storage back end."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from api_harness import SECRET, Harness, MakeHarness, ManualClock

from conductor.api import create_app
from conductor.runtime import build_runtime
from conductor.settings import Settings


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def any_database(request: pytest.FixtureRequest, tmp_path: Any) -> str:
    """Parametrises a test over both storage back ends."""
    if request.param == "postgresql":
        url: str = request.getfixturevalue("pg_url")
        return url
    return f"sqlite:///{tmp_path}/any.db"


@pytest.fixture
async def make_harness(tmp_path: Any) -> AsyncIterator[MakeHarness]:
    built: list[Harness] = []

    async def make(*, auth: bool = True, database_url: str | None = None) -> Harness:
        settings = Settings(
            database_url=database_url or f"sqlite:///{tmp_path}/t{len(built)}.db",
            redis_url=None,
            auth_enabled=auth,
            jwt_secret=SECRET,
        )
        clock = ManualClock()
        runtime = await build_runtime(settings, clock=clock)
        app = create_app(runtime)
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app, raise_app_exceptions=False),
            base_url="http://test",
        )
        harness = Harness(runtime, app, client, clock)
        built.append(harness)
        return harness

    yield make
    for harness in built:
        await harness.client.aclose()
        await harness.runtime.stop()


@pytest.fixture
async def harness(make_harness: MakeHarness) -> Harness:
    return await make_harness()
