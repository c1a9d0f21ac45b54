"""Alembic environment: online migrations, on the connection or URL that
`conductor.storage.migrate` put in the config's attributes."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine
from sqlalchemy.pool import NullPool

from conductor.storage.tables import metadata


def _migrate(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


def run() -> None:
    attributes = context.config.attributes
    shared = attributes.get("connection")
    if shared is not None:
        _migrate(shared)
        return
    url = attributes.get("url")
    if not url:
        raise RuntimeError("run migrations through conductor.storage.migrate, which sets the URL")
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            _migrate(connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise RuntimeError("offline (SQL script) migrations are not supported")
run()
