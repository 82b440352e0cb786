"""An account's credit: grants, balance, list allocations, journal."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Query, Response
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from tollgate import idempotency, ledger
from tollgate.accounts.models import Account
from tollgate.accounts.service import get_account
from tollgate.api.answers import answer, refusals
from tollgate.api.auth import OPERATOR, requires
from tollgate.api.deps import IdempotencyKey, Runtime, runtime
from tollgate.api.schemas import (
    LIST_ID_PATTERN,
    AllocationAnswer,
    AllocationSet,
    BalanceAnswer,
    CreditGrant,
    GrantAnswer,
    JournalPage,
    ListIdInPath,
)
from tollgate.api.views import balance_answer, journal_entry_view, lot_view
from tollgate.clock import format_instant
from tollgate.errors import InvalidRequest
from tollgate.ledger import BucketFigures, is_due, journal_page
from tollgate.ledger.models import POOL
from tollgate.money import format_amount
from tollgate.usage.calls import SECONDS

T = TypeVar("T")

router = APIRouter(prefix="/v1/accounts", tags=["credit"], responses=refusals(402, 409))


@router.post(
    "/{account_id}/credits",
    status_code=201,
    dependencies=[Depends(requires(OPERATOR))],
    response_model=GrantAnswer,
)
def grant_credit(
    account_id: str,
    body: CreditGrant,
    idempotency_key: IdempotencyKey = None,
    rt: Runtime = Depends(runtime),
) -> JSONResponse:
    now = rt.clock.now()
    with rt.database.write() as session:
        account = ledger.lock_account(session, account_id, now=now)
        if body.unit not in (None, account.unit, SECONDS):
            raise InvalidRequest(
                f"unit {body.unit} cannot be spent by account {account.id!r}: a lot is in "
                f"the account's unit ({account.unit}) or {SECONDS} (allowance seconds); "
                "leave unit out for the account's unit",
                code="unspendable_unit",
            )

        def create() -> dict[str, Any]:
            debt_before = account.debt
            lot = ledger.grant(
                session,
                account,
                amount=body.amount,
                unit=body.unit,
                source=body.source,
                expires_at=body.expires_at,
                priority=body.priority,
                applies_to=body.applies_to,
                memo=body.memo,
                now=now,
            )
            return {
                **lot_view(lot),
                "account_id": account.id,
                "created_at": format_instant(lot.created_at),
                "debt_paid": format_amount(debt_before - account.debt),
            }

        granted, replayed = idempotency.answer_once(
            session,
            account_id=account.id,
            scope="credits",
            key=idempotency_key,
            payload=body.model_dump(mode="json"),
            now=now,
            create=create,
        )
    return answer(GrantAnswer, granted, status_code=201, replayed=replayed)


@router.get(
    "/{account_id}/balance",
    dependencies=[Depends(requires("consumption.view"))],
    response_model=BalanceAnswer,
)
def get_balance(account_id: str, rt: Runtime = Depends(runtime)) -> JSONResponse:
    figures = read_settled(
        rt,
        account_id,
        lambda session, account: balance_answer(ledger.balance_view(session, account)),
    )
    return answer(BalanceAnswer, figures)


def read_settled(rt: Runtime, account_id: str, build: Callable[[Session, Account], T]) -> T:
    """Answer from a read-only snapshot, unless something fell due since the account was
    last touched: then catch up first (under the account's lock), so that no answer ever
    counts an expired lot or a lapsed reservation, or misses their journal entries."""
    now = rt.clock.now()
    with rt.database.read() as session:
        account = get_account(session, account_id)
        if not is_due(account, now):
            return build(session, account)
    with rt.database.write() as session:
        return build(session, ledger.lock_account(session, account_id, now=now))


def _allocation_answer(account_id: str, unit: str, figures: BucketFigures) -> dict[str, Any]:
    return {
        "account_id": account_id,
        "list_id": figures.list_id,
        "unit": unit,
        "balance": format_amount(figures.balance),
        "reserved": format_amount(figures.reserved),
        "available": format_amount(figures.available),
    }


@router.put(
    "/{account_id}/lists/{list_id}/allocation",
    dependencies=[Depends(requires("admin"))],
    response_model=AllocationAnswer,
)
def set_allocation(
    account_id: str, list_id: ListIdInPath, body: AllocationSet, rt: Runtime = Depends(runtime)
) -> JSONResponse:
    _check_list_id(list_id)
    now = rt.clock.now()
    with rt.database.write() as session:
        account = ledger.lock_account(session, account_id, now=now)
        bucket = ledger.set_allocation(session, account, list_id, body.amount, now=now)
        allocation = _allocation_answer(
            account.id, account.unit, BucketFigures(bucket.list_id, bucket.balance, bucket.reserved)
        )
    return answer(AllocationAnswer, allocation)


@router.delete(
    "/{account_id}/lists/{list_id}/allocation",
    status_code=204,
    dependencies=[Depends(requires("admin"))],
    response_class=Response,
    responses={204: {"description": "The list's credit went back to the pool"}},
)
def delete_allocation(
    account_id: str, list_id: ListIdInPath, rt: Runtime = Depends(runtime)
) -> Response:
    _check_list_id(list_id)
    now = rt.clock.now()
    with rt.database.write() as session:
        account = ledger.lock_account(session, account_id, now=now)
        ledger.delete_allocation(session, account, list_id, now=now)
    return Response(status_code=204)


def _check_list_id(list_id: str) -> None:
    # The same rule as a list_id in a body, so that every allocated list can be spent from.
    if list_id == POOL or not re.fullmatch(LIST_ID_PATTERN, list_id):
        raise InvalidRequest(
            "list_id must be 1 to 128 letters, digits or '._:@-', starting with a letter or digit",
            code="invalid_list_id",
        )


@router.get(
    "/{account_id}/journal",
    dependencies=[Depends(requires("consumption.view"))],
    response_model=JournalPage,
)
def get_journal(
    account_id: str,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    after: Annotated[
        int | None, Query(ge=0, le=2**63 - 1, description="id of the last entry already seen")
    ] = None,
    rt: Runtime = Depends(runtime),
) -> JSONResponse:
    def build(session: Session, account: Account) -> tuple[list[dict[str, Any]], bool]:
        page, has_more = journal_page(session, account.id, limit=limit, after=after)
        return [journal_entry_view(entry, postings) for entry, postings in page], has_more

    data, has_more = read_settled(rt, account_id, build)
    next_after = data[-1]["id"] if has_more and data else None
    return answer(JournalPage, {"data": data, "has_more": has_more, "next_after": next_after})
