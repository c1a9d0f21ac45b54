"""The `conductor` command line."""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, BinaryIO

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn, TransferSpeedColumn

if TYPE_CHECKING:
    from conductor.settings import Settings

app = typer.Typer(
    help="Engagement Conductor: live engagement scoring, anomaly detection and interventions.",
    no_args_is_help=True,
    add_completion=False,
)
err = Console(stderr=True, soft_wrap=True)


@app.command()
def simulate(
    scenario: Annotated[
        str,
        typer.Option(
            help="steady, sudden_drop, gradual_decline, mass_exit, low_engagement or recovery"
        ),
    ],
    output: Annotated[Path, typer.Option(help="Signal lines are written here (JSONL).")],
    attendees: Annotated[int, typer.Option(min=10, max=10_000)] = 200,
    minutes: Annotated[float, typer.Option(min=1.0, max=600.0)] = 20.0,
    seed: Annotated[int, typer.Option()] = 0,
) -> None:
    """Write a simulated session's platform signals and, next to them, its ground truth."""
    from conductor.sim import SCENARIOS, simulate_file

    if scenario not in SCENARIOS:
        err.print(
            f"[red]error:[/] unknown scenario {scenario!r}; choose one of {', '.join(SCENARIOS)}"
        )
        raise typer.Exit(2)
    lines, labels = simulate_file(scenario, attendees, minutes, seed, output)
    err.print(f"wrote {lines} signal lines to {output} and the ground truth to {labels}")


def _lines_with_progress(handle: BinaryIO, size: int, show: bool) -> Iterator[bytes]:
    if not show:
        yield from handle
        return
    with Progress(
        TextColumn("replaying"),
        BarColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=True,
    ) as progress:
        task = progress.add_task("replay", total=size)
        done = 0
        for count, line in enumerate(handle):
            done += len(line)
            if count % 20_000 == 0:
                progress.update(task, completed=done)
            yield line
        progress.update(task, completed=done)


@app.command()
def replay(
    input: Annotated[
        Path,
        typer.Argument(
            help="Platform signal lines (JSONL).", exists=True, dir_okay=False, readable=True
        ),
    ],
    output: Annotated[Path | None, typer.Option(help="Results (JSONL); default: stdout.")] = None,
    tick: Annotated[
        float, typer.Option(min=0.5, max=300.0, help="Seconds of event time between ticks.")
    ] = 5.0,
) -> None:
    """Run the engine over a file as fast as the CPU allows."""
    from conductor.core.engine import Engine, EngineConfig
    from conductor.replay import BadLine, read_lines
    from conductor.replay import replay as run_replay

    engine = Engine(EngineConfig(tick_s=tick))
    shown = 0

    def on_bad(bad: BadLine) -> None:
        nonlocal shown
        shown += 1
        if shown <= 20:
            err.print(f"{input}:{bad.line}: skipped: {bad.reason}")

    def on_rejected(line: int, rejected: object) -> None:
        nonlocal shown
        shown += 1
        if shown <= 20:
            err.print(f"{input}:{line}: rejected: {getattr(rejected, 'reason', rejected)}")

    started = time.perf_counter()
    out_handle = output.open("wb") if output else sys.stdout.buffer
    try:
        with input.open("rb") as handle:
            lines = _lines_with_progress(handle, input.stat().st_size, err.is_terminal)
            summary = run_replay(
                read_lines(lines), engine, out_handle, on_bad=on_bad, on_rejected=on_rejected
            )
    finally:
        if output:
            out_handle.close()
        else:
            out_handle.flush()
    elapsed = time.perf_counter() - started
    if shown > 20:
        err.print(f"... and {shown - 20} more bad lines")
    rate = summary.signals / elapsed if elapsed > 0 else 0.0
    err.print(
        f"{summary.signals} signals ({summary.duplicates} duplicates, {summary.rejected} "
        f"rejected, {summary.bad_lines} bad lines) in {elapsed:.2f} s ({rate:,.0f}/s): "
        f"{summary.engagements} scores, {summary.anomalies} anomalies, "
        f"{summary.interventions} interventions"
    )


db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")


