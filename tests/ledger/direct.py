"""Scenario steps that go straight to the ledger, for what the HTTP API has no door to
(a charge with a channel tag, a charge that may run into debt, a back-dated lot), and
small readers shared by the ledger scenarios.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient

from tollgate import ledger
from tollgate.clock import FixedClock, format_instant
from tollgate.db import Database
from tollgate.ledger import ChargeResult
from tollgate.money import format_amount, parse_amount


def charge(
    database: Database, clock: FixedClock, account_id: str, amount: str, **options: Any
) -> ChargeResult:
    """Charge ``amount`` now, in one transaction, as usage would."""
    now = clock.now()
    with database.write() as session:
        account = ledger.lock_account(session, account_id, now=now)
        return ledger.charge(session, account, amount=parse_amount(amount), now=now, **options)


def grant_at(
    database: Database, account_id: str, amount: str, *, now: datetime, **options: Any
) -> int:
    """Grant a lot as if it had been created at ``now``; answers the lot's id."""
    with database.write() as session:
        account = ledger.lock_account(session, account_id, now=now)
        return ledger.grant(session, account, amount=parse_amount(amount), now=now, **options).id


def paid_by(result: ChargeResult) -> list[tuple[int, str]]:
    """Which lots paid how much, in the order they were drawn."""
    return [(draw.lot_id, format_amount(draw.amount)) for draw in result.draws]


def holds(reservation_answer: dict) -> dict[int, str]:
    return {hold["lot_id"]: hold["amount"] for hold in reservation_answer["holds"]}


def lots_remaining(balance_answer: dict) -> dict[int, str]:
    return {lot["id"]: lot["remaining"] for lot in balance_answer["lots"]}


def instant(moment: datetime) -> str:
    return format_instant(moment)  # type: ignore[return-value]


def journal(client: TestClient, account_id: str) -> list[dict]:
    """Every journal entry of the account, following the pages to the end."""
    entries: list[dict] = []
    after = None
    while True:
        params = {"limit": 500} if after is None else {"limit": 500, "after": after}
        response = client.get(f"/v1/accounts/{account_id}/journal", params=params)
        assert response.status_code == 200, response.text
        page = response.json()
        entries.extend(page["data"])
        if not page["has_more"]:
            return entries
        after = page["next_after"]


def postings(entry: dict) -> list[tuple[str, str, int | None]]:
    """An entry's legs as (ledger_account, amount, lot_id)."""
    return [(p["ledger_account"], p["amount"], p["lot_id"]) for p in entry["postings"]]


def posting_sum(entry: dict) -> Decimal:
    return sum((Decimal(p["amount"]) for p in entry["postings"]), Decimal(0))
