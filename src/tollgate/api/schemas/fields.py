"""The value types of the HTTP edge: amounts as decimal strings, instants with a time
zone, ids, units, time zones, and the validators that say what is wrong in words."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from fastapi import Path as PathParam
from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    StrictInt,
    StrictStr,
    WithJsonSchema,
)
from pydantic_core import PydanticCustomError

from tollgate.money import AmountError, parse_amount

ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:@-]{0,63}$"
LIST_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$"
UNIT_PATTERN = r"^[A-Z][A-Z0-9_]{1,11}$"
TAG_PATTERN = r"^[a-z][a-z0-9_]{0,39}$"


def _amount(allow_zero: bool) -> BeforeValidator:
    def validate(value: object) -> int:
        try:
            return parse_amount(value, allow_zero=allow_zero)
        except AmountError as exc:
            raise PydanticCustomError("invalid_amount", str(exc)) from None

    return BeforeValidator(validate)


def _amount_schema(description: str, *, allow_zero: bool) -> WithJsonSchema:
    # What a client sends, not the int the validator makes of it.
    return WithJsonSchema(
        {
            "type": "string",
            "pattern": (r"^" if allow_zero else r"^(?![0.]+$)") + r"[0-9]{1,9}(\.[0-9]{1,6})?$",
            "examples": ["3.5"],
            "description": description,
        }
    )


# An amount in micros, given as a decimal string; positive unless said otherwise.
PositiveAmount = Annotated[
    int,
    _amount(allow_zero=False),
    _amount_schema("a decimal string, greater than zero", allow_zero=False),
]
Amount = Annotated[
    int, _amount(allow_zero=True), _amount_schema("a decimal string, zero or more", allow_zero=True)
]


def _timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise PydanticCustomError(
            "invalid_timezone", "timezone must be an IANA name such as 'Europe/Paris'"
        ) from None
    return value


_RFC3339 = re.compile(
    r"^([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt ]([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]+))?"
    r"([Zz]|[+-][0-9]{2}:[0-9]{2})$"
)
_INSTANT_HELP = (
    "must be a date and time with its time zone, such as '2026-01-31T09:30:00Z' "
    "or '2026-01-31T10:30:00+01:00'"
)


def _parse_instant(value: object) -> datetime:
    # An epoch, a bare date or a time without zone would each be guessed at: refused.
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value  # in-process callers (e.g. the quote route) pass datetimes
    match = _RFC3339.match(value) if isinstance(value, str) else None
    if match is None:
        raise PydanticCustomError("invalid_instant", _INSTANT_HELP)
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    try:
        offset = (
            timedelta(0)
            if zone in ("Z", "z")
            else (1 if zone[0] == "+" else -1)
            * timedelta(hours=int(zone[1:3]), minutes=int(zone[4:]))
        )
        moment = datetime(
            int(year),
            int(month),
            int(day),
            int(hour),
            int(minute),
            int(second),
            int((fraction or "0")[:6].ljust(6, "0")),
            tzinfo=timezone(offset),
        )
        return moment.astimezone(UTC)
    except (ValueError, OverflowError):
        raise PydanticCustomError(
            "invalid_instant", "the date and time do not exist or are out of range"
        ) from None


_INSTANT_SCHEMA = WithJsonSchema(
    {"type": "string", "format": "date-time", "examples": ["2026-01-31T09:30:00Z"]}
)


# A usage event is also placed on its account's local calendar (day passes), so it
# must leave room for any UTC offset and for the next local midnight.
_FIRST_EVENT_INSTANT = datetime(1, 1, 2, tzinfo=UTC)
_LAST_EVENT_INSTANT = datetime(9999, 12, 30, tzinfo=UTC)


def _event_instant(value: datetime) -> datetime:
    if not _FIRST_EVENT_INSTANT <= value < _LAST_EVENT_INSTANT:
        raise PydanticCustomError(
            "invalid_instant", "occurred_at must be between 0001-01-02 and 9999-12-30 (UTC)"
        )
    return value


# The names ZoneInfo loads, in the schema too: a generated name is one the server accepts.
def _whole_number(value: object) -> object:
    # JSON has one number type: 60.0 is the integer 60 (JSON Schema says so too), while
    # 60.5, "60" and true stay refused by StrictInt.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


# Bounds go before the validator (Annotated[StrictInt, Field(...), WHOLE]): a Field
# after it would not reach the int, nor the schema.
WHOLE = BeforeValidator(_whole_number)
WholeNumber = Annotated[StrictInt, WHOLE]
Timezone = Annotated[
    StrictStr,
    Field(min_length=1, max_length=64, json_schema_extra={"enum": sorted(available_timezones())}),
    AfterValidator(_timezone),
]
# Ids in a path: the pattern is in the schema; the route checks it itself, so that a
# bad one answers the route's own code (invalid_list_id, invalid_price_list_id).
ListIdInPath = Annotated[str, PathParam(json_schema_extra={"pattern": LIST_ID_PATTERN})]
PriceListIdInPath = Annotated[str, PathParam(json_schema_extra={"pattern": ID_PATTERN})]
Instant = Annotated[datetime, BeforeValidator(_parse_instant), _INSTANT_SCHEMA]
EventInstant = Annotated[
    datetime, BeforeValidator(_parse_instant), AfterValidator(_event_instant), _INSTANT_SCHEMA
]
Country = Annotated[StrictStr, Field(pattern=r"^[A-Z]{2}$")]
EntityId = Annotated[StrictStr, Field(pattern=ID_PATTERN)]
ListId = Annotated[StrictStr, Field(pattern=LIST_ID_PATTERN)]
Unit = Annotated[StrictStr, Field(pattern=UNIT_PATTERN)]
Tag = Annotated[StrictStr, Field(pattern=TAG_PATTERN)]
# What a lot may be limited to: the channels (and the day pass) something can spend on.
SpendingTag = Literal["voice", "sms", "email", "whatsapp_template", "day_pass"]


def no_nul_text(schema: dict[str, Any]) -> None:
    """Say in the schema what _no_nul_characters refuses: a string field's text has no
    NUL character (fields with a pattern or a list of values already say so)."""

    def text(field: dict[str, Any]) -> None:
        if field.get("type") == "string" and not {"pattern", "enum", "const"} & set(field):
            field["pattern"] = "^[^\\u0000]*$"
        for option in field.get("anyOf", ()):
            text(option)
        if isinstance(field.get("items"), dict):
            text(field["items"])

    for field in schema.get("properties", {}).values():
        text(field)