def _settings(**overrides: object) -> Settings:
    from conductor.settings import SettingsError, load_settings

    try:
        return load_settings(**overrides)
    except SettingsError as error:
        err.print(f"[red]error:[/] {error}")
        raise typer.Exit(2) from None


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the schema of CONDUCTOR_DATABASE_URL to the latest revision."""
    from conductor.storage.migrate import current_revision, upgrade

    settings = _settings()
    upgrade(settings.database_url)
    err.print(f"database at revision {current_revision(settings.database_url)}")


def _configure_logging(level: str) -> None:
    import logging

    logging.basicConfig(
        level=level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )


@app.command()
def serve() -> None:
    """Run the service: platform streams in (with Redis), commands out, the API and dashboard."""
    import asyncio

    from conductor.runtime import build_runtime
    from conductor.server import serve as run_server
    from conductor.tokens import issue_token

    settings = _settings()
    _configure_logging(settings.log_level)

    async def main() -> None:
        runtime = await build_runtime(settings)

        def ready() -> None:
            where = f"http://{settings.host}:{settings.port}"
            bus = settings.redis_url or "in-process bus (signals over HTTP)"
            err.print(f"Engagement Conductor serving on {where} (API docs {where}/docs)")
            err.print(f"storage: {settings.database_url}; bus: {bus}")
            if not settings.auth_enabled:
                err.print("[yellow]auth is off[/] (loopback only)")
            elif settings.jwt_secret is None:
                token = issue_token(
                    runtime.jwt_secret,
                    sub="conductor-cli",
                    permissions=[settings.service_permission],
                )
                err.print(
                    "[yellow]CONDUCTOR_JWT_SECRET is not set:[/] a temporary secret was "
                    "generated for this run. A service token for it:"
                )
                err.print(token, soft_wrap=True)

        await run_server(runtime, on_ready=ready)

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())


@app.command()
def demo(
    speed: Annotated[
        float,
        typer.Option(
            min=0.5, max=20.0, help="Event time runs this many times faster than real time."
        ),
    ] = 1.0,
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8003,
    database: Annotated[
        str | None,
        typer.Option(help="Database URL; default: a fresh SQLite file in a temporary folder."),
    ] = None,
) -> None:
    """Live demo: simulated sessions in a closed loop, the agent, and the dashboard."""
    import asyncio
    import tempfile

    from conductor.demo import Demo
    from conductor.runtime import build_runtime
    from conductor.server import serve as run_server
    from conductor.service.agent import ScaledClock

    folder = tempfile.mkdtemp(prefix="conductor-demo-")
    settings = _settings(
        database_url=database or f"sqlite:///{folder}/demo.db",
        redis_url=None,
        host="127.0.0.1",
        port=port,
        auth_enabled=False,
    )
    _configure_logging("WARNING")

    async def main() -> None:
        runtime = await build_runtime(settings, clock=ScaledClock(speed))
        show = Demo(runtime)
        show.setup()

        def ready() -> None:
            err.print(
                f"[bold green]Engagement Conductor demo[/] on "
                f"[bold]http://127.0.0.1:{port}[/] (speed x{speed:g}); Ctrl+C stops it."
            )
            err.print(
                "Five simulated sessions are live; trouble starts in the first minute and "
                "suggestions wait for your approval on the dashboard."
            )

        await run_server(runtime, on_ready=ready, companion=show.run)

    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        err.print("demo stopped")


@app.command()
def token(
    sub: Annotated[str, typer.Option(help="Who the token is for.")],
    org: Annotated[str | None, typer.Option(help="Organisation id (an organiser's token).")] = None,
    permission: Annotated[list[str] | None, typer.Option(help="Repeat for several.")] = None,
    hours: Annotated[float, typer.Option(min=0.1, max=24 * 365)] = 24.0,
) -> None:
    """Print a token signed with CONDUCTOR_JWT_SECRET (for operators and tests)."""
    from conductor.tokens import issue_token

    settings = _settings()
    if not settings.jwt_secret:
        err.print("[red]error:[/] CONDUCTOR_JWT_SECRET is not set: there is no secret to sign with")
        raise typer.Exit(2)
    perms = permission or ["dashboard:read:live", "event:manage"]
    print(
        issue_token(settings.jwt_secret, sub=sub, org_id=org, permissions=perms, ttl_s=hours * 3600)
    )


def main() -> None:
    app()


if __name__ == "__main__":
    main()
