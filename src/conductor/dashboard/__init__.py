"""The organiser's dashboard: a hand-written page (no build step) served next to the API.

`mount_dashboard(app)` adds `/` (the page) and `/dashboard/...` (its script, styles and the
charting library from the installed plotly package). The page talks to `/api/v1` only, so it
shows exactly what the caller's token may see.
"""

from __future__ import annotations

from fastapi import FastAPI

from conductor.dashboard.routes import router


def mount_dashboard(app: FastAPI) -> None:
    """Serve the dashboard from `app`; call once, after or before the API's routers."""
    app.include_router(router)


__all__ = ["mount_dashboard"]
