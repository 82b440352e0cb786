"""Ledger operations. Each takes a session inside the caller's transaction, never commits,
and checks everything before changing anything, so a refused operation leaves no trace.
"""

from __future__ import annotations

import secrets
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tollgate.accounts.models import Account
from tollgate.errors import Conflict, InsufficientCredit, InvalidRequest, NotFound
from tollgate.ledger.models import (
    LOT_SOURCES,
    POOL,
    Bucket,
    JournalEntry,
    Lot,
    Posting,
    Reservation,
    ReservationHold,
)
from tollgate.money import MAX_BALANCE_MICROS, format_amount, split_proportionally

DEBT = "debt"
BREAKAGE = "system:breakage"
SOURCE_ACCOUNTS = {
    "purchase": "system:purchases",
    "auto_recharge": "system:purchases",
    "bundle": "system:purchases",
    "grant": "system:grants",
    "plan_allowance": "system:allowances",
    "refund": "system:refunds",
}


@dataclass(frozen=True)
class Draw:
    """How much one lot paid (or holds) for an operation, in the lot's unit."""

    lot_id: int
    unit: str
    amount: int


@dataclass
class ChargeResult:
    draws: list[Draw]
    amount: int
    debt_added: int = 0
    entry_id: int | None = None


@dataclass
class SettleReport:
    lots_expired: int = 0
    expired_micros: dict[str, int] = field(default_factory=dict)
    reservations_lapsed: int = 0


# --- locking and catching up -------------------------------------------------------


def lock_account(session: Session, account_id: str, *, now: datetime) -> Account:
    """Lock the account for the rest of the transaction and settle what fell due.

    On SQLite the transaction already holds the write lock (``BEGIN IMMEDIATE``); on
    PostgreSQL the account row is locked, which serialises every writer of the
    account while leaving other accounts free.
    """
    stmt = select(Account).where(Account.id == account_id).execution_options(populate_existing=True)
    if session.get_bind().dialect.name != "sqlite":
        stmt = stmt.with_for_update()
    account = session.scalar(stmt)
    if account is None:
        raise NotFound(f"account {account_id!r} does not exist", code="account_not_found")
    settle(session, account, now=now)
    return account


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
    due: list[tuple[datetime, int, object]] = []
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
    for at, _, item in due:
        if isinstance(item, Lot):
            removed = _expire_lot(session, account, item, at=at, now=now)
            report.lots_expired += 1
            if removed:
                report.expired_micros[item.unit] = report.expired_micros.get(item.unit, 0) + removed
        else:
            assert isinstance(item, Reservation)
            _finish_reservation(session, account, item, 0, status="lapsed", now=now, at=at)
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


def _note_due(account: Account, moment: datetime | None) -> None:
    if moment is not None and (account.next_due_at is None or moment < account.next_due_at):
        account.next_due_at = moment


# --- buckets ------------------------------------------------------------------------


def _bucket(session: Session, account_id: str, unit: str, list_id: str) -> Bucket | None:
    return session.get(Bucket, (account_id, unit, list_id))


def pool_bucket(session: Session, account: Account, unit: str) -> Bucket:
    bucket = _bucket(session, account.id, unit, POOL)
    if bucket is None:
        bucket = Bucket(account_id=account.id, unit=unit, list_id=POOL, balance=0, reserved=0)
        session.add(bucket)
    return bucket


def spending_bucket(session: Session, account: Account, unit: str, list_id: str | None) -> Bucket:
    """The bucket that pays for a list: its allocation if it has one, else the pool."""
    if list_id and unit == account.unit:
        allocation = _bucket(session, account.id, unit, list_id)
        if allocation is not None:
            return allocation
    return pool_bucket(session, account, unit)


def buckets_of(session: Session, account_id: str, unit: str | None = None) -> list[Bucket]:
    stmt = select(Bucket).where(Bucket.account_id == account_id)
    if unit is not None:
        stmt = stmt.where(Bucket.unit == unit)
    return list(session.scalars(stmt.order_by(Bucket.unit, Bucket.list_id)))


# --- lots ---------------------------------------------------------------------------


_NEVER = datetime.max.replace(tzinfo=UTC)


def draw_down_key(lot: Lot) -> tuple:
    """(priority, soonest expiry first and never-expiring last, created_at, id)."""
    return (lot.priority, lot.expires_at or _NEVER, lot.created_at, lot.id)


def open_lots(session: Session, account_id: str, unit: str) -> list[Lot]:
    lots = session.scalars(
        select(Lot).where(Lot.account_id == account_id, Lot.unit == unit, Lot.remaining > 0)
    )
    return sorted(lots, key=draw_down_key)


