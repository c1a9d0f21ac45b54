"""Whether and how to turn the time-series tables into hypertables with a retention policy.

The migration must work on plain PostgreSQL and on SQLite, so the time-series extension is used
only when the server can really load it: listed in `pg_available_extensions` AND preloaded
(`shared_preload_libraries`), or already installed. The decision is a pure function of a probe
so it can be tested without such a server.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError

from conductor.storage.tables import TIME_SERIES_TABLES

log = logging.getLogger(__name__)

EXTENSION = "timescaledb"
DEFAULT_RETENTION_DAYS = 30
CHUNK_INTERVAL = "1 day"


@dataclass(frozen=True, slots=True)
class Probe:
    """What the server says about the extension."""

    dialect: str
    available: bool = False
    """Listed in pg_available_extensions."""
    preloaded: bool | None = False
    """Named in shared_preload_libraries, without which CREATE EXTENSION fails; None when the
    setting is hidden from this role (then creating is tried and may be rolled back)."""
    installed: bool = False
    """Already created in this database."""


def check_retention_days(days: int | None) -> int | None:
    """None keeps time series forever; otherwise a whole number of days, at least one."""
    if days is None:
        return None
    if isinstance(days, bool) or not isinstance(days, int) or days < 1:
        raise ValueError(f"retention days must be a whole number >= 1 or None, got {days!r}")
    return days


def plan(probe: Probe, retention_days: int | None = DEFAULT_RETENTION_DAYS) -> list[str]:
    """The SQL statements to run, in order; empty when the extension cannot be used."""
    days = check_retention_days(retention_days)
    if probe.dialect != "postgresql":
        return []
    if not probe.installed and not (probe.available and probe.preloaded is not False):
        return []
    statements: list[str] = []
    if not probe.installed:
        statements.append(f"CREATE EXTENSION IF NOT EXISTS {EXTENSION}")
    for table in TIME_SERIES_TABLES:
        statements.append(
            f"SELECT create_hypertable('{table}', 'ts', "
            f"chunk_time_interval => INTERVAL '{CHUNK_INTERVAL}', "
            "migrate_data => TRUE, if_not_exists => TRUE)"
        )
    if days is not None:
        for table in TIME_SERIES_TABLES:
            statements.append(
                f"SELECT add_retention_policy('{table}', INTERVAL '{days} days', "
                "if_not_exists => TRUE)"
            )
    return statements


def probe(conn: Connection) -> Probe:
    """Ask the connected server about the extension (nothing to ask of SQLite)."""
    dialect = conn.dialect.name
    if dialect != "postgresql":
        return Probe(dialect=dialect)
    available = bool(
        conn.execute(
            text("SELECT 1 FROM pg_available_extensions WHERE name = :name"), {"name": EXTENSION}
        ).first()
    )
    installed = bool(
        conn.execute(
            text("SELECT 1 FROM pg_extension WHERE extname = :name"), {"name": EXTENSION}
        ).first()
    )
    libraries = conn.execute(
        text("SELECT current_setting('shared_preload_libraries', true)")
    ).scalar()
    preloaded = (
        None
        if libraries is None
        else EXTENSION in {lib.strip().strip('"') for lib in str(libraries).split(",")}
    )
    return Probe(dialect=dialect, available=available, preloaded=preloaded, installed=installed)


def apply(conn: Connection, retention_days: int | None = DEFAULT_RETENTION_DAYS) -> list[str]:
    """Run the plan on `conn` and return what was run (empty on plain PostgreSQL or SQLite).

    All statements run in one savepoint: if the server refuses any of them the tables stay
    plain and the migration goes on, because the service works without the extension.
    """
    found = probe(conn)
    statements = plan(found, retention_days)
    if not statements:
        if found.available:
            log.warning(
                "%s is available but not preloaded: time-series tables stay plain", EXTENSION
            )
        return []
    try:
        with conn.begin_nested():
            for statement in statements:
                conn.execute(text(statement))
    except DBAPIError as error:
        log.warning("%s could not be set up, time-series tables stay plain: %s", EXTENSION, error)
        return []
    return statements
