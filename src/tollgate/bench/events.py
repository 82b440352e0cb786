"""The synthetic usage: events in time order from a fixed seed — about 50% SMS of
20–400 characters (some with ``€`` and brackets, accents or emoji: GSM-7 and UCS-2, one
or many segments), 30% voice calls of random durations both ways, 15% e-mail, 5% agent
logins — each outbound one to the next number of the pool."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import TypedDict

from tollgate.bench.numbers import NumberPool
from tollgate.bench.seeding import Customer
from tollgate.bench.workload import EVENT_WINDOW, LISTS, NOW
from tollgate.usage.service import UsageInput

_WORDS = (
    "your",
    "order",
    "has",
    "shipped",
    "and",
    "will",
    "arrive",
    "tomorrow",
    "between",
    "9",
    "and",
    "12",
    "reply",
    "STOP",
    "to",
    "opt",
    "out",
    "code",
    "verification",
    "appointment",
    "confirmed",
    "with",
    "Dr",
    "Smith",
    "at",
    "the",
    "clinic",
    "on",
    "Monday",
    "please",
    "call",
    "us",
    "back",
    "if",
    "you",
    "need",
    "to",
    "reschedule",
    "thanks",
    "for",
    "your",
    "payment",
    "of",
    "the",
    "invoice",
    "balance",
    "is",
    "due",
    "delivery",
    "driver",
    "is",
    "on",
    "the",
    "way",
    "track",
    "parcel",
    "here",
)
_GSM_EXTENSION = ("€", "[ref]", "{id}", "~", "^", "|", "\\", "€5", "[1/2]")
_ACCENTED = (
    "ça",
    "être",
    "garçon",
    "łódź",
    "Győr",
    "şehir",
    "žena",
    "čaj",
    "ñandú",
    "œuvre",
    "привет",
    "Ελλάδα",
)
_EMOJI = ("😀", "👍", "👍🏽", "🎉", "❤️", "👨‍👩‍👧", "🇫🇷", "🙏🏻", "✅", "🚚")


class _Common(TypedDict):
    """The fields every event has, whatever its channel."""

    id: str
    account_id: str
    occurred_at: datetime
    list_id: str | None
    customer_id: str | None


def generate_events(
    rng: random.Random, customers: list[Customer], pool: NumberPool, count: int
) -> list[UsageInput]:
    """``count`` events in time order over the last week, from a fixed seed."""
    called = pool.cycle()
    window = EVENT_WINDOW.total_seconds()
    moments = sorted(NOW - timedelta(seconds=rng.uniform(1, window)) for _ in range(count))
    events: list[UsageInput] = []
    for position, occurred_at in enumerate(moments):
        customer = rng.choice(customers)
        if customer.has_lists and rng.random() < 0.5:
            list_id: str | None = rng.choice(LISTS)
        elif rng.random() < 0.1:
            list_id = "campaign"  # a list without an allocation: paid from the pool
        else:
            list_id = None
        common: _Common = {
            "id": f"evt-{position:08d}",
            "account_id": customer.id,
            "occurred_at": occurred_at,
            "list_id": list_id,
            "customer_id": f"cust-{rng.randrange(50_000)}" if rng.random() < 0.5 else None,
        }
        events.append(_event(rng, customer, called, common))
    return events


def _event(
    rng: random.Random, customer: Customer, called: Iterator[str], common: _Common
) -> UsageInput:
    """One event of a channel drawn at random, to the next number called."""
    draw = rng.random()
    if draw < 0.50:
        return UsageInput(channel="sms", to=next(called), text=sms_text(rng), **common)
    if draw < 0.80:
        duration = (
            0 if rng.random() < 0.12 else min(3600, max(1, int(rng.lognormvariate(4.3, 1.0))))
        )
        if rng.random() < 0.6:
            return UsageInput(
                channel="voice",
                direction="outbound",
                to=next(called),
                duration_seconds=duration,
                **common,
            )
        return UsageInput(
            channel="voice",
            direction="inbound",
            to=rng.choice(customer.own_numbers),
            from_=next(called),
            duration_seconds=duration,
            **common,
        )
    if draw < 0.95:
        bulk = rng.random() < 0.3
        return UsageInput(channel="email", count=rng.randint(2, 5000) if bulk else None, **common)
    return UsageInput(
        channel="agent_login", user_id=f"agent-{rng.randrange(customer.agents)}", **common
    )


def sms_text(rng: random.Random) -> str:
    """20–400 characters: mostly plain GSM-7, some with extension characters, accents
    outside GSM-7 or emoji (UCS-2)."""
    length = rng.randint(20, 400)
    kind = rng.random()
    extras: tuple[str, ...] = ()
    if kind < 0.10:
        extras = _GSM_EXTENSION
    elif kind < 0.22:
        extras = _ACCENTED
    elif kind < 0.30:
        extras = _EMOJI
    words: list[str] = []
    size = 0
    while size < length:
        word = rng.choice(extras) if extras and rng.random() < 0.08 else rng.choice(_WORDS)
        words.append(word)
        size += len(word) + 1
    text_ = " ".join(words)[:length]
    if extras and not any(extra in text_ for extra in extras):
        extra = rng.choice(extras)
        text_ = extra + text_[len(extra) :]
    return text_
