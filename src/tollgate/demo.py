"""Seed data for ``tollgate demo``: a couple of accounts with realistic credit."""

from __future__ import annotations

from datetime import datetime, timedelta

from tollgate import ledger
from tollgate.accounts.models import Account
from tollgate.accounts.service import create_account
from tollgate.db import Database
from tollgate.money import parse_amount
from tollgate.rating.service import put_price_list
from tollgate.usage.recorder import UsageRecorder
from tollgate.usage.service import UsageInput

DEMO_OPERATOR_KEY = "demo-operator-key"

# A pay-as-you-go offer of the kind contact-centre platforms publish: outbound calls
# 0.014/min, inbound local 0.0085/min, toll-free 0.022/min, SMS 0.0079 a segment,
# e-mail 0.675 per 1,000, an agent day pass of 3.5. A few countries cost more.
_ANY = {"direction": "*", "destination": "*", "number_type": "*", "category": "*"}


def _voice(price: str, **match: str) -> dict[str, object]:
    return {**_ANY, "channel": "voice", "price": price, "per": 60, "increment": "60/60", **match}


DEMO_PRICES: list[dict[str, object]] = [
    _voice("0.014", direction="outbound"),
    _voice("0.0085", direction="inbound"),
    _voice("0.022", direction="inbound", number_type="toll_free"),
    _voice("0.022", direction="outbound", number_type="toll_free"),
    _voice("0.019", direction="outbound", destination="GB", number_type="mobile"),
    _voice("0.035", direction="outbound", destination="DE", number_type="mobile"),
    _voice("0.0125", direction="outbound", destination="US"),
    _voice("0.012", direction="outbound", destination="CA"),
    _voice("0.21", direction="outbound", number_type="premium", connect_fee="0.05"),
    {**_ANY, "channel": "sms", "price": "0.0079"},
    {**_ANY, "channel": "sms", "destination": "US", "price": "0.0083"},
    {**_ANY, "channel": "sms", "destination": "IN", "price": "0.0021"},
    {**_ANY, "channel": "email", "price": "0.675", "per": 1000},
    {**_ANY, "channel": "whatsapp_template", "category": "marketing", "price": "0.0613"},
    {**_ANY, "channel": "whatsapp_template", "category": "utility", "price": "0.0202"},
    {**_ANY, "channel": "whatsapp_template", "category": "authentication", "price": "0.0202"},
    {
        **_ANY,
        "channel": "whatsapp_template",
        "destination": "FR",
        "category": "marketing",
        "price": "0.0859",
    },
    {**_ANY, "channel": "day_pass", "price": "3.5"},
]


def seed(database: Database, now: datetime) -> bool:
    """Create the demo accounts unless they exist. Returns whether anything was created.

    Long on purpose: it is the demo's data, one account after another, read top to
    bottom."""
    with database.write() as session:
        if session.get(Account, "acme") is not None:
            return False
        put_price_list(
            session,
            "default",
            unit="EUR",
            rows=DEMO_PRICES,
            now=now,
            effective_from=now - timedelta(days=365),
        )
        put_price_list(
            session,
            "usd",
            unit="USD",
            rows=DEMO_PRICES,
            now=now,
            effective_from=now - timedelta(days=365),
        )
        acme = create_account(
            session,
            account_id="acme",
            name="Acme Contact Centre",
            unit="EUR",
            timezone="Europe/Paris",
            country="FR",
            now=now,
        )
        ledger.grant(
            session,
            acme,
            amount=parse_amount("100"),
            source="purchase",
            expires_at=now + timedelta(days=730),
            now=now,
            memo="credit pack 100",
        )
        ledger.grant(
            session,
            acme,
            amount=parse_amount("20"),
            source="grant",
            priority=50,
            expires_at=now + timedelta(days=21),
            now=now,
            memo="welcome credit",
        )
        ledger.grant(
            session,
            acme,
            amount=parse_amount("18000"),
            unit="SECONDS",
            source="plan_allowance",
            applies_to=["voice"],
            expires_at=now + timedelta(days=30),
            now=now,
            memo="300 plan minutes",
        )
        ledger.set_allocation(session, acme, "support", parse_amount("30"), now=now)
        ledger.set_allocation(session, acme, "marketing", parse_amount("15"), now=now)
        held = ledger.reserve(
            session,
            acme,
            amount=parse_amount("2.5"),
            list_id="marketing",
            expires_at=now + timedelta(hours=6),
            now=now,
        )
        spent = ledger.reserve(
            session, acme, amount=parse_amount("1.2"), list_id="support", now=now
        )
        ledger.capture(session, acme, spent, parse_amount("0.874"), now=now)
        del held  # stays reserved: a scheduled campaign

        globex = create_account(
            session,
            account_id="globex",
            name="Globex SMS",
            unit="USD",
            timezone="America/New_York",
            country="US",
            price_list_id="usd",
            now=now,
        )
        ledger.grant(
            session,
            globex,
            amount=parse_amount("50"),
            source="purchase",
            expires_at=now + timedelta(days=730),
            now=now,
        )
    with database.write() as session:
        UsageRecorder(session, now=now).record(_demo_usage(now))
    return True


def _demo_usage(now: datetime) -> list[UsageInput]:
    """A morning of traffic: calls, texts, e-mails and agents logging in (a list of
    facts, long on purpose)."""
    events: list[UsageInput] = []
    calls = [
        ("+33612345678", 185, "outbound", "support"),
        ("+441632960961", 42, "outbound", None),
        ("+33180000000", 610, "inbound", "support"),
        ("+4915123456789", 95, "outbound", None),
        ("+33800123456", 300, "inbound", "support"),
    ]
    for index, (to, seconds, direction, list_id) in enumerate(calls):
        events.append(
            UsageInput(
                id=f"demo-call-{index}",
                account_id="acme",
                channel="voice",
                direction=direction,
                to=to,
                duration_seconds=seconds,
                list_id=list_id,
                user_id=f"agent-{index % 2}",
                occurred_at=now - timedelta(hours=5 - index),
            )
        )
    texts = [
        "Your appointment is confirmed for 10:00.",
        "Votre colis arrive demain entre 9h et 12h 📦",
        "Reminder: your invoice is due next week.",
    ]
    for index, text in enumerate(texts * 3):
        events.append(
            UsageInput(
                id=f"demo-sms-{index}",
                account_id="acme",
                channel="sms",
                to="+33612345678",
                text=text,
                list_id="marketing" if index % 2 else None,
                occurred_at=now - timedelta(minutes=90 - index),
            )
        )
        events.append(
            UsageInput(
                id=f"demo-us-sms-{index}",
                account_id="globex",
                channel="sms",
                to="+12025550123",
                text=text,
                occurred_at=now - timedelta(minutes=80 - index),
            )
        )
    events.append(
        UsageInput(
            id="demo-mail-1",
            account_id="acme",
            channel="email",
            count=1200,
            occurred_at=now - timedelta(hours=2),
        )
    )
    for agent in ("agent-0", "agent-1"):
        events.append(
            UsageInput(
                id=f"demo-login-{agent}",
                account_id="acme",
                channel="agent_login",
                user_id=agent,
                occurred_at=now - timedelta(hours=6),
            )
        )
    return events
