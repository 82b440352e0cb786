"""Price list rows as they arrive (API JSON, CSV cells): validated into :class:`PriceRow`.

Every problem of every row is collected and reported at once
(:class:`InvalidPriceRows`), so that a price list is stored whole or not at all.
Also the checks of a price list's id and unit, and the digest of its content.

Pure: no database. Imports the vocabulary of :mod:`tollgate.rating.rater` and the
number types of :mod:`tollgate.rating.numbers`.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence

import phonenumbers

from tollgate.errors import InvalidRequest
from tollgate.money import AmountError, parse_amount
from tollgate.rating.numbers import NUMBER_TYPES
from tollgate.rating.rater import (
    ADDRESSED_CHANNELS,
    ANY,
    CATEGORIES,
    CHANNELS,
    DIRECTIONS,
    PriceRow,
)

PRICE_LIST_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@-]{0,63}$")
UNIT = re.compile(r"^[A-Z][A-Z0-9_]{1,11}$")
COUNTRY = re.compile(r"^[A-Z]{2}$")
PREFIX = re.compile(r"^\+[1-9][0-9]{0,14}$")
INCREMENT = re.compile(r"^([0-9]{1,5})/([0-9]{1,5})$")
WHOLE = re.compile(r"^[0-9]{1,10}$")

ROW_FIELDS = (
    "channel",
    "direction",
    "destination",
    "number_type",
    "category",
    "price",
    "per",
    "increment",
    "connect_fee",
)
MAX_ROWS = 100_000
MAX_PER = 1_000_000
MAX_INCREMENT = 86_400
DEFAULT_INCREMENT = (60, 60)
_COUNTRIES = frozenset(phonenumbers.SUPPORTED_REGIONS)
_MATCH_FIELDS = ("direction", "destination", "number_type", "category")


# --- validating rows -------------------------------------------------------------------


class InvalidPriceRows(InvalidRequest):
    """Some rows of a price list are not valid; ``problems`` says which and why."""

    def __init__(self, problems: list[tuple[str, str, str]]) -> None:
        self.problems = problems  # (row name, code, message)
        shown = "; ".join(f"{name}: {message}" for name, _, message in problems[:10])
        more = f"; and {len(problems) - 10} more" if len(problems) > 10 else ""
        super().__init__(shown + more, code=problems[0][1])


class _Bad(Exception):
    def __init__(self, message: str, code: str = "invalid_price_row") -> None:
        super().__init__(message)
        self.code = code


def parse_rows(
    raw_rows: Sequence[Mapping[str, object]], *, names: Sequence[str] | None = None
) -> list[PriceRow]:
    """Validate price list rows given as field → value (strings, or ints for ``per``).

    Every problem of every row is collected; any problem fails the whole list with
    :class:`InvalidPriceRows`, so that a price list is stored whole or not at all.
    ``names`` says how to call each row in messages (default ``rows[i]``).
    """
    if names is None:
        names = [f"rows[{i}]" for i in range(len(raw_rows))]
    if not raw_rows:
        raise InvalidRequest("a price list needs at least one row", code="invalid_price_row")
    if len(raw_rows) > MAX_ROWS:
        raise InvalidRequest(
            f"a price list has at most {MAX_ROWS} rows, got {len(raw_rows)}",
            code="invalid_price_row",
        )
    rows: list[PriceRow] = []
    problems: list[tuple[str, str, str]] = []
    seen: dict[tuple[str, str, str, str, str], int] = {}
    for index, raw in enumerate(raw_rows):
        try:
            row = parse_row(raw)
        except _Bad as exc:
            problems.append((names[index], exc.code, str(exc)))
            continue
        first = seen.setdefault(row.match_key, index)
        if first != index:
            problems.append(
                (
                    names[index],
                    "duplicate_price_row",
                    (
                        f"matches the same events as {names[first]} (same channel, "
                        "direction, destination, number_type and category); keep one of them"
                    ),
                )
            )
            continue
        rows.append(row)
    if problems:
        raise InvalidPriceRows(problems)
    return rows


def parse_row(raw: Mapping[str, object]) -> PriceRow:
    """One row given as field → value; raises ``_Bad`` at its first problem."""
    unknown = sorted(set(raw) - set(ROW_FIELDS))
    if unknown:
        raise _Bad(f"unknown field(s) {', '.join(unknown)}; a row has {', '.join(ROW_FIELDS)}")
    value = {name: _text(raw.get(name), name) for name in ROW_FIELDS}
    channel = value["channel"]
    if channel is None:
        raise _Bad(f"channel is required: one of {', '.join(CHANNELS)}")
    if channel not in CHANNELS:
        hint = " (agent logins are priced by a day_pass row)" if channel == "agent_login" else ""
        raise _Bad(f"channel must be one of {', '.join(CHANNELS)}, got {channel!r}{hint}")
    match = _match_fields(channel, value)
    if value["price"] is None:
        raise _Bad('price is required, as a decimal string such as "0.014"')
    price = _amount(value["price"], "price")
    per = _per(raw.get("per"), default=60 if channel == "voice" else 1)
    increment_first = increment_next = None
    connect_fee = 0
    if channel == "voice":
        increment_first, increment_next = _increment(value["increment"])
        if value["connect_fee"] is not None:
            connect_fee = _amount(value["connect_fee"], "connect_fee")
    else:
        for name in ("increment", "connect_fee"):
            if value[name] is not None:
                raise _Bad(f"{name} applies to voice rows only; leave it empty")
    return PriceRow(
        channel=channel,
        direction=match["direction"],
        destination=match["destination"],
        number_type=match["number_type"],
        category=match["category"],
        price=price,
        per=per,
        increment_first=increment_first,
        increment_next=increment_next,
        connect_fee=connect_fee,
    )


def _match_fields(channel: str, value: Mapping[str, str | None]) -> dict[str, str]:
    """The fields that say which events a row matches, ``*`` where empty, checked."""
    match = {name: value[name] or ANY for name in _MATCH_FIELDS}
    if match["direction"] not in (*DIRECTIONS, ANY):
        raise _Bad(f"direction must be outbound, inbound or *, got {match['direction']!r}")
    destination = match["destination"]
    if destination != ANY and not PREFIX.match(destination):
        if not COUNTRY.match(destination):
            raise _Bad(
                "destination must be *, an ISO country code such as FR, or an E.164 "
                f"prefix such as +3933, got {destination!r}"
            )
        if destination not in _COUNTRIES:
            raise _Bad(f"destination {destination!r} is not a country with phone numbers")
    if match["number_type"] not in (*NUMBER_TYPES, ANY):
        raise _Bad(
            f"number_type must be one of {', '.join(NUMBER_TYPES)} or *, "
            f"got {match['number_type']!r}"
        )
    if match["category"] not in (*CATEGORIES, ANY):
        raise _Bad(
            f"category must be one of {', '.join(CATEGORIES)} or *, got {match['category']!r}"
        )
    if channel not in ADDRESSED_CHANNELS:
        narrowed = [
            name for name in ("direction", "destination", "number_type") if match[name] != ANY
        ]
        if narrowed:
            raise _Bad(f"{channel} rows are not priced by {', '.join(narrowed)}; use *")
    if channel != "whatsapp_template" and match["category"] != ANY:
        raise _Bad("category applies to whatsapp_template rows only; use *")
    return match


def _amount(text: str, name: str) -> int:
    try:
        return parse_amount(text, field=name, allow_zero=True)
    except AmountError as exc:
        raise _Bad(str(exc), "invalid_amount") from None


def _text(value: object, name: str) -> str | None:
    """A field as stripped text; None when absent or empty."""
    if value is None:
        return None
    if name == "per" and isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str):
        if name in ("price", "connect_fee"):
            raise _Bad(
                f'{name} must be a decimal string such as "0.014", not a number', "invalid_amount"
            )
        raise _Bad(f"{name} must be a string, got {type(value).__name__}")
    stripped = value.strip()
    return stripped or None


def _per(value: object, *, default: int) -> int:
    if value is None or (isinstance(value, str) and not value.strip()):
        return default
    if isinstance(value, str) and WHOLE.match(value.strip()):
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int):
        raise _Bad(f"per must be a whole number of units such as 60, got {value!r}")
    if not 1 <= value <= MAX_PER:
        raise _Bad(f"per must be between 1 and {MAX_PER}, got {value}")
    return value


def _increment(value: str | None) -> tuple[int, int]:
    if value is None:
        return DEFAULT_INCREMENT
    found = INCREMENT.match(value)
    if not found:
        raise _Bad(f"increment must be first/next seconds such as 60/60 or 30/6, got {value!r}")
    first, step = int(found.group(1)), int(found.group(2))
    if not (1 <= first <= MAX_INCREMENT and 1 <= step <= MAX_INCREMENT):
        raise _Bad(f"increment seconds must be between 1 and {MAX_INCREMENT}, got {value!r}")
    return first, step


def check_price_list_id(price_list_id: str) -> None:
    if not isinstance(price_list_id, str) or not PRICE_LIST_ID.match(price_list_id):
        raise InvalidRequest(
            "a price list id is 1 to 64 letters, digits or ._:@- and starts with a letter "
            f"or digit, got {price_list_id!r}",
            code="invalid_price_list_id",
        )


def check_unit(unit: object) -> str:
    if not isinstance(unit, str) or not UNIT.match(unit):
        raise InvalidRequest(
            f"unit must be an ISO 4217 code such as EUR, or a unit such as CREDIT, got {unit!r}",
            code="invalid_unit",
        )
    return unit


def digest_of(unit: str, rows: Sequence[PriceRow]) -> str:
    canonical = json.dumps([unit, [list(_row_tuple(row)) for row in rows]], separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _row_tuple(row: PriceRow) -> tuple[str | int | None, ...]:
    return (
        *row.match_key,
        row.price,
        row.per,
        row.increment_first,
        row.increment_next,
        row.connect_fee,
    )
