"""Request and response shapes at the HTTP edge. Amounts are decimal strings here."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from fastapi import Path as PathParam
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
from tollgate.ledger.models import LOT_SOURCES
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


class Request(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra=no_nul_text)

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
    rights: Annotated[
        list[Literal[RIGHTS]],  # type: ignore[valid-type]  # RIGHTS is a tuple of literals
        Field(min_length=1, max_length=len(RIGHTS)),
    ]


class CreditGrant(Request):
    amount: PositiveAmount
    expires_at: Instant | None = None
    priority: Annotated[StrictInt, Field(ge=-1_000_000, le=1_000_000), WHOLE] = 100
    source: Annotated[
        StrictStr, Field(max_length=40, json_schema_extra={"enum": list(LOT_SOURCES)})
    ] = "grant"
    unit: Unit | None = None
    applies_to: Annotated[list[SpendingTag], Field(min_length=1, max_length=20)] | None = None
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

# Bounds that keep every product and sum in a signed 64-bit micros column (2^63 - 1 is
# about 9.2e18): one event costs at most MAX_COUNT × MAX_SEGMENTS × the highest price
# (MAX_PRICE_UNITS, with 6 decimals) = 1e5 × 1e3 × 1e10 micros = 1e18, and a call at
# most 86,400 s × 1e10 + a connect fee. Amounts (grants, reservations) stay below 1e9
# units = 1e15 micros each.
MAX_DURATION_SECONDS = 86_400
MAX_SEGMENTS = 1_000
MAX_COUNT = 100_000
MAX_PRICE_UNITS = 10_000  # a price (or connect fee) is below this, per `per` units
Duration = Annotated[StrictInt, Field(ge=0, le=MAX_DURATION_SECONDS), WHOLE]
Segments = Annotated[StrictInt, Field(ge=1, le=MAX_SEGMENTS), WHOLE]
Count = Annotated[
    StrictInt,
    Field(ge=1, le=MAX_COUNT, description="recipients (sms: the cost is count × segments)"),
    WHOLE,
]
Category = Literal["marketing", "utility", "authentication"]
Channel = Literal["voice", "sms", "email", "whatsapp_template", "agent_login"]
Reference = Annotated[StrictStr, Field(min_length=1, max_length=128)]
Direction = Literal["outbound", "inbound"]
PhoneNumber = Annotated[StrictStr, Field(min_length=1, max_length=32)]


def _requires_fields_of_channel(schema: dict[str, Any]) -> None:
    # What each channel needs to be rated, in the schema too (if/then, OpenAPI 3.1).
    no_nul_text(schema)

    def when(channel: str, then: dict[str, Any]) -> dict[str, Any]:
        return {
            "if": {"properties": {"channel": {"const": channel}}, "required": ["channel"]},
            "then": then,
        }

    def given(field: str, kind: str) -> dict[str, Any]:
        # Present and not null: null stands for "left out".
        return {"required": [field], "properties": {field: {"type": kind}}}

    # A call, an SMS and a WhatsApp template are priced by the number they go to.
    to = given("to", "string")
    schema["allOf"] = [
        when("voice", {"allOf": [given("duration_seconds", "integer"), to]}),
        when(
            "sms",
            {"allOf": [{"anyOf": [given("text", "string"), given("segments", "integer")]}, to]},
        ),
        when("whatsapp_template", {"allOf": [given("category", "string"), to]}),
        when("agent_login", given("user_id", "string")),
    ]


class EventFields(Request):
    """What rating reads of a usage event; the channel's own fields are checked when
    it is rated."""

    model_config = ConfigDict(json_schema_extra=_requires_fields_of_channel)

    channel: Channel
    list_id: ListId | None = None
    user_id: Reference | None = None
    customer_id: Reference | None = None
    direction: Direction | None = None
    to: PhoneNumber | None = None
    from_: Annotated[PhoneNumber | None, Field(alias="from")] = None
    duration_seconds: Duration | None = None
    text: Annotated[StrictStr, Field(max_length=10_000)] | None = None
    segments: Segments | None = None
    count: Count | None = None
    category: Category | None = None
    allow_debt: StrictBool = False

    @model_validator(mode="after")
    def _channel_fields(self) -> EventFields:
        if self.channel == "whatsapp_template" and self.category is None:
            raise PydanticCustomError(
                "category_required",
                "a whatsapp_template event needs 'category': marketing, utility or "
                "authentication (the template's category decides its price)",
            )
        if self.channel == "voice" and self.duration_seconds is None:
            raise PydanticCustomError(
                "duration_required", "a voice event needs 'duration_seconds' to be rated"
            )
        if self.channel == "sms" and self.text is None and self.segments is None:
            raise PydanticCustomError(
                "text_or_segments_required", "an sms event needs 'text' or 'segments' to be rated"
            )
        return self


AccountRef = Annotated[StrictStr, Field(min_length=1, max_length=64)]


class UsageEventIn(EventFields):
    """One usage event (SPEC §6)."""

    id: EventId
    account_id: AccountRef
    occurred_at: EventInstant


class UsageBatch(Request):
    # Each event is validated on its own so that one bad event fails alone.
    events: Annotated[list[dict[str, Any]], Field(min_length=1, max_length=1000)]


class QuoteEvent(EventFields):
    """A usage event's own fields; ``id``, ``account_id`` and ``occurred_at`` optional
    (``occurred_at`` picks the price-list version in force then)."""

    id: EventId | None = None
    account_id: AccountRef | None = None
    occurred_at: EventInstant | None = None


class QuoteRequest(Request):
    account_id: AccountRef
    occurred_at: EventInstant | None = None
    events: Annotated[list[dict[str, Any]], Field(min_length=1, max_length=1000)]


class AuthorizationCreate(Request):
    account_id: AccountRef
    channel: Literal["voice"] = "voice"
    direction: Direction = "outbound"
    to: PhoneNumber
    list_id: ListId | None = None


class AuthorizationCapture(Request):
    duration_seconds: Duration


# --- Answers ---------------------------------------------------------------------------
# What the routes answer, for /openapi.json: each route names one as its
# ``response_model`` and answers plain data of that shape (views.py, api/answers.py);
# tests/api/test_fuzz.py checks every answer against them.

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


class Alive(Answer):
    status: Literal["ok"]


class Ready(Answer):
    status: Literal["ready"]
    schema_: str = Field(alias="schema", description="the database schema's revision")


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
