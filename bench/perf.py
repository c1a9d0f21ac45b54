"""Engine performance: replay throughput, the cost of one tick over many sessions, memory.

    python bench/perf.py                      # the full run (several minutes on two cores)
    python bench/perf.py --sessions 2000      # a quicker look

Replay throughput is measured end to end on one core, as `conductor replay` does it: JSON lines
parsed, signals applied, ticks run, results serialised. The tick cost is one engine tick over N
live sessions (tracking, scoring, detection), eleven minutes in and still chatting, so the
detector works over its whole history. Memory per session is the traced Python memory of
N sessions of `--attendees` people each, divided by N.
"""

from __future__ import annotations

import argparse
import gc
import io
import random
import time
import tracemalloc

import orjson

from conductor.core.engine import Engine, EngineConfig
from conductor.core.model import Signal
from conductor.core.vocabulary import SignalKind
from conductor.replay import iso, read_lines, replay
from conductor.service.gc_pacing import GcPacer
from conductor.sim import AudienceSimulator

TARGET_SIGNALS_PER_S = 100_000
TARGET_TICK_S = 0.5
TARGET_BYTES_PER_SESSION = 20_000
T0 = 1_767_225_600.0


def replay_lines(sessions: int, attendees: int, minutes: float) -> list[bytes]:
    lines: list[tuple[float, bytes]] = []
    for seed in range(sessions):
        sim = AudienceSimulator("steady", attendees=attendees, minutes=minutes, seed=seed)
        for entry in sim.step(sim.end):
            ts = entry.ts if entry.ts is not None else sim.start
            line = orjson.dumps(
                {"stream": entry.stream, "id": entry.entry_id, "ts": iso(ts), "data": entry.data}
            )
            lines.append((ts, line))
    lines.sort(key=lambda item: item[0])
    return [line for _, line in lines]


def bench_replay(lines: list[bytes]) -> float:
    engine = Engine(EngineConfig())
    out = io.BytesIO()
    gc.collect()
    started = time.perf_counter()
    summary = replay(read_lines(lines), engine, out)
    elapsed = time.perf_counter() - started
    print(f"replay: {summary.signals:,} signals in {elapsed:.2f} s -> "
          f"{summary.signals / elapsed:,.0f} signals/s on one core "
          f"({summary.engagements:,} scores, {summary.anomalies} anomalies written) "
          f"[target >= {TARGET_SIGNALS_PER_S:,}]")
    return summary.signals / elapsed


def populate(engine: Engine, sessions: int, attendees: int, rng: random.Random) -> None:
    """Sessions as they look a few minutes in: everyone joined, some chatting and reacting."""
    for s in range(sessions):
        session_id = f"ses_{s:012x}"
        for u in range(attendees):
            engine.ingest(Signal(SignalKind.JOIN, session_id, T0 + rng.random() * 60,
                                 user_id=f"usr_{u}", event_id="evt_000000000001",
                                 entry_id=f"{s}-{u}-j"))
        for k in range(attendees // 2):
            kind = SignalKind.CHAT if k % 3 == 0 else SignalKind.REACTION
            engine.ingest(Signal(kind, session_id, T0 + 60 + rng.random() * 60,
                                 user_id=f"usr_{rng.randrange(attendees)}",
                                 entry_id=f"{s}-{k}-a", key=f"m{s}-{k}"))


def keep_talking(engine: Engine, sessions: int, attendees: int, t: float,
                 rng: random.Random) -> None:
    """A few chat messages and reactions per session in the 5 s before `t`: rooms stay live,
    so every detector path runs, not only a silent room's."""
    per_tick = max(1, attendees // 12)
    for s in range(sessions):
        session_id = f"ses_{s:012x}"
        for k in range(per_tick):
            kind = SignalKind.CHAT if k % 3 == 0 else SignalKind.REACTION
            engine.ingest(Signal(kind, session_id, t - 5 + rng.random() * 5,
                                 user_id=f"usr_{rng.randrange(attendees)}",
                                 entry_id=f"{s}-{t}-{k}", key=f"m{s}-{t}-{k}"))


def bench_tick(sessions: int, attendees: int, warm_s: int) -> float:
    engine = Engine(EngineConfig())
    rng = random.Random(1)
    populate(engine, sessions, attendees, rng)
    # Warm the sessions up to the present: past the detector's ten minutes of history, so a
    # tick does all it does in a long session (the decline test over the whole history).
    for t in range(5, warm_s, 5):
        if t > 120:
            keep_talking(engine, sessions, attendees, T0 + t, rng)
        engine.tick(T0 + t)
        if t % 120 == 0:
            print(f"  warming up: {t}/{warm_s} s of session time", flush=True)
    # As the service runs it: full collections between ticks, not inside them (gc_pacing).
    pacer = GcPacer(every_s=1e-9)
    pacer.install()
    times, pauses = [], []
    try:
        for t in range(warm_s, warm_s + 50, 5):
            keep_talking(engine, sessions, attendees, T0 + t, rng)
            pacer.quiet()
            pauses.append(pacer.last_pause_s)
            started = time.perf_counter()
            result = engine.tick(T0 + t)
            times.append(time.perf_counter() - started)
            assert len(result.engagements) == sessions
    finally:
        pacer.uninstall()
    best, median = min(times), sorted(times)[len(times) // 2]
    print(f"tick: {sessions:,} live sessions of {attendees} people: median {median:.3f} s, "
          f"best {best:.3f} s, worst {max(times):.3f} s per tick "
          f"({median / sessions * 1e6:.1f} us a session) [target <= {TARGET_TICK_S} s for 10,000]")
    print(f"  a full garbage collection between ticks (at most every 30 s in the service): "
          f"{sorted(pauses)[len(pauses) // 2]:.3f} s")
    return median


def bench_memory(sessions: int, attendees: int) -> float:
    gc.collect()
    tracemalloc.start()
    engine = Engine(EngineConfig())
    base = tracemalloc.get_traced_memory()[0]
    populate(engine, sessions, attendees, random.Random(2))
    for t in range(5, 125, 5):
        engine.tick(T0 + t)
    gc.collect()
    used = tracemalloc.get_traced_memory()[0] - base
    tracemalloc.stop()
    per = used / sessions
    print(f"memory: {per / 1000:.1f} KB a session of {attendees} people "
          f"({used / 1e6:.1f} MB for {sessions:,}) [target <= {TARGET_BYTES_PER_SESSION / 1000:.0f}"
          f" KB]")
    return per


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=10_000)
    parser.add_argument("--attendees", type=int, default=50)
    parser.add_argument("--warm", type=int, default=660,
                        help="seconds of session time before the ticks are timed")
    parser.add_argument("--replay-sessions", type=int, default=20)
    parser.add_argument("--replay-attendees", type=int, default=1000)
    parser.add_argument("--replay-minutes", type=float, default=15.0)
    options = parser.parse_args()
    print("generating the replay input...", flush=True)
    lines = replay_lines(options.replay_sessions, options.replay_attendees, options.replay_minutes)
    bench_replay(lines)
    del lines
    bench_tick(options.sessions, options.attendees, options.warm)
    bench_memory(options.sessions, options.attendees)


if __name__ == "__main__":
    main()
