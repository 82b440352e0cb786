"""Credit in and credit out at once: grants, list allocations and direct charges."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from tollgate.errors import Conflict, InsufficientCredit, InvalidRequest, NotFound
from tollgate.ledger import rules
from tollgate.ledger.balances import (
    find_bucket,
    note_due,
    open_lots,
    open_pool,
    spending_bucket,
)
from tollgate.ledger.journal import SOURCE_ACCOUNTS, post_entry
from tollgate.ledger.models import LOT_SOURCES, POOL, Account, Bucket, Lot, Reservation
from tollgate.ledger.rules import DEBT, ChargeResult, Leg
from tollgate.ledger.session import SessionCredit, SessionLedger
from tollgate.money import MAX_BALANCE_MICROS, format_amount


def grant(
    session: Session,
    account: Account,
    *,
    amount: int,
    now: datetime,
    unit: str | None = None,
    source: str = "grant",
    expires_at: datetime | None = None,
    priority: int = 100,
    applies_to: Sequence[str] | None = None,
    reference: str | None = None,
    memo: str | None = None,
) -> Lot:
    """Add a lot to the account's pool. Money credit pays any debt first."""
    unit = unit or account.unit
    if amount <= 0:
        raise InvalidRequest("amount must be greater than zero", code="invalid_amount")
    if source not in LOT_SOURCES:
        raise InvalidRequest(
            f"source must be one of {', '.join(LOT_SOURCES)}", code="invalid_source"
        )
    if expires_at is not None and expires_at <= now:
        raise InvalidRequest("expires_at must be in the future", code="invalid_expiry")
    if account.status == "closed":
        raise Conflict(f"account {account.id!r} is closed", code="account_closed")
    tags = ",".join(sorted(set(applies_to))) if applies_to else None
    pool = open_pool(session, account.id, unit)
    if pool.balance + amount > MAX_BALANCE_MICROS:
        raise InvalidRequest(
            "this grant would exceed the largest balance an account may hold", code="balance_limit"
        )

    # Only credit that may pay for anything settles debt: debt is money owed for
    # usage of any kind.
    settles = min(account.debt, amount) if unit == account.unit and tags is None else 0
    lot = Lot(
        account_id=account.id,
        unit=unit,
        source=source,
        amount=amount,
        remaining=amount - settles,
        reserved=0,
        priority=priority,
        applies_to=tags,
        created_at=now,
        expires_at=expires_at,
    )
    session.add(lot)
    session.flush()
    legs: list[Leg] = [
        (SOURCE_ACCOUNTS[source], unit, -amount, None),
        (pool.ledger_account, unit, amount - settles, lot.id),
        (DEBT, unit, settles, None),
    ]
    post_entry(
        session, account, "grant", legs, now=now, reference=reference or f"lot:{lot.id}", memo=memo
    )
    pool.balance += amount - settles
    if settles:
        account.debt -= settles
        if account.debt == 0 and account.status == "blocked":
            account.status = "active"
    if lot.remaining > 0:
        note_due(account, expires_at)
    return lot


# --- allocations --------------------------------------------------------------------


def set_allocation(
    session: Session, account: Account, list_id: str, amount: int, *, now: datetime
) -> Bucket:
    """Set a list's allocated balance, moving credit between the pool and the list."""
    if not list_id:
        raise InvalidRequest("list_id must not be empty", code="invalid_list_id")
    if amount < 0:
        raise InvalidRequest("amount must not be negative", code="invalid_amount")
    unit = account.unit
    pool = open_pool(session, account.id, unit)
    allocation = find_bucket(session, account.id, unit, list_id)
    current = allocation.balance if allocation is not None else 0
    delta = amount - current
    if delta > 0 and pool.available < delta:
        raise InsufficientCredit(
            f"the unassigned pool has {format_amount(pool.available)} {unit} available; "
            f"allocating {format_amount(amount)} to list {list_id!r} needs "
            f"{format_amount(delta)} more",
        )
    if allocation is not None and amount < allocation.reserved:
        raise Conflict(
            f"list {list_id!r} has {format_amount(allocation.reserved)} {unit} reserved; "
            "its allocation cannot be set below that",
            code="allocation_below_reserved",
        )
    if allocation is None:
        allocation = Bucket(
            account_id=account.id, unit=unit, list_id=list_id, balance=0, reserved=0
        )
        session.add(allocation)
    if delta:
        post_entry(
            session,
            account,
            "allocation",
            [
                (pool.ledger_account, unit, -delta, None),
                (allocation.ledger_account, unit, delta, None),
            ],
            now=now,
            reference=f"list:{list_id}",
        )
        pool.balance -= delta
        allocation.balance += delta
    session.flush()
    return allocation


def delete_allocation(session: Session, account: Account, list_id: str, *, now: datetime) -> None:
    """Return a list's whole allocation to the pool and lift its limit.

    Reservations the list holds move to the pool with their credit.
    """
    unit = account.unit
    allocation = find_bucket(session, account.id, unit, list_id) if list_id else None
    if allocation is None:
        raise NotFound(f"list {list_id!r} has no allocation", code="allocation_not_found")
    pool = open_pool(session, account.id, unit)
    if allocation.balance:
        post_entry(
            session,
            account,
            "allocation",
            [
                (allocation.ledger_account, unit, -allocation.balance, None),
                (pool.ledger_account, unit, allocation.balance, None),
            ],
            now=now,
            reference=f"list:{list_id}",
            memo="allocation removed",
        )
    for reservation in session.scalars(
        select(Reservation).where(
            Reservation.account_id == account.id,
            Reservation.status == "held",
            Reservation.bucket_list_id == list_id,
            Reservation.unit == unit,
        )
    ):
        reservation.bucket_list_id = POOL
    pool.balance += allocation.balance
    pool.reserved += allocation.reserved
    session.delete(allocation)
    session.flush()


# --- charging -----------------------------------------------------------------------


def charge(
    session: Session,
    account: Account,
    *,
    amount: int,
    now: datetime,
    unit: str | None = None,
    list_id: str | None = None,
    tag: str | None = None,
    counterparty: str | None = None,
    reference: str | None = None,
    allow_debt: bool = False,
) -> ChargeResult:
    """Spend ``amount`` at once from the paying bucket and the applicable lots.

    Without ``allow_debt`` it is all or nothing. With it the charge always happens:
    what available credit cannot pay becomes the account's debt and blocks it
    (:func:`tollgate.ledger.rules.debit`).
    """
    unit = unit or account.unit
    if amount < 0:
        raise InvalidRequest("amount must not be negative", code="invalid_amount")
    if not allow_debt:
        rules.refuse_if_blocked(account)
    if amount == 0:
        return ChargeResult(draws=[], amount=0)
    take = rules.Take(
        unit,
        amount,
        spending_bucket(session, account, unit, list_id),
        open_lots(session, account.id, unit),
    )
    ledger = SessionLedger(session, now=now)
    outcome = ledger.debit(
        SessionCredit(session, account),
        [take],
        tag=tag,
        allow_debt=allow_debt,
        kind="charge",
        reference=reference,
        counterparty=counterparty,
    )
    ledger.write()
    return ChargeResult(
        draws=outcome.draws, amount=amount, debt_added=outcome.debt_added, entry_id=outcome.entry_id
    )
