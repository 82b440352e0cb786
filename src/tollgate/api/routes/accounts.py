"""Accounts: create, read, change."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse

from tollgate.accounts import service
from tollgate.api.app import Runtime
from tollgate.api.auth import OPERATOR, Caller, requires
from tollgate.api.deps import runtime
from tollgate.api.schemas import AccountAnswer, AccountCreate, AccountPage, AccountUpdate
from tollgate.api.views import account_view
from tollgate.ledger import lock_account

router = APIRouter(prefix="/v1/accounts", tags=["accounts"])


@router.post(
    "",
    status_code=201,
    dependencies=[Depends(requires(OPERATOR))],
    responses={201: {"model": AccountAnswer}},
)
def create_account(body: AccountCreate, rt: Runtime = Depends(runtime)) -> JSONResponse:
    now = rt.clock.now()
    with rt.database.write() as session:
        account = service.create_account(
            session,
            account_id=body.id,
            name=body.name,
            unit=body.unit,
            timezone=body.timezone,
            country=body.country,
            price_list_id=body.price_list_id,
            now=now,
        )
        answer = account_view(account)
    return JSONResponse(answer, status_code=201)


@router.get("", response_model=AccountPage)
def list_accounts(
    status: Literal["active", "blocked", "closed"] | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
    rt: Runtime = Depends(runtime),
    caller: Caller = Depends(requires("consumption.view")),
) -> dict[str, Any]:
    """Every account, newest first; an account key sees only its own."""
    with rt.database.read() as session:
        page, next_cursor = service.list_accounts(
            session, limit=limit, cursor=cursor, status=status, only=caller.account_id
        )
        return {"data": [account_view(account) for account in page], "next_cursor": next_cursor}


@router.get(
    "/{account_id}",
    dependencies=[Depends(requires("consumption.view"))],
    response_model=None,
    responses={200: {"model": AccountAnswer}},
)
def get_account(account_id: str, rt: Runtime = Depends(runtime)) -> dict[str, Any]:
    with rt.database.read() as session:
        return account_view(service.get_account(session, account_id))


@router.patch(
    "/{account_id}",
    dependencies=[Depends(requires(OPERATOR))],
    response_model=None,
    responses={200: {"model": AccountAnswer}},
)
def update_account(
    account_id: str, body: AccountUpdate, rt: Runtime = Depends(runtime)
) -> dict[str, Any]:
    changes = body.model_dump(exclude_unset=True)
    now = rt.clock.now()
    with rt.database.write() as session:
        account = lock_account(session, account_id, now=now)
        return account_view(service.update_account(session, account, changes, now=now))
