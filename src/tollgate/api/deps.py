"""Small pieces every route uses."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, Protocol, TypeVar

from fastapi import Header, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from tollgate.accounts.models import Account
from tollgate.api.answers import answer
from tollgate.api.app import Runtime
from tollgate.ledger.service import lock_account


class OwnedByAccount(Protocol):
    account_id: str


E = TypeVar("E", bound=OwnedByAccount)


def runtime(request: Request) -> Runtime:
    rt: Runtime = request.app.state.runtime
    return rt


# Makes a create safe to retry: the same key answers the first answer and does nothing.
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=255,
        description="Retrying with the same key answers the first answer and does nothing",
    ),
]


def idempotent_response(
    data: Any, replayed: bool, status_code: int = 201, model: type[BaseModel] = BaseModel
) -> JSONResponse:
    """Kept for callers not yet moved to :func:`tollgate.api.answers.answer`, which
    routes call directly (``answer(Model, data, status_code=201, replayed=replayed)``)."""
    return answer(model, data, status_code=status_code, replayed=replayed)


def lock_owner(
    session: Any, load: Callable[[Any, str], E], entity_id: str, now: datetime
) -> tuple[Account, E]:
    """Lock the account that owns a reservation or authorization, then re-read it under
    the lock: a concurrent request may have ended it meanwhile."""
    account = lock_account(session, load(session, entity_id).account_id, now=now)
    return account, load(session, entity_id)
