"""Pricing one event with one loaded price list version. Pure: no database, no balances.

A :class:`RateCard` is one immutable version of a price list, indexed for matching.
:func:`rate` finds the most specific row for an event and computes its cost in
micros, rounding half-up once. The helpers :func:`billed_seconds`,
:func:`cost_of` and :func:`max_seconds_for` give the usage layer the voice maths it
needs for allowances and call authorizations.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any, NamedTuple

import phonenumbers
from phonenumbers import PhoneMetadata, PhoneNumberType, ValidationResult

from tollgate.errors import InvalidRequest

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
NUMBER_TYPES = (
    "mobile",
    "fixed",
    "toll_free",
    "premium",
    "shared_cost",
    "voip",
    "personal_number",
    "pager",
    "uan",
    "voicemail",
)
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

_TYPE_NAMES: dict[int, tuple[str, ...]] = {
    PhoneNumberType.FIXED_LINE: ("fixed",),
    PhoneNumberType.MOBILE: ("mobile",),
    # NANP numbers cannot be told apart: a mobile row is preferred, then a fixed one.
    PhoneNumberType.FIXED_LINE_OR_MOBILE: ("mobile", "fixed"),
    PhoneNumberType.TOLL_FREE: ("toll_free",),
    PhoneNumberType.PREMIUM_RATE: ("premium",),
    PhoneNumberType.SHARED_COST: ("shared_cost",),
    PhoneNumberType.VOIP: ("voip",),
    PhoneNumberType.PERSONAL_NUMBER: ("personal_number",),
    PhoneNumberType.PAGER: ("pager",),
    PhoneNumberType.UAN: ("uan",),
    PhoneNumberType.VOICEMAIL: ("voicemail",),
}


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


def max_seconds_for(available_micros: int, row: PriceRow, *, cap: int = MAX_CALL_SECONDS) -> int:
    """The longest call, in whole increments, whose cost with connect fee fits the credit.

    0 when not even the first increment fits. A free rate is limited only by ``cap``
    (and by the connect fee).
    """
    first, step = row.increment_first or 1, row.increment_next or 1
    budget = available_micros - row.connect_fee
    if budget < 0:
        return 0
    if row.price == 0:
        longest = cap
    else:
        # The largest b with half_up(b * price / per) <= budget, solved exactly:
        # 2·b·price < per·(2·budget + 1).
        longest = (row.per * (2 * budget + 1) - 1) // (2 * row.price)
    longest = min(longest, cap)
    if longest < first:
        return 0
    return first + (longest - first) // step * step


# --- numbers --------------------------------------------------------------------------


class NumberFacts(NamedTuple):
    """What rating needs to know about a phone number."""

    e164: str
    country: str | None
    # The number types it matches, most specific first; empty when unknown.
    types: tuple[str, ...]


@lru_cache(maxsize=262_144)
def number_facts(number: str) -> NumberFacts | None:
    """Country and number type of an E.164 number, or None if it is not one.

    Cached: the same numbers come back again and again. Canonical E.164 strings take
    a fast path over libphonenumber's metadata (:func:`_number_facts_fast`); anything
    else, and any case the fast path does not cover, goes through ``parse``.
    """
    facts = _number_facts_fast(number)
    if facts is _UNDECIDED:
        return _number_facts_slow(number)
    return facts  # type: ignore[return-value]


def _number_facts_slow(number: str) -> NumberFacts | None:
    """The reference: libphonenumber's public API. Tens of µs a number, hundreds when
    numbers span many countries (their patterns fall out of ``re``'s cache)."""
    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(parsed):
        return None
    e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    # number_type is UNKNOWN exactly when the number is not valid, so one call tells
    # both. A number libphonenumber does not know can still match a prefix row, and a
    # country row when its calling code belongs to one country only.
    types = _TYPE_NAMES.get(phonenumbers.number_type(parsed), ())
    region = phonenumbers.region_code_for_number(parsed)
    if region in (None, "ZZ", "001"):
        region = None
    return NumberFacts(e164, region, types)


# The fast path replays, for a string "+<digits>", the steps the slow path takes:
# parse() (country calling code, national prefix stripping), is_possible_number(),
# region_code_for_number() and number_type(), reading the same metadata with its
# patterns compiled once per calling code. Its results must equal the slow path's for
# every input (tests/rating/test_number_facts_fast.py checks this).

# "The fast path cannot tell": the caller must use the slow path.
_UNDECIDED = object()
# "+", no leading zero, 2 to 15 ASCII digits: the only input the fast path handles.
_CANONICAL_E164 = re.compile(r"\+[1-9][0-9]{1,14}")
_CALLING_CODES = frozenset(str(code) for code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE)
_NON_GEO_REGION = "001"
# parse() refuses a national significant number longer than this.
_MAX_NSN_LENGTH = 17

_UNKNOWN_TYPE = PhoneNumberType.UNKNOWN
_FIXED_LINE_OR_MOBILE = PhoneNumberType.FIXED_LINE_OR_MOBILE
# ValidationResult values of a length test, as parse() and is_possible_number() use it.
_POSSIBLE = ValidationResult.IS_POSSIBLE
_POSSIBLE_LOCAL_ONLY = ValidationResult.IS_POSSIBLE_LOCAL_ONLY
_TOO_SHORT = ValidationResult.TOO_SHORT
_TOO_LONG = ValidationResult.TOO_LONG
_INVALID_LENGTH = ValidationResult.INVALID_LENGTH


def _number_facts_fast(number: str) -> NumberFacts | object | None:
    """``number_facts`` for canonical E.164 strings; ``_UNDECIDED`` for anything else."""
    if not isinstance(number, str) or _CANONICAL_E164.fullmatch(number) is None:
        return _UNDECIDED
    digits = number[1:]
    if len(digits) <= 2:
        return None  # parse(): not a viable number / too short after the "+"
    # The shortest prefix (1 to 3 digits) that is a known calling code, as parse() does.
    for size in (1, 2, 3):
        code = digits[:size]
        if code in _CALLING_CODES:
            break
    else:
        return None  # parse(): invalid country calling code
    plan = _calling_code_plan(code)
    if plan is None:
        return _UNDECIDED
    return plan.facts(digits[size:])


class _Desc(NamedTuple):
    """A PhoneNumberDesc reduced to what matching a number reads."""

    lengths: frozenset[int] | None  # None: any length (the desc lists none)
    fullmatch: Callable[[str], object]


def _desc(desc: Any) -> _Desc | None:
    """The compiled form of ``desc``, or None if no number can ever match it.

    Mirrors ``_is_number_matching_desc``: a listed length is required (a type that does
    not exist lists only -1), then a full match of the national number pattern.
    """
    if desc is None or not desc.national_number_pattern:
        return None
    lengths = frozenset(desc.possible_length) if desc.possible_length else None
    return _Desc(lengths, re.compile(desc.national_number_pattern).fullmatch)


def _matches(desc: _Desc | None, nsn: str) -> bool:
    if desc is None:
        return False
    return (desc.lengths is None or len(nsn) in desc.lengths) and (desc.fullmatch(nsn) is not None)


class _Typer:
    """``_number_type_helper`` for one region's metadata."""

    __slots__ = ("fixed", "general", "mobile", "same_fixed_and_mobile", "specific")

    def __init__(self, metadata: Any) -> None:
        self.general = _desc(metadata.general_desc)
        # Checked in libphonenumber's order; descs that can never match are dropped.
        specific = (
            (PhoneNumberType.PREMIUM_RATE, metadata.premium_rate),
            (PhoneNumberType.TOLL_FREE, metadata.toll_free),
            (PhoneNumberType.SHARED_COST, metadata.shared_cost),
            (PhoneNumberType.VOIP, metadata.voip),
            (PhoneNumberType.PERSONAL_NUMBER, metadata.personal_number),
            (PhoneNumberType.PAGER, metadata.pager),
            (PhoneNumberType.UAN, metadata.uan),
            (PhoneNumberType.VOICEMAIL, metadata.voicemail),
        )
        self.specific = tuple(
            (kind, *compiled) for kind, desc in specific if (compiled := _desc(desc)) is not None
        )
        self.fixed = _desc(metadata.fixed_line)
        self.mobile = _desc(metadata.mobile)
        self.same_fixed_and_mobile = bool(metadata.same_mobile_and_fixed_line_pattern)

    def type_of(self, nsn: str) -> int:
        if not _matches(self.general, nsn):
            return _UNKNOWN_TYPE
        length = len(nsn)
        for kind, lengths, fullmatch in self.specific:  # _matches, inlined: the hot loop
            if (lengths is None or length in lengths) and fullmatch(nsn) is not None:
                return kind
        if _matches(self.fixed, nsn):
            if self.same_fixed_and_mobile or _matches(self.mobile, nsn):
                return _FIXED_LINE_OR_MOBILE
            return PhoneNumberType.FIXED_LINE
        if not self.same_fixed_and_mobile and _matches(self.mobile, nsn):
            return PhoneNumberType.MOBILE
        return _UNKNOWN_TYPE


class _CallingCodePlan:
    """Everything the fast path needs for one country calling code, built once."""

    __slots__ = (
        "code",
        "general_pattern",
        "length_results",
        "local_lengths",
        "max_length",
        "min_length",
        "other_lengths",
        "prefix",
        "regions",
        "single_region",
        "transform",
    )

    def __init__(
        self, code: str, metadata: Any, regions: tuple[tuple[str, Any], ...], *, single: bool
    ) -> None:
        self.code = code
        general = metadata.general_desc
        pattern = general.national_number_pattern
        # _match_national_number: the pattern alone, no length check.
        self.general_pattern = re.compile(pattern).fullmatch if pattern else None
        # _test_number_length with the general desc, tabulated by length.
        lengths = list(general.possible_length)
        self.min_length, self.max_length = lengths[0], lengths[-1]
        self.other_lengths = frozenset(lengths[1:])
        self.local_lengths = frozenset(general.possible_length_local_only)
        self.length_results = tuple(self._test_length(n) for n in range(_MAX_NSN_LENGTH + 1))
        # National prefix (and carrier code) stripping, which parse() applies even
        # after a "+".
        prefix = metadata.national_prefix_for_parsing
        self.prefix = re.compile(prefix) if prefix else None
        self.transform = metadata.national_prefix_transform_rule or None
        # (region, its leading digits or None, its typer), in the calling code's order.
        # A calling code of one region is that region's whatever the number.
        self.single_region = regions[0][0] if single else None
        self.regions = tuple(
            (
                region,
                re.compile(region_metadata.leading_digits).match
                if region_metadata.leading_digits is not None
                else None,
                _Typer(region_metadata),
            )
            for region, region_metadata in regions
        )

    def _test_length(self, length: int) -> int:
        """``_test_number_length`` for the UNKNOWN type, by length alone."""
        if length in self.local_lengths:
            return _POSSIBLE_LOCAL_ONLY
        if length == self.min_length:
            return _POSSIBLE
        if length < self.min_length:
            return _TOO_SHORT
        if length > self.max_length:
            return _TOO_LONG
        return _POSSIBLE if length in self.other_lengths else _INVALID_LENGTH

    def length_result(self, length: int) -> int:
        if length <= _MAX_NSN_LENGTH:
            return self.length_results[length]
        return self._test_length(length)

    def _general_match(self, nsn: str) -> bool:
        return self.general_pattern is not None and self.general_pattern(nsn) is not None

    def strip_national_prefix(self, nsn: str) -> str:
        """The national number parse() keeps: ``_maybe_strip_national_prefix_carrier_code``
        and then parse()'s own check that the stripped number has a usable length."""
        if self.prefix is None:
            return nsn
        match = self.prefix.match(nsn)
        if match is None:
            return nsn
        if self.transform is not None and match.groups()[-1] is not None:
            stripped = self.prefix.sub(self.transform, nsn, count=1)
        else:
            stripped = nsn[match.end() :]
        # Not stripped when that would turn a viable number into a non-viable one.
        if self._general_match(nsn) and not self._general_match(stripped):
            return nsn
        if self.length_result(len(stripped)) in (_TOO_SHORT, _POSSIBLE_LOCAL_ONLY, _INVALID_LENGTH):
            return nsn
        return stripped

    def region_and_type(self, nsn: str) -> tuple[str | None, int]:
        """``region_code_for_number`` and ``number_type`` in one pass."""
        if self.single_region is not None:
            return self.single_region, self.regions[0][2].type_of(nsn)
        # _region_code_for_number_from_list: the first region whose leading digits
        # start the number or, for a region without any, that finds it a type.
        for region, leading_digits, typer in self.regions:
            if leading_digits is not None:
                if leading_digits(nsn) is not None:
                    return region, typer.type_of(nsn)
            else:
                kind = typer.type_of(nsn)
                if kind != _UNKNOWN_TYPE:
                    return region, kind
        return None, _UNKNOWN_TYPE  # no region: number_type() finds no metadata

    def facts(self, nsn: str) -> NumberFacts | None:
        if len(nsn) < 2:
            return None  # parse(): national number too short
        nsn = self.strip_national_prefix(nsn)
        if not 2 <= len(nsn) <= _MAX_NSN_LENGTH:
            return None  # parse(): too short or too long
        # format_number() rebuilds the same digits from the parsed integer and its
        # Italian leading zeros, so the E.164 form is the code and this NSN.
        if self.length_result(len(nsn)) not in (_POSSIBLE, _POSSIBLE_LOCAL_ONLY):
            return None  # not is_possible_number()
        region, kind = self.region_and_type(nsn)
        if region == _NON_GEO_REGION:
            region = None
        return NumberFacts("+" + self.code + nsn, region, _TYPE_NAMES.get(kind, ()))


# Plans by calling code, built on first use; None where the fast path does not apply.
_plans: dict[str, _CallingCodePlan | None] = {}


def _calling_code_plan(code: str) -> _CallingCodePlan | None:
    try:
        return _plans[code]
    except KeyError:
        pass
    plan = _build_plan(code)
    _plans[code] = plan  # two threads may both build it: the same result
    return plan


def _build_plan(code: str) -> _CallingCodePlan | None:
    """The plan for ``code``, or None when its metadata has a shape the fast path does
    not replay (the slow path then answers for the whole calling code)."""
    number_code = int(code)
    region_codes = phonenumbers.COUNTRY_CODE_TO_REGION_CODE[number_code]
    # parse() and is_possible_number() use the main (first) region's metadata.
    main = PhoneMetadata.metadata_for_region_or_calling_code(number_code, region_codes[0])
    if main is None or main.general_desc is None or not main.general_desc.possible_length:
        return None
    transform = main.national_prefix_transform_rule
    if transform and main.national_prefix_for_parsing:
        if re.compile(main.national_prefix_for_parsing).groups == 0:
            return None  # libphonenumber would index a group that does not exist
    if len(region_codes) == 1:
        regions = ((region_codes[0], main),)
    else:
        # _region_code_for_number_from_list skips regions without metadata.
        if _NON_GEO_REGION in region_codes:
            return None
        listed = tuple(
            (region, PhoneMetadata.metadata_for_region(region, None)) for region in region_codes
        )
        regions = tuple((region, metadata) for region, metadata in listed if metadata is not None)
        if not regions:
            return None
    return _CallingCodePlan(code, main, regions, single=len(region_codes) == 1)


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
            destinations = self._destinations(index, facts)
            types = facts.types + (ANY,)
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


def rate(card: RateCard, event: RatableEvent) -> Rating:
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


def _quantity(channel: str, event: RatableEvent) -> int:
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
