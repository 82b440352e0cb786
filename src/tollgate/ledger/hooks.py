"""After a debit: the one place every committed debit passes through.

A *debit* is any movement that lowers an account's money credit: usage, captures,
expiry, later plan, number and overage charges (a reservation is not one). Each
path that debits — :func:`tollgate.ledger.charge`, captures, expiry and the usage
batch (:mod:`tollgate.ledger.batch`) — hands :func:`debited` the account's figures
before and after, once per account per operation or batch, inside the transaction
that makes the change. Features that react to debits (balance notices, blocking
notices, auto-recharge) register a function in :data:`AFTER_DEBIT`; whatever they
write commits or rolls back with the debit itself.

A short, explicit list, not a plugin system: each entry is imported and appended
where the application is assembled.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session


@dataclass(frozen=True, slots=True)
class CreditFigures:
    """An account's standing, as hooks see it: money credit and debt, in micros."""

    status: str
    debt: int
    total: int  # money credit in every bucket of the account's unit
    reserved: int

    @property
    def available(self) -> int:
        return self.total - self.reserved


@dataclass(frozen=True, slots=True)
class Debited:
    """One account's debits in one operation or batch."""

    account_id: str
    unit: str
    before: CreditFigures
    after: CreditFigures


AfterDebit = Callable[[Session, Debited], None]

# Called in order, inside the debit's transaction, after its figures are written.
AFTER_DEBIT: list[AfterDebit] = []


def listening() -> bool:
    """Whether any hook is registered (paths skip gathering figures when none is)."""
    return bool(AFTER_DEBIT)


def debited(session: Session, notice: Debited) -> None:
    for hook in AFTER_DEBIT:
        hook(session, notice)
