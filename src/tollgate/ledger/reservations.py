"""Reservations: credit held for a scheduled send or a call in progress.

A reservation holds credit in the bucket that will pay and in lots (draw-down
order) until it is captured (charged, the rest released), released, or it lapses
at ``expires_at`` — a two-phase transfer. A held part of a lot that expired while
held expires when its reservation ends.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from tollgate.errors import Conflict, InvalidRequest, NotFound
from tollgate.ledger import rules
from tollgate.ledger.balances import (
    debiting,
    find_bucket,
    note_due,
    open_lots,
    spending_bucket,
)
from tollgate.ledger.journal import BREAKAGE, post_entry
from tollgate.ledger.models import Account, Lot, Reservation, ReservationHold
from tollgate.ledger.rules import ChargeResult, Draw, Leg


def new_reservation_id() -> str:
    return "res_" + secrets.token_hex(12)


def reservation_not_found(reservation_id: str) -> NotFound:
    return NotFound(f"reservation {reservation_id!r} does not exist", code="reservation_not_found")


def get_reservation(session: Session, reservation_id: str) -> Reservation:
    reservation = session.get(Reservation, reservation_id, populate_existing=True)
    if reservation is None:
        raise reservation_not_found(reservation_id)
    return reservation


def reserve(
    session: Session,
    account: Account,
    *,
    amount: int,
    now: datetime,
    unit: str | None = None,
    list_id: str | None = None,
    tag: str | None = None,
    expires_at: datetime | None = None,
    reservation_id: str | None = None,
) -> Reservation:
    """Hold credit in the paying bucket and in lots (draw-down order)."""
    unit = unit or account.unit
    if amount <= 0:
        raise InvalidRequest("amount must be greater than zero", code="invalid_amount")
    rules.check_amount(amount, "this reservation")
    if expires_at is not None and expires_at <= now:
        raise InvalidRequest("expires_at must be in the future", code="invalid_expiry")
    rules.refuse_if_blocked(account)
    bucket = spending_bucket(session, account, unit, list_id)
    lots = open_lots(session, account.id, unit)
    lots_available = rules.spendable(lots, tag, now)
    if bucket.available < amount or lots_available < amount:
        raise rules.insufficient_credit(bucket, lots_available, amount, unit)
    reservation = Reservation(
        id=reservation_id or new_reservation_id(),
        account_id=account.id,
        unit=unit,
        list_id=list_id,
        bucket_list_id=bucket.list_id,
        tag=tag,
        amount=amount,
        held=amount,
        status="held",
        created_at=now,
        expires_at=expires_at,
    )
    session.add(reservation)
    session.flush()
    for lot, take in rules.plan_draw(lots, amount, tag, now):
        lot.reserved += take
        session.add(
            ReservationHold(
                reservation_id=reservation.id, lot_id=lot.id, account_id=account.id, amount=take
            )
        )
    bucket.reserved += amount
    note_due(account, expires_at)
    session.flush()
    return reservation


def postpone_lapse(
    session: Session, account: Account, reservation: Reservation, expires_at: datetime
) -> None:
    """Keep a held reservation until at least ``expires_at`` (never shortens it)."""
    _require_held(reservation)
    if reservation.expires_at is not None and reservation.expires_at < expires_at:
        reservation.expires_at = expires_at
        note_due(account, expires_at)


def holds_of(session: Session, reservation: Reservation) -> list[tuple[int, int]]:
    return [
        (hold.lot_id, hold.amount)
        for hold in session.scalars(
            select(ReservationHold)
            .where(
                ReservationHold.reservation_id == reservation.id,
                ReservationHold.account_id == reservation.account_id,
                ReservationHold.amount > 0,
            )
            .order_by(ReservationHold.lot_id)
        )
    ]


def capture(
    session: Session,
    account: Account,
    reservation: Reservation,
    amount: int,
    *,
    now: datetime,
    counterparty: str | None = None,
    reference: str | None = None,
) -> ChargeResult:
    """Charge ``amount`` against a reservation and release the rest.

    More than the reservation holds draws the excess from available credit, or
    fails with nothing charged.
    """
    if amount < 0:
        raise InvalidRequest("amount must not be negative", code="invalid_amount")
    part = HeldCharge(
        reservation.unit, amount, [reservation], allow_debt=False, release_untouched=False
    )
    return capture_in_turn(
        session,
        account,
        [part],
        now=now,
        tag=reservation.tag,
        counterparty=counterparty,
        reference=reference or reservation.id,
    )


def release(session: Session, account: Account, reservation: Reservation, *, now: datetime) -> None:
    finish_reservation(session, account, reservation, status="released", now=now, at=now)


@dataclass(slots=True)
class HeldCharge:
    """``amount`` of ``unit`` to charge from ``reservations`` in turn, then from the
    credit available to ``list_id``, then (with ``allow_debt``) into debt."""

    unit: str
    amount: int
    reservations: Sequence[Reservation]
    list_id: str | None = None
    allow_debt: bool = True
    # A reservation nothing is taken from ends ``released`` (a call's spare slice), or
    # ``captured`` at zero (an explicit capture of nothing).
    release_untouched: bool = True


def capture_in_turn(
    session: Session,
    account: Account,
    parts: Sequence[HeldCharge],
    *,
    now: datetime,
    tag: str | None,
    counterparty: str | None = None,
    reference: str | None = None,
) -> ChargeResult:
    """Charge what reservations hold, as one journal entry: one charge per call.

    Each reservation pays what it can in turn and releases the rest (a reservation
    nothing is taken from is released). What the reservations cannot pay is debited
    from available credit by the ledger's rules; a part without ``allow_debt`` that
    does not fit is refused with nothing changed.
    """
    for part in parts:
        for reservation in part.reservations:
            _require_held(reservation)
            if reservation.account_id != account.id:
                raise AssertionError("reservation belongs to another account")  # pragma: no cover
    with debiting(session, account):
        # The excess first: it is checked (and may be refused) before anything changes,
        # and it draws from credit outside the holds, which are spent below anyway.
        excess = [_excess_debit(session, account, part, tag=tag, now=now) for part in parts]
        spent = rules.Debit()
        breakage: list[Leg] = []
        for part, beyond in zip(parts, excess, strict=True):
            breakage += _spend_in_turn(session, account, part, spent, now=now)
            if beyond is not None:
                spent.legs += beyond.legs
                spent.draws += beyond.draws
                spent.debt_added += beyond.debt_added
            if part.amount:
                credit_account = counterparty or rules.revenue_account(tag)
                spent.legs.append((credit_account, part.unit, part.amount, None))
        result = ChargeResult(
            draws=rules.merge_draws(spent.draws),
            amount=sum(p.amount for p in parts),
            debt_added=spent.debt_added,
        )
        if spent.legs:
            entry = post_entry(
                session, account, "capture", spent.legs, now=now, reference=reference
            )
            result.entry_id = entry.id
        _post_breakage(
            session, account, breakage, now=now, at=now, status="captured", reference=reference
        )
        session.flush()
    return result


def _excess_debit(
    session: Session, account: Account, part: HeldCharge, *, tag: str | None, now: datetime
) -> rules.Debit | None:
    """Debit what ``part`` charges beyond its reservations' holds (None when nothing),
    from the bucket that holds them, without the credit side (the capture posts it)."""
    excess = max(0, part.amount - sum(r.held for r in part.reservations))
    if not excess:
        return None
    if part.reservations:
        bucket = find_bucket(session, account.id, part.unit, part.reservations[0].bucket_list_id)
    else:
        bucket = spending_bucket(session, account, part.unit, part.list_id)
    take = rules.Take(part.unit, excess, bucket, open_lots(session, account.id, part.unit))
    return rules.debit(
        account, [take], tag=tag, now=now, allow_debt=part.allow_debt, counter_legs=False
    )


def _spend_in_turn(
    session: Session, account: Account, part: HeldCharge, spent: rules.Debit, *, now: datetime
) -> list[Leg]:
    """Spend ``part`` from its reservations in turn into ``spent``, ending each; returns
    the breakage legs of held parts whose lot expired meanwhile."""
    breakage: list[Leg] = []
    left = part.amount
    for position, reservation in enumerate(part.reservations, 1):
        take = min(reservation.held, left)
        left -= take
        status = "released" if not take and part.release_untouched else "captured"
        done, broken = _consume(session, account, reservation, take, status=status, now=now, at=now)
        if position == len(part.reservations) and status == "captured":
            # The excess is charged against the last reservation of the turn.
            reservation.captured = take + left
        spent.legs += done.legs
        spent.draws += done.draws
        breakage += broken
    return breakage


def finish_reservation(
    session: Session,
    account: Account,
    reservation: Reservation,
    *,
    status: str,
    now: datetime,
    at: datetime,
) -> None:
    """End a reservation without charging it (released or lapsed at ``at``)."""
    _require_held(reservation)
    spent, broken = _consume(session, account, reservation, 0, status=status, now=now, at=at)
    assert not spent.legs
    _post_breakage(
        session, account, broken, now=now, at=at, status=status, reference=reservation.id
    )
    session.flush()


def _require_held(reservation: Reservation) -> None:
    if reservation.status != "held":
        raise Conflict(
            f"reservation {reservation.id} is already {reservation.status}",
            code="reservation_not_held",
        )


def _consume(
    session: Session,
    account: Account,
    reservation: Reservation,
    amount: int,
    *,
    status: str,
    now: datetime,
    at: datetime,
) -> tuple[rules.Debit, list[Leg]]:
    """Spend ``amount`` (at most what is held) of a reservation's holds, in draw-down
    order, and end it. Returns the spending legs (without their credit side) and
    the breakage legs of held parts whose lot expired meanwhile."""
    unit = reservation.unit
    bucket = find_bucket(session, account.id, unit, reservation.bucket_list_id)
    assert bucket is not None, "a held reservation always has its bucket"
    holds = list(
        session.scalars(
            select(ReservationHold).where(
                ReservationHold.reservation_id == reservation.id,
                ReservationHold.account_id == account.id,
                ReservationHold.amount > 0,
            )
        )
    )
    held_lots = (
        {
            lot.id: lot
            for lot in session.scalars(
                select(Lot).where(
                    Lot.id.in_([h.lot_id for h in holds]), Lot.account_id == account.id
                )
            )
        }
        if holds
        else {}
    )
    holds.sort(key=lambda h: rules.draw_down_key(held_lots[h.lot_id]))
    spent = rules.Debit()
    breakage: list[Leg] = []
    to_charge = min(amount, reservation.held)
    for hold in holds:
        lot = held_lots[hold.lot_id]
        take = min(hold.amount, to_charge)
        to_charge -= take
        freed = hold.amount - take
        lot.reserved -= hold.amount
        lot.remaining -= take
        if take:
            spent.draws.append(Draw(lot.id, unit, take))
            spent.legs.append((bucket.ledger_account, unit, -take, lot.id))
        if freed and lot.expired_at is not None:
            # The lot expired while this part was held: it expires now. (A lot due at
            # this very instant but not yet expired gets the hold back and expires
            # whole, pool first, right after: settle orders lapses first.)
            lot.remaining -= freed
            breakage.append((bucket.ledger_account, unit, -freed, lot.id))
        hold.amount = 0
    taken = min(amount, reservation.held)
    broken = -sum(leg[2] for leg in breakage)
    bucket.reserved -= reservation.held
    bucket.balance -= taken + broken
    reservation.held = 0
    reservation.status = status
    reservation.ended_at = at
    reservation.captured = taken if status == "captured" else None
    return spent, breakage


def _post_breakage(
    session: Session,
    account: Account,
    breakage: list[Leg],
    *,
    now: datetime,
    at: datetime,
    status: str,
    reference: str | None,
) -> None:
    if not breakage:
        return
    units: dict[str, int] = {}
    for _, unit, amount, _ in breakage:
        units[unit] = units.get(unit, 0) - amount
    legs = breakage + [(BREAKAGE, unit, amount, None) for unit, amount in units.items()]
    post_entry(
        session,
        account,
        "expiry",
        legs,
        now=now,
        reference=reference,
        memo=f"held part of an expired lot, {status} at {at.isoformat()}",
    )


__all__ = [
    "HeldCharge",
    "capture",
    "capture_in_turn",
    "finish_reservation",
    "get_reservation",
    "holds_of",
    "new_reservation_id",
    "postpone_lapse",
    "release",
    "reservation_not_found",
    "reserve",
]
