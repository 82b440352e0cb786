"""Request and response shapes at the HTTP edge. Amounts are decimal strings here."""

from __future__ import annotations

from datetime import UTC, datetime
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
    WithJsonSchema,
    model_validator,
)
from pydantic.json_schema import SkipJsonSchema
from pydantic_core import PydanticCustomError

from tollgate.access.service import RIGHTS
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


def _amount_schema(description: str) -> WithJsonSchema:
    # What a client sends, not the int the validator makes of it.
    return WithJsonSchema(
        {
            "type": "string",
            "pattern": r"^[0-9]{1,9}(\.[0-9]{1,6})?$",
            "examples": ["3.5"],
            "description": description,
        }
    )


# An amount in micros, given as a decimal string; positive unless said otherwise.
PositiveAmount = Annotated[
    int, _amount(allow_zero=False), _amount_schema("a decimal string, greater than zero")
]
Amount = Annotated[int, _amount(allow_zero=True), _amount_schema("a decimal string, zero or more")]


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


Timezone = Annotated[StrictStr, Field(min_length=1, max_length=64), AfterValidator(_timezone)]
Instant = Annotated[datetime, AfterValidator(_instant)]
EventInstant = Annotated[datetime, AfterValidator(_instant), AfterValidator(_event_instant)]
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
    # None stands for "left out": null is refused below, so the schema does not offer it.
    name: Annotated[StrictStr, Field(min_length=1, max_length=200)] | SkipJsonSchema[None] = None
    timezone: Timezone | SkipJsonSchema[None] = None
    country: Country | None = None
    price_list_id: EntityId | SkipJsonSchema[None] = None

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


class ApiKeyCreate(Request):
    name: Annotated[StrictStr, Field(min_length=1, max_length=200)]
    rights: Annotated[list[Literal[RIGHTS]], Field(min_length=1, max_length=len(RIGHTS))]


class CreditGrant(Request):
    amount: PositiveAmount
    expires_at: Instant | None = None
    priority: Annotated[StrictInt, Field(ge=-1_000_000, le=1_000_000)] = 100
    source: Annotated[
        StrictStr, Field(max_length=40, json_schema_extra={"enum": list(LOT_SOURCES)})
    ] = "grant"
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
    occurred_at: EventInstant
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


# --- Answers ---------------------------------------------------------------------------
# What the routes answer, for /openapi.json: the routes build plain dicts (see views.py)
# and name these in ``responses=``; tests/api/test_fuzz.py checks every answer against them.

AmountText = Annotated[str, Field(pattern=r"^-?[0-9]+(\.[0-9]+)?$", examples=["12.5"])]