def lot_pays_for(lot: Lot, tag: str | None, now: datetime) -> bool:
    if lot.expires_at is not None and lot.expires_at <= now:
        return False
    if lot.applies_to is None:
        return True
    return tag is not None and tag in lot.applies_to.split(",")


def spendable(lots: Iterable[Lot], tag: str | None, now: datetime) -> int:
    return sum(lot.available for lot in lots if lot_pays_for(lot, tag, now))


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
    if list_id and unit == account.unit:
        bucket = _bucket(session, account.id, unit, list_id) or _bucket(
            session, account.id, unit, POOL
        )
    else:
        bucket = _bucket(session, account.id, unit, POOL)
    if bucket is None or bucket.available <= 0:
        return 0
    return min(bucket.available, spendable(open_lots(session, account.id, unit), tag, now))


def plan_draw(
    lots: Sequence[Lot], amount: int, tag: str | None, now: datetime
) -> list[tuple[Lot, int]]:
    """Take ``amount`` from the lots in draw-down order; the caller checked it fits."""
    plan: list[tuple[Lot, int]] = []
    left = amount
    for lot in lots:
        if left == 0:
            break
        if not lot_pays_for(lot, tag, now) or lot.available <= 0:
            continue
        take = min(lot.available, left)
        plan.append((lot, take))
        left -= take
    if left:
        raise AssertionError("draw plan does not cover the amount")  # pragma: no cover
    return plan


# --- the journal --------------------------------------------------------------------

Leg = tuple[str, str, int, int | None]  # ledger_account, unit, amount, lot_id


def post_entry(
    session: Session,
    account: Account,
    kind: str,
    legs: Sequence[Leg],
    *,
    now: datetime,
    reference: str | None = None,
    memo: str | None = None,
) -> JournalEntry:
    """Append one balanced journal entry (legs sum to zero per unit)."""
    totals: dict[str, int] = defaultdict(int)
    for _, unit, amount, _ in legs:
        totals[unit] += amount
    if any(totals.values()):
        raise AssertionError(f"unbalanced journal entry {kind}: {dict(totals)}")
    entry = JournalEntry(
        account_id=account.id, kind=kind, reference=reference, memo=memo, created_at=now
    )
    session.add(entry)
    session.flush()
    session.add_all(
        Posting(
            entry_id=entry.id,
            account_id=account.id,
            ledger_account=ledger_account,
            unit=unit,
            amount=amount,
            lot_id=lot_id,
        )
        for ledger_account, unit, amount, lot_id in legs
        if amount
    )
    return entry


