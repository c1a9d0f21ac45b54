"""Who is calling: the platform's HS256 tokens turned into a `Principal`.

Tokens are shared with the platform, so their claims (`sub`, `orgId`, `permissions`) are read
exactly as it writes them. A token whose claims have the wrong types is as invalid as a forged
one: guessing what a malformed claim meant could widen someone's access.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import jwt
from fastapi import Depends, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from jwt.types import Options

from conductor.api.errors import forbidden, unauthorized
from conductor.runtime import Runtime

READ_PERMISSION = "dashboard:read:live"
MANAGE_PERMISSION = "event:manage"


@dataclass(frozen=True, slots=True)
class Principal:
    subject: str
    org_id: str | None
    permissions: frozenset[str]
    service: bool

    @property
    def actor(self) -> str:
        """How decisions and interventions record who acted."""
        return self.subject or ("service" if self.service else "unknown")

    @property
    def can_read(self) -> bool:
        return self.service or bool(self.permissions & {READ_PERMISSION, MANAGE_PERMISSION})

    @property
    def can_steer(self) -> bool:
        return self.service or MANAGE_PERMISSION in self.permissions


SERVICE = Principal(subject="service", org_id=None, permissions=frozenset(), service=True)
"""Everything is allowed: the platform's token, and every caller when auth is off."""


def decode_token(token: str, runtime: Runtime) -> Principal:
    """The caller behind a token, or a 401 that says what is wrong with it."""
    settings = runtime.settings
    options: Options = {"require": ["sub"], "verify_aud": settings.jwt_audience is not None}
    try:
        claims = jwt.decode(
            token,
            runtime.jwt_secret,
            algorithms=["HS256"],
            audience=settings.jwt_audience,
            options=options,
        )
    except jwt.ExpiredSignatureError:
        raise unauthorized("the token has expired") from None
    except jwt.InvalidTokenError:
        raise unauthorized("the token is invalid") from None
    subject = claims.get("sub")
    org_id = claims.get("orgId")
    permissions = claims.get("permissions", [])
    if not isinstance(subject, str):
        raise unauthorized("the token's sub claim must be a string")
    if org_id is not None and not isinstance(org_id, str):
        raise unauthorized("the token's orgId claim must be a string")
    if not isinstance(permissions, list) or not all(isinstance(p, str) for p in permissions):
        raise unauthorized("the token's permissions claim must be a list of strings")
    granted = frozenset(permissions)
    return Principal(
        subject=subject,
        org_id=org_id or None,
        permissions=granted,
        service=settings.service_permission in granted,
    )


def runtime_of(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(runtime_of)]

_bearer = HTTPBearer(auto_error=False, description="The platform's HS256 JWT.")
BearerDep = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def _principal(runtime: Runtime, token: str | None) -> Principal:
    if not runtime.settings.auth_enabled:
        return SERVICE
    if not token:
        raise unauthorized()
    return decode_token(token, runtime)


def authenticate(runtime: RuntimeDep, credentials: BearerDep) -> Principal:
    return _principal(runtime, credentials.credentials if credentials else None)


def authenticate_stream(
    runtime: RuntimeDep,
    credentials: BearerDep,
    token: Annotated[
        str | None,
        Query(description="The JWT, for browsers' EventSource, which cannot send headers."),
    ] = None,
) -> Principal:
    return _principal(runtime, credentials.credentials if credentials else token)


def reader(principal: Annotated[Principal, Depends(authenticate)]) -> Principal:
    if not principal.can_read:
        raise forbidden(f"reading needs the {READ_PERMISSION} or {MANAGE_PERMISSION} permission")
    return principal


def stream_reader(principal: Annotated[Principal, Depends(authenticate_stream)]) -> Principal:
    return reader(principal)


def steerer(principal: Annotated[Principal, Depends(authenticate)]) -> Principal:
    if not principal.can_steer:
        raise forbidden(f"steering needs the {MANAGE_PERMISSION} permission")
    return principal


def service_only(principal: Annotated[Principal, Depends(authenticate)]) -> Principal:
    if not principal.service:
        raise forbidden("only the platform's service token may do this")
    return principal


Reader = Annotated[Principal, Depends(reader)]
StreamReader = Annotated[Principal, Depends(stream_reader)]
Steerer = Annotated[Principal, Depends(steerer)]
ServiceCaller = Annotated[Principal, Depends(service_only)]
