"""Database URLs as operators write them, turned into the drivers this service ships with.

Operators configure one plain URL (`postgresql://…` or `sqlite:///path`); the async store and the
synchronous migrations each need an explicit driver, and any other scheme is a setting mistake
that must be reported before anything connects.
"""

from __future__ import annotations

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

_POSTGRES = frozenset({"postgresql", "postgres", "postgresql+psycopg"})
_SQLITE = frozenset({"sqlite", "sqlite+aiosqlite", "sqlite+pysqlite"})
_EXPECTED = "expected postgresql://user@host:5432/dbname or sqlite:///path/to/file.db"


def _parse(url: str) -> URL:
    if not url or not url.strip():
        raise ValueError(f"database URL is empty; {_EXPECTED}")
    try:
        return make_url(url.strip())
    except ArgumentError as error:
        raise ValueError(f"database URL {url!r} cannot be parsed ({error}); {_EXPECTED}") from None


def _with_driver(url: str, *, postgres: str, sqlite: str) -> str:
    parsed = _parse(url)
    scheme = parsed.drivername
    if scheme in _POSTGRES:
        if not parsed.database:
            raise ValueError(f"database URL {parsed!r} names no database; {_EXPECTED}")
        driver = postgres
    elif scheme in _SQLITE:
        driver = sqlite
    else:
        raise ValueError(f"database URL scheme {scheme + '://'!r} is not supported; {_EXPECTED}")
    return parsed.set(drivername=driver).render_as_string(hide_password=False)


def normalize_url(url: str) -> str:
    """The URL for the async engine: psycopg 3 for PostgreSQL, aiosqlite for SQLite."""
    return _with_driver(url, postgres="postgresql+psycopg", sqlite="sqlite+aiosqlite")


def sync_url(url: str) -> str:
    """The URL for synchronous work (migrations): psycopg 3 is sync too, SQLite uses sqlite3."""
    return _with_driver(url, postgres="postgresql+psycopg", sqlite="sqlite")


def is_sqlite(url: str) -> bool:
    return _parse(url).drivername in _SQLITE
