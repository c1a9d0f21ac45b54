"""Database URLs: plain operator URLs become the drivers we ship; anything else is refused."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conductor.storage.urls import is_sqlite, normalize_url, sync_url

NAMES = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_", min_size=1, max_size=20)


@pytest.mark.parametrize(
    ("url", "async_url", "sync"),
    [
        (
            "postgresql://postgres@127.0.0.1:5432/test",
            "postgresql+psycopg://postgres@127.0.0.1:5432/test",
            "postgresql+psycopg://postgres@127.0.0.1:5432/test",
        ),
        (
            "postgres://u:secret@db.internal/conductor",
            "postgresql+psycopg://u:secret@db.internal/conductor",
            "postgresql+psycopg://u:secret@db.internal/conductor",
        ),
        (
            "postgresql+psycopg://u@h/d",
            "postgresql+psycopg://u@h/d",
            "postgresql+psycopg://u@h/d",
        ),
        ("sqlite:///data/conductor.db", "sqlite+aiosqlite:///data/conductor.db", None),
        ("sqlite:////var/lib/c.db", "sqlite+aiosqlite:////var/lib/c.db", "sqlite:////var/lib/c.db"),
        ("sqlite+aiosqlite:///x.db", "sqlite+aiosqlite:///x.db", "sqlite:///x.db"),
    ],
)
def test_known_schemes_get_their_driver(url: str, async_url: str, sync: str | None) -> None:
    assert normalize_url(url) == async_url
    if sync is not None:
        assert sync_url(url) == sync


def test_sqlite_file_url_keeps_its_path_for_migrations() -> None:
    assert sync_url("sqlite:///data/conductor.db") == "sqlite:///data/conductor.db"
    assert is_sqlite("sqlite:///x.db")
    assert not is_sqlite("postgresql://h/d")


def test_escaped_password_survives() -> None:
    url = "postgresql://user:p%40ss%25word@h:5432/db"
    assert normalize_url(url) == "postgresql+psycopg://user:p%40ss%25word@h:5432/db"


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("mysql://u@h/db", "'mysql://' is not supported"),
        ("postgresql+asyncpg://u@h/db", "'postgresql+asyncpg://' is not supported"),
        ("redis://127.0.0.1:6379/0", "'redis://' is not supported"),
        ("", "database URL is empty"),
        ("   ", "database URL is empty"),
        ("not a url", "cannot be parsed"),
        ("postgresql://h", "names no database"),
    ],
)
def test_unsupported_urls_are_refused_with_the_reason(url: str, fragment: str) -> None:
    with pytest.raises(ValueError, match="database URL") as error:
        normalize_url(url)
    assert fragment in str(error.value)
    with pytest.raises(ValueError):
        sync_url(url)


def test_refusal_does_not_echo_the_password() -> None:
    with pytest.raises(ValueError) as error:
        normalize_url("postgresql://user:topsecret@h")
    assert "topsecret" not in str(error.value)


@given(
    scheme=st.sampled_from(["postgresql", "postgres"]),
    user=NAMES,
    host=NAMES,
    port=st.integers(1, 65535),
    db=NAMES,
)
def test_postgres_urls_keep_everything_but_the_driver(
    scheme: str, user: str, host: str, port: int, db: str
) -> None:
    rest = f"{user}@{host}:{port}/{db}"
    assert normalize_url(f"{scheme}://{rest}") == f"postgresql+psycopg://{rest}"
    assert sync_url(f"{scheme}://{rest}") == f"postgresql+psycopg://{rest}"


@given(scheme=NAMES.filter(lambda s: s not in {"postgresql", "postgres", "sqlite"}))
def test_any_other_scheme_is_refused(scheme: str) -> None:
    with pytest.raises(ValueError, match="database URL"):
        normalize_url(f"{scheme}://u@h/db")
