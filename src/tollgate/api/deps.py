"""Small pieces every route uses."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Header, Request
from fastapi.responses import JSONResponse

from tollgate.api.app import Runtime


def runtime(request: Request) -> Runtime:
    return request.app.state.runtime


# Makes a create safe to retry: the same key answers the first answer and does nothing.
IdempotencyKey = Annotated[
    str | None,
    Header(alias="Idempotency-Key", max_length=255,
           description="Retrying with the same key answers the first answer and does nothing"),
]


def idempotent_response(answer: Any, replayed: bool, status_code: int = 201) -> JSONResponse:
    headers = {"Idempotent-Replayed": "true"} if replayed else None
    return JSONResponse(answer, status_code=status_code, headers=headers)
