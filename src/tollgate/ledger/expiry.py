"""Locking an account, and catching up on what fell due: expiry and lapses.

Every operation on an account first locks it (:func:`lock_account`) and settles
what fell due by its instant, so a charge never spends an expired lot even if no
job has run yet. Expiry removes a lot's unreserved remainder at ``expires_at``:
first from the pool's available credit, the rest from the list allocations in
proportion to their available credit (largest remainder, ties by ``list_id``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tollgate.errors import NotFound
from tollgate.ledger.balances import buckets_of, debiting, open_pool
from tollgate.ledger.journal import BREAKAGE, post_entry
from tollgate.ledger.models import POOL, Account, Lot, Reservation
from tollgate.ledger.reservations import finish_reservation
from tollgate.ledger.rules import Leg, bucket_ledger_account
from tollgate.money import split_proportionally


@dataclass
class SettleReport:
    lots_expired: int = 0
    expired_micros: dict[str, int] = field(default_factory=dict)
    reservations_lapsed: int = 0


def lock_account(session: Session, account_id: str, *, now: datetime) -> Account:
    """Lock the account for the rest of the transaction and settle what fell due.

    On SQLite the transaction already holds the write lock (``BEGIN IMMEDIATE``); on
    PostgreSQL the account row is locked, which serialises every writer of the
    account while leaving other accounts free.
    """
    found = lock_accounts(session, [account_id], now=now)
    if account_id not in found:
        raise NotFound(f"account {account_id!r} does not exist", code="account_not_found")
    return found[account_id]


def lock_accounts(
    session: Session, account_ids: Iterable[str], *, now: datetime
) -> dict[str, Account]:
    """Lock several accounts at once, always in id order (so that two transactions
    locking overlapping sets cannot deadlock), and settle each. Missing ids are absent
    from the answer."""
    ids = sorted(set(account_ids))
    found: dict[str, Account] = {}
    for start in range(0, len(ids), 500):
        stmt = (
            select(Account)
            .where(Account.id.in_(ids[start : start + 500]))
            .order_by(Account.id)
            .execution_options(populate_existing=True)
        )
        if session.get_bind().dialect.name != "sqlite":
            stmt = stmt.with_for_update()
        for account in session.scalars(stmt):
            found[account.id] = account
    for account in found.values():
        settle(session, account, now=now)
    return found


def is_due(account: Account, now: datetime) -> bool:
    return account.next_due_at is not None and account.next_due_at <= now


def settle(session: Session, account: Account, *, now: datetime) -> SettleReport:
    """Expire lots and lapse reservations due by ``now``, in the order they fell due."""
    report = SettleReport()
    if not is_due(account, now):
        return report
    due: list[tuple[datetime, int, Lot | Reservation]] = []
    for lot in session.scalars(
        select(Lot).where(
            Lot.account_id == account.id,
            Lot.expired_at.is_(None),
            Lot.expires_at.is_not(None),
            Lot.expires_at <= now,
        )
    ):
        assert lot.expires_at is not None
        due.append((lot.expires_at, 1, lot))
    for reservation in session.scalars(
        select(Reservation).where(
            Reservation.account_id == account.id,
            Reservation.status == "held",
            Reservation.expires_at.is_not(None),
            Reservation.expires_at <= now,
        )
    ):
        assert reservation.expires_at is not None
        # At the same instant a reservation lapses before a lot expires: the hold
        # returns to its lot, which then expires whole.
        due.append((reservation.expires_at, 0, reservation))
    # Lots due at one instant expire in id (creation) order: the pro-rata split of each
    # depends on what the previous one left. Items of one kind share an id type.
    due.sort(key=lambda item: (item[0], item[1], item[2].id))
    with debiting(session, account):
        for at, _, item in due:
            if isinstance(item, Lot):
                removed = _expire_lot(session, account, item, at=at, now=now)
                report.lots_expired += 1
                if removed:
                    expired = report.expired_micros
                    expired[item.unit] = expired.get(item.unit, 0) + removed
            else:
                finish_reservation(session, account, item, status="lapsed", now=now, at=at)
                report.reservations_lapsed += 1
        _recompute_next_due(session, account)
    return report


def _recompute_next_due(session: Session, account: Account) -> None:
    next_lot = session.scalar(
        select(func.min(Lot.expires_at)).where(
            Lot.account_id == account.id,
            Lot.expired_at.is_(None),
            Lot.remaining > 0,
        )
    )
    next_reservation = session.scalar(
        select(func.min(Reservation.expires_at)).where(
            Reservation.account_id == account.id,
            Reservation.status == "held",
        )
    )
    candidates = [moment for moment in (next_lot, next_reservation) if moment is not None]
    account.next_due_at = min(candidates) if candidates else None


def _expire_lot(
    session: Session, account: Account, lot: Lot, *, at: datetime, now: datetime
) -> int:
    """Remove a lot's unreserved remainder: pool first, then lists pro rata."""
    lot.expired_at = at
    gone = lot.remaining - lot.reserved
    if gone <= 0:
        return 0
    unit = lot.unit
    buckets = buckets_of(session, account.id, unit)
    pool = next((b for b in buckets if b.list_id == POOL), None) or open_pool(
        session, account.id, unit
    )
    lists = [b for b in buckets if b.list_id != POOL]
    from_pool = min(pool.available, gone)
    shares = split_proportionally(gone - from_pool, [(b.list_id, b.available) for b in lists])
    legs: list[Leg] = [(bucket_ledger_account(POOL), unit, -from_pool, lot.id)]
    pool.balance -= from_pool
    for allocation in lists:
        share = shares.get(allocation.list_id, 0)
        if share:
            allocation.balance -= share
            legs.append((allocation.ledger_account, unit, -share, lot.id))
    legs.append((BREAKAGE, unit, gone, None))
    lot.remaining -= gone
    post_entry(
        session,
        account,
        "expiry",
        legs,
        now=now,
        reference=f"lot:{lot.id}",
        memo=f"lot {lot.id} expired at {at.isoformat()}",
    )
    session.flush()
    return gone