# --- granting -----------------------------------------------------------------------


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
    pool = pool_bucket(session, account, unit)
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
        _note_due(account, expires_at)
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
    pool = pool_bucket(session, account, unit)
    allocation = _bucket(session, account.id, unit, list_id)
    current = allocation.balance if allocation is not None else 0
    delta = amount - current
    if delta > 0 and pool.available < delta:
        raise InsufficientCredit(
            f"the unassigned pool has {format_amount(pool.available)} {unit} available; "
            f"allocating {format_amount(amount)} to list {list_id!r} needs {format_amount(delta)} more",
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
    allocation = _bucket(session, account.id, unit, list_id) if list_id else None
    if allocation is None:
        raise NotFound(f"list {list_id!r} has no allocation", code="allocation_not_found")
    pool = pool_bucket(session, account, unit)
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


# --- spending -----------------------------------------------------------------------


def refuse_if_blocked(account: Account) -> None:
    if account.status == "closed":
        raise Conflict(f"account {account.id!r} is closed", code="account_closed")
    if account.debt > 0 or account.status == "blocked":
        raise InsufficientCredit(
            f"account {account.id!r} is blocked until its debt of "
            f"{format_amount(account.debt)} {account.unit} is paid",
            code="account_blocked",
        )


def insufficient_credit(
    bucket: Bucket, lots_available: int, amount: int, unit: str
) -> InsufficientCredit:
    where = "the unassigned pool" if bucket.list_id == POOL else f"list {bucket.list_id!r}"
    available = min(bucket.available, lots_available)
    return InsufficientCredit(
        f"{format_amount(amount)} {unit} needed but {where} has only "
        f"{format_amount(available)} {unit} available"
    )


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
    if expires_at is not None and expires_at <= now:
        raise InvalidRequest("expires_at must be in the future", code="invalid_expiry")
    refuse_if_blocked(account)
    bucket = spending_bucket(session, account, unit, list_id)
    lots = open_lots(session, account.id, unit)
    lots_available = spendable(lots, tag, now)
    if bucket.available < amount or lots_available < amount:
        raise insufficient_credit(bucket, lots_available, amount, unit)
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
    for lot, take in plan_draw(lots, amount, tag, now):
        lot.reserved += take
        session.add(
            ReservationHold(
                reservation_id=reservation.id, lot_id=lot.id, account_id=account.id, amount=take
            )
        )
    bucket.reserved += amount
    _note_due(account, expires_at)
    session.flush()
    return reservation


def postpone_lapse(
    session: Session, account: Account, reservation: Reservation, expires_at: datetime
) -> None:
    """Keep a held reservation until at least ``expires_at`` (never shortens it)."""
    if reservation.status != "held":
        raise Conflict(
            f"reservation {reservation.id} is already {reservation.status}",
            code="reservation_not_held",
        )
    if reservation.expires_at is not None and reservation.expires_at < expires_at:
        reservation.expires_at = expires_at
        _note_due(account, expires_at)


def new_reservation_id() -> str:
    return "res_" + secrets.token_hex(12)


def reservation_not_found(reservation_id: str) -> NotFound:
    return NotFound(f"reservation {reservation_id!r} does not exist", code="reservation_not_found")


def get_reservation(session: Session, reservation_id: str) -> Reservation:
    reservation = session.get(Reservation, reservation_id, populate_existing=True)
    if reservation is None:
        raise reservation_not_found(reservation_id)
    return reservation


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
    return _finish_reservation(
        session,
        account,
        reservation,
        amount,
        status="captured",
        now=now,
        counterparty=counterparty,
        reference=reference,
    )


def release(session: Session, account: Account, reservation: Reservation, *, now: datetime) -> None:
    _finish_reservation(session, account, reservation, 0, status="released", now=now)


def _finish_reservation(
    session: Session,
    account: Account,
    reservation: Reservation,
    amount: int,
    *,
    status: str,
    now: datetime,
    at: datetime | None = None,
    counterparty: str | None = None,
    reference: str | None = None,
) -> ChargeResult:
    if reservation.account_id != account.id:
        raise AssertionError("reservation belongs to another account")  # pragma: no cover
    if reservation.status != "held":
        raise Conflict(
            f"reservation {reservation.id} is already {reservation.status}",
            code="reservation_not_held",
        )
    at = at or now
    unit = reservation.unit
    bucket = _bucket(session, account.id, unit, reservation.bucket_list_id)
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
    holds.sort(key=lambda h: draw_down_key(held_lots[h.lot_id]))

    excess = max(0, amount - reservation.held)
    extra_plan: list[tuple[Lot, int]] = []
    if excess:
        # Everything held is spent, so only credit available outside it can pay more.
        lots = open_lots(session, account.id, unit)
        lots_available = spendable(lots, reservation.tag, now)
        if bucket.available < excess or lots_available < excess:
            raise insufficient_credit(bucket, lots_available, excess, unit)
        extra_plan = plan_draw(lots, excess, reservation.tag, now)

    draws: list[Draw] = []
    charge_legs: list[Leg] = []
    breakage_legs: list[Leg] = []
    to_charge = min(amount, reservation.held)
    for hold in holds:
        lot = held_lots[hold.lot_id]
        spent = min(hold.amount, to_charge)
        to_charge -= spent
        freed = hold.amount - spent
        lot.reserved -= hold.amount
        lot.remaining -= spent
        if spent:
            draws.append(Draw(lot.id, unit, spent))
            charge_legs.append((bucket.ledger_account, unit, -spent, lot.id))
        if freed and lot.expired_at is not None:
            # The lot expired while this part was held: it expires now. (A lot due at
            # this very instant but not yet expired gets the hold back and expires
            # whole, pool first, right after: settle orders lapses first.)
            lot.remaining -= freed
            breakage_legs.append((bucket.ledger_account, unit, -freed, lot.id))
        hold.amount = 0
    for lot, take in extra_plan:
        lot.remaining -= take
        draws.append(Draw(lot.id, unit, take))
        charge_legs.append((bucket.ledger_account, unit, -take, lot.id))

    broken = -sum(leg[2] for leg in breakage_legs)
    bucket.reserved -= reservation.held
    bucket.balance -= amount + broken
    reservation.held = 0
    reservation.status = status
    reservation.ended_at = at
    reservation.captured = amount if status == "captured" else None

    result = ChargeResult(draws=merge_draws(draws), amount=amount)
    if amount:
        charge_legs.append((counterparty or revenue_account(reservation.tag), unit, amount, None))
        entry = post_entry(
            session, account, "capture", charge_legs, now=now, reference=reference or reservation.id
        )
        result.entry_id = entry.id
    if broken:
        breakage_legs.append((BREAKAGE, unit, broken, None))
        post_entry(
            session,
            account,
            "expiry",
            breakage_legs,
            now=now,
            reference=reservation.id,
            memo=f"held part of an expired lot, {status} at {at.isoformat()}",
        )
    session.flush()
    return result


def revenue_account(tag: str | None) -> str:
    return f"system:revenue:{tag}" if tag else "system:revenue"


def merge_draws(draws: list[Draw]) -> list[Draw]:
    """One draw per lot, in the order lots were first drawn."""
    merged: dict[int, Draw] = {}
    for draw in draws:
        prior = merged.get(draw.lot_id)
        merged[draw.lot_id] = Draw(
            draw.lot_id, draw.unit, draw.amount + (prior.amount if prior else 0)
        )
    return list(merged.values())


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
    what available credit cannot pay becomes the account's debt and blocks it.
    """
    unit = unit or account.unit
    if amount < 0:
        raise InvalidRequest("amount must not be negative", code="invalid_amount")
    if not allow_debt:
        refuse_if_blocked(account)
    if amount == 0:
        return ChargeResult(draws=[], amount=0)
    bucket = spending_bucket(session, account, unit, list_id)
    lots = open_lots(session, account.id, unit)
    lots_available = spendable(lots, tag, now)
    payable = min(bucket.available, lots_available, amount)
    if payable < amount and not allow_debt:
        raise insufficient_credit(bucket, lots_available, amount, unit)
    if payable < amount and unit != account.unit:
        raise InsufficientCredit(
            f"{format_amount(amount)} {unit} needed but only {format_amount(payable)} available",
        )
    legs: list[Leg] = []
    draws: list[Draw] = []
    for lot, take in plan_draw(lots, payable, tag, now) if payable else []:
        lot.remaining -= take
        draws.append(Draw(lot.id, unit, take))
        legs.append((bucket.ledger_account, unit, -take, lot.id))
    shortfall = amount - payable
    if shortfall:
        legs.append((DEBT, unit, -shortfall, None))
        account.debt += shortfall
        account.status = "blocked"
    legs.append((counterparty or revenue_account(tag), unit, amount, None))
    bucket.balance -= payable
    entry = post_entry(session, account, "charge", legs, now=now, reference=reference)
    session.flush()
    return ChargeResult(draws=draws, amount=amount, debt_added=shortfall, entry_id=entry.id)


# --- expiry -------------------------------------------------------------------------


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
    pool = next((b for b in buckets if b.list_id == POOL), None) or pool_bucket(
        session, account, unit
    )
    lists = [b for b in buckets if b.list_id != POOL]
    from_pool = min(pool.available, gone)
    shares = split_proportionally(gone - from_pool, [(b.list_id, b.available) for b in lists])
    legs: list[Leg] = [(pool.ledger_account, unit, -from_pool, lot.id)]
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


# --- reading ------------------------------------------------------------------------


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
    """The account's credit as it stands (call :func:`settle` first for exactness)."""
    buckets = buckets_of(session, account.id)
    money = [b for b in buckets if b.unit == account.unit]
    pool = next((b for b in money if b.list_id == POOL), None)
    lots = sorted(
        session.scalars(select(Lot).where(Lot.account_id == account.id, Lot.remaining > 0)),
        key=lambda lot: (lot.unit != account.unit, lot.unit, draw_down_key(lot)),
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


def journal_page(
    session: Session, account_id: str, *, limit: int, after: int | None = None
) -> tuple[list[tuple[JournalEntry, list[Posting]]], bool]:
    """Entries in the order they were written, ``limit`` at a time after a cursor."""
    stmt = select(JournalEntry).where(JournalEntry.account_id == account_id)
    if after is not None:
        stmt = stmt.where(JournalEntry.id > after)
    entries = list(session.scalars(stmt.order_by(JournalEntry.id).limit(limit + 1)))
    has_more = len(entries) > limit
    entries = entries[:limit]
    postings: dict[int, list[Posting]] = defaultdict(list)
    if entries:
        for posting in session.scalars(
            select(Posting)
            .where(Posting.account_id == account_id, Posting.entry_id.in_([e.id for e in entries]))
            .order_by(Posting.id)
        ):
            postings[posting.entry_id].append(posting)
    return [(entry, postings[entry.id]) for entry in entries], has_more


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
