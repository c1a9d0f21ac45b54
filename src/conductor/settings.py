"""Every setting of the service, in one place (see docs/configuration.md).

Values come from `CONDUCTOR_*` environment variables or a `.env` file; the defaults run the
service embedded: a SQLite file, an in-process bus, the API on 127.0.0.1:8003.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from conductor.core.vocabulary import AgentMode


class SettingsError(ValueError):
    """A setting is wrong; the message names it and says why."""


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="CONDUCTOR_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    database_url: str = Field(
        "sqlite:///./conductor.db",
        description="sqlite:///path or postgresql://user@host:port/db.",
    )
    redis_url: str | None = Field(
        None, description="redis://host:port/db; unset: an in-process bus, signals over HTTP."
    )
    host: str = Field("127.0.0.1", description="Address the HTTP API listens on.")
    port: int = Field(8003, ge=1, le=65535, description="Port of the HTTP API.")

    auth_enabled: bool = Field(True, description="Off only explicitly, and only on loopback.")
    jwt_secret: str | None = Field(
        None, description="HS256 secret shared with the platform; unset: a temporary one."
    )
    jwt_audience: str | None = Field(None, description="Expected `aud` claim, if tokens carry one.")
    service_permission: str = Field(
        "conductor:service",
        description="Permission that makes a token the platform's service token.",
    )

    consumer_group: str = Field(
        "engagement-conductor", description="Redis consumer group on the platform's streams."
    )
    consumer_name: str | None = Field(None, description="Unset: unique per process.")
    batch_size: int = Field(500, ge=1, le=10_000, description="Entries read per XREADGROUP.")
    block_ms: int = Field(1000, ge=10, le=60_000, description="Longest wait of one read.")
    claim_idle_ms: int = Field(
        60_000, ge=1_000, description="Pending entries idle this long are claimed (XAUTOCLAIM)."
    )
    dead_letter_stream: str = Field(
        "conductor.dead-letters.v1", description="Where entries that cannot be parsed go."
    )

    tick_s: float = Field(5.0, gt=0, le=300, description="Seconds of event time between ticks.")
    lateness_s: float = Field(
        2.0, ge=0, le=60, description="How late a signal may arrive and still count in its tick."
    )
    session_idle_timeout_s: float = Field(
        900.0, gt=0, description="A session with no signal for this long ends."
    )

    default_mode: AgentMode = Field(
        AgentMode.MANUAL, description="Mode of events with no settings: MANUAL, SEMI_AUTO or AUTO."
    )
    confidence_threshold: float = Field(
        0.75, ge=0, le=1, description="SEMI_AUTO runs decisions at least this confident."
    )
    decision_ttl_s: float = Field(300.0, gt=0, description="Pending decisions expire after.")
    outcome_delay_s: float = Field(
        60.0, gt=0, description="When an intervention's outcome is measured."
    )
    max_per_session: int = Field(12, ge=0, description="Intervention budget per session.")
    max_per_event: int = Field(100, ge=0, description="Intervention budget per event.")

    timeseries_retention_days: int = Field(
        30, ge=1, description="TimescaleDB retention of scores and anomalies (when available)."
    )
    write_batch_size: int = Field(500, ge=1, description="Rows per time-series write.")
    write_interval_s: float = Field(
        1.0, gt=0, description="Longest wait before queued writes go out."
    )
    gc_pacing_s: float = Field(
        30.0,
        ge=0,
        description="Full garbage collections run between ticks, at most this often "
        "(0: Python's own schedule, which may pause a tick).",
    )
    log_level: str = Field("INFO", description="DEBUG, INFO, WARNING or ERROR.")

    @field_validator("database_url")
    @classmethod
    def _database_scheme(cls, value: str) -> str:
        if not value.startswith(("sqlite:", "sqlite+", "postgresql", "postgres:")):
            raise ValueError("must start with sqlite:/// or postgresql://")
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        assert value is not None
        if not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must start with redis://, rediss:// or unix://")
        return value

    @model_validator(mode="after")
    def _auth_only_off_on_loopback(self) -> Settings:
        if not self.auth_enabled and not is_loopback(self.host):
            raise ValueError(
                f"auth_enabled=false is only allowed on a loopback host, not {self.host!r}"
            )
        return self


def load_settings(**overrides: Any) -> Settings:
    """Settings from the environment and `.env`, or a SettingsError that names the culprit."""
    try:
        return Settings(**overrides)
    except ValidationError as error:
        problems = []
        for item in error.errors():
            where = ".".join(str(part) for part in item["loc"]) or "settings"
            name = f"CONDUCTOR_{where.upper()}" if item["loc"] else "settings"
            problems.append(f"{name}: {item['msg']}")
        raise SettingsError("invalid configuration: " + "; ".join(problems)) from None
