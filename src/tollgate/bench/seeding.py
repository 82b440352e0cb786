"""The installation the benchmark charges: the price list, and accounts with credit in
several lots, some with list allocations, some with an allowance of plan seconds."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.orm import Session

from tollgate import ledger
from tollgate.accounts.models import Account
from tollgate.accounts.service import create_account
from tollgate.bench.numbers import NumberPool
from tollgate.bench.workload import COUNTRIES, NOW, price_rows
from tollgate.db import Database
from tollgate.money import parse_amount
from tollgate.rating.service import put_price_list
from tollgate.usage.calls import MICROS, SECONDS


@dataclass
class Customer:
    """A seeded account, as the event generator needs to know it."""

    id: str
    own_numbers: list[str]
    agents: int
    has_lists: bool


def seed_store(
    database: Database, rng: random.Random, pool: NumberPool, *, accounts: int, events: int
) -> list[Customer]:
    """The price list and ``accounts`` accounts with enough credit for their events."""
    with database.write() as session:
        put_price_list(
            session,
            "default",
            unit="EUR",
            rows=price_rows(),
            now=NOW,
            effective_from=NOW - timedelta(days=30),
        )
    per_account = max(1, events // accounts)
    customers: list[Customer] = []
    for start in range(0, accounts, 100):
        with database.write() as session:
            for index in range(start, min(start + 100, accounts)):
                customers.append(_seed_account(session, rng, pool, index, per_account))
    return customers


def _seed_account(
    session: Session, rng: random.Random, pool: NumberPool, index: int, per_account: int
) -> Customer:
    country, timezone, *_ = rng.choice(COUNTRIES)
    account = create_account(
        session,
        account_id=f"acct-{index:04d}",
        name=f"Customer {index}",
        unit="EUR",
        timezone=timezone,
        country=country,
        now=NOW - timedelta(days=60),
    )
    _grant_credit(session, rng, account, per_account)
    has_lists = rng.random() < 0.3
    if has_lists:
        ledger.set_allocation(
            session, account, "support", parse_amount(str(per_account + 30)), now=NOW
        )
        ledger.set_allocation(
            session, account, "marketing", parse_amount(str(per_account // 2 + 30)), now=NOW
        )
    own = [rng.choice(pool.by_kind.get((country, "fixed")) or pool.outbound)]
    if rng.random() < 0.35 and pool.by_kind.get((country, "toll_free")):
        own.append(rng.choice(pool.by_kind[(country, "toll_free")]))
    return Customer(account.id, own, agents=rng.randint(2, 15), has_lists=has_lists)


def _grant_credit(session: Session, rng: random.Random, account: Account, per_account: int) -> None:
    """A credit pack and a welcome credit; for some, an SMS bundle or plan minutes."""
    ledger.grant(
        session,
        account,
        amount=parse_amount(str(per_account * 4 + 100)),
        source="purchase",
        expires_at=NOW + timedelta(days=730),
        now=NOW,
        memo="credit pack",
    )
    ledger.grant(
        session,
        account,
        amount=parse_amount("20"),
        source="grant",
        priority=50,
        expires_at=NOW + timedelta(days=21),
        now=NOW,
        memo="welcome credit",
    )
    if rng.random() < 0.2:
        ledger.grant(
            session,
            account,
            amount=parse_amount("10"),
            source="bundle",
            applies_to=["sms"],
            expires_at=NOW + timedelta(days=30),
            now=NOW,
            memo="SMS bundle",
        )
    if rng.random() < 0.3:
        ledger.grant(
            session,
            account,
            amount=18_000 * MICROS,
            unit=SECONDS,
            source="plan_allowance",
            applies_to=["voice"],
            expires_at=NOW + timedelta(days=30),
            now=NOW,
            memo="300 plan minutes",
        )
