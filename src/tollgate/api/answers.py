"""The one way a route answers: JSON built from plain data shaped as its answer model.

Every route declares its answer model (``response_model=``), so that /openapi.json
documents every answer; the route then returns :func:`answer`, a ready
``JSONResponse``, which FastAPI sends as it is. The data is not validated again on
the way out: the usage hot path pays nothing for the schema, and tests/api/test_fuzz.py
checks every answer against it instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi.responses import JSONResponse
from pydantic import BaseModel


def answer(
    model: type[BaseModel],
    data: Mapping[str, Any],
    *,
    status_code: int = 200,
    replayed: bool = False,
) -> JSONResponse:
    """``data`` (amounts already decimal strings, instants already formatted), which has
    the shape of ``model``, the route's ``response_model``, as a JSON answer. A replayed
    idempotent call says so in ``Idempotent-Replayed``."""
    del model  # names the shape for the reader; the schema is checked by the fuzz tests
    headers = {"Idempotent-Replayed": "true"} if replayed else None
    return JSONResponse(data, status_code=status_code, headers=headers)


# What each refusal status means; every one has the body {"error": {"code", "message"}}.
_REFUSED = {
    400: "The body is not JSON (malformed_json)",
    401: "No key, or a key that is unknown or revoked (unauthorized)",
    402: "Not enough credit: nothing was charged (insufficient_credit)",
    403: "The key lacks the right this call needs (forbidden)",
    404: "What the path or body names does not exist (e.g. account_not_found)",
    409: "In conflict with what exists: an id or Idempotency-Key reused with other "
    "content, or a reservation or call already ended",
    413: "The body is larger than the server accepts (payload_too_large)",
    422: "The request is not acceptable: see error.code (e.g. invalid_request, "
    "invalid_amount, invalid_expiry, unratable)",
}
# What any route may answer: a refused key, an unknown account or path, a bad body.
EVERY_ROUTE = (400, 401, 403, 404, 413, 422)


def refusals(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The ``responses=`` that declare ``statuses`` as refusals, for /openapi.json."""
    from tollgate.api.schemas import ErrorAnswer

    return {status: {"model": ErrorAnswer, "description": _REFUSED[status]} for status in statuses}
