"""The ledger's invariants, checked against the stored state of one account.

Used by the tests after every step, and by ``tollgate ledger check`` on a live store.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tollgate.ledger.models import (
    Account,
    Bucket,
    JournalEntry,
    Lot,
    Posting,
    Reservation,
    ReservationHold,
    bucket_ledger_account,
)


@dataclass
class _Rows:
    """The account's stored rows the invariants compare."""

    account: Account
    lots: list[Lot]
    buckets: list[Bucket]
    reservations: list[Reservation]
    holds: list[ReservationHold]


def check_invariants(
    session: Session, account_id: str, *, now: datetime | None = None
) -> list[str]:
    """Return every violated invariant for the account (an empty list when all hold).

    With ``now``, also checks that no lot past its expiry still has unreserved
    credit (true after :func:`tollgate.ledger.settle`).
    """
    account = session.get(Account, account_id, populate_existing=True)
    if account is None:
        return [f"account {account_id!r} does not exist"]
    rows = _Rows(
        account,
        list(session.scalars(select(Lot).where(Lot.account_id == account_id))),
        list(session.scalars(select(Bucket).where(Bucket.account_id == account_id))),
        list(session.scalars(select(Reservation).where(Reservation.account_id == account_id))),
        list(
            session.scalars(select(ReservationHold).where(ReservationHold.account_id == account_id))
        ),
    )
    return [
        *_figures_in_range(rows, now),
        *_lots_match_buckets(rows),
        *_reservations_match_holds(rows),
        *_unbalanced_entries(session, account_id),
        *_journal_gives_every_figure(session, rows),
    ]


def _figures_in_range(rows: _Rows, now: datetime | None) -> list[str]:
    problems = []
    for lot in rows.lots:
        if not (0 <= lot.reserved <= lot.remaining <= lot.amount):
            problems.append(
                f"lot {lot.id}: need 0 <= reserved {lot.reserved} <= remaining "
                f"{lot.remaining} <= amount {lot.amount}"
            )
        expired = now is not None and lot.expires_at is not None and lot.expires_at <= now
        if expired and lot.remaining - lot.reserved > 0:
            problems.append(f"lot {lot.id} expired but still has unreserved credit")
    for bucket in rows.buckets:
        if not (0 <= bucket.reserved <= bucket.balance):
            problems.append(
                f"bucket {bucket.unit}/{bucket.list_id or 'pool'}: need 0 <= reserved "
                f"{bucket.reserved} <= balance {bucket.balance}"
            )
    if rows.account.debt < 0:
        problems.append(f"debt {rows.account.debt} is negative")
    return problems


def _lots_match_buckets(rows: _Rows) -> list[str]:
    """Per unit: Σ lots remaining = Σ bucket balances, Σ lots reserved = Σ reservations."""
    problems = []
    lots, buckets = rows.lots, rows.buckets
    units = {lot.unit for lot in lots} | {bucket.unit for bucket in buckets}
    for unit in sorted(units):
        lots_remaining = sum(lot.remaining for lot in lots if lot.unit == unit)
        lots_reserved = sum(lot.reserved for lot in lots if lot.unit == unit)
        buckets_balance = sum(b.balance for b in buckets if b.unit == unit)
        buckets_reserved = sum(b.reserved for b in buckets if b.unit == unit)
        if lots_remaining != buckets_balance:
            problems.append(
                f"{unit}: lots remaining {lots_remaining} != bucket balances {buckets_balance}"
            )
        if lots_reserved != buckets_reserved:
            problems.append(
                f"{unit}: lots reserved {lots_reserved} != bucket reservations {buckets_reserved}"
            )
    return problems


