"""The service's only storage port: one async store over PostgreSQL or SQLite.

Writes the service may retry after an outage are idempotent (keyed inserts that skip or update
on conflict), so every engagement point, anomaly, intervention, outcome and dead letter is
stored once however often it is sent. A database that cannot be reached surfaces as
`StorageUnavailable`, which callers treat as "retry later"; bad input is a `ValueError`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Integer,
    Select,
    case,
    cast,
    event,
    extract,
    func,
    literal_column,
    select,
    text,
)
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import StaticPool

from conductor.core.model import Anomaly, Engagement, PlatformOutcome
from conductor.core.vocabulary import DecisionStatus, SessionStatus
from conductor.service.records import (
    DeadLetter,
    Decision,
    EventSettings,
    Intervention,
    Outcome,
    SessionRecord,
    from_epoch,
    utcnow,
)
from conductor.storage import rows
from conductor.storage.tables import (
    anomalies,
    dead_letters,
    decisions,
    engagement,
    events,
    interventions,
    outcomes,
    sessions,
)
from conductor.storage.timescale import DEFAULT_RETENTION_DAYS
from conductor.storage.urls import is_sqlite, normalize_url

MAX_LIMIT = 10_000
_UNAVAILABLE: tuple[type[BaseException], ...] = (
    sa_exc.OperationalError,
    sa_exc.InterfaceError,
    sa_exc.DisconnectionError,
    sa_exc.TimeoutError,
    OSError,
)


class StorageUnavailable(ConnectionError):
    """The database could not be reached or refused to work; the write may be retried."""


def _dumps(value: Any) -> str:
    # orjson writes NaN as null, which PostgreSQL's JSONB would otherwise reject.
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


def _check_limit(limit: int, offset: int = 0) -> None:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise ValueError(f"limit must be a whole number from 1 to {MAX_LIMIT}, got {limit!r}")
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        raise ValueError(f"offset must be a whole number >= 0, got {offset!r}")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _interventions_with_outcome() -> Select[Any]:
    outcome_columns = [c.label(rows.OUTCOME_PREFIX + c.name) for c in outcomes.c]
    return select(interventions, *outcome_columns).select_from(
        interventions.outerjoin(outcomes, outcomes.c.intervention_id == interventions.c.id)
    )


class Store:
    """Async access to every table; create with `await Store.connect(url)`."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._dialect = engine.dialect.name

    @classmethod
    async def connect(
        cls,
        url: str,
        *,
        migrate: bool = False,
        retention_days: int | None = DEFAULT_RETENTION_DAYS,
    ) -> Store:
        """Open a pool to `url` (no connection is made yet); `migrate` brings the schema to the
        latest revision first, which also suits an in-memory SQLite database in tests."""
        async_url = normalize_url(url)
        options: dict[str, Any] = {"json_serializer": _dumps, "json_deserializer": orjson.loads}
        if is_sqlite(url):
            options["connect_args"] = {"timeout": 30}
            if make_url(async_url).database in (None, "", ":memory:"):
                options["poolclass"] = StaticPool
        else:
            options["pool_pre_ping"] = True
            options["connect_args"] = {"connect_timeout": 5}
        engine = create_async_engine(async_url, **options)
        if engine.dialect.name == "sqlite":
            event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        store = cls(engine)
        if migrate:
            try:
                await store.migrate(retention_days=retention_days)
            except BaseException:
                await engine.dispose()
                raise
        return store

    async def migrate(self, *, retention_days: int | None = DEFAULT_RETENTION_DAYS) -> None:
        """Run the migrations on this store's own connection."""
        from conductor.storage.migrate import upgrade_connection

        async with self._begin() as conn:
            await conn.run_sync(upgrade_connection, retention_days)

    async def close(self) -> None:
        await self._engine.dispose()

    @property
    def dialect(self) -> str:
        return self._dialect

    @asynccontextmanager
    async def _begin(self) -> AsyncIterator[AsyncConnection]:
        try:
            async with self._engine.begin() as conn:
                yield conn
        except _UNAVAILABLE as error:
            raise StorageUnavailable(f"database unavailable: {error}") from error
        except sa_exc.StatementError as error:
            # A value our column types refused (e.g. a naive datetime) is bad input.
            if isinstance(error.orig, ValueError):
                raise ValueError(str(error.orig)) from error
            raise

    def _insert(self, table: Any) -> Any:
        """INSERT with the dialect's ON CONFLICT clause available (both spell it the same)."""
        if self._dialect == "postgresql":
            return postgresql.insert(table)
        return sqlite.insert(table)

    async def ping(self) -> None:
        """Raise `StorageUnavailable` unless the database answers."""
        async with self._begin() as conn:
            await conn.execute(text("SELECT 1"))

    # -- time series -------------------------------------------------------------------------

    async def add_engagement(self, items: Sequence[Engagement]) -> None:
        """One batched insert; a point already stored (same session and time) is skipped."""
        values = [rows.engagement_row(item) for item in items]
        if not values:
            return
        async with self._begin() as conn:
            await conn.execute(self._insert(engagement).on_conflict_do_nothing(), values)

    async def add_anomalies(self, items: Sequence[tuple[str, Anomaly]]) -> None:
        """Idempotent on the anomaly id (with its time, which a retry repeats)."""
        values = [rows.anomaly_row(anomaly_id, item) for anomaly_id, item in items]
        if not values:
            return
        async with self._begin() as conn:
            await conn.execute(self._insert(anomalies).on_conflict_do_nothing(), values)

    def _bucket(self, bucket_s: int) -> ColumnElement[int]:
        """Whole-second epoch of `ts` divided into buckets; `bucket_s` is a checked int."""
        size: ColumnElement[int] = literal_column(str(bucket_s))
        if self._dialect == "postgresql":
            seconds: ColumnElement[int] = cast(
                func.floor(extract("epoch", engagement.c.ts)), BigInteger
            )
        else:
            seconds = cast(func.strftime("%s", engagement.c.ts), Integer)
        return seconds // size

    async def engagement_history(
        self,
        session_id: str,
        since: datetime | None = None,
        until: datetime | None = None,
        bucket_s: int | None = None,
        limit: int = 1000,
    ) -> list[dict[str, Any]]:
        """Points in [since, until), oldest first; the latest `limit` of them when more match.

        With `bucket_s`, one point per bucket of that many seconds: {ts (bucket start), score
        (mean), samples}.
        """
        _check_limit(limit)
        conditions = [engagement.c.session_id == session_id]
        if since is not None:
            conditions.append(engagement.c.ts >= since)
        if until is not None:
            conditions.append(engagement.c.ts < until)
        if bucket_s is None:
            query = (
                select(engagement).where(*conditions).order_by(engagement.c.ts.desc()).limit(limit)
            )
            async with self._begin() as conn:
                found = (await conn.execute(query)).mappings().all()
            return [rows.engagement_point(row) for row in reversed(found)]
        if isinstance(bucket_s, bool) or not isinstance(bucket_s, int) or bucket_s < 1:
            raise ValueError(f"bucket_s must be a whole number of seconds >= 1, got {bucket_s!r}")
        bucket = self._bucket(bucket_s).label("bucket")
        query = (
            select(
                bucket,
                func.avg(engagement.c.score).label("score"),
                func.count().label("samples"),
            )
            .where(*conditions)
            .group_by(literal_column("bucket"))
            .order_by(literal_column("bucket").desc())
            .limit(limit)
        )
        async with self._begin() as conn:
            found = (await conn.execute(query)).mappings().all()
        return [
            {
                "ts": from_epoch(int(row["bucket"]) * bucket_s),
                "score": float(row["score"]),
                "samples": int(row["samples"]),
            }
            for row in reversed(found)
        ]

    async def latest_engagement(self, session_id: str) -> dict[str, Any] | None:
        query = (
            select(engagement)
            .where(engagement.c.session_id == session_id)
            .order_by(engagement.c.ts.desc())
            .limit(1)
        )
        async with self._begin() as conn:
            row = (await conn.execute(query)).mappings().first()
        return None if row is None else rows.engagement_point(row)

    async def list_anomalies(
        self,
        *,
        session_id: str | None = None,
        event_id: str | None = None,
        since: datetime | None = None,
        limit: int = 100,
    ) -> list[dict[str, Any]]:
        """Newest first."""
        _check_limit(limit)
        query = select(anomalies)
        if session_id is not None:
            query = query.where(anomalies.c.session_id == session_id)
        if event_id is not None:
            query = query.where(anomalies.c.event_id == event_id)
        if since is not None:
            query = query.where(anomalies.c.ts >= since)
        query = query.order_by(anomalies.c.ts.desc(), anomalies.c.id.desc()).limit(limit)
        async with self._begin() as conn:
            found = (await conn.execute(query)).mappings().all()
        return [rows.anomaly_dict(row) for row in found]

    # -- registry ----------------------------------------------------------------------------

    async def _upsert(self, table: Any, keys: Sequence[str], values: Mapping[str, Any]) -> None:
        """Insert, or replace every non-key column of the existing row."""
        stmt = self._insert(table).values(**values)
        updates = {name: stmt.excluded[name] for name in values if name not in keys}
        async with self._begin() as conn:
            await conn.execute(stmt.on_conflict_do_update(index_elements=keys, set_=updates))

    async def upsert_event(self, settings: EventSettings) -> None:
        await self._upsert(events, ["event_id"], rows.event_row(settings, utcnow()))

    async def get_event(self, event_id: str) -> EventSettings | None:
        async with self._begin() as conn:
            row = (
                (await conn.execute(select(events).where(events.c.event_id == event_id)))
                .mappings()
                .first()
            )
        return None if row is None else rows.event_settings(row)

    async def list_events(self, org_id: str | None = None) -> list[EventSettings]:
        """Events of one organisation, or all of them when `org_id` is None."""
        query = select(events).order_by(events.c.event_id)
        if org_id is not None:
            query = query.where(events.c.org_id == org_id)
        async with self._begin() as conn:
            found = (await conn.execute(query)).mappings().all()
        return [rows.event_settings(row) for row in found]

    async def upsert_session(self, record: SessionRecord) -> None:
        await self._upsert(sessions, ["session_id"], rows.session_row(record))

    async def get_session(self, session_id: str) -> SessionRecord | None:
        query = select(sessions).where(sessions.c.session_id == session_id)
        async with self._begin() as conn:
            row = (await conn.execute(query)).mappings().first()
        return None if row is None else rows.session_record(row)

    async def list_sessions(
        self, event_id: str | None = None, status: SessionStatus | None = None
    ) -> list[SessionRecord]:
        """Most recently seen first."""
        query = select(sessions).order_by(
            sessions.c.last_seen_at.desc(), sessions.c.session_id.asc()
        )
        if event_id is not None:
            query = query.where(sessions.c.event_id == event_id)
        if status is not None:
            query = query.where(sessions.c.status == SessionStatus(status).value)
        async with self._begin() as conn:
            found = (await conn.execute(query)).mappings().all()
        return [rows.session_record(row) for row in found]

    # -- decisions ---------------------------------------------------------------------------

    async def save_decision(self, decision: Decision) -> None:
        """Insert or replace by id: a decision changes status as organisers act on it."""
        await self._upsert(decisions, ["id"], rows.decision_row(decision))

    async def get_decision(self, decision_id: str) -> Decision | None:
        async with self._begin() as conn:
            row = (
                (await conn.execute(select(decisions).where(decisions.c.id == decision_id)))
                .mappings()
                .first()
            )
        return None if row is None else rows.decision_record(row)

    async def list_decisions(
        self,
        *,
        session_id: str | None = None,
        event_id: str | None = None,
        status: DecisionStatus | None = None,
        limit: int = 100,
    ) -> list[Decision]:
        """Newest first."""
        _check_limit(limit)
        query = select(decisions)
        if session_id is not None:
            query = query.where(decisions.c.session_id == session_id)
        if event_id is not None:
            query = query.where(decisions.c.event_id == event_id)
        if status is not None:
            query = query.where(decisions.c.status == DecisionStatus(status).value)
        query = query.order_by(decisions.c.created_at.desc(), decisions.c.id.desc()).limit(limit)
        async with self._begin() as conn:
            found = (await conn.execute(query)).mappings().all()
        return [rows.decision_record(row) for row in found]

    # -- interventions -----------------------------------------------------------------------

    async def save_intervention(self, intervention: Intervention) -> None:
        """Insert once; later saves only update the delivery report (when they carry one) and
        the outcome (when they carry one), so a retried first save never erases either."""
        values = rows.intervention_row(intervention)
        outcome = None if intervention.outcome is None else rows.outcome_row(intervention.outcome)
        stmt = self._insert(interventions).values(**values)
        unreported = stmt.excluded.delivered.is_(None)
        stmt = stmt.on_conflict_do_update(
            index_elements=["id"],
            set_={
                name: case((unreported, interventions.c[name]), else_=stmt.excluded[name])
                for name in ("delivered", "delivery_error", "delivered_at")
            },
        )
        async with self._begin() as conn:
            await conn.execute(stmt)
            if outcome is not None:
                await self._upsert_outcome(conn, outcome)

    async def _upsert_outcome(self, conn: AsyncConnection, values: Mapping[str, Any]) -> None:
        stmt = self._insert(outcomes).values(**values)
        updates = {name: stmt.excluded[name] for name in values if name != "intervention_id"}
        await conn.execute(
            stmt.on_conflict_do_update(index_elements=["intervention_id"], set_=updates)
        )

    async def get_intervention(self, intervention_id: str) -> Intervention | None:
        query = _interventions_with_outcome().where(interventions.c.id == intervention_id)
        async with self._begin() as conn:
            row = (await conn.execute(query)).mappings().first()
        return None if row is None else rows.intervention_record(row)

    async def _page(
        self, conditions: Sequence[ColumnElement[bool]], limit: int, offset: int = 0
    ) -> tuple[int, list[Intervention]]:
        _check_limit(limit, offset)
        count = select(func.count()).select_from(interventions).where(*conditions)
        query = (
            _interventions_with_outcome()
            .where(*conditions)
            .order_by(interventions.c.created_at.desc(), interventions.c.id.desc())
            .limit(limit)
            .offset(offset)
        )
        async with self._begin() as conn:
            total = (await conn.execute(count)).scalar_one()
            found = (await conn.execute(query)).mappings().all()
        return int(total), [rows.intervention_record(row) for row in found]

    async def session_history(
        self, session_id: str, limit: int = 50, offset: int = 0
    ) -> tuple[int, list[Intervention]]:
        """(total in the session, one page newest first)."""
        return await self._page([interventions.c.session_id == session_id], limit, offset)

    async def event_history(
        self, event_id: str, since: datetime, limit: int = 100
    ) -> tuple[int, list[Intervention]]:
        """(total in the event since `since`, the newest `limit` of them)."""
        return await self._page(
            [interventions.c.event_id == event_id, interventions.c.created_at >= since], limit
        )

    async def _per_type(self, condition: ColumnElement[bool] | None) -> dict[str, dict[str, Any]]:
        """Per intervention type: count, confidence sum, measured, successes, lift sum."""
        query = (
            select(
                interventions.c.type,
                func.count().label("count"),
                func.sum(interventions.c.confidence).label("confidence"),
                func.count(outcomes.c.intervention_id).label("measured"),
                func.sum(case((outcomes.c.success, 1), else_=0)).label("successes"),
                func.sum(outcomes.c.lift).label("lift"),
            )
            .select_from(
                interventions.outerjoin(outcomes, outcomes.c.intervention_id == interventions.c.id)
            )
            .group_by(interventions.c.type)
            .order_by(interventions.c.type)
        )
        if condition is not None:
            query = query.where(condition)
        async with self._begin() as conn:
            found = (await conn.execute(query)).mappings().all()
        return {
            row["type"]: {
                "count": int(row["count"]),
                "confidence": float(row["confidence"] or 0.0),
                "measured": int(row["measured"]),
                "successes": int(row["successes"] or 0),
                "lift": float(row["lift"] or 0.0),
            }
            for row in found
        }

    async def session_stats(self, session_id: str) -> dict[str, Any]:
        """{total_interventions, by_type, success_rate (successes / measured outcomes, 0.0 when
        none measured), avg_confidence (0.0 when none), successful_interventions}."""
        per_type = await self._per_type(interventions.c.session_id == session_id)
        total = sum(t["count"] for t in per_type.values())
        measured = sum(t["measured"] for t in per_type.values())
        successes = sum(t["successes"] for t in per_type.values())
        confidence = sum(t["confidence"] for t in per_type.values())
        return {
            "total_interventions": total,
            "by_type": {name: t["count"] for name, t in per_type.items()},
            "success_rate": successes / measured if measured else 0.0,
            "avg_confidence": confidence / total if total else 0.0,
            "successful_interventions": successes,
        }

    async def type_success_rates(self, event_id: str | None = None) -> dict[str, dict[str, Any]]:
        """Per type that has interventions (in one event, or everywhere when None): count,
        measured, successes, success_rate and mean_lift (both 0.0 when nothing was measured)."""
        condition = None if event_id is None else interventions.c.event_id == event_id
        per_type = await self._per_type(condition)
        return {
            name: {
                "count": t["count"],
                "measured": t["measured"],
                "successes": t["successes"],
                "success_rate": t["successes"] / t["measured"] if t["measured"] else 0.0,
                "mean_lift": t["lift"] / t["measured"] if t["measured"] else 0.0,
            }
            for name, t in per_type.items()
        }

    async def record_delivery(self, outcome: PlatformOutcome) -> bool:
        """Store the platform's execution report; False when the intervention is unknown."""
        values = rows.delivery_values(outcome)
        stmt = interventions.update().where(interventions.c.id == outcome.intervention_id)
        async with self._begin() as conn:
            result = await conn.execute(stmt.values(**values))
        return bool(result.rowcount)

    async def save_outcome(self, outcome: Outcome) -> None:
        """Idempotent on intervention_id (a repeated measurement replaces the stored one).

        Raises LookupError when the intervention is unknown.
        """
        values = rows.outcome_row(outcome)
        known = select(interventions.c.id).where(interventions.c.id == outcome.intervention_id)
        async with self._begin() as conn:
            if (await conn.execute(known)).first() is None:
                raise LookupError(f"intervention {outcome.intervention_id!r} is not stored")
            await self._upsert_outcome(conn, values)

    # -- dead letters ------------------------------------------------------------------------

    async def add_dead_letters(self, items: Sequence[DeadLetter]) -> None:
        """A letter naming its stream entry is kept once; letters without an entry id always."""
        values = [rows.dead_letter_row(item) for item in items]
        if not values:
            return
        stmt = self._insert(dead_letters).on_conflict_do_nothing(
            index_elements=["stream", "entry_id"]
        )
        async with self._begin() as conn:
            await conn.execute(stmt, values)

    async def count_dead_letters(self) -> int:
        async with self._begin() as conn:
            total = (
                await conn.execute(select(func.count()).select_from(dead_letters))
            ).scalar_one()
        return int(total)

    async def list_dead_letters(self, limit: int = 100) -> list[DeadLetter]:
        """Newest first."""
        _check_limit(limit)
        query = (
            select(dead_letters)
            .order_by(dead_letters.c.received_at.desc(), dead_letters.c.id.desc())
            .limit(limit)
        )
        async with self._begin() as conn:
            found = (await conn.execute(query)).mappings().all()
        return [rows.dead_letter_record(row) for row in found]
