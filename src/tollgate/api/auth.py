"""Who is calling. For now: operator keys (``Authorization: Bearer <key>``)."""

from __future__ import annotations

import hmac

from fastapi import Request

from tollgate.errors import Unauthorized


def require_operator(request: Request) -> None:
    """FastAPI dependency: the request must carry a valid operator key."""
    keys = request.app.state.runtime.settings.operator_keys
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("send an operator key as 'Authorization: Bearer <key>'")
    token = token.strip()
    # Compare against every key so that timing tells nothing about which one matched.
    matched = False
    for key in keys:
        matched |= hmac.compare_digest(token.encode(), key.encode())
    if not matched:
        raise Unauthorized("the API key is not valid")
