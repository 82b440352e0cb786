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
