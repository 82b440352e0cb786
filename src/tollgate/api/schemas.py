"""Request and response shapes at the HTTP edge. Amounts are decimal strings here."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    model_validator,
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
    try:
        return ensure_utc(value)
    except OverflowError:  # e.g. 9999-12-31T23:00:00-05:00 is past the last UTC instant
        raise PydanticCustomError(
            "invalid_instant", "the instant is out of range once converted to UTC"
        ) from None


Timezone = Annotated[StrictStr, Field(min_length=1, max_length=64), AfterValidator(_timezone)]
Instant = Annotated[datetime, AfterValidator(_instant)]
Country = Annotated[StrictStr, Field(pattern=r"^[A-Z]{2}$")]
EntityId = Annotated[StrictStr, Field(pattern=ID_PATTERN)]
ListId = Annotated[StrictStr, Field(pattern=LIST_ID_PATTERN)]
Unit = Annotated[StrictStr, Field(pattern=UNIT_PATTERN)]
Tag = Annotated[StrictStr, Field(pattern=TAG_PATTERN)]


class Request(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _no_nul_characters(cls, data: Any) -> Any:
        # PostgreSQL text cannot hold NUL; refuse it here rather than fail in the store.
        if isinstance(data, dict):
            for key, value in data.items():
                values = value if isinstance(value, list) else [value]
                if any(isinstance(item, str) and "\x00" in item for item in values):
                    raise PydanticCustomError(
                        "invalid_text", "{field} must not contain NUL characters", {"field": key}
                    )
        return data


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

    @model_validator(mode="after")
    def _required_fields_stay_set(self) -> AccountUpdate:
        for field_name in ("name", "timezone", "price_list_id"):
            if field_name in self.model_fields_set and getattr(self, field_name) is None:
                raise PydanticCustomError(
                    "null_not_allowed",
                    "{field} cannot be null; leave it out to keep its current value",
                    {"field": field_name},
                )
        return self


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



EventId = Annotated[StrictStr, Field(min_length=1, max_length=128, pattern=r"^[\x21-\x7e]+$")]
Reference = Annotated[StrictStr, Field(min_length=1, max_length=128)]
Direction = Literal["outbound", "inbound"]
PhoneNumber = Annotated[StrictStr, Field(min_length=1, max_length=32)]


class UsageEventIn(Request):
    """One usage event; the channel's own fields are checked when it is rated."""

    id: EventId
    account_id: Annotated[StrictStr, Field(min_length=1, max_length=64)]
    channel: Literal["voice", "sms", "email", "whatsapp_template", "agent_login"]
    occurred_at: Instant
    list_id: ListId | None = None
    user_id: Reference | None = None
    customer_id: Reference | None = None
    direction: Direction | None = None
    to: PhoneNumber | None = None
    from_: Annotated[PhoneNumber | None, Field(alias="from")] = None
    duration_seconds: Annotated[StrictInt, Field(ge=0, le=86_400)] | None = None
    text: Annotated[StrictStr, Field(max_length=10_000)] | None = None
    segments: Annotated[StrictInt, Field(ge=1, le=1_000)] | None = None
    count: Annotated[StrictInt, Field(ge=1, le=10_000_000)] | None = None
    category: Literal["marketing", "utility", "authentication"] | None = None
    allow_debt: StrictBool = False


class UsageBatch(Request):
    # Each event is validated on its own so that one bad event fails alone.
    events: Annotated[list[dict[str, Any]], Field(min_length=1, max_length=1000)]


class QuoteEvent(Request):
    channel: Literal["voice", "sms", "email", "whatsapp_template", "agent_login"]
    direction: Direction | None = None
    to: PhoneNumber | None = None
    duration_seconds: Annotated[StrictInt, Field(ge=0, le=86_400)] | None = None
    text: Annotated[StrictStr, Field(max_length=10_000)] | None = None
    segments: Annotated[StrictInt, Field(ge=1, le=1_000)] | None = None
    count: Annotated[StrictInt, Field(ge=1, le=10_000_000)] | None = None
    category: Literal["marketing", "utility", "authentication"] | None = None


class QuoteRequest(Request):
    account_id: Annotated[StrictStr, Field(min_length=1, max_length=64)]
    occurred_at: Instant | None = None
    events: Annotated[list[dict[str, Any]], Field(min_length=1, max_length=1000)]


class AuthorizationCreate(Request):
    account_id: Annotated[StrictStr, Field(min_length=1, max_length=64)]
    channel: Literal["voice"] = "voice"
    direction: Direction = "outbound"
    to: PhoneNumber
    list_id: ListId | None = None


class AuthorizationCapture(Request):
    duration_seconds: Annotated[StrictInt, Field(ge=0, le=86_400)]
