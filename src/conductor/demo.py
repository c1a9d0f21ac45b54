"""`conductor demo`: the whole loop on one machine, nothing else to install or start.

Several simulated sessions of different sizes and scenarios feed the service through the same
ingest path the platform's streams use; the commands the agent publishes on
`agent.interventions` go back to the simulated audiences, which react to them. To give a
newcomer something to look at at once, each session starts a few minutes in the past: that
backlog is replayed in a blink at start-up (the engine runs faster than real time), then the
sessions go on live, with their trouble starting within the first minute.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from conductor.bus.messages import INTERVENTIONS_CHANNEL
from conductor.core.vocabulary import AgentMode, InterventionType
from conductor.runtime import Runtime
from conductor.service.records import EventSettings, SessionRecord
from conductor.sim import AudienceSimulator

log = logging.getLogger(__name__)

DEMO_EVENT = "evt_de0000000001"
DEMO_ORG = "org_demo"
BACKLOG_S = 240.0

_COMMAND_TYPES = {
    "agent.intervention.poll": InterventionType.POLL,
    "agent.intervention.broadcast": InterventionType.CHAT_PROMPT,
    "agent.intervention.notification": InterventionType.NOTIFICATION,
    "agent.intervention.gamification": InterventionType.GAMIFICATION,
}


@dataclass(frozen=True, slots=True)
class DemoSession:
    session_id: str
    title: str
    topic: str
    tags: tuple[str, ...]
    scenario: str
    attendees: int
    onset_after_start_s: float | None
    """Seconds after the demo starts (not after the session started) when trouble begins."""
    mode: AgentMode | None = None


DEMO_SESSIONS: tuple[DemoSession, ...] = (
    DemoSession(
        "ses_de00000000a1",
        "Workshop: hardening your CI pipeline",
        "security",
        ("security", "devops"),
        "sudden_drop",
        60,
        20.0,
    ),
    DemoSession(
        "ses_de00000000a2",
        "Panel: leading remote teams",
        "leadership",
        ("leadership", "hr"),
        "low_engagement",
        250,
        35.0,
    ),
    DemoSession(
        "ses_de00000000a3",
        "Product deep dive: the new analytics suite",
        "product",
        ("product", "data"),
        "mass_exit",
        900,
        70.0,
        AgentMode.SEMI_AUTO,
    ),
    DemoSession(
        "ses_de00000000a4", "Keynote: the year in AI", "ai", ("ai", "data"), "steady", 3000, None
    ),
    DemoSession(
        "ses_de00000000a5",
        "Fireside chat: design systems at scale",
        "design",
        ("design",),
        "gradual_decline",
        120,
        10.0,
    ),
)


class Demo:
    def __init__(self, runtime: Runtime, *, minutes: float = 90.0, seed: int = 7) -> None:
        self.runtime = runtime
        self.clock = runtime.service.clock
        now = self.clock.now()
        self.started = now
        self.simulators: dict[str, AudienceSimulator] = {}
        for index, spec in enumerate(DEMO_SESSIONS):
            onset = (
                None if spec.onset_after_start_s is None else (BACKLOG_S + spec.onset_after_start_s)
            )
            self.simulators[spec.session_id] = AudienceSimulator(
                spec.scenario,
                attendees=spec.attendees,
                minutes=minutes,
                seed=seed + index,
                session_id=spec.session_id,
                event_id=DEMO_EVENT,
                start=now - BACKLOG_S,
                onset=onset,
            )

    def setup(self) -> None:
        service = self.runtime.service
        service.put_event_settings(
            EventSettings(
                event_id=DEMO_EVENT,
                org_id=DEMO_ORG,
                name="Engagement Conductor live demo",
                mode=AgentMode.MANUAL,
            )
        )
        for spec in DEMO_SESSIONS:
            service.register_session(
                SessionRecord(
                    spec.session_id,
                    DEMO_EVENT,
                    topic=spec.topic,
                    tags=spec.tags,
                    mode=spec.mode,
                    title=spec.title,
                )
            )

    def feed(self) -> int:
        """Move every simulated audience up to now; returns the entries ingested."""
        now = self.clock.now()
        total = 0
        for simulator in self.simulators.values():
            entries = simulator.step(now)
            if entries:
                self.runtime.service.ingest(entries)
                total += len(entries)
        return total

    async def close_the_loop(self) -> None:
        """Commands the agent publishes reach the simulated audiences."""
        with self.runtime.live.subscribe(INTERVENTIONS_CHANNEL) as subscription:
            async for item in subscription:
                message = item.message
                simulator = self.simulators.get(str(message.get("session_id")))
                kind = _COMMAND_TYPES.get(str(message.get("type")))
                if simulator is None or kind is None:
                    continue
                content = _content_of(message)
                simulator.receive(kind, content, self.clock.now())

    async def run(self) -> None:
        loop_task = asyncio.create_task(self.close_the_loop(), name="demo-loop")
        try:
            # Backlog first, as fast as the engine goes, so the charts have history at once.
            self.feed()
            self.runtime.service.step()
            await self.runtime.service.drain()
            while True:
                self.feed()
                await asyncio.sleep(0.2)
        finally:
            loop_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await loop_task


def _content_of(message: Mapping[str, Any]) -> dict[str, Any]:
    """The simulator wants the intervention's content; the command carries it per type."""
    for key in ("poll", "content"):
        value = message.get(key)
        if isinstance(value, dict):
            return dict(value)
    if isinstance(message.get("message"), str):
        return {"message": message["message"]}
    return {k: v for k, v in message.items() if k not in ("metadata",)}
