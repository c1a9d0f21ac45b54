"""Fixtures of the browser tests: the live demo in a subprocess and a real headless Chromium.

Without Chromium these tests skip saying so; under CI (`CI` set) that is a failure instead.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from browser_harness import CHROMIUM, CHROMIUM_ARGS, VIEWPORT, Server

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def _missing(message: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def chromium() -> str:
    path = CHROMIUM if os.path.exists(CHROMIUM) else shutil.which("chromium")
    if not path:
        _missing(
            f"Chromium is not installed at {CHROMIUM}; install it with "
            "`apt-get install -y chromium` to run the browser tests"
        )
    assert path is not None
    return path


@pytest.fixture(scope="module")
def browser(chromium: str) -> Iterator[Browser]:
    """Per module: Playwright's sync API keeps an event loop running in this thread while it
    lives, which would break every asyncio test collected after the browser tests."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as error:
        _missing(f"Playwright for Python is not installed ({error})")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture(scope="module")
def demo(chromium: str) -> Iterator[Server]:
    """`conductor demo --speed 4` on a free port, for the tests of one module."""
    server = Server(["demo", "--speed", "4"]).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh tab at 1440x900; an uncaught script error anywhere fails the test."""
    context = browser.new_context(viewport=VIEWPORT)  # type: ignore[arg-type]
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    tab.set_default_timeout(15_000)
    try:
        yield tab
    finally:
        context.close()
    assert not errors, f"script errors on the page: {errors}"


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
