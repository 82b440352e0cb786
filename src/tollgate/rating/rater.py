"""Pricing one event with one loaded price list version. Pure: no database, no balances.

A :class:`RateCard` is one immutable version of a price list, indexed for matching.
:func:`rate` finds the most specific row for an event and computes its cost in
micros, rounding half-up once. The helpers :func:`billed_seconds`,
:func:`cost_of` give the usage layer (:mod:`tollgate.usage.calls`) the voice maths it
needs for allowances and call authorizations.

What a ``to`` number is (country, number types) comes from
:mod:`tollgate.rating.numbers`; its names are re-exported here for the importers
that have always found them in this module.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from tollgate.errors import InvalidRequest

# Re-exported: importers outside rating/ (and the benchmark) read them from here.
from tollgate.rating.numbers import NUMBER_TYPES as NUMBER_TYPES
from tollgate.rating.numbers import NumberFacts as NumberFacts
from tollgate.rating.numbers import number_facts as number_facts

CHANNELS = ("voice", "sms", "email", "whatsapp_template", "day_pass")
# Event channels and the row channel that prices them.
EVENT_CHANNELS = {
    "voice": "voice",
    "sms": "sms",
    "email": "email",
    "whatsapp_template": "whatsapp_template",
    "day_pass": "day_pass",
    "agent_login": "day_pass",
}
DIRECTIONS = ("outbound", "inbound")
CATEGORIES = ("marketing", "utility", "authentication")
QUANTITY_UNITS = {
    "voice": "second",
    "sms": "segment",
    "email": "message",
    "whatsapp_template": "message",
    "day_pass": "day",
}
# Channels whose events name a `to` number that rating reads.
ADDRESSED_CHANNELS = frozenset({"voice", "sms", "whatsapp_template"})
ANY = "*"

# No call is authorized for longer than a day, even at a zero price.
MAX_CALL_SECONDS = 86_400


def unratable(message: str) -> InvalidRequest:
    return InvalidRequest(message, code="unratable")


# --- arithmetic ---------------------------------------------------------------------


def divide_half_up(numerator: int, denominator: int) -> int:
    """``numerator / denominator`` rounded half-up, for non-negative integers."""
    return (2 * numerator + denominator) // (2 * denominator)


def billed_seconds(duration: int, first: int, next: int) -> int:
    """Seconds charged for a call of ``duration`` seconds billed in ``first/next`` increments.

    0 s is 0; anything up to ``first`` is ``first``; beyond it, whole ``next`` increments.
    """
    if duration <= 0:
        return 0
    if duration <= first:
        return first
    extra = duration - first
    return first + -(-extra // next) * next


def cost_of(units: int, row: PriceRow) -> int:
    """Cost in micros of ``units`` billed units at ``row``'s price, no connect fee."""
    return divide_half_up(units * row.price, row.per)


# --- price lists ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PriceRow:
    """One row of a price list. Money in micros; ``price`` covers ``per`` units."""

    channel: str
    direction: str
    destination: str
    number_type: str
    category: str
    price: int
    per: int
    increment_first: int | None = None
    increment_next: int | None = None
    connect_fee: int = 0

    @property
    def match_key(self) -> tuple[str, str, str, str, str]:
        return (self.channel, self.direction, self.destination, self.number_type, self.category)

    @property
    def increment(self) -> str | None:
        if self.increment_first is None:
            return None
        return f"{self.increment_first}/{self.increment_next}"


class _ChannelIndex:
    """The rows of one channel, keyed for matching from the most specific down."""

    __slots__ = ("by_destination", "has_countries", "prefix_lengths")

    def __init__(self, rows: list[PriceRow]) -> None:
        self.by_destination: dict[str, dict[tuple[str, str, str], PriceRow]] = {}
        for row in rows:
            keyed = self.by_destination.setdefault(row.destination, {})
            keyed[(row.direction, row.number_type, row.category)] = row
        self.prefix_lengths = sorted(
            {len(d) for d in self.by_destination if d.startswith("+")}, reverse=True
        )
        self.has_countries = any(len(d) == 2 for d in self.by_destination)