class Answer(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorDetail(Answer):
    code: str = Field(description="stable, machine-readable: e.g. insufficient_credit")
    message: str = Field(description="what went wrong and what to do about it")


class ErrorAnswer(Answer):
    """Every 4xx and 5xx."""

    error: ErrorDetail


class AccountAnswer(Answer):
    id: str
    name: str
    unit: str
    timezone: str
    country: str | None
    price_list_id: str
    status: Literal["active", "blocked", "closed"]
    debt: AmountText
    created_at: datetime
    updated_at: datetime


class LotAnswer(Answer):
    id: int
    unit: str
    source: str
    amount: AmountText
    remaining: AmountText
    reserved: AmountText
    expires_at: datetime | None
    priority: int
    applies_to: list[str] | None


class GrantAnswer(LotAnswer):
    account_id: str
    created_at: datetime
    debt_paid: AmountText


class Figures(Answer):
    balance: AmountText
    reserved: AmountText
    available: AmountText


class ListFigures(Figures):
    list_id: str


class AllowanceFigures(Answer):
    unit: str
    remaining: AmountText
    reserved: AmountText
    available: AmountText


class BalanceAnswer(Answer):
    account_id: str
    unit: str
    total: AmountText
    reserved: AmountText
    available: AmountText
    unassigned: Figures
    lists: list[ListFigures]
    lots: list[LotAnswer]
    allowances: list[AllowanceFigures]


class AllocationAnswer(Figures):
    account_id: str
    list_id: str
    unit: str


class PostingAnswer(Answer):
    ledger_account: str
    unit: str
    amount: AmountText
    lot_id: int | None


class JournalEntryAnswer(Answer):
    id: int
    kind: str
    reference: str | None
    memo: str | None
    created_at: datetime
    postings: list[PostingAnswer]


class JournalPage(Answer):
    data: list[JournalEntryAnswer]
    has_more: bool
    next_after: int | None


class Hold(Answer):
    lot_id: int
    amount: AmountText


class Draw(Answer):
    lot_id: int
    unit: str
    amount: AmountText


class ReservationAnswer(Answer):
    id: str
    account_id: str
    unit: str
    list_id: str | None
    amount: AmountText
    held: AmountText
    captured: AmountText | None
    status: Literal["held", "captured", "released", "lapsed"]
    created_at: datetime
    expires_at: datetime | None
    ended_at: datetime | None
    holds: list[Hold] = Field(default=[], description="the lots the credit is held on")


class CaptureAnswer(ReservationAnswer):
    paid_by: list[Draw]


class UsageBalance(Answer):
    total: AmountText
    available: AmountText


class UsageAnswer(Answer):
    id: str
    cost: AmountText
    unit: str
    quantity: int
    quantity_unit: str
    paid_by: list[Draw]
    debt: AmountText
    balance: UsageBalance


class EventError(Answer):
    id: str | None
    error: ErrorDetail


class BatchAnswer(Answer):
    results: list[UsageAnswer | EventError] = Field(description="one per event, in order")


class QuoteLine(Answer):
    index: int
    cost: AmountText
    unit: str
    quantity: int
    quantity_unit: str


class QuoteError(Answer):
    index: int
    error: ErrorDetail


class QuoteAnswer(Answer):
    account_id: str
    unit: str
    results: list[QuoteLine | QuoteError]
    total: AmountText


class AuthorizationAnswer(Answer):
    id: str
    account_id: str
    status: Literal["active", "captured", "released"]
    granted_seconds: int
    expires_at: datetime
    max_seconds: int = Field(default=0, description="the longest the call may last (open, extend)")


class AuthorizationCaptureAnswer(AuthorizationAnswer):
    usage: UsageAnswer


class PriceRowAnswer(Answer):
    channel: str
    direction: str
    destination: str
    number_type: str
    category: str
    price: AmountText
    per: int
    increment: str | None
    connect_fee: AmountText | None


class PriceListVersionHeader(Answer):
    id: str
    version: int
    unit: str
    effective_from: datetime
    created_at: datetime
    row_count: int


class PriceListVersionAnswer(PriceListVersionHeader):
    rows: list[PriceRowAnswer]


class PriceListVersionListed(PriceListVersionHeader):
    in_force: bool


class PriceListVersionsPage(Answer):
    data: list[PriceListVersionListed]


class PriceListSummary(Answer):
    id: str
    versions: int


class PriceListsPage(Answer):
    data: list[PriceListSummary]


class ApiKeyAnswer(Answer):
    id: str
    name: str
    rights: list[str]
    created_at: datetime
    revoked_at: datetime | None


class ApiKeysPage(Answer):
    data: list[ApiKeyAnswer]


class ApiKeyIssued(Answer):
    id: str
    name: str
    rights: list[str]
    key: str = Field(description="the secret: shown in this answer only")


# --- Reads an operator expects: accounts listed, an authorization, a recorded event ---


class AccountPage(Answer):
    data: list[AccountAnswer] = Field(description="newest first")
    next_cursor: str | None = Field(
        description="pass as ?cursor= for the next page; null at the end"
    )


class AuthorizationRecord(Answer):
    id: str
    account_id: str
    direction: Direction
    to: str
    list_id: str | None
    status: Literal["active", "captured", "released"]
    granted_seconds: int
    created_at: datetime
    expires_at: datetime
    ended_at: datetime | None
    usage_event_id: str | None = Field(description="the usage event its capture recorded")


class UsageEventRecord(Answer):
    id: str
    account_id: str
    channel: str
    occurred_at: datetime
    list_id: str | None
    user_id: str | None
    customer_id: str | None
    direction: str | None
    to: str | None
    quantity: int
    quantity_unit: str
    cost: AmountText
    unit: str
    allowance_used: int = Field(description="allowance units used, e.g. plan seconds")
    debt: AmountText
    recorded_at: datetime
    answer: UsageAnswer = Field(description="the answer given when it was recorded")
