"""Where an account's credit stands: its buckets, its open lots, and views of both."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tollgate.ledger import hooks, rules
from tollgate.ledger.models import POOL, Account, Bucket, Lot


def find_bucket(session: Session, account_id: str, unit: str, list_id: str) -> Bucket | None:
    return session.get(Bucket, (account_id, unit, list_id))


def open_pool(session: Session, account_id: str, unit: str) -> Bucket:
    """The account's unassigned pool in ``unit``, created empty if it has none yet."""
    bucket = find_bucket(session, account_id, unit, POOL)
    if bucket is None:
        bucket = Bucket(account_id=account_id, unit=unit, list_id=POOL, balance=0, reserved=0)
        session.add(bucket)
    return bucket


def spending_bucket(session: Session, account: Account, unit: str, list_id: str | None) -> Bucket:
    """The bucket that pays for a list (:func:`tollgate.ledger.rules.paying_bucket`),
    the pool created if need be."""
    bucket = rules.paying_bucket(
        account, unit, list_id, lambda u, name: find_bucket(session, account.id, u, name)
    )
    return bucket if bucket is not None else open_pool(session, account.id, unit)


def buckets_of(session: Session, account_id: str, unit: str | None = None) -> list[Bucket]:
    stmt = select(Bucket).where(Bucket.account_id == account_id)
    if unit is not None:
        stmt = stmt.where(Bucket.unit == unit)
    return list(session.scalars(stmt.order_by(Bucket.unit, Bucket.list_id)))


def open_lots(session: Session, account_id: str, unit: str) -> list[Lot]:
    lots = session.scalars(
        select(Lot).where(Lot.account_id == account_id, Lot.unit == unit, Lot.remaining > 0)
    )
    return sorted(lots, key=rules.draw_down_key)


def available_for(
    session: Session,
    account: Account,
    *,
    unit: str,
    now: datetime,
    list_id: str | None = None,
    tag: str | None = None,
) -> int:
    """What a charge for ``list_id`` and ``tag`` could spend now: it must fit both the
    paying bucket and the applicable lots."""
    bucket = rules.paying_bucket(
        account, unit, list_id, lambda u, name: find_bucket(session, account.id, u, name)
    )
    if rules.bucket_available(bucket) <= 0:
        return 0
    return rules.available(bucket, open_lots(session, account.id, unit), tag, now)


def money_totals(session: Session, account: Account) -> tuple[int, int]:
    """The account's money credit in every bucket: (balance, reserved)."""
    total, reserved = session.execute(
        select(
            func.coalesce(func.sum(Bucket.balance), 0), func.coalesce(func.sum(Bucket.reserved), 0)
        ).where(Bucket.account_id == account.id, Bucket.unit == account.unit)
    ).one()
    return int(total), int(reserved)


def credit_figures(session: Session, account: Account) -> hooks.CreditFigures:
    total, reserved = money_totals(session, account)
    return hooks.CreditFigures(account.status, account.debt, total, reserved)


@contextmanager
def debiting(session: Session, account: Account) -> Iterator[None]:
    """Tell the after-debit hooks the account's figures before and after the block
    (nothing is read when no hook listens)."""
    if not hooks.listening():
        yield
        return
    before = credit_figures(session, account)
    yield
    after = credit_figures(session, account)
    if after != before:
        hooks.debited(session, hooks.Debited(account.id, account.unit, before, after))


# --- views --------------------------------------------------------------------------


@dataclass(slots=True)
class BucketFigures:
    """A bucket's figures, detached from the session (views, in-memory batches)."""

    list_id: str
    balance: int
    reserved: int
    unit: str = ""

    @property
    def available(self) -> int:
        return self.balance - self.reserved


@dataclass
class BalanceView:
    account: Account
    unassigned: BucketFigures
    lists: list[BucketFigures]
    lots: list[Lot]
    allowances: list[tuple[str, int, int]]  # unit, remaining, reserved

    @property
    def total(self) -> int:
        return self.unassigned.balance + sum(b.balance for b in self.lists)

    @property
    def reserved(self) -> int:
        return self.unassigned.reserved + sum(b.reserved for b in self.lists)

    @property
    def available(self) -> int:
        return self.total - self.reserved


def balance_view(session: Session, account: Account) -> BalanceView:
    """The account's credit as it stands (lock it first for exactness: locking catches
    up on expiry that fell due)."""
    buckets = buckets_of(session, account.id)
    money = [b for b in buckets if b.unit == account.unit]
    pool = next((b for b in money if b.list_id == POOL), None)
    lots = sorted(
        session.scalars(select(Lot).where(Lot.account_id == account.id, Lot.remaining > 0)),
        key=lambda lot: (lot.unit != account.unit, lot.unit, rules.draw_down_key(lot)),
    )
    allowances = [
        (b.unit, b.balance, b.reserved)
        for b in buckets
        if b.unit != account.unit and b.list_id == POOL
    ]
    return BalanceView(
        account=account,
        unassigned=BucketFigures(POOL, pool.balance if pool else 0, pool.reserved if pool else 0),
        lists=[BucketFigures(b.list_id, b.balance, b.reserved) for b in money if b.list_id != POOL],
        lots=lots,
        allowances=allowances,
    )


def note_due(account: Account, moment: datetime | None) -> None:
    """Remember that something of the account falls due at ``moment``."""
    if moment is not None and (account.next_due_at is None or moment < account.next_due_at):
        account.next_due_at = moment
