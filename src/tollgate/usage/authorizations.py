"""Online charging for calls (like Diameter Ro): authorize, extend, capture, release.

An authorization answers ``max_seconds`` — the longest call the available credit
covers (plan seconds first, then money after the connect fee, in whole billing
increments) — and reserves one slice of it (``granted_seconds``, default 300 s),
so that many calls of one account can run at once. ``extend`` reserves the next
slice. ``capture`` rates the real duration exactly like a usage event and charges
it from what the slices hold, then from available credit, and finally into debt:
the call happened, so capture never fails for lack of credit.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from tollgate import ledger
from tollgate.errors import Conflict, InsufficientCredit, NotFound
from tollgate.ledger.models import Account, Reservation
from tollgate.ledger.rules import refuse_if_blocked
from tollgate.money import format_amount
from tollgate.rating.rater import MAX_CALL_SECONDS, PriceRow, RatableEvent, Rating
from tollgate.rating.service import PriceListResolver
from tollgate.usage.calls import (
    MICROS,
    SECONDS,
    increments,
    max_call_seconds,
    money_seconds,
    split_call,
)
from tollgate.usage.models import Authorization, AuthorizationSlice, UsageEvent
from tollgate.usage.service import answer_of_with_json, rate_for_account

TAG = "voice"


@dataclass(frozen=True)
class CallPolicy:
    slice_seconds: int = 300
    # How long a slice stays reserved past the time it covers before it lapses.
    grace_seconds: int = 600


def _slice(row: PriceRow, slice_seconds: int, limit: int) -> int:
    """One slice: at most ``slice_seconds`` (at least the first increment), in increments."""
    first, step = increments(row)
    size = first + max(0, slice_seconds - first) // step * step
    return min(size, limit)


def _allowance(session: Session, account: Account, now: datetime) -> int:
    """Whole seconds of plan allowance that could pay for a call now."""
    return ledger.available_for(session, account, unit=SECONDS, tag=TAG, now=now) // MICROS


def _figures(
    session: Session, account: Account, list_id: str | None, now: datetime
) -> tuple[int, int]:
    money = ledger.available_for(
        session, account, unit=account.unit, list_id=list_id, tag=TAG, now=now
    )
    return _allowance(session, account, now), money


def _reserve_seconds(
    session: Session,
    account: Account,
    authorization: Authorization,
    row: PriceRow,
    seconds: int,
    allowance: int,
    *,
    connect_fee: int,
    now: datetime,
    expires_at: datetime,
) -> None:
    """Hold ``seconds`` of call time: plan seconds first, the rest as money."""
    from_allowance, money = split_call(seconds, allowance, row, connect_fee)
    for unit, amount, list_id in (
        (SECONDS, from_allowance * MICROS, None),
        (account.unit, money, authorization.list_id),
    ):
        if amount <= 0:
            continue
        reservation = ledger.reserve(
            session,
            account,
            amount=amount,
            unit=unit,
            list_id=list_id,
            tag=TAG,
            now=now,
            expires_at=expires_at,
        )
        session.add(
            AuthorizationSlice(
                authorization_id=authorization.id,
                reservation_id=reservation.id,
                account_id=account.id,
            )
        )


def authorize(
    session: Session,
    account: Account,
    *,
    direction: str,
    to: str,
    list_id: str | None,
    now: datetime,
    resolver: PriceListResolver,
    policy: CallPolicy,
) -> tuple[Authorization, int]:
    """Open an authorization; returns it with ``max_seconds``."""
    refuse_if_blocked(account)
    row = _row(resolver, account, direction, to, now)
    allowance, money = _figures(session, account, list_id, now)
    longest = max_call_seconds(row, allowance, money)
    if longest == 0:
        raise InsufficientCredit(
            f"the available credit does not cover the first {increments(row)[0]} s of a call "
            f"to {to} (connect fee {format_amount(row.connect_fee)} {account.unit})"
        )
    granted = _slice(row, policy.slice_seconds, longest)
    expires_at = now + timedelta(seconds=granted + policy.grace_seconds)
    authorization = Authorization(
        id="auth_" + secrets.token_hex(12),
        account_id=account.id,
        direction=direction,
        to=to,
        list_id=list_id,
        granted_seconds=granted,
        status="active",
        created_at=now,
        expires_at=expires_at,
    )
    session.add(authorization)
    session.flush()
    _reserve_seconds(
        session,
        account,
        authorization,
        row,
        granted,
        allowance,
        connect_fee=row.connect_fee,
        now=now,
        expires_at=expires_at,
    )
    return authorization, longest


def extend(
    session: Session,
    account: Account,
    authorization: Authorization,
    *,
    now: datetime,
    resolver: PriceListResolver,
    policy: CallPolicy,
) -> int:
    """Reserve the next slice; returns the new ``max_seconds``. 402 when none is left
    (the authorization keeps what it holds)."""
    _require_active(authorization)
    refuse_if_blocked(account)
    row = _row(
        resolver, account, authorization.direction, authorization.to, authorization.created_at
    )
    _, step = increments(row)
    allowance, money = _figures(session, account, authorization.list_id, now)
    covered = money_seconds(row, money)
    more = min(allowance + max(covered, 0), MAX_CALL_SECONDS) // step * step
    if more <= 0:
        raise InsufficientCredit(
            f"no credit is left to extend authorization {authorization.id} beyond "
            f"{authorization.granted_seconds} s"
        )
    add = min(max(step, policy.slice_seconds // step * step), more)
    expires_at = now + timedelta(seconds=add + policy.grace_seconds)
    _reserve_seconds(
        session,
        account,
        authorization,
        row,
        add,
        allowance,
        connect_fee=0,
        now=now,
        expires_at=expires_at,
    )
    for reservation in _held_slices(session, authorization):
        ledger.postpone_lapse(session, account, reservation, expires_at)
    authorization.granted_seconds += add
    authorization.expires_at = expires_at
    return authorization.granted_seconds + (more - add)


def capture(
    session: Session,
    account: Account,
    authorization: Authorization,
    duration_seconds: int,
    *,
    now: datetime,
    resolver: PriceListResolver,
) -> dict[str, object]:
    """Charge the real call, as one journal entry whatever the number of slices.

    Never refused for lack of credit: what the slices and available credit cannot pay
    becomes debt.
    """
    _require_active(authorization)
    event = RatableEvent(
        channel="voice",
        direction=authorization.direction,
        to=authorization.to,
        duration_seconds=duration_seconds,
    )
    rating = rate_for_account(resolver, account, event, authorization.created_at)
    slices = _held_slices(session, authorization)
    held_seconds = [r for r in slices if r.unit == SECONDS]
    held_money = [r for r in slices if r.unit == account.unit]
    held = sum(r.held for r in held_seconds) // MICROS
    seconds, money = split_call(
        rating.billed_units,
        held + _allowance(session, account, now),
        rating.row,
        rating.connect_fee,
    )
    result = ledger.capture_in_turn(
        session,
        account,
        [
            ledger.HeldCharge(SECONDS, seconds * MICROS, held_seconds),
            ledger.HeldCharge(account.unit, money, held_money, list_id=authorization.list_id),
        ],
        now=now,
        tag=TAG,
        reference=f"usage:{authorization.id}",
    )
    total, reserved = ledger.money_totals(session, account)
    answer, answer_json = answer_of_with_json(
        event_id=authorization.id,
        unit=account.unit,
        money=money,
        quantity=rating.quantity,
        quantity_unit=rating.quantity_unit,
        draws=result.draws,
        debt=result.debt_added,
        total=total,
        reserved=reserved,
    )
    session.add(
        _call_record(authorization, rating, money, seconds, result.debt_added, answer_json, now=now)
    )
    authorization.status = "captured"
    authorization.ended_at = now
    authorization.usage_event_id = authorization.id
    return answer


def _call_record(
    authorization: Authorization,
    rating: Rating,
    money: int,
    seconds: int,
    debt: int,
    answer_json: str,
    *,
    now: datetime,
) -> UsageEvent:
    """The usage event a captured call leaves, keyed by the authorization's id."""
    return UsageEvent(
        account_id=authorization.account_id,
        id=authorization.id,
        channel="voice",
        occurred_at=authorization.created_at,
        list_id=authorization.list_id,
        direction=authorization.direction,
        to=authorization.to,
        quantity=rating.quantity,
        quantity_unit=rating.quantity_unit,
        cost=money,
        unit=rating.unit,
        allowance_used=seconds,
        debt=debt,
        request_hash=authorization.id,
        answer=answer_json,
        recorded_at=now,
    )


