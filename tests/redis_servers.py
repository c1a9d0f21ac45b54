"""Throw-away redis-servers for tests where the broker goes away and comes back, and polling
for a condition."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import time
from collections.abc import Callable

import redis


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class RedisServers:
    """Starts and stops throw-away redis-servers (no persistence), one per port."""

    def __init__(self, binary: str) -> None:
        self.binary = binary
        self.running: dict[int, subprocess.Popen[bytes]] = {}

    def start(self, port: int) -> str:
        args = [self.binary, "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
        process = subprocess.Popen(
            [*args, "--appendonly", "no", "--daemonize", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.running[port] = process
        url = f"redis://127.0.0.1:{port}/0"
        client = redis.Redis.from_url(url, socket_connect_timeout=0.2)
        deadline = time.monotonic() + 10
        try:
            while True:
                try:
                    client.ping()
                    return url
                except redis.ConnectionError:
                    if process.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError(f"redis-server did not start on port {port}") from None
                    time.sleep(0.02)
        finally:
            client.close()

    def move(self, port: int, new_port: int) -> str:
        """Make the server on `port` listen on `new_port` instead; open connections survive.

        Lets a test connect its observers first and only then let the code under test in.
        """
        client = redis.Redis(host="127.0.0.1", port=port)
        try:
            client.config_set("port", new_port)
        finally:
            client.close()
        self.running[new_port] = self.running.pop(port)
        return f"redis://127.0.0.1:{new_port}/0"

    def stop(self, port: int) -> None:
        process = self.running.pop(port)
        process.terminate()
        process.wait(timeout=10)

    def stop_all(self) -> None:
        for port in list(self.running):
            self.stop(port)


async def wait_until(condition: Callable[[], bool], seconds: float = 10.0) -> None:
    """Poll `condition` until true; TimeoutError after `seconds`."""
    async with asyncio.timeout(seconds):
        while True:
            if condition():
                return
            await asyncio.sleep(0.02)
