"""The rules of a debit, written once, as functions over plain values.

Which bucket pays, the draw-down order over applicable lots, what is available,
how a debit splits over lots, the shortfall that becomes debt, blocking: these
rules apply to the ORM's rows (:class:`~tollgate.ledger.models.Lot`,
:class:`~tollgate.ledger.models.Bucket`, :class:`~tollgate.ledger.models.Account`)
and to the plain rows the batch path loads through the driver
(:mod:`tollgate.ledger.batch`) alike: both satisfy the small protocols below.

Nothing here reads or writes the database. A debit is checked whole before any
figure changes (:func:`debit`), so a refused one leaves nothing to undo.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol, TypeVar

from tollgate.errors import Conflict, InsufficientCredit, InvalidRequest
from tollgate.money import MAX_BALANCE_MICROS, format_amount

POOL = ""  # list_id of an account's unassigned pool bucket
DEBT = "debt"
NEVER = datetime.max.replace(tzinfo=UTC)

# One leg of a journal entry: ledger_account, unit, signed amount, lot_id.
Leg = tuple[str, str, int, int | None]


class LotRow(Protocol):
    """What the rules read and change of a lot."""

    id: int
    unit: str
    priority: int
    expires_at: datetime | None
    created_at: datetime
    remaining: int
    reserved: int
    applies_to: str | None


class BucketRow(Protocol):
    """What the rules read and change of a bucket (the pool or a list's allocation)."""

    list_id: str
    unit: str
    balance: int
    reserved: int


class AccountRow(Protocol):
    """What the rules read and change of an account."""

    id: str
    unit: str
    status: str
    debt: int


L = TypeVar("L", bound=LotRow)
B = TypeVar("B", bound=BucketRow)


@dataclass(frozen=True, slots=True)
class Draw:
    """How much one lot paid (or holds) for an operation, in the lot's unit."""

    lot_id: int
    unit: str
    amount: int


def bucket_ledger_account(list_id: str) -> str:
    return "pool" if list_id == POOL else f"list:{list_id}"


def revenue_account(tag: str | None) -> str:
    return f"system:revenue:{tag}" if tag else "system:revenue"


# --- lots ---------------------------------------------------------------------------


def draw_down_key(lot: LotRow) -> tuple[int, datetime, datetime, int]:
    """(priority, soonest expiry first and never-expiring last, created_at, id)."""
    return (lot.priority, lot.expires_at or NEVER, lot.created_at, lot.id)


def lot_pays_for(lot: LotRow, tag: str | None, now: datetime) -> bool:
    if lot.expires_at is not None and lot.expires_at <= now:
        return False
    if lot.applies_to is None:
        return True
    return tag is not None and tag in lot.applies_to.split(",")


def applicable(lots: Iterable[L], tag: str | None, now: datetime) -> list[L]:
    """The lots (in the order given: draw-down order) that could pay for ``tag`` now."""
    return [lot for lot in lots if lot.remaining > lot.reserved and lot_pays_for(lot, tag, now)]


def spendable(lots: Iterable[LotRow], tag: str | None, now: datetime) -> int:
    """What the lots that could pay for ``tag`` now hold, unreserved."""
    return sum(lot.remaining - lot.reserved for lot in applicable(lots, tag, now))


def plan_draw(
    lots: Sequence[L], amount: int, tag: str | None, now: datetime
) -> list[tuple[L, int]]:
    """Take ``amount`` from the lots (sorted by :func:`draw_down_key`); the caller
    checked that it fits."""
    return _draw(applicable(lots, tag, now), amount)


def _draw(eligible: Sequence[L], amount: int) -> list[tuple[L, int]]:
    plan: list[tuple[L, int]] = []
    left = amount
    for lot in eligible:
        if left == 0:
            break
        take = min(lot.remaining - lot.reserved, left)
        plan.append((lot, take))
        left -= take
    if left:
        raise AssertionError("draw plan does not cover the amount")  # pragma: no cover
    return plan


# --- buckets ------------------------------------------------------------------------


def bucket_available(bucket: BucketRow | None) -> int:
    return 0 if bucket is None else bucket.balance - bucket.reserved


def paying_bucket(
    account: AccountRow, unit: str, list_id: str | None, find: Callable[[str, str], B | None]
) -> B | None:
    """The bucket that pays for a list: its allocation if it has one (allocations exist
    in the account's money unit only), else the pool. ``find(unit, list_id)`` looks a
    bucket up; None when the account has no such bucket."""
    if list_id and unit == account.unit:
        allocation = find(unit, list_id)
        if allocation is not None:
            return allocation
    return find(unit, POOL)


def available(
    bucket: BucketRow | None, lots: Iterable[LotRow], tag: str | None, now: datetime
) -> int:
    """What a charge could spend: it must fit both the paying bucket and the lots."""
    in_bucket = bucket_available(bucket)
    if in_bucket <= 0:
        return 0
    return min(in_bucket, spendable(lots, tag, now))


# --- refusals -----------------------------------------------------------------------


def refuse_if_blocked(account: AccountRow) -> None:
    if account.status == "closed":
        raise Conflict(f"account {account.id!r} is closed", code="account_closed")
    if account.debt > 0 or account.status == "blocked":
        raise InsufficientCredit(
            f"account {account.id!r} is blocked until its debt of "
            f"{format_amount(account.debt)} {account.unit} is paid",
            code="account_blocked",
        )


def insufficient_credit(
    bucket: BucketRow | None, lots_available: int, amount: int, unit: str
) -> InsufficientCredit:
    list_id = POOL if bucket is None else bucket.list_id
    where = "the unassigned pool" if list_id == POOL else f"list {list_id!r}"
    can_pay = min(bucket_available(bucket), lots_available)
    return InsufficientCredit(
        f"{format_amount(amount)} {unit} needed but {where} has only "
        f"{format_amount(can_pay)} {unit} available"
    )


def check_amount(amount: int, what: str = "this charge") -> None:
    """Every amount the ledger stores must fit its 64-bit column with room for sums."""
    if amount > MAX_BALANCE_MICROS:
        raise InvalidRequest(
            f"{what} ({format_amount(amount)}) is larger than the largest amount an account "
            f"may hold ({format_amount(MAX_BALANCE_MICROS)})",
            code="amount_too_large",
        )


# --- the debit ----------------------------------------------------------------------


@dataclass(slots=True)
class Take:
    """One unit's share of a debit: ``amount`` from ``bucket`` and ``lots``."""

    unit: str
    amount: int
    bucket: BucketRow | None
    lots: Sequence[LotRow]


@dataclass(slots=True)
class Debit:
    """What a debit did: the lots drawn (``drawn`` names the rows it changed), the
    journal legs, the debt it added."""

    draws: list[Draw] = field(default_factory=list)
    legs: list[Leg] = field(default_factory=list)
    debt_added: int = 0
    drawn: list[LotRow] = field(default_factory=list)
    entry_id: int | None = None  # the journal entry, once posted


def debit(
    account: AccountRow,
    takes: Sequence[Take],
    *,
    tag: str | None,
    now: datetime,
    allow_debt: bool,
    counterparty: str | None = None,
    counter_legs: bool = True,
) -> Debit:
    """Spend each take from its bucket and lots (draw-down order), in one movement.

    Without ``allow_debt`` it is all or nothing. With it the debit always happens:
    what the account's money credit cannot pay becomes its debt and blocks it (an
    allowance unit never goes into debt: the caller only takes what is there).
    Everything is checked before any figure changes. The credit side of each take
    (``counterparty``, by default the tag's revenue account) is a leg of its own
    unless ``counter_legs`` is false: then the caller posts it, e.g. once for a
    capture that is paid partly from its holds and partly from this debit.
    """
    # Check every take first: which lots could pay, and whether it all fits.
    plans: list[tuple[Take, list[LotRow], int]] = []
    shortfall = 0
    for take in takes:
        amount = take.amount
        if amount < 0:
            raise InvalidRequest("amount must not be negative", code="invalid_amount")
        if amount > MAX_BALANCE_MICROS:
            check_amount(amount)
        eligible = applicable(take.lots, tag, now)
        lots_available = sum(lot.remaining - lot.reserved for lot in eligible)
        bucket = take.bucket
        pays = min(bucket_available(bucket), lots_available, amount)
        if pays < amount:
            if not allow_debt:
                raise insufficient_credit(bucket, lots_available, amount, take.unit)
            if take.unit != account.unit:
                raise InsufficientCredit(
                    f"{format_amount(amount)} {take.unit} needed but only "
                    f"{format_amount(pays)} available"
                )
            shortfall += amount - pays
        plans.append((take, eligible, pays))
    if shortfall:
        check_amount(account.debt + shortfall, "the debt this charge would leave")

    # Then pay: lots in draw-down order, the bucket, the rest as debt.
    result = Debit(debt_added=shortfall)
    credit_account = counterparty or revenue_account(tag)
    legs, draws, drawn = result.legs, result.draws, result.drawn
    for take, eligible, pays in plans:
        unit = take.unit
        if not take.amount:
            continue
        if pays:
            assert take.bucket is not None
            ledger_account = bucket_ledger_account(take.bucket.list_id)
            for lot, amount in _draw(eligible, pays):
                lot.remaining -= amount
                drawn.append(lot)
                draws.append(Draw(lot.id, unit, amount))
                legs.append((ledger_account, unit, -amount, lot.id))
            take.bucket.balance -= pays
        owed = take.amount - pays
        if owed:
            legs.append((DEBT, unit, -owed, None))
            account.debt += owed
            account.status = "blocked"
        if counter_legs:
            legs.append((credit_account, unit, take.amount, None))
    return result


@dataclass(slots=True)
class ChargeResult:
    """What a committed charge or capture did."""

    draws: list[Draw]
    amount: int
    debt_added: int = 0
    entry_id: int | None = None


def merge_draws(draws: Iterable[Draw]) -> list[Draw]:
    """One draw per lot, in the order lots were first drawn."""
    merged: dict[int, Draw] = {}
    for draw in draws:
        prior = merged.get(draw.lot_id)
        amount = draw.amount + (prior.amount if prior else 0)
        merged[draw.lot_id] = Draw(draw.lot_id, draw.unit, amount)
    return list(merged.values())


def balanced(legs: Iterable[Leg]) -> bool:
    totals: dict[str, int] = {}
    for _, unit, amount, _ in legs:
        totals[unit] = totals.get(unit, 0) + amount
    return not any(totals.values())
