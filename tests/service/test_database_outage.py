"""The database goes away under the running service: what the agent decides meanwhile is
stored once it returns, exactly once (real PostgreSQL: the test database refuses connections
for a while)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import psycopg

from conductor.core.vocabulary import InterventionType
from conductor.runtime import build_runtime
from conductor.settings import Settings
from conductor.sim import AudienceSimulator
from event_clock import START, Clock


def set_reachable(admin_url: str, database: str, reachable: bool) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'alter database "{database}" with allow_connections {str(reachable).lower()}')
        if not reachable:
            conn.execute(
                "select pg_terminate_backend(pid) from pg_stat_activity where datname = %s",
                (database,),
            )


async def test_decisions_made_while_the_database_is_away_are_stored_once(
    pg_url: str, pg_server: str, tmp_path: Path
) -> None:
    database = pg_url.rsplit("/", 1)[1]
    clock = Clock()
    runtime = await build_runtime(
        Settings(database_url=pg_url, auth_enabled=False, write_interval_s=0.05), clock=clock
    )
    runtime.writer.max_backoff_s = 0.5
    await runtime.start()
    try:
        sim = AudienceSimulator(
            "steady",
            attendees=40,
            minutes=5,
            seed=1,
            session_id="ses_0000000out001",
            event_id="evt_0000000out001",
            start=START,
        )
        clock.t = START + 60
        runtime.service.ingest(sim.step(clock.t))
        await asyncio.sleep(0.3)

        set_reachable(pg_server, database, False)
        try:
            iv = runtime.service.manual(
                sim.session_id,
                sim.event_id,
                InterventionType.POLL,
                "warm the room up",
                {},
                actor="organiser-1",
            )
            await asyncio.sleep(1.0)  # the writer tries, fails, keeps it
            assert runtime.writer.pending > 0
            assert not runtime.writer.healthy
            ready = await runtime.readiness()
            assert ready["database"][0] is False
        finally:
            set_reachable(pg_server, database, True)

        async with asyncio.timeout(40):
            while runtime.writer.pending or not runtime.writer.healthy:  # noqa: ASYNC110
                await asyncio.sleep(0.1)
        stored = await runtime.store.get_intervention(iv.id)
        assert stored is not None and stored.reason == "warm the room up"
        with psycopg.connect(pg_url) as conn:
            row = conn.execute("select count(*) from interventions where id = %s", (iv.id,))
            assert row.fetchone() == (1,)
    finally:
        await runtime.stop()
