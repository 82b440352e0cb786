"""Small pieces every route uses."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Protocol, TypeVar, cast

from fastapi import Header, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from tollgate import idempotency
from tollgate.accounts.models import Account
from tollgate.api.answers import answer
from tollgate.clock import Clock
from tollgate.config import Settings
from tollgate.db import Database
from tollgate.ledger import lock_account


@dataclass
class Runtime:
    """What every request needs: the store, the clock and the settings. The app keeps
    one in ``app.state.runtime``; routes get it through :func:`runtime`."""

    database: Database
    clock: Clock
    settings: Settings


class Owned(Protocol):
    @property
    def account_id(self) -> str: ...


E = TypeVar("E", bound=Owned)


def runtime(request: Request) -> Runtime:
    return cast(Runtime, request.app.state.runtime)


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


def answer_step_once(
    session: Any,
    *,
    account_id: str,
    scope: str,
    key: str | None,
    payload: dict[str, Any],
    now: datetime,
    create: Callable[[], dict[str, Any]],
) -> JSONResponse:
    """Run a step on something already held (capture, release, extend) at most once per
    ``Idempotency-Key``: a retry answers the first answer (200) even though the thing has
    moved on since, instead of 409. ``payload`` names the thing, so that one key used on
    two of them is a conflict."""
    answer, replayed = idempotency.answer_once(
        session,
        account_id=account_id,
        scope=scope,
        key=key,
        payload=payload,
        now=now,
        create=create,
        status_code=200,
    )
    return idempotent_response(answer, replayed, status_code=200)


def lock_owner(
    session: Any, load: Callable[[Any, str], E], entity_id: str, now: datetime
) -> tuple[Account, E]:
    """Lock the account that owns a reservation or authorization, then re-read it under
    the lock: a concurrent request may have ended it meanwhile."""
    account = lock_account(session, load(session, entity_id).account_id, now=now)
    return account, load(session, entity_id)
