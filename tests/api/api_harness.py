"""Helpers of the API tests: tokens, the signal feed, and a harness around one runtime.

The runtime is real (SQLite file or PostgreSQL, in-process bus); only its clock is moved by
hand, so every tick happens exactly when a test says so."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from dataclasses import dataclass, field
from typing import Any

import httpx
import jwt
from fastapi import FastAPI

from conductor.core.model import RawEntry
from conductor.runtime import Runtime
from conductor.sim import AudienceSimulator

SECRET = "test-secret-of-at-least-32-bytes!"
START = 1_767_225_600.0
READ = ["dashboard:read:live"]
MANAGE = ["event:manage"]
SERVICE = ["conductor:service"]


class ManualClock:
    """Event time that moves only when a test advances it."""

    def __init__(self, now: float = START) -> None:
        self.t = now

    def now(self) -> float:
        return self.t


def token(
    sub: str = "user-1",
    org: str | None = "org_a",
    permissions: Iterable[str] = MANAGE,
    *,
    expires_in: float = 3600,
    secret: str = SECRET,
    **extra: Any,
) -> str:
    claims: dict[str, Any] = {
        "sub": sub,
        "permissions": list(permissions),
        "exp": int(time.time() + expires_in),
        **extra,
    }
    if org is not None:
        claims["orgId"] = org
    return jwt.encode(claims, secret, algorithm="HS256")


def bearer(value: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {value}"}


SERVICE_HEADERS = bearer(token("platform", None, SERVICE))


def replay_line(entry: RawEntry) -> dict[str, Any]:
    """A simulator entry as the replay line POST /signals takes."""
    line: dict[str, Any] = {"stream": entry.stream, "data": entry.data}
    if entry.entry_id is not None:
        line["id"] = entry.entry_id
    if entry.ts is not None:
        line["ts"] = entry.ts
    return line


@dataclass
class Harness:
    runtime: Runtime
    app: FastAPI
    client: httpx.AsyncClient
    clock: ManualClock
    sims: list[AudienceSimulator] = field(default_factory=list)

    async def post_signals(self, lines: list[dict[str, Any]]) -> dict[str, Any]:
        response = await self.client.post(
            "/api/v1/signals", json={"signals": lines}, headers=SERVICE_HEADERS
        )
        assert response.status_code == 202, response.text
        body: dict[str, Any] = response.json()
        return body

    async def settle(self) -> None:
        """Run the ticks now due, publish what they produced and store it."""
        self.runtime.service.step()
        await self.runtime.service.drain()
        await self.runtime.writer.flush()

    async def advance(self, until: float, step_s: float = 5.0) -> None:
        """Move time to `until`, feeding every simulated audience and ticking as it goes."""
        while self.clock.t < until:
            self.clock.t = min(until, self.clock.t + step_s)
            lines = [replay_line(e) for sim in self.sims for e in sim.step(self.clock.t)]
            if lines:
                await self.post_signals(lines)
            await self.settle()

    async def until_pending(self, session_id: str, limit_s: float = 900.0) -> str:
        """Advance until the agent waits for an answer on `session_id`; its decision id."""
        deadline = self.clock.t + limit_s
        while self.clock.t < deadline:
            pending = self.runtime.service.pending_for(session_id=session_id)
            if pending:
                return pending[0].id
            await self.advance(self.clock.t + 5.0)
        raise AssertionError(f"no decision for {session_id} within {limit_s} s")


def audience(
    scenario: str, session_id: str, event_id: str, *, seed: int = 1, attendees: int = 60
) -> AudienceSimulator:
    return AudienceSimulator(
        scenario,
        attendees=attendees,
        minutes=10,
        seed=seed,
        session_id=session_id,
        event_id=event_id,
        start=START,
        onset=250,
    )


async def next_message(subscription: Any) -> Any:
    """The subscription's next message, failing the test after two seconds of silence."""
    async with asyncio.timeout(2.0):
        return await subscription.get()


MakeHarness = Callable[..., Awaitable[Harness]]


class EventStream:
    """Reads a server-sent event stream straight from the ASGI app, as a browser would, and
    hangs up on exit (HTTP clients for tests buffer whole responses, which a stream never is)."""

    def __init__(self, app: FastAPI, path: str, headers: dict[str, str] | None = None) -> None:
        path, _, query = path.partition("?")
        raw_headers = [(b"host", b"test")]
        raw_headers += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
        self.scope: dict[str, Any] = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "root_path": "",
            "query_string": query.encode(),
            "headers": raw_headers,
            "client": ("127.0.0.1", 50000),
            "server": ("test", 80),
        }
        self.app = app
        self.sent: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.hang_up = asyncio.Event()
        self.buffer = ""
        self.status = 0
        self.headers: dict[str, str] = {}
        self._asked = False
        self._task: asyncio.Task[None] | None = None

    async def _receive(self) -> dict[str, Any]:
        if not self._asked:
            self._asked = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await self.hang_up.wait()
        return {"type": "http.disconnect"}

    async def _send(self, message: MutableMapping[str, Any]) -> None:
        await self.sent.put(dict(message))

    async def __aenter__(self) -> EventStream:
        self._task = asyncio.create_task(self.app(self.scope, self._receive, self._send))
        async with asyncio.timeout(3.0):
            start = await self.sent.get()
        self.status = start["status"]
        self.headers = {k.decode(): v.decode() for k, v in start["headers"]}
        return self

    async def _more(self) -> bool:
        message = await self.sent.get()
        self.buffer += message.get("body", b"").decode()
        return bool(message.get("more_body"))

    async def frame(self) -> tuple[str | None, str]:
        """The next message block: (event type or None for a comment-only block, its data)."""
        async with asyncio.timeout(3.0):
            while "\n\n" not in self.buffer:
                if not await self._more():
                    raise EOFError("the stream ended")
        block, self.buffer = self.buffer.split("\n\n", 1)
        kind, data = None, ""
        for line in block.split("\n"):
            if line.startswith("event: "):
                kind = line[len("event: ") :]
            elif line.startswith("data: "):
                data += line[len("data: ") :]
        return kind, data

    async def body(self) -> str:
        """The whole body of a response that ends (an error)."""
        async with asyncio.timeout(3.0):
            while await self._more():
                pass
        return self.buffer

    async def __aexit__(self, *_: object) -> None:
        self.hang_up.set()
        assert self._task is not None
        async with asyncio.timeout(3.0):
            await self._task
