"""Seed data for ``tollgate demo``: a couple of accounts with realistic credit."""

from __future__ import annotations

from datetime import datetime, timedelta

from tollgate import ledger
from tollgate.accounts.models import Account
from tollgate.accounts.service import create_account
from tollgate.db import Database
from tollgate.money import parse_amount

DEMO_OPERATOR_KEY = "demo-operator-key"


def seed(database: Database, now: datetime) -> bool:
    """Create the demo accounts unless they exist. Returns whether anything was created."""
    with database.write() as session:
        if session.get(Account, "acme") is not None:
            return False
        acme = create_account(
            session, account_id="acme", name="Acme Contact Centre", unit="EUR",
            timezone="Europe/Paris", country="FR", now=now,
        )
        ledger.grant(session, acme, amount=parse_amount("100"), source="purchase",
                     expires_at=now + timedelta(days=730), now=now, memo="credit pack 100")
        ledger.grant(session, acme, amount=parse_amount("20"), source="grant", priority=50,
                     expires_at=now + timedelta(days=21), now=now, memo="welcome credit")
        ledger.grant(session, acme, amount=parse_amount("18000"), unit="SECONDS",
                     source="plan_allowance", applies_to=["voice"],
                     expires_at=now + timedelta(days=30), now=now, memo="300 plan minutes")
        ledger.set_allocation(session, acme, "support", parse_amount("30"), now=now)
        ledger.set_allocation(session, acme, "marketing", parse_amount("15"), now=now)
        held = ledger.reserve(session, acme, amount=parse_amount("2.5"), list_id="marketing",
                              expires_at=now + timedelta(hours=6), now=now)
        spent = ledger.reserve(session, acme, amount=parse_amount("1.2"), list_id="support", now=now)
        ledger.capture(session, acme, spent, parse_amount("0.874"), now=now)
        del held  # stays reserved: a scheduled campaign

        globex = create_account(
            session, account_id="globex", name="Globex SMS", unit="USD",
            timezone="America/New_York", country="US", now=now,
        )
        ledger.grant(session, globex, amount=parse_amount("50"), source="purchase",
                     expires_at=now + timedelta(days=730), now=now)
        ledger.charge(session, globex, amount=parse_amount("0.0079"), now=now, tag="sms",
                      reference="demo-sms-1")
    return True
