"""The HTTP API (docs/api.md): `create_app(runtime)` serves one running `Runtime`.

The app does not start or stop the runtime: whoever built the runtime owns its life.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, FastAPI

from conductor.api.errors import install_error_handlers
from conductor.api.routers import decisions, events, interventions, live, ops, sessions, signals
from conductor.api.routers.live import KEEPALIVE_S
from conductor.api.routers.ops import metrics_registry
from conductor.api.schemas import Error
from conductor.runtime import Runtime

API_PREFIX = "/api/v1"

ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": Error, "description": "No valid token."},
    403: {"model": Error, "description": "Outside the caller's organisation or permissions."},
    404: {"model": Error, "description": "Unknown."},
    422: {"model": Error, "description": "Invalid input; `field` names it."},
}


def create_app(runtime: Runtime) -> FastAPI:
    app = FastAPI(
        title="Engagement Conductor",
        summary="Live engagement scoring, anomaly detection and interventions.",
        version="0.1.0",
        docs_url="/docs",
        openapi_url="/openapi.json",
        redoc_url=None,
    )
    app.state.runtime = runtime
    app.state.keepalive_s = KEEPALIVE_S
    app.state.live_streams = {"open": 0}
    app.state.metrics_registry = metrics_registry(runtime, app.state.live_streams)
    install_error_handlers(app)
    api = APIRouter(prefix=API_PREFIX, responses=ERROR_RESPONSES)
    for module in (signals, interventions, events, sessions, decisions, live):
        api.include_router(module.router)
    app.include_router(api)
    # Probes and scrapers conventionally look at the root; the API's base path works too.
    app.include_router(ops.router)
    app.include_router(ops.router, prefix=API_PREFIX, include_in_schema=False)
    return app


__all__ = ["API_PREFIX", "create_app"]
