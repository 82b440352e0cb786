"""Small pieces every route uses."""

from __future__ import annotations

from fastapi import Request

from tollgate.api.app import Runtime


def runtime(request: Request) -> Runtime:
    return request.app.state.runtime
