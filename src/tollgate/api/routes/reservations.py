"""Reservations: hold credit, then capture or release it."""

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
    CaptureAnswer,
    ReservationAnswer,
    ReservationCapture,
    ReservationCreate,
)
from tollgate.api.views import draws_view, reservation_view
from tollgate.ledger import get_reservation, holds_of
from tollgate.ledger.models import Reservation

router = APIRouter(prefix="/v1", tags=["reservations"], responses=refusals(402, 409))


@router.post(
    "/accounts/{account_id}/reservations",
    status_code=201,
    dependencies=[Depends(requires(OPERATOR))],
    response_model=ReservationAnswer,
)
def create_reservation(
    account_id: str,
    body: ReservationCreate,
    idempotency_key: IdempotencyKey = None,
    rt: Runtime = Depends(runtime),
) -> JSONResponse:
    now = rt.clock.now()
    with rt.database.write() as session:
        account = ledger.lock_account(session, account_id, now=now)

        def create() -> dict[str, Any]:
            reservation = ledger.reserve(
                session,
                account,
                amount=body.amount,
                list_id=body.list_id,
                expires_at=body.expires_at,
                now=now,
            )
            return reservation_view(reservation, holds_of(session, reservation))

        reserved, replayed = idempotency.answer_once(
            session,
            account_id=account.id,
            scope="reservations",
            key=idempotency_key,
            payload=body.model_dump(mode="json"),
            now=now,
            create=create,
        )
    return answer(ReservationAnswer, reserved, status_code=201, replayed=replayed)


@router.get(
    "/reservations/{reservation_id}",
    dependencies=[Depends(requires("consumption.view"))],
    response_model=ReservationAnswer,
)
def read_reservation(reservation_id: str, rt: Runtime = Depends(runtime)) -> JSONResponse:
    now = rt.clock.now()
    with rt.database.read() as session:
        reservation = get_reservation(session, reservation_id)
        lapsed_unseen = (
            reservation.status == "held"
            and reservation.expires_at is not None
            and reservation.expires_at <= now
        )
        if not lapsed_unseen:
            found = reservation_view(reservation, holds_of(session, reservation))
            return answer(ReservationAnswer, found)
    # It lapsed since its account was last touched: catch up first, as the balance
    # does, so that it never reads as held past its expires_at.
    with rt.database.write() as session:
        _, reservation = _locked(session, reservation_id, now)
        caught_up = reservation_view(reservation, holds_of(session, reservation))
    return answer(ReservationAnswer, caught_up)


def _locked(session: Session, entity_id: str, now: datetime) -> tuple[Account, Reservation]:
    return lock_owner(session, get_reservation, entity_id, now)


@router.post(
    "/reservations/{reservation_id}/capture",
    dependencies=[Depends(requires(OPERATOR))],
    response_model=CaptureAnswer,
)
def capture_reservation(
    reservation_id: str,
    body: ReservationCapture,
    idempotency_key: IdempotencyKey = None,
    rt: Runtime = Depends(runtime),
) -> JSONResponse:
    now = rt.clock.now()
    with rt.database.write() as session:
        account, reservation = _locked(session, reservation_id, now)

        def create() -> dict[str, Any]:
            result = ledger.capture(session, account, reservation, body.amount, now=now)
            return {**reservation_view(reservation), "paid_by": draws_view(result.draws)}

        return answer_step_once(
            session,
            account_id=account.id,
            scope="reservations.capture",
            key=idempotency_key,
            payload={"reservation_id": reservation.id, **body.model_dump(mode="json")},
            now=now,
            create=create,
        )


@router.post(
    "/reservations/{reservation_id}/release",
    dependencies=[Depends(requires(OPERATOR))],
    response_model=ReservationAnswer,
)
def release_reservation(
    reservation_id: str,
    idempotency_key: IdempotencyKey = None,
    rt: Runtime = Depends(runtime),
) -> JSONResponse:
    now = rt.clock.now()
    with rt.database.write() as session:
        account, reservation = _locked(session, reservation_id, now)

        def create() -> dict[str, Any]:
            ledger.release(session, account, reservation, now=now)
            return reservation_view(reservation)

        return answer_step_once(
            session,
            account_id=account.id,
            scope="reservations.release",
            key=idempotency_key,
            payload={"reservation_id": reservation.id},
            now=now,
            create=create,
        )
