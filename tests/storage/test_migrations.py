"""Migrations from an empty database, on SQLite and on the real PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.pool import NullPool

from conductor.storage import Store, current_revision, head_revision, upgrade
from conductor.storage.migrate import downgrade
from conductor.storage.tables import metadata
from conductor.storage.urls import sync_url


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'conductor.db'}"
    else:
        yield request.getfixturevalue("pg_url")


def _schema_drift(url: str) -> list[object]:
    engine = create_engine(sync_url(url), poolclass=NullPool)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            return list(compare_metadata(context, metadata))
    finally:
        engine.dispose()


def _tables(url: str) -> set[str]:
    engine = create_engine(sync_url(url), poolclass=NullPool)
    try:
        with engine.connect() as conn:
            return set(inspect(conn).get_table_names())
    finally:
        engine.dispose()


def test_upgrade_from_empty_creates_the_whole_schema(empty_url: str) -> None:
    assert current_revision(empty_url) is None
    upgrade(empty_url)
    assert current_revision(empty_url) == head_revision()
    assert set(metadata.tables) <= _tables(empty_url)
    assert _schema_drift(empty_url) == []


def test_upgrade_twice_changes_nothing(empty_url: str) -> None:
    upgrade(empty_url)
    upgrade(empty_url)
    assert current_revision(empty_url) == head_revision()
    assert _schema_drift(empty_url) == []


def test_drift_check_sees_a_missing_index(empty_url: str) -> None:
    """The schema comparison above is only worth something if it notices a difference."""
    upgrade(empty_url)
    engine = create_engine(sync_url(empty_url), poolclass=NullPool)
    try:
        with engine.begin() as conn:
            conn.execute(text("DROP INDEX ix_anomalies_session_id_ts"))
    finally:
        engine.dispose()
    assert _schema_drift(empty_url)


def test_downgrade_to_base_removes_everything(empty_url: str) -> None:
    upgrade(empty_url)
    downgrade(empty_url, "base")
    assert current_revision(empty_url) is None
    assert not set(metadata.tables) & _tables(empty_url)


def test_bad_retention_is_refused_before_touching_the_database(empty_url: str) -> None:
    with pytest.raises(ValueError, match="retention days"):
        upgrade(empty_url, retention_days=0)
    assert current_revision(empty_url) is None


def test_unsupported_url_is_refused() -> None:
    with pytest.raises(ValueError, match="not supported"):
        upgrade("mysql://u@h/db")


async def test_store_can_migrate_its_own_connection(empty_url: str) -> None:
    store = await Store.connect(empty_url, migrate=True)
    try:
        await store.ping()
        assert await store.count_dead_letters() == 0
    finally:
        await store.close()
    assert current_revision(empty_url) == head_revision()


async def test_in_memory_sqlite_store_migrates_and_works() -> None:
    store = await Store.connect("sqlite://", migrate=True)
    try:
        assert await store.list_events(None) == []
    finally:
        await store.close()