@dataclass(frozen=True)
class RateCard:
    """One version of a price list, loaded and indexed. Immutable, safe to share."""

    price_list_id: str
    version: int
    unit: str
    effective_from: datetime
    rows: tuple[PriceRow, ...]
    _index: dict[str, _ChannelIndex] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_channel: dict[str, list[PriceRow]] = {}
        for row in self.rows:
            by_channel.setdefault(row.channel, []).append(row)
        object.__setattr__(
            self, "_index", {channel: _ChannelIndex(rows) for channel, rows in by_channel.items()}
        )

    def match(
        self,
        channel: str,
        *,
        direction: str = "outbound",
        to: str | None = None,
        category: str | None = None,
    ) -> PriceRow:
        """The most specific row for an event; ``unratable`` if none matches.

        Specificity is compared in this order: destination (longest E.164 prefix,
        then country, then ``*``), direction, number type, category.
        """
        row_channel = EVENT_CHANNELS.get(channel)
        if row_channel is None:
            raise InvalidRequest(
                f"unknown channel {channel!r}; expected one of {', '.join(EVENT_CHANNELS)}"
            )
        if direction not in DIRECTIONS:
            raise InvalidRequest(f"direction must be 'outbound' or 'inbound', got {direction!r}")
        index = self._index.get(row_channel)
        if index is None:
            raise unratable(
                f"price list {self.price_list_id!r} (version {self.version}) has no "
                f"{row_channel} prices"
            )
        if row_channel in ADDRESSED_CHANNELS:
            facts = self._facts(row_channel, to)
            destinations: Sequence[str] = self._destinations(index, facts)
            types: tuple[str, ...] = (*facts.types, ANY)
        else:
            facts = None
            destinations = (ANY,)
            types = (ANY,)
        directions = (direction, ANY)
        categories = (category, ANY) if category and category != ANY else (ANY,)
        for destination in destinations:
            keyed = index.by_destination.get(destination)
            if keyed is None:
                continue
            for d in directions:
                for t in types:
                    for c in categories:
                        row = keyed.get((d, t, c))
                        if row is not None:
                            return row
        described = f"{direction} {channel}"
        if facts is not None:
            kind = "/".join(facts.types) or "unknown type"
            described += f" to {facts.e164} ({facts.country or 'no country'}, {kind})"
        if category:
            described += f" in category {category!r}"
        raise unratable(
            f"price list {self.price_list_id!r} (version {self.version}) has no price for "
            f"{described}; add a matching row or a '*' row"
        )

    def _facts(self, channel: str, to: str | None) -> NumberFacts:
        if not to:
            raise InvalidRequest(f"a {channel} event needs a 'to' number to be rated")
        facts = number_facts(to) if isinstance(to, str) else None
        if facts is None:
            raise unratable(
                f"'to' must be a phone number in E.164 form such as +33612345678, got {to!r}"
            )
        return facts

    @staticmethod
    def _destinations(index: _ChannelIndex, facts: NumberFacts) -> list[str]:
        candidates = [
            facts.e164[:length] for length in index.prefix_lengths if length <= len(facts.e164)
        ]
        if facts.country is not None and index.has_countries:
            candidates.append(facts.country)
        candidates.append(ANY)
        return candidates


# --- rating ---------------------------------------------------------------------------


class Ratable(Protocol):
    """What rating reads of an event: a :class:`RatableEvent`, or a usage event, which
    has every one of these fields (a ``direction`` of None means outbound)."""

    @property
    def channel(self) -> str: ...
    @property
    def direction(self) -> str | None: ...
    @property
    def to(self) -> str | None: ...
    @property
    def duration_seconds(self) -> int | None: ...
    @property
    def text(self) -> str | None: ...
    @property
    def segments(self) -> int | None: ...
    @property
    def count(self) -> int | None: ...
    @property
    def category(self) -> str | None: ...


@dataclass(frozen=True, slots=True)
class RatableEvent:
    """The fields of a usage event that rating reads."""

    channel: str
    direction: str = "outbound"
    to: str | None = None
    duration_seconds: int | None = None
    text: str | None = None
    segments: int | None = None
    count: int | None = None
    category: str | None = None


@dataclass(frozen=True, slots=True)
class Rating:
    """The price of one event.

    ``cost`` is in micros of ``unit`` and includes ``connect_fee``. ``quantity`` is the
    billed quantity (SPEC §6): for voice the seconds charged after increments (120 for
    a 61 s call at 60/60), the same as ``billed_units``; otherwise the count of
    segments (× recipients), messages or days.
    """

    channel: str
    quantity: int
    quantity_unit: str
    billed_units: int
    cost: int
    connect_fee: int
    unit: str
    row: PriceRow
    price_list_id: str
    version: int

    @property
    def increment_first(self) -> int | None:
        return self.row.increment_first

    @property
    def increment_next(self) -> int | None:
        return self.row.increment_next


def rate(card: RateCard, event: Ratable) -> Rating:
    """Price ``event`` with ``card``. Raises ``InvalidRequest`` (``unratable``) if it cannot."""
    row_channel = EVENT_CHANNELS.get(event.channel)
    if row_channel is None:
        raise InvalidRequest(
            f"unknown channel {event.channel!r}; expected one of {', '.join(EVENT_CHANNELS)}"
        )
    quantity = _quantity(row_channel, event)
    row = card.match(
        event.channel, direction=event.direction or "outbound", to=event.to, category=event.category
    )
    connect_fee = 0
    if row_channel == "voice":
        billed = billed_seconds(quantity, row.increment_first or 1, row.increment_next or 1)
        if billed > 0:
            connect_fee = row.connect_fee
    else:
        billed = quantity
    return Rating(
        channel=event.channel,
        quantity=billed,
        quantity_unit=QUANTITY_UNITS[row_channel],
        billed_units=billed,
        cost=cost_of(billed, row) + connect_fee,
        connect_fee=connect_fee,
        unit=card.unit,
        row=row,
        price_list_id=card.price_list_id,
        version=card.version,
    )


def _quantity(channel: str, event: Ratable) -> int:
    if channel == "voice":
        if event.duration_seconds is None:
            raise InvalidRequest("a voice event needs 'duration_seconds' to be rated")
        return _whole(event.duration_seconds, "duration_seconds", minimum=0)
    if channel == "sms":
        # Sent to `count` recipients, each gets every segment.
        recipients = 1 if event.count is None else _whole(event.count, "count", minimum=1)
        if event.segments is not None:
            return _whole(event.segments, "segments", minimum=1) * recipients
        if not isinstance(event.text, str):
            raise InvalidRequest("an sms event needs 'text' or 'segments' to be rated")
        from tollgate.rating.segments import count_segments

        return count_segments(event.text).segments * recipients
    if channel == "day_pass":
        return 1
    return 1 if event.count is None else _whole(event.count, "count", minimum=1)


def _whole(value: object, name: str, *, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidRequest(f"'{name}' must be a whole number, got {value!r}")
    if value < minimum:
        raise InvalidRequest(f"'{name}' must be at least {minimum}, got {value}")
    return value
