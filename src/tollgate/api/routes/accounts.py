"""Accounts: create, read, change."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from tollgate.accounts import service
from tollgate.api.answers import answer, refusals
from tollgate.api.auth import OPERATOR, Caller, requires
from tollgate.api.deps import Runtime, runtime
from tollgate.api.schemas import AccountAnswer, AccountCreate, AccountPage, AccountUpdate
from tollgate.api.views import account_view
from tollgate.errors import InvalidRequest
from tollgate.ledger import lock_account
from tollgate.rating.service import latest_header

router = APIRouter(prefix="/v1/accounts", tags=["accounts"], responses=refusals(409))


@router.post(
    "",
    status_code=201,
    dependencies=[Depends(requires(OPERATOR))],
    response_model=AccountAnswer,
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
        created = account_view(account)
    return answer(AccountAnswer, created, status_code=201)


@router.get("", response_model=AccountPage)
def list_accounts(
    status: Literal["active", "blocked", "closed"] | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
    rt: Runtime = Depends(runtime),
    caller: Caller = Depends(requires("consumption.view")),
) -> JSONResponse:
    """Every account, newest first; an account key sees only its own."""
    with rt.database.read() as session:
        page, next_cursor = service.list_accounts(
            session, limit=limit, cursor=cursor, status=status, only=caller.account_id
        )
        data = [account_view(account) for account in page]
    return answer(AccountPage, {"data": data, "next_cursor": next_cursor})


@router.get(
    "/{account_id}",
    dependencies=[Depends(requires("consumption.view"))],
    response_model=AccountAnswer,
)
def get_account(account_id: str, rt: Runtime = Depends(runtime)) -> JSONResponse:
    with rt.database.read() as session:
        return answer(AccountAnswer, account_view(service.get_account(session, account_id)))


@router.patch(
    "/{account_id}",
    dependencies=[Depends(requires(OPERATOR))],
    response_model=AccountAnswer,
)
def update_account(
    account_id: str, body: AccountUpdate, rt: Runtime = Depends(runtime)
) -> JSONResponse:
    changes = body.model_dump(exclude_unset=True)
    now = rt.clock.now()
    with rt.database.write() as session:
        account = lock_account(session, account_id, now=now)
        if "price_list_id" in changes:
            _check_price_list(session, changes["price_list_id"], account.unit)
        updated = account_view(service.update_account(session, account, changes, now=now))
    return answer(AccountAnswer, updated)


def _check_price_list(session: Session, price_list_id: str, unit: str) -> None:
    """An account rates with its price list: one that does not exist, or prices in
    another unit, would refuse every event."""
    header = latest_header(session, price_list_id)
    if header is None:
        raise InvalidRequest(
            f"price list {price_list_id!r} does not exist; create it with "
            f"PUT /v1/price-lists/{price_list_id} first",
            code="unknown_price_list",
        )
    if header.unit != unit:
        raise InvalidRequest(
            f"price list {price_list_id!r} prices in {header.unit}, but the account holds "
            f"{unit}; choose a price list in {unit}",
            code="price_list_unit_mismatch",
        )
