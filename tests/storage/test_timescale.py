"""The time-series extension decision: used only when the server can load it.

This machine's PostgreSQL has no such extension, so the branch that creates hypertables is
tested here for its decision and its statements; the real server is only probed.
"""

from __future__ import annotations

import psycopg
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import create_engine
from sqlalchemy.pool import NullPool

from conductor.storage import timescale
from conductor.storage.tables import TIME_SERIES_TABLES, metadata
from conductor.storage.timescale import Probe, plan
from conductor.storage.urls import sync_url

USABLE = Probe(dialect="postgresql", available=True, preloaded=True)


def test_sqlite_never_uses_the_extension() -> None:
    assert plan(Probe(dialect="sqlite", available=True, preloaded=True, installed=True)) == []


def test_plain_postgresql_keeps_plain_tables() -> None:
    assert plan(Probe(dialect="postgresql")) == []


def test_available_but_not_preloaded_is_not_tried() -> None:
    assert plan(Probe(dialect="postgresql", available=True, preloaded=False)) == []


def test_usable_extension_is_created_then_hypertables_with_retention() -> None:
    statements = plan(USABLE, retention_days=30)
    assert statements[0] == "CREATE EXTENSION IF NOT EXISTS timescaledb"
    hypertables = [s for s in statements if "create_hypertable" in s]
    policies = [s for s in statements if "add_retention_policy" in s]
    assert [h.split("'")[1] for h in hypertables] == list(TIME_SERIES_TABLES)
    assert all("'ts'" in h for h in hypertables)
    assert [p.split("'")[1] for p in policies] == list(TIME_SERIES_TABLES)
    assert all("INTERVAL '30 days'" in p for p in policies)
    # Policies need the hypertables to exist first.
    assert statements.index(policies[0]) > statements.index(hypertables[-1])


def test_hidden_preload_setting_still_tries() -> None:
    assert plan(Probe(dialect="postgresql", available=True, preloaded=None))


def test_installed_extension_is_not_created_again() -> None:
    statements = plan(Probe(dialect="postgresql", installed=True))
    assert not any("CREATE EXTENSION" in s for s in statements)
    assert sum("create_hypertable" in s for s in statements) == len(TIME_SERIES_TABLES)


def test_no_retention_keeps_series_forever() -> None:
    statements = plan(USABLE, retention_days=None)
    assert statements
    assert not any("retention" in s for s in statements)


def test_time_series_keys_include_the_time_column() -> None:
    """A hypertable requires its time column in every unique key."""
    for name in TIME_SERIES_TABLES:
        table = metadata.tables[name]
        assert "ts" in table.primary_key.columns
        for index in table.indexes:
            if index.unique:
                assert "ts" in index.columns


@pytest.mark.parametrize("days", [0, -3, 1.5, True, "30"])
def test_bad_retention_is_refused(days: object) -> None:
    with pytest.raises(ValueError, match="retention days"):
        plan(USABLE, retention_days=days)  # type: ignore[arg-type]


@given(days=st.integers(1, 10_000))
def test_retention_days_appear_in_every_policy(days: int) -> None:
    policies = [s for s in plan(USABLE, days) if "add_retention_policy" in s]
    assert len(policies) == len(TIME_SERIES_TABLES)
    assert all(f"INTERVAL '{days} days'" in p for p in policies)


@given(
    dialect=st.sampled_from(["postgresql", "sqlite"]),
    available=st.booleans(),
    preloaded=st.sampled_from([True, False, None]),
    installed=st.booleans(),
)
def test_extension_is_used_exactly_when_loadable(
    dialect: str, available: bool, preloaded: bool | None, installed: bool
) -> None:
    found = Probe(dialect=dialect, available=available, preloaded=preloaded, installed=installed)
    loadable = dialect == "postgresql" and (installed or (available and preloaded is not False))
    assert bool(plan(found)) == loadable


@pytest.mark.postgres
def test_probe_reports_what_the_server_offers(pg_url: str) -> None:
    with psycopg.connect(pg_url) as raw:
        listed = raw.execute(
            "select 1 from pg_available_extensions where name = 'timescaledb'"
        ).fetchone()
    engine = create_engine(sync_url(pg_url), poolclass=NullPool)
    try:
        with engine.connect() as conn:
            found = timescale.probe(conn)
            applied = timescale.apply(conn)
    finally:
        engine.dispose()
    assert found.dialect == "postgresql"
    assert found.available == (listed is not None)
    assert not found.installed
    assert applied == plan(found) or not applied
