"""The `conductor` command with the dashboard mounted, for the browser tests.

The app factory is expected to mount the dashboard itself; until it does, this wraps it and
mounts the dashboard only when nothing serves `/` yet, so the tests run either way.
"""

from __future__ import annotations

import sys
from typing import Any

import conductor.api as api_module
from conductor.cli import app
from conductor.dashboard import mount_dashboard

_create_app = api_module.create_app


def _serves_root(application: Any) -> bool:
    return any(getattr(route, "path", None) == "/" for route in application.routes)


def create_app_with_dashboard(runtime: Any) -> Any:
    application = _create_app(runtime)
    if not _serves_root(application):
        mount_dashboard(application)
    return application


def main(argv: list[str]) -> None:
    api_module.create_app = create_app_with_dashboard
    app(args=argv, prog_name="conductor")


if __name__ == "__main__":
    main(sys.argv[1:])
