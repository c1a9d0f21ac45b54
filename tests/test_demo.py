"""`conductor demo` as a newcomer runs it: at real speed, a suggestion waits for approval on the
dashboard within 90 seconds of starting."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

DEMO_EVENT = "evt_de0000000001"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def conductor() -> list[str]:
    script = Path(sys.executable).with_name("conductor")
    return [str(script)] if script.exists() else [sys.executable, "-m", "conductor.cli"]


def test_the_demo_reaches_a_pending_suggestion_within_90_seconds(tmp_path: Path) -> None:
    port = free_port()
    started = time.monotonic()
    process = subprocess.Popen(
        [*conductor(), "demo", "--port", str(port)],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env={**os.environ, "COLUMNS": "200"},
    )
    base = f"http://127.0.0.1:{port}"
    try:
        pending: list[dict[str, object]] = []
        sessions: list[dict[str, object]] = []
        with httpx.Client(base_url=base, timeout=5.0) as client:
            while time.monotonic() - started < 90 and not pending:
                assert process.poll() is None, "the demo exited early"
                try:
                    sessions = client.get(f"/api/v1/events/{DEMO_EVENT}/sessions").json()[
                        "sessions"
                    ]
                    pending = client.get("/api/v1/decisions", params={"status": "PENDING"}).json()[
                        "decisions"
                    ]
                except httpx.TransportError:
                    pass  # still starting
                time.sleep(1.0)
            elapsed = time.monotonic() - started
            page = client.get("/")
        assert pending, f"no suggestion waited for approval within {elapsed:.0f} s"
        assert len(sessions) == 5
        assert all(0.0 <= float(str(s["score"])) <= 1.0 for s in sessions)
        assert page.status_code == 200 and "text/html" in page.headers["content-type"]
        suggestion = pending[0]
        assert suggestion["reason"] and suggestion["content"]
    finally:
        process.send_signal(signal.SIGINT)
        try:
            output, _ = process.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            output, _ = process.communicate()
    text = output.decode()
    assert f"http://127.0.0.1:{port}" in text  # the address is printed on start
    assert "Traceback" not in text
