"""Every sum the ledger stores fits its 64-bit column.

An amount (a charge, a reservation) above the largest balance an account may hold
(2**62 micros), or a debt that would pass it, is refused with 422
``amount_too_large`` before anything is written, on the ORM path and the batch path
alike.
"""

from __future__ import annotations

import pytest

from tests.conftest import START
from tollgate import ledger
from tollgate.accounts.service import create_account
from tollgate.db import Database
from tollgate.errors import InvalidRequest
from tollgate.ledger import rules
from tollgate.ledger.batch import BatchLedger
from tollgate.money import MAX_BALANCE_MICROS

# Two of these in debt pass the bound even after the 5 units of credit paid a part.
HALF = MAX_BALANCE_MICROS // 2 + 5_000_000


@pytest.fixture
def acme(database: Database) -> str:
    with database.write() as session:
        create_account(session, account_id="acme", name="Acme", unit="EUR", now=START)
        account = ledger.lock_account(session, "acme", now=START)
        ledger.grant(session, account, amount=5_000_000, now=START)
    return "acme"


def _debt(database: Database) -> int:
    with database.read() as session:
        return ledger.lock_account(session, "acme", now=START).debt


def test_a_charge_larger_than_any_balance_is_refused(database: Database, acme: str) -> None:
    with pytest.raises(InvalidRequest) as refused, database.write() as session:
        account = ledger.lock_account(session, acme, now=START)
        ledger.charge(session, account, amount=MAX_BALANCE_MICROS + 1, now=START, allow_debt=True)
    assert refused.value.code == "amount_too_large"
    assert refused.value.status == 422
    assert _debt(database) == 0


def test_a_reservation_larger_than_any_balance_is_refused(database: Database, acme: str) -> None:
    with pytest.raises(InvalidRequest) as refused, database.write() as session:
        account = ledger.lock_account(session, acme, now=START)
        ledger.reserve(session, account, amount=MAX_BALANCE_MICROS + 1, now=START)
    assert refused.value.code == "amount_too_large"


def test_debt_cannot_grow_past_the_bound_through_the_orm(database: Database, acme: str) -> None:
    with database.write() as session:
        account = ledger.lock_account(session, acme, now=START)
        ledger.charge(session, account, amount=HALF, now=START, allow_debt=True)
    debt = _debt(database)
    assert debt == HALF - 5_000_000

    with pytest.raises(InvalidRequest) as refused, database.write() as session:
        account = ledger.lock_account(session, acme, now=START)
        ledger.charge(session, account, amount=HALF, now=START, allow_debt=True)
    assert refused.value.code == "amount_too_large"
    assert _debt(database) == debt


def test_debt_cannot_grow_past_the_bound_in_a_batch(database: Database, acme: str) -> None:
    """In a batch the refused debit fails alone: the others are written."""
    outcomes = []
    with database.write() as session:
        batch = BatchLedger(session, now=START)
        credit = batch.load([acme])[acme]
        for amount in (HALF, HALF, 1_000_000):
            take = rules.Take("EUR", amount, credit.bucket("EUR", None), credit.lots("EUR"))
            try:
                batch.debit(
                    credit, [take], tag="sms", allow_debt=True, kind="charge", reference=None
                )
                outcomes.append("paid")
            except InvalidRequest as refusal:
                outcomes.append(refusal.code)
        batch.write()

    assert outcomes == ["paid", "amount_too_large", "paid"]
    assert _debt(database) == HALF - 5_000_000 + 1_000_000
