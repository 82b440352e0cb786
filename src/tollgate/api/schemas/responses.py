"""What the API answers: one pydantic model per answer (``response_model``), and the
error model every refusal has."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
)

from tollgate.api.schemas.requests import (
    Direction,
)

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
