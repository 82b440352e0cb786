"""Every debit passes through one place: the after-debit hooks.

A hook registered in :data:`tollgate.ledger.hooks.AFTER_DEBIT` is called inside the
debit's transaction, once per account per operation or batch, with the account's
money figures before and after: for usage (one call per account however many
events the batch holds), direct charges, captures and expiry. A reservation is not
a debit; a refused debit calls nothing; a rolled-back one leaves nothing of what a
hook wrote.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

from tests.helpers import create_account, grant, reserve
from tests.usage.conftest import call, sms
from tollgate.ledger import hooks
from tollgate.ledger.hooks import CreditFigures, Debited


@pytest.fixture
def heard() -> Iterator[list[Debited]]:
    notices: list[Debited] = []

    def hear(session: Session, notice: Debited) -> None:
        assert session.in_transaction()
        notices.append(notice)

    hooks.AFTER_DEBIT.append(hear)
    yield notices
    hooks.AFTER_DEBIT.remove(hear)


def _figures(notice: Debited) -> tuple[CreditFigures, CreditFigures]:
    return notice.before, notice.after


def test_a_batch_tells_each_account_once_with_its_figures_before_and_after(
    client, price_list, heard
):
    for account_id in ("acme", "bravo"):
        create_account(client, account_id)
        grant(client, account_id, "1")
    events = [sms(f"s{n}", account_id=a) for n in range(3) for a in ("acme", "bravo")]

    answer = client.post("/v1/usage/batch", json={"events": events})

    assert answer.status_code == 200, answer.text
    assert sorted(n.account_id for n in heard) == ["acme", "bravo"]
    for notice in heard:
        before, after = _figures(notice)
        assert (before.total, before.available, before.debt) == (1_000_000, 1_000_000, 0)
        assert (after.total, after.debt, after.status) == (1_000_000 - 3 * 7_900, 0, "active")


def test_a_debit_into_debt_is_told_with_the_block(client, price_list, heard):
    create_account(client, "acme")
    grant(client, "acme", "0.01")

    answer = client.post("/v1/usage", json=call("c1", 600, allow_debt=True))

    assert answer.status_code == 200, answer.text
    (notice,) = heard
    assert (notice.before.status, notice.after.status) == ("active", "blocked")
    assert (notice.after.total, notice.after.debt) == (0, 140_000 - 10_000)


def test_a_refused_debit_and_a_reservation_tell_nothing(client, price_list, heard):
    create_account(client, "acme")
    grant(client, "acme", "0.01")

    refused = client.post("/v1/usage", json=call("c1", 600))
    held = reserve(client, "acme", "0.005")

    assert refused.status_code == 402
    assert held["status"] == "held"
    assert heard == []


def test_captures_charges_and_expiry_are_debits_too(client, clock, price_list, heard):
    create_account(client, "acme")
    grant(client, "acme", "2", expires_at=(clock.now() + timedelta(hours=1)).isoformat())
    grant(client, "acme", "1")
    held = reserve(client, "acme", "0.5")

    captured = client.post(f"/v1/reservations/{held['id']}/capture", json={"amount": "0.4"})
    assert captured.status_code == 200, captured.text
    clock.advance(seconds=7200)
    balance = client.get("/v1/accounts/acme/balance")  # catches up on the expiry
    assert balance.status_code == 200

    assert [(n.before.total, n.after.total) for n in heard] == [
        (3_000_000, 2_600_000),
        (2_600_000, 1_000_000),
    ]
