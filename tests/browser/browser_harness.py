"""The service as a real subprocess and a small HTTP client for it, for the browser tests."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

LAUNCHER = Path(__file__).with_name("launcher.py")
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1440, "height": 900}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Server:
    """One `conductor` process (through the launcher, so `/` serves the dashboard)."""

    args: list[str]
    env: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    token: str | None = None
    process: subprocess.Popen[bytes] | None = None
    folder: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="conductor-ui-")))

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout_s: float = 40.0) -> Server:
        env = {k: v for k, v in os.environ.items() if not k.startswith("CONDUCTOR_")}
        env.update(self.env)
        log = (self.folder / "server.log").open("wb")
        env["CONDUCTOR_PORT"] = str(self.port)  # `serve` reads it; `demo` takes --port
        command = [sys.executable, str(LAUNCHER), *self.args]
        if self.args[:1] == ["demo"]:
            command += ["--port", str(self.port)]
        self.process = subprocess.Popen(
            command,
            cwd=self.folder,  # no stray .env file changes the settings
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited early:\n{self.log()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(self.base_url + "/", timeout=1.0).status_code == 200:
                    return self
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"the server did not answer within {timeout_s} s:\n{self.log()}")

    def log(self) -> str:
        path = self.folder / "server.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)

    def api(self, method: str, path: str, token: str | None = None, **kwargs: Any) -> Any:
        """Call the API; a non-2xx answer fails the test with the service's own message."""
        headers = {}
        chosen = token or self.token
        if chosen:
            headers["Authorization"] = f"Bearer {chosen}"
        response = httpx.request(
            method, f"{self.base_url}/api/v1{path}", headers=headers, timeout=10.0, **kwargs
        )
        if response.status_code >= 400:
            raise AssertionError(f"{method} {path}: {response.status_code} {response.text}")
        return response.json()


def wait_until(check: Any, timeout_s: float, what: str, interval_s: float = 0.5) -> Any:
    """Poll `check()` until it returns something truthy; fail saying what never happened."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"after {timeout_s} s: {what}")
        time.sleep(interval_s)
