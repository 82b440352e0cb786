"""Online charging for calls: authorize, extend, capture, release."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from tollgate import idempotency, ledger
from tollgate.accounts.models import Account
from tollgate.api.answers import answer, refusals
from tollgate.api.auth import OPERATOR, requires
from tollgate.api.deps import (
    IdempotencyKey,
    Runtime,
    answer_step_once,
    lock_owner,
    runtime,
)
from tollgate.api.schemas import (
    AuthorizationAnswer,
    AuthorizationCapture,
    AuthorizationCaptureAnswer,
    AuthorizationCreate,
    AuthorizationRecord,
)
from tollgate.clock import format_instant
from tollgate.rating.service import PriceListResolver
from tollgate.usage import authorizations as calls
from tollgate.usage.models import Authorization

router = APIRouter(
    prefix="/v1/authorizations", tags=["authorizations"], responses=refusals(402, 409)
)
# Every write is the operator's platform talking; an account key may read its own calls.
OPERATOR_ONLY = [Depends(requires(OPERATOR))]


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


@router.post(
    "",
    status_code=201,
    dependencies=OPERATOR_ONLY,
    response_model=AuthorizationAnswer,
)
def create_authorization(
    body: AuthorizationCreate,
    idempotency_key: IdempotencyKey = None,
    rt: Runtime = Depends(runtime),
) -> JSONResponse:
    now = rt.clock.now()
    with rt.database.write() as session:
        account = ledger.lock_account(session, body.account_id, now=now)

        def create() -> dict[str, Any]:
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
            return _answer(authorization, longest)

        opened, replayed = idempotency.answer_once(
            session,
            account_id=account.id,
            scope="authorizations",
            key=idempotency_key,
            payload=body.model_dump(mode="json"),
            now=now,
            create=create,
        )
    return answer(AuthorizationAnswer, opened, status_code=201, replayed=replayed)


@router.get(
    "/{authorization_id}",
    dependencies=[Depends(requires("consumption.view"))],
    response_model=AuthorizationRecord,
)
def read_authorization(authorization_id: str, rt: Runtime = Depends(runtime)) -> JSONResponse:
    with rt.database.read() as session:
        authorization = calls.get_authorization(session, authorization_id)
        record = {
            "id": authorization.id,
            "account_id": authorization.account_id,
            "direction": authorization.direction,
            "to": authorization.to,
            "list_id": authorization.list_id,
            "status": authorization.status,
            "granted_seconds": authorization.granted_seconds,
            "created_at": format_instant(authorization.created_at),
            "expires_at": format_instant(authorization.expires_at),
            "ended_at": format_instant(authorization.ended_at),
            "usage_event_id": authorization.usage_event_id,
        }
    return answer(AuthorizationRecord, record)


def _locked(session: Session, entity_id: str, now: datetime) -> tuple[Account, Authorization]:
    return lock_owner(session, calls.get_authorization, entity_id, now)


@router.post(
    "/{authorization_id}/extend",
    dependencies=OPERATOR_ONLY,
    response_model=AuthorizationAnswer,
)
def extend_authorization(
    authorization_id: str,
    idempotency_key: IdempotencyKey = None,
    rt: Runtime = Depends(runtime),
) -> JSONResponse:
    now = rt.clock.now()
    with rt.database.write() as session:
        account, authorization = _locked(session, authorization_id, now)

        def create() -> dict[str, Any]:
            longest = calls.extend(
                session,
                account,
                authorization,
                now=now,
                resolver=PriceListResolver(session),
                policy=_policy(rt),
            )
            return _answer(authorization, longest)

        return answer_step_once(
            session,
            account_id=account.id,
            scope="authorizations.extend",
            key=idempotency_key,
            payload={"authorization_id": authorization.id},
            now=now,
            create=create,
        )


@router.post(
    "/{authorization_id}/capture",
    dependencies=OPERATOR_ONLY,
    response_model=AuthorizationCaptureAnswer,
)
def capture_authorization(
    authorization_id: str,
    body: AuthorizationCapture,
    idempotency_key: IdempotencyKey = None,
    rt: Runtime = Depends(runtime),
) -> JSONResponse:
    now = rt.clock.now()
    with rt.database.write() as session:
        account, authorization = _locked(session, authorization_id, now)

        def create() -> dict[str, Any]:
            usage = calls.capture(
                session,
                account,
                authorization,
                body.duration_seconds,
                now=now,
                resolver=PriceListResolver(session),
            )
            return {**_answer(authorization), "usage": usage}

        return answer_step_once(
            session,
            account_id=account.id,
            scope="authorizations.capture",
            key=idempotency_key,
            payload={"authorization_id": authorization.id, **body.model_dump(mode="json")},
            now=now,
            create=create,
        )


@router.post(
    "/{authorization_id}/release",
    dependencies=OPERATOR_ONLY,
    response_model=AuthorizationAnswer,
)
def release_authorization(
    authorization_id: str,
    idempotency_key: IdempotencyKey = None,
    rt: Runtime = Depends(runtime),
) -> JSONResponse:
    now = rt.clock.now()
    with rt.database.write() as session:
        account, authorization = _locked(session, authorization_id, now)

        def create() -> dict[str, Any]:
            calls.release(session, account, authorization, now=now)
            return _answer(authorization)

        return answer_step_once(
            session,
            account_id=account.id,
            scope="authorizations.release",
            key=idempotency_key,
            payload={"authorization_id": authorization.id},
            now=now,
            create=create,
        )
