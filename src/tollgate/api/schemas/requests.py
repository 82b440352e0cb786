"""What the API accepts: one pydantic model per request body."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    model_validator,
)
from pydantic.json_schema import SkipJsonSchema
from pydantic_core import PydanticCustomError

from tollgate.access.service import RIGHTS
from tollgate.api.schemas.fields import (
    WHOLE,
    Amount,
    Country,
    EntityId,
    EventInstant,
    Instant,
    ListId,
    PositiveAmount,
    SpendingTag,
    Timezone,
    Unit,
    no_nul_text,
)
from tollgate.ledger.models import LOT_SOURCES


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