def _reservations_match_holds(rows: _Rows) -> list[str]:
    """What reservations hold is what their holds, lots and buckets say."""
    problems = []
    held_by_lot: dict[int, int] = defaultdict(int)
    held_by_reservation: dict[str, int] = defaultdict(int)
    for hold in rows.holds:
        held_by_lot[hold.lot_id] += hold.amount
        held_by_reservation[hold.reservation_id] += hold.amount
    for lot in rows.lots:
        if held_by_lot.get(lot.id, 0) != lot.reserved:
            problems.append(
                f"lot {lot.id}: reserved {lot.reserved} != its holds {held_by_lot.get(lot.id, 0)}"
            )
    held_by_bucket: dict[tuple[str, str], int] = defaultdict(int)
    for reservation in rows.reservations:
        if reservation.status == "held":
            held_by_bucket[(reservation.unit, reservation.bucket_list_id)] += reservation.held
        elif reservation.held:
            problems.append(
                f"reservation {reservation.id} is {reservation.status} but holds credit"
            )
        if held_by_reservation.get(reservation.id, 0) != reservation.held:
            problems.append(f"reservation {reservation.id}: held {reservation.held} != its holds")
    for bucket in rows.buckets:
        if held_by_bucket.get((bucket.unit, bucket.list_id), 0) != bucket.reserved:
            problems.append(
                f"bucket {bucket.unit}/{bucket.list_id or 'pool'}: reserved {bucket.reserved} != "
                f"held reservations {held_by_bucket.get((bucket.unit, bucket.list_id), 0)}"
            )
    return problems


def _unbalanced_entries(session: Session, account_id: str) -> list[str]:
    unbalanced = session.execute(
        select(Posting.entry_id, Posting.unit, func.sum(Posting.amount))
        .join(JournalEntry, JournalEntry.id == Posting.entry_id)
        .where(JournalEntry.account_id == account_id)
        .group_by(Posting.entry_id, Posting.unit)
        .having(func.sum(Posting.amount) != 0)
    ).all()
    return [
        f"journal entry {entry_id} does not balance in {unit}: {total}"
        for entry_id, unit, total in unbalanced
    ]


def _journal_gives_every_figure(session: Session, rows: _Rows) -> list[str]:
    """Replaying the journal gives every stored bucket balance, lot remaining and debt.

    The account's postings are read through its entries (ix_journal_entries_account,
    then ix_postings_entry): postings have no index on their own account_id. Grouping
    by that column too checks that every posting names its entry's account; a posting
    that does not is reported, and counted for neither account.
    """
    account = rows.account
    by_ledger_account: dict[tuple[str, str], int] = defaultdict(int)
    by_lot: dict[int, int] = defaultdict(int)
    strangers: dict[str, int] = defaultdict(int)
    for posting_account, ledger_account, unit, lot_id, total, count in session.execute(
        select(
            Posting.account_id,
            Posting.ledger_account,
            Posting.unit,
            Posting.lot_id,
            func.sum(Posting.amount),
            func.count(),
        )
        .join(JournalEntry, JournalEntry.id == Posting.entry_id)
        .where(JournalEntry.account_id == account.id)
        .group_by(Posting.account_id, Posting.ledger_account, Posting.unit, Posting.lot_id)
    ):
        if posting_account != account.id:
            strangers[posting_account] += int(count)
            continue
        by_ledger_account[(ledger_account, unit)] += int(total)
        if lot_id is not None and not ledger_account.startswith("system:"):
            by_lot[lot_id] += int(total)
    expected = {(bucket_ledger_account(b.list_id), b.unit): b.balance for b in rows.buckets}
    problems = []
    for (ledger_account, unit), total in by_ledger_account.items():
        if ledger_account.startswith("system:"):
            continue
        if ledger_account == "debt":
            want = -account.debt if unit == account.unit else 0
        else:
            want = expected.get((ledger_account, unit), 0)
        if total != want:
            problems.append(f"journal gives {ledger_account}/{unit} = {total}, stored {want}")
    for key, balance in expected.items():
        if balance and key not in by_ledger_account:
            problems.append(f"bucket {key} holds {balance} with no journal postings")
    for other, count in sorted(strangers.items()):
        problems.append(
            f"{count} postings of this account's journal entries name account {other!r}"
        )
    for lot in rows.lots:
        if by_lot.get(lot.id, 0) != lot.remaining:
            problems.append(
                f"lot {lot.id}: journal gives remaining {by_lot.get(lot.id, 0)}, "
                f"stored {lot.remaining}"
            )
    return problems


def journal_total(session: Session) -> int:
    """Σ of every posting in the store: zero when every entry balances."""
    return int(session.scalar(select(func.coalesce(func.sum(Posting.amount), 0))) or 0)
