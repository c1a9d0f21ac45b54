"""Schema migrations, configured in code so an installed package needs no alembic.ini.

Synchronous on purpose: the command line runs them before the service starts, and the async
store calls them through a worker thread when asked to.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, create_engine
from sqlalchemy.pool import NullPool

from conductor.storage.timescale import DEFAULT_RETENTION_DAYS, check_retention_days
from conductor.storage.urls import sync_url

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(
    url: str | None = None, *, retention_days: int | None = DEFAULT_RETENTION_DAYS
) -> Config:
    """The URL travels in `attributes`, not the ini options, so `%` in passwords stays intact."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if url is not None:
        config.attributes["url"] = sync_url(url)
    config.attributes["retention_days"] = check_retention_days(retention_days)
    return config


def upgrade(
    url: str, *, revision: str = "head", retention_days: int | None = DEFAULT_RETENTION_DAYS
) -> None:
    """Bring the database at `url` to `revision`; `retention_days` (None: keep forever) applies
    where the time-series extension is used."""
    command.upgrade(alembic_config(url, retention_days=retention_days), revision)


def upgrade_connection(
    connection: Connection, retention_days: int | None = DEFAULT_RETENTION_DAYS
) -> None:
    """Upgrade to head on an open connection (the async store runs this through `run_sync`);
    the caller commits."""
    config = alembic_config(retention_days=retention_days)
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


def downgrade(url: str, revision: str) -> None:
    command.downgrade(alembic_config(url), revision)


def current_revision(url: str) -> str | None:
    """The revision the database is at; None for a database never migrated."""
    engine = create_engine(sync_url(url), poolclass=NullPool)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise RuntimeError(f"no migrations found in {MIGRATIONS}")
    return head
