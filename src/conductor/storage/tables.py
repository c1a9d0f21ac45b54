"""The one schema: time series, anomalies, the registry of events and sessions, the agent's
decisions and interventions with their delivery reports and measured outcomes, dead letters.

Ids are the platform's opaque strings (never UUID types). Every timestamp is timezone-aware
UTC on the way in and on the way out, on PostgreSQL and SQLite alike. Enum columns hold the
vocabulary's string values. The time-series tables carry `ts` in their primary key so they can
become hypertables where the time-series extension is present.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
)
from sqlalchemy.dialects.postgresql import JSONB

ID_LENGTH = 255
ENUM_LENGTH = 32


class UTCDateTime(TypeDecorator[datetime]):
    """`timestamptz` on PostgreSQL; on SQLite, which keeps no zone, naive UTC read back as UTC.

    Naive datetimes are refused: guessing their zone is how time series go quietly wrong.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value.isoformat()} given; use timezone-aware UTC")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def json_type() -> Any:
    """Portable JSON, stored as JSONB on PostgreSQL."""
    return JSON().with_variant(JSONB(), "postgresql")


def _id(name: str, *args: Any, **kwargs: Any) -> Column[str]:
    return Column(name, String(ID_LENGTH), *args, **kwargs)


def _enum(name: str, **kwargs: Any) -> Column[str]:
    return Column(name, String(ENUM_LENGTH), **kwargs)


def _ts(name: str, **kwargs: Any) -> Column[datetime]:
    return Column(name, UTCDateTime(), **kwargs)


metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

engagement = Table(
    "engagement",
    metadata,
    _id("session_id", primary_key=True),
    _ts("ts", primary_key=True),
    _id("event_id", nullable=True),
    Column("score", Float, nullable=False),
    Column("components", json_type(), nullable=False),
    Column("signals", json_type(), nullable=False),
)

anomalies = Table(
    "anomalies",
    metadata,
    _id("id", primary_key=True),
    _ts("ts", primary_key=True),
    _id("session_id", nullable=False),
    _id("event_id", nullable=True),
    _enum("type", nullable=False),
    _enum("severity", nullable=False),
    Column("current", Float, nullable=False),
    Column("expected", Float, nullable=False),
    Column("deviation", Float, nullable=False),
    Column("explanation", Text, nullable=False),
    _ts("started_at", nullable=True),
    Index(None, "session_id", "ts"),
    Index(None, "event_id", "ts"),
)

events = Table(
    "events",
    metadata,
    _id("event_id", primary_key=True),
    _id("org_id", nullable=True, index=True),
    Column("name", String(ID_LENGTH), nullable=True),
    Column("enabled", Boolean, nullable=False),
    _enum("mode", nullable=False),
    Column("confidence_threshold", Float, nullable=False),
    Column("allowed_types", json_type(), nullable=False),
    Column("max_per_session", Integer, nullable=True),
    Column("max_per_event", Integer, nullable=True),
    _ts("updated_at", nullable=False),
)

sessions = Table(
    "sessions",
    metadata,
    _id("session_id", primary_key=True),
    _id("event_id", nullable=True, index=True),
    Column("topic", Text, nullable=True),
    Column("title", Text, nullable=True),
    Column("tags", json_type(), nullable=False),
    _enum("mode", nullable=True),
    _enum("status", nullable=False, index=True),
    _ts("started_at", nullable=False),
    _ts("last_seen_at", nullable=False),
    _ts("ended_at", nullable=True),
)

decisions = Table(
    "decisions",
    metadata,
    _id("id", primary_key=True),
    _id("session_id", nullable=False),
    _id("event_id", nullable=True),
    _ts("created_at", nullable=False),
    _enum("type", nullable=False),
    Column("confidence", Float, nullable=False),
    _enum("priority", nullable=False),
    Column("expected_impact", Float, nullable=False),
    Column("reason", Text, nullable=False),
    Column("content", json_type(), nullable=False),
    _enum("mode", nullable=False),
    _enum("status", nullable=False, index=True),
    Column("anomaly", json_type(), nullable=True),
    _ts("expires_at", nullable=True),
    _ts("resolved_at", nullable=True),
    Column("resolved_by", String(ID_LENGTH), nullable=True),
    Column("dismiss_reason", Text, nullable=True),
    _id("intervention_id", nullable=True),
    Index(None, "session_id", "created_at"),
    Index(None, "event_id", "created_at"),
)

interventions = Table(
    "interventions",
    metadata,
    _id("id", primary_key=True),
    _id("session_id", nullable=False),
    _id("event_id", nullable=True),
    _ts("created_at", nullable=False),
    _enum("type", nullable=False),
    _enum("origin", nullable=False),
    Column("confidence", Float, nullable=False),
    _enum("priority", nullable=False),
    Column("expected_impact", Float, nullable=False),
    Column("reason", Text, nullable=False),
    Column("content", json_type(), nullable=False),
    Column("metadata", json_type(), nullable=False),
    _id("decision_id", nullable=True, index=True),
    Column("delivered", Boolean, nullable=True),
    Column("delivery_error", Text, nullable=True),
    _ts("delivered_at", nullable=True),
    Column("delivery_result", json_type(), nullable=True),
    Index(None, "session_id", "created_at"),
    Index(None, "event_id", "created_at"),
)

outcomes = Table(
    "outcomes",
    metadata,
    _id(
        "intervention_id",
        ForeignKey("interventions.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    _ts("measured_at", nullable=False),
    Column("score_before", Float, nullable=False),
    Column("score_after", Float, nullable=False),
    Column("expected_after", Float, nullable=False),
    Column("lift", Float, nullable=False),
    Column("success", Boolean, nullable=False),
)

dead_letters = Table(
    "dead_letters",
    metadata,
    Column(
        "id",
        BigInteger().with_variant(Integer(), "sqlite"),
        primary_key=True,
        autoincrement=True,
    ),
    Column("stream", String(ID_LENGTH), nullable=False),
    Column("entry_id", String(ID_LENGTH), nullable=True),
    Column("reason", Text, nullable=False),
    Column("raw", Text, nullable=True),
    _ts("received_at", nullable=False, index=True),
    # NULL entry ids never collide, so only identified entries are kept once.
    Index(None, "stream", "entry_id", unique=True),
)

TIME_SERIES_TABLES: tuple[str, ...] = (engagement.name, anomalies.name)
"""Tables keyed by (…, ts): the ones that may become hypertables with a retention policy."""
