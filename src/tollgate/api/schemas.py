"""Request and response shapes at the HTTP edge. Amounts are decimal strings here."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictInt,
    StrictStr,
)
from pydantic_core import PydanticCustomError

from tollgate.clock import ensure_utc
from tollgate.ledger.models import LOT_SOURCES
from tollgate.money import AmountError, parse_amount

ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:@-]{0,63}$"
LIST_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$"
UNIT_PATTERN = r"^[A-Z][A-Z0-9_]{1,11}$"
TAG_PATTERN = r"^[a-z][a-z0-9_]{0,39}$"


def _amount(allow_zero: bool):
    def validate(value: object) -> int:
        try:
            return parse_amount(value, allow_zero=allow_zero)
        except AmountError as exc:
            raise PydanticCustomError("invalid_amount", str(exc)) from None

    return BeforeValidator(validate)


# An amount in micros, given as a decimal string; positive unless said otherwise.
PositiveAmount = Annotated[int, _amount(allow_zero=False)]
Amount = Annotated[int, _amount(allow_zero=True)]


def _timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise PydanticCustomError(
            "invalid_timezone", "timezone must be an IANA name such as 'Europe/Paris'"
        ) from None
    return value


def _instant(value: datetime) -> datetime:
    return ensure_utc(value)


Timezone = Annotated[StrictStr, Field(min_length=1, max_length=64), AfterValidator(_timezone)]
Instant = Annotated[datetime, AfterValidator(_instant)]
Country = Annotated[StrictStr, Field(pattern=r"^[A-Z]{2}$")]
EntityId = Annotated[StrictStr, Field(pattern=ID_PATTERN)]
ListId = Annotated[StrictStr, Field(pattern=LIST_ID_PATTERN)]
Unit = Annotated[StrictStr, Field(pattern=UNIT_PATTERN)]
Tag = Annotated[StrictStr, Field(pattern=TAG_PATTERN)]


class Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AccountCreate(Request):
    id: EntityId
    name: Annotated[StrictStr, Field(min_length=1, max_length=200)]
    unit: Unit
    timezone: Timezone = "UTC"
    country: Country | None = None
    price_list_id: EntityId = "default"


class AccountUpdate(Request):
    name: Annotated[StrictStr, Field(min_length=1, max_length=200)] | None = None
    timezone: Timezone | None = None
    country: Country | None = None
    price_list_id: EntityId | None = None


class CreditGrant(Request):
    amount: PositiveAmount
    expires_at: Instant | None = None
    priority: Annotated[StrictInt, Field(ge=-1_000_000, le=1_000_000)] = 100
    source: Annotated[StrictStr, Field(json_schema_extra={"enum": list(LOT_SOURCES)})] = "grant"
    unit: Unit | None = None
    applies_to: Annotated[list[Tag], Field(min_length=1, max_length=20)] | None = None
    memo: Annotated[StrictStr, Field(max_length=500)] | None = None


class AllocationSet(Request):
    amount: Amount


class ReservationCreate(Request):
    amount: PositiveAmount
    list_id: ListId | None = None
    expires_at: Instant | None = None


class ReservationCapture(Request):
    amount: Amount

