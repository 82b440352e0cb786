"""Online charging for calls: authorize, extend, capture, release."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from tollgate import ledger
from tollgate.accounts.models import Account
from tollgate.api.answers import answer, refusals
from tollgate.api.app import Runtime
from tollgate.api.auth import OPERATOR, requires
from tollgate.api.deps import lock_owner, runtime
from tollgate.api.schemas import (
    AuthorizationAnswer,
    AuthorizationCapture,
    AuthorizationCaptureAnswer,
    AuthorizationCreate,
)
from tollgate.clock import format_instant
from tollgate.rating.service import PriceListResolver
from tollgate.usage import authorizations as calls
from tollgate.usage.models import Authorization

router = APIRouter(
    prefix="/v1/authorizations",
    tags=["authorizations"],
    dependencies=[Depends(requires(OPERATOR))],
    responses=refusals(402, 409),
)


def _policy(rt: Runtime) -> calls.CallPolicy:
    return calls.CallPolicy(slice_seconds=rt.settings.authorization_slice_seconds)


def _answer(authorization: Authorization, max_seconds: int | None = None) -> dict[str, Any]:
    answer = {
        "id": authorization.id,
        "account_id": authorization.account_id,
        "status": authorization.status,
        "granted_seconds": authorization.granted_seconds,
        "expires_at": format_instant(authorization.expires_at),
    }
    if max_seconds is not None:
        answer["max_seconds"] = max_seconds
    return answer


@router.post("", status_code=201, response_model=AuthorizationAnswer)
def create_authorization(body: AuthorizationCreate, rt: Runtime = Depends(runtime)) -> JSONResponse:
    now = rt.clock.now()
    with rt.database.write() as session:
        account = ledger.lock_account(session, body.account_id, now=now)
        authorization, longest = calls.authorize(
            session,
            account,
            direction=body.direction,
            to=body.to,
            list_id=body.list_id,
            now=now,
            resolver=PriceListResolver(session),
            policy=_policy(rt),
        )
        opened = _answer(authorization, longest)
    return answer(AuthorizationAnswer, opened, status_code=201)


def _locked(session: Session, entity_id: str, now: datetime) -> tuple[Account, Authorization]:
    return lock_owner(session, calls.get_authorization, entity_id, now)


@router.post(
    "/{authorization_id}/extend",
    response_model=AuthorizationAnswer,
)
def extend_authorization(authorization_id: str, rt: Runtime = Depends(runtime)) -> JSONResponse:
    now = rt.clock.now()
    with rt.database.write() as session:
        account, authorization = _locked(session, authorization_id, now)
        longest = calls.extend(
            session,
            account,
            authorization,
            now=now,
            resolver=PriceListResolver(session),
            policy=_policy(rt),
        )
        return answer(AuthorizationAnswer, _answer(authorization, longest))


@router.post(
    "/{authorization_id}/capture",
    response_model=AuthorizationCaptureAnswer,
)
def capture_authorization(
    authorization_id: str, body: AuthorizationCapture, rt: Runtime = Depends(runtime)
) -> JSONResponse:
    now = rt.clock.now()
    with rt.database.write() as session:
        account, authorization = _locked(session, authorization_id, now)
        usage = calls.capture(
            session,
            account,
            authorization,
            body.duration_seconds,
            now=now,
            resolver=PriceListResolver(session),
        )
        return answer(AuthorizationCaptureAnswer, {**_answer(authorization), "usage": usage})


@router.post(
    "/{authorization_id}/release",
    response_model=AuthorizationAnswer,
)
def release_authorization(authorization_id: str, rt: Runtime = Depends(runtime)) -> JSONResponse:
    now = rt.clock.now()
    with rt.database.write() as session:
        account, authorization = _locked(session, authorization_id, now)
        calls.release(session, account, authorization, now=now)
        return answer(AuthorizationAnswer, _answer(authorization))
