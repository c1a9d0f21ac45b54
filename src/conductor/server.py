"""Runs a Runtime behind the HTTP server, with optional companions (the demo's audiences)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Coroutine
from typing import Any

import uvicorn

from conductor.runtime import Runtime


async def serve(
    runtime: Runtime,
    *,
    on_ready: Callable[[], None] | None = None,
    companion: Callable[[], Coroutine[Any, Any, None]] | None = None,
) -> None:
    from conductor.api import create_app
    from conductor.dashboard import mount_dashboard

    app = create_app(runtime)
    mount_dashboard(app)
    settings = runtime.settings
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_level="warning",
        lifespan="off",
        access_log=False,
    )
    server = uvicorn.Server(config)
    await runtime.start()
    extra: asyncio.Task[None] | None = None
    try:
        serving = asyncio.create_task(server.serve(), name="http")
        # uvicorn offers no start-up event to wait on, so poll its flag.
        while not server.started and not serving.done():  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        if serving.done():
            await serving  # surfaces a bind error with its message
            raise SystemExit(f"could not listen on {settings.host}:{settings.port}")
        if on_ready is not None:
            on_ready()
        if companion is not None:
            extra = asyncio.create_task(companion(), name="companion")
        await serving
    finally:
        if extra is not None:
            extra.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await extra
        await runtime.stop()
