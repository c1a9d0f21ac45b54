"""Initial schema: time series, anomalies, registry, decisions, interventions, dead letters.

On PostgreSQL with the time-series extension loadable, the engagement and anomaly tables
become hypertables with a retention policy; elsewhere they stay plain tables.

Revision ID: 0001
Revises:
Create Date: 2025-01-01 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import context, op
from sqlalchemy.dialects import postgresql

from conductor.storage import timescale

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _json() -> Any:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _id(name: str, nullable: bool = False) -> sa.Column[str]:
    return sa.Column(name, sa.String(255), nullable=nullable)


def _enum(name: str, nullable: bool = False) -> sa.Column[str]:
    return sa.Column(name, sa.String(32), nullable=nullable)


def _ts(name: str, nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _float(name: str) -> sa.Column[float]:
    return sa.Column(name, sa.Float(), nullable=False)


def upgrade() -> None:
    op.create_table(
        "engagement",
        _id("session_id"),
        _ts("ts"),
        _id("event_id", nullable=True),
        _float("score"),
        sa.Column("components", _json(), nullable=False),
        sa.Column("signals", _json(), nullable=False),
        sa.PrimaryKeyConstraint("session_id", "ts", name="pk_engagement"),
    )

    op.create_table(
        "anomalies",
        _id("id"),
        _ts("ts"),
        _id("session_id"),
        _id("event_id", nullable=True),
        _enum("type"),
        _enum("severity"),
        _float("current"),
        _float("expected"),
        _float("deviation"),
        sa.Column("explanation", sa.Text(), nullable=False),
        _ts("started_at", nullable=True),
        sa.PrimaryKeyConstraint("id", "ts", name="pk_anomalies"),
    )
    op.create_index("ix_anomalies_session_id_ts", "anomalies", ["session_id", "ts"])
    op.create_index("ix_anomalies_event_id_ts", "anomalies", ["event_id", "ts"])

    op.create_table(
        "events",
        _id("event_id"),
        _id("org_id", nullable=True),
        sa.Column("name", sa.String(255), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        _enum("mode"),
        _float("confidence_threshold"),
        sa.Column("allowed_types", _json(), nullable=False),
        sa.Column("max_per_session", sa.Integer(), nullable=True),
        sa.Column("max_per_event", sa.Integer(), nullable=True),
        _ts("updated_at"),
        sa.PrimaryKeyConstraint("event_id", name="pk_events"),
    )
    op.create_index("ix_events_org_id", "events", ["org_id"])

    op.create_table(
        "sessions",
        _id("session_id"),
        _id("event_id", nullable=True),
        sa.Column("topic", sa.Text(), nullable=True),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("tags", _json(), nullable=False),
        _enum("mode", nullable=True),
        _enum("status"),
        _ts("started_at"),
        _ts("last_seen_at"),
        _ts("ended_at", nullable=True),
        sa.PrimaryKeyConstraint("session_id", name="pk_sessions"),
    )
    op.create_index("ix_sessions_event_id", "sessions", ["event_id"])
    op.create_index("ix_sessions_status", "sessions", ["status"])

    op.create_table(
        "decisions",
        _id("id"),
        _id("session_id"),
        _id("event_id", nullable=True),
        _ts("created_at"),
        _enum("type"),
        _float("confidence"),
        _enum("priority"),
        _float("expected_impact"),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("content", _json(), nullable=False),
        _enum("mode"),
        _enum("status"),
        sa.Column("anomaly", _json(), nullable=True),
        _ts("expires_at", nullable=True),
        _ts("resolved_at", nullable=True),
        sa.Column("resolved_by", sa.String(255), nullable=True),
        sa.Column("dismiss_reason", sa.Text(), nullable=True),
        _id("intervention_id", nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_decisions"),
    )
    op.create_index("ix_decisions_status", "decisions", ["status"])
    op.create_index("ix_decisions_session_id_created_at", "decisions", ["session_id", "created_at"])
    op.create_index("ix_decisions_event_id_created_at", "decisions", ["event_id", "created_at"])

    op.create_table(
        "interventions",
        _id("id"),
        _id("session_id"),
        _id("event_id", nullable=True),
        _ts("created_at"),
        _enum("type"),
        _enum("origin"),
        _float("confidence"),
        _enum("priority"),
        _float("expected_impact"),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("content", _json(), nullable=False),
        sa.Column("metadata", _json(), nullable=False),
        _id("decision_id", nullable=True),
        sa.Column("delivered", sa.Boolean(), nullable=True),
        sa.Column("delivery_error", sa.Text(), nullable=True),
        _ts("delivered_at", nullable=True),
        sa.Column("delivery_result", _json(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_interventions"),
    )
    op.create_index("ix_interventions_decision_id", "interventions", ["decision_id"])
    op.create_index(
        "ix_interventions_session_id_created_at", "interventions", ["session_id", "created_at"]
    )
    op.create_index(
        "ix_interventions_event_id_created_at", "interventions", ["event_id", "created_at"]
    )

    op.create_table(
        "outcomes",
        _id("intervention_id"),
        _ts("measured_at"),
        _float("score_before"),
        _float("score_after"),
        _float("expected_after"),
        _float("lift"),
        sa.Column("success", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("intervention_id", name="pk_outcomes"),
        sa.ForeignKeyConstraint(
            ["intervention_id"],
            ["interventions.id"],
            name="fk_outcomes_intervention_id_interventions",
            ondelete="CASCADE",
        ),
    )

    op.create_table(
        "dead_letters",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("stream", sa.String(255), nullable=False),
        sa.Column("entry_id", sa.String(255), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("raw", sa.Text(), nullable=True),
        _ts("received_at"),
        sa.PrimaryKeyConstraint("id", name="pk_dead_letters"),
    )
    op.create_index("ix_dead_letters_received_at", "dead_letters", ["received_at"])
    op.create_index(
        "ix_dead_letters_stream_entry_id", "dead_letters", ["stream", "entry_id"], unique=True
    )

    retention_days = context.config.attributes.get(
        "retention_days", timescale.DEFAULT_RETENTION_DAYS
    )
    timescale.apply(op.get_bind(), retention_days)


def downgrade() -> None:
    for table in (
        "dead_letters",
        "outcomes",
        "interventions",
        "decisions",
        "sessions",
        "events",
        "anomalies",
        "engagement",
    ):
        op.drop_table(table)
