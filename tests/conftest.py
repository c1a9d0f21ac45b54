"""Shared fixtures: the real PostgreSQL and Redis servers of the machine.

On a developer's machine without them these tests skip with the reason; under CI (`CI` set)
a missing server is a failure, never a skip.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator

import pytest

from redis_servers import RedisServers

PG_ADMIN_URL = os.environ.get("CONDUCTOR_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("CONDUCTOR_TEST_REDIS_URL", "redis://127.0.0.1:6379")


def _unavailable(what: str, error: Exception) -> None:
    message = f"{what} is not reachable ({error}); start it to run this test"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def pg_server() -> str:
    """The admin URL of a reachable PostgreSQL server."""
    import psycopg

    try:
        with psycopg.connect(PG_ADMIN_URL, connect_timeout=3) as conn:
            conn.execute("select 1")
    except Exception as error:
        _unavailable(f"PostgreSQL at {PG_ADMIN_URL}", error)
    return PG_ADMIN_URL


@pytest.fixture
def pg_url(pg_server: str) -> Iterator[str]:
    """A fresh, empty database for one test, dropped afterwards."""
    import psycopg

    name = f"conductor_t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute(f'create database "{name}"')
    base = pg_server.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(pg_server, autocommit=True) as conn:
            conn.execute(f'drop database if exists "{name}" with (force)')


@pytest.fixture(scope="session")
def redis_server() -> str:
    import redis

    try:
        client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3)
        client.ping()
        client.close()
    except Exception as error:
        _unavailable(f"Redis at {REDIS_URL}", error)
    return REDIS_URL


@pytest.fixture
def redis_url(redis_server: str) -> Iterator[str]:
    """A Redis database emptied before and after the test.

    Each test process takes its own database number so parallel runs do not trample each
    other's streams. Pub/Sub channels are shared by all databases: tests filter what they
    receive by their own random session ids.
    """
    import redis

    url = f"{redis_server}/{1 + os.getpid() % 15}"
    client = redis.Redis.from_url(url)
    client.flushdb()
    try:
        yield url
    finally:
        client.flushdb()
        client.close()


@pytest.fixture
def redis_servers() -> Iterator[RedisServers]:
    """Private redis-servers a test may stop and start (the shared one stays untouched)."""
    binary = shutil.which("redis-server")
    if binary is None:
        _unavailable("redis-server (the binary)", FileNotFoundError("not on PATH"))
        raise AssertionError("unreachable")
    servers = RedisServers(binary)
    try:
        yield servers
    finally:
        servers.stop_all()