def release(
    session: Session, account: Account, authorization: Authorization, *, now: datetime
) -> None:
    _require_active(authorization)
    for reservation in _held_slices(session, authorization):
        ledger.release(session, account, reservation, now=now)
    authorization.status = "released"
    authorization.ended_at = now


def authorization_not_found(authorization_id: str) -> NotFound:
    return NotFound(
        f"authorization {authorization_id!r} does not exist", code="authorization_not_found"
    )


def get_authorization(session: Session, authorization_id: str) -> Authorization:
    authorization = session.get(Authorization, authorization_id, populate_existing=True)
    if authorization is None:
        raise authorization_not_found(authorization_id)
    return authorization


def _require_active(authorization: Authorization) -> None:
    if authorization.status != "active":
        raise Conflict(
            f"authorization {authorization.id} is already {authorization.status}",
            code="authorization_not_active",
        )


def _held_slices(session: Session, authorization: Authorization) -> list[Reservation]:
    return list(
        session.scalars(
            select(Reservation)
            .join(AuthorizationSlice, AuthorizationSlice.reservation_id == Reservation.id)
            .where(
                AuthorizationSlice.authorization_id == authorization.id,
                Reservation.account_id == authorization.account_id,
                Reservation.status == "held",
            )
            .order_by(Reservation.created_at, Reservation.id)
        )
    )


def _row(
    resolver: PriceListResolver, account: Account, direction: str, to: str, at: datetime
) -> PriceRow:
    card = resolver.card_at(account.price_list_id, at)
    if card.unit != account.unit:
        rate_for_account(resolver, account, RatableEvent("voice", direction, to, 0), at)
    return card.match("voice", direction=direction, to=to)
