"""Fixtures of the bus tests: a port where nothing listens."""

from __future__ import annotations

import pytest

from redis_servers import free_port


@pytest.fixture
def spare_port() -> int:
    """A port where nothing listens (yet)."""
    return free_port()
