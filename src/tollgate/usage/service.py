"""Usage events: their input, how they are rated for an account, and their answer.

The hot path that records them is :mod:`tollgate.usage.recorder`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, fields
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tollgate.accounts.models import Account
from tollgate.errors import InvalidRequest
from tollgate.ledger.models import Bucket
from tollgate.ledger.service import Draw, available_for, merge_draws
from tollgate.money import format_amount
from tollgate.rating.rater import RatableEvent, Rating
from tollgate.rating.service import PriceListResolver

# The allowance unit of plan minutes. Like every amount it is stored in micros:
# one second of allowance is 1,000,000 micro-seconds.
SECONDS = "SECONDS"
MICROS = 1_000_000


def allowance_seconds(session: Session, account: Account, tag: str, now: datetime) -> int:
    """Whole seconds of plan allowance that could pay for ``tag`` now."""
    return available_for(session, account, unit=SECONDS, tag=tag, now=now) // MICROS


@dataclass(frozen=True)
class UsageInput:
    """A usage event as the operator reports it (already validated at the edge)."""

    id: str
    account_id: str
    channel: str
    occurred_at: datetime
    list_id: str | None = None
    user_id: str | None = None
    customer_id: str | None = None
    direction: str | None = None
    to: str | None = None
    from_: str | None = None
    duration_seconds: int | None = None
    text: str | None = None
    segments: int | None = None
    count: int | None = None
    category: str | None = None
    allow_debt: bool = False

    def fingerprint(self) -> str:
        """A digest of the event's content: a replay must match it exactly."""
        content = [getattr(self, name) for name in _FIELDS]
        content[3] = self.occurred_at.isoformat()
        return hashlib.sha256(_compact_json(content).encode()).hexdigest()

    def ratable(self) -> RatableEvent:
        return RatableEvent(
            channel=self.channel,
            direction=self.direction or "outbound",
            to=self.to,
            duration_seconds=self.duration_seconds,
            text=self.text,
            segments=self.segments,
            count=self.count,
            category=self.category,
        )


_FIELDS = tuple(f.name for f in fields(UsageInput))
# What json.dumps(..., separators=(",", ":")) builds on every call.
_compact_json = json.JSONEncoder(separators=(",", ":")).encode
assert _FIELDS[3] == "occurred_at"


def spending_tag(channel: str) -> str:
    """The tag lots' ``applies_to`` and revenue accounts know a channel by."""
    return "day_pass" if channel == "agent_login" else channel


@dataclass
class Payment:
    money: int
    allowance_used: int
    debt: int
    draws: list[Draw]


def rate_for_account(
    resolver: PriceListResolver, account: Account, event: RatableEvent, at: datetime
) -> Rating:
    rating = resolver.rate(account.price_list_id, event, at)
    if rating.unit != account.unit:
        raise InvalidRequest(
            f"price list {account.price_list_id!r} prices in {rating.unit} but account "
            f"{account.id!r} holds {account.unit}",
            code="unratable",
        )
    return rating


def usage_answer(
    session: Session, account: Account, event_id: str, rating: Rating, quantity: int, payment: Payment
) -> dict:
    total, reserved = money_totals(session, account)
    return answer_of(
        event_id=event_id, unit=account.unit, money=payment.money, quantity=quantity,
        quantity_unit=rating.quantity_unit, draws=merge_draws(payment.draws), debt=payment.debt,
        total=total, reserved=reserved,
    )


def answer_of(
    *,
    event_id: str,
    unit: str,
    money: int,
    quantity: int,
    quantity_unit: str,
    draws: Iterable[Draw],
    debt: int,
    total: int,
    reserved: int,
) -> dict:
    """The answer to a recorded usage event (also what a replay answers)."""
    return {
        "id": event_id,
        "cost": format_amount(money),
        "unit": unit,
        "quantity": quantity,
        "quantity_unit": quantity_unit,
        "paid_by": [
            {"lot_id": draw.lot_id, "unit": draw.unit, "amount": format_amount(draw.amount)}
            for draw in draws
        ],
        "debt": format_amount(debt),
        "balance": {"total": format_amount(total), "available": format_amount(total - reserved)},
    }


def money_totals(session: Session, account: Account) -> tuple[int, int]:
    total, reserved = session.execute(
        select(func.coalesce(func.sum(Bucket.balance), 0), func.coalesce(func.sum(Bucket.reserved), 0))
        .where(Bucket.account_id == account.id, Bucket.unit == account.unit)
    ).one()
    return int(total), int(reserved)


def quote(
    session: Session, account: Account, events: list[RatableEvent], *, at: datetime,
    resolver: PriceListResolver,
) -> list[Rating]:
    """Price hypothetical events at list price; nothing is charged or recorded."""
    return [rate_for_account(resolver, account, event, at) for event in events]
