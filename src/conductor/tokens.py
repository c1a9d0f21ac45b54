"""Issuing tokens in the platform's format (HS256 JWT with sub, orgId, permissions).

The platform issues organisers' tokens; the service issues its own only for operators: the
temporary service token printed at start-up and `conductor token`.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import jwt


def issue_token(
    secret: str,
    *,
    sub: str,
    org_id: str | None = None,
    permissions: Sequence[str] = (),
    ttl_s: float = 24 * 3600,
) -> str:
    now = int(time.time())
    claims: dict[str, object] = {
        "sub": sub,
        "permissions": list(permissions),
        "iat": now,
        "exp": now + int(ttl_s),
    }
    if org_id is not None:
        claims["orgId"] = org_id
    return jwt.encode(claims, secret, algorithm="HS256")
