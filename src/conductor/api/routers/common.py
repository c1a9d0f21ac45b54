"""Path and query parameters shared by several routers."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path

from conductor.api.schemas import ID_PATTERN

SessionId = Annotated[str, Path(pattern=ID_PATTERN, description="The platform's session id.")]
EventId = Annotated[str, Path(pattern=ID_PATTERN, description="The platform's event id.")]
DecisionId = Annotated[str, Path(pattern=ID_PATTERN)]
