"""Usage events, batches and quotes: the hot path."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from pydantic import TypeAdapter, ValidationError

from tollgate.accounts.service import get_account
from tollgate.api.answers import answer, refusals
from tollgate.api.auth import OPERATOR, Caller, requires
from tollgate.api.deps import Runtime, runtime
from tollgate.api.errors import describe_validation_error
from tollgate.api.schemas import (
    BatchAnswer,
    QuoteAnswer,
    QuoteEvent,
    QuoteRequest,
    UsageAnswer,
    UsageBatch,
    UsageEventIn,
    UsageEventRecord,
)
from tollgate.clock import format_instant
from tollgate.errors import InvalidRequest, TollgateError
from tollgate.money import format_amount
from tollgate.rating.rater import RatableEvent
from tollgate.rating.service import PriceListResolver
from tollgate.usage.events import get_usage_event
from tollgate.usage.recorder import UsageRecorder
from tollgate.usage.service import UsageInput, quote

router = APIRouter(prefix="/v1", tags=["usage"], responses=refusals(402, 409))

_event_adapter = TypeAdapter(UsageEventIn)
_quote_adapter = TypeAdapter(QuoteEvent)


def usage_input(event: UsageEventIn, rt: Runtime, now: datetime) -> UsageInput:
    latest = now + timedelta(seconds=rt.settings.max_future_skew_seconds)
    if event.occurred_at > latest:
        raise InvalidRequest(
            f"occurred_at {format_instant(event.occurred_at)} is more than "
            f"{rt.settings.max_future_skew_seconds} seconds ahead of the server's clock "
            f"({format_instant(now)}); send the time the usage happened, with its time zone",
            code="occurred_at_in_future",
        )
    return UsageInput(**event.model_dump())


@router.post(
    "/usage",
    dependencies=[Depends(requires(OPERATOR))],
    response_model=UsageAnswer,
)
def post_usage(body: UsageEventIn, rt: Runtime = Depends(runtime)) -> JSONResponse:
    now = rt.clock.now()
    with rt.database.write() as session:
        (result,) = UsageRecorder(session, now=now).record([usage_input(body, rt, now)])
        if isinstance(result, TollgateError):
            # Raised inside the transaction: a refused event leaves nothing behind, not
            # even the expiry its account's lock caught up on.
            raise result
    return answer(UsageAnswer, result)


@router.get(
    "/usage/{account_id}/{event_id:path}",
    dependencies=[Depends(requires("consumption.view"))],
    response_model=UsageEventRecord,
)
def read_usage_event(
    account_id: str, event_id: str, rt: Runtime = Depends(runtime)
) -> JSONResponse:
    """One recorded event (a usage event or a captured call) and the answer it was given."""
    with rt.database.read() as session:
        get_account(session, account_id)
        event = get_usage_event(session, account_id, event_id)
        record = {
            "id": event.id,
            "account_id": event.account_id,
            "channel": event.channel,
            "occurred_at": format_instant(event.occurred_at),
            "list_id": event.list_id,
            "user_id": event.user_id,
            "customer_id": event.customer_id,
            "direction": event.direction,
            "to": event.to,
            "quantity": event.quantity,
            "quantity_unit": event.quantity_unit,
            "cost": format_amount(event.cost),
            "unit": event.unit,
            "allowance_used": event.allowance_used,
            "debt": format_amount(event.debt),
            "recorded_at": format_instant(event.recorded_at),
            "answer": json.loads(event.answer),
        }
    return answer(UsageEventRecord, record)


def _error(event_id: str | None, exc: TollgateError) -> dict[str, Any]:
    return {"id": event_id, "error": {"code": exc.code, "message": exc.message}}


@router.post(
    "/usage/batch",
    dependencies=[Depends(requires(OPERATOR))],
    response_model=BatchAnswer,
)
def post_usage_batch(body: UsageBatch, rt: Runtime = Depends(runtime)) -> JSONResponse:
    """Up to 1,000 events in one transaction; each succeeds or fails on its own."""
    now = rt.clock.now()
    results: list[dict[str, Any] | None] = []
    valid: list[UsageInput] = []
    for raw in body.events:
        try:
            valid.append(usage_input(_event_adapter.validate_python(raw), rt, now))
            results.append(None)
        except ValidationError as exc:
            event_id = raw.get("id") if isinstance(raw.get("id"), str) else None
            results.append({"id": event_id, "error": describe_validation_error(exc.errors())})
        except TollgateError as exc:
            event_id = raw.get("id") if isinstance(raw.get("id"), str) else None
            results.append(_error(event_id, exc))
    with rt.database.write() as session:
        recorded = UsageRecorder(session, now=now).record(valid)
    answers = iter(zip(valid, recorded, strict=True))
    for position, result in enumerate(results):
        if result is None:
            event, outcome = next(answers)
            results[position] = outcome if isinstance(outcome, dict) else _error(event.id, outcome)
    return answer(BatchAnswer, {"results": results})


def ratable(event: QuoteEvent) -> RatableEvent:
    return RatableEvent(
        channel=event.channel,
        direction=event.direction or "outbound",
        to=event.to,
        duration_seconds=event.duration_seconds,
        text=event.text,
        segments=event.segments,
        count=event.count,
        category=event.category,
    )


@router.post("/quotes", response_model=QuoteAnswer)
def post_quote(
    body: QuoteRequest,
    rt: Runtime = Depends(runtime),
    caller: Caller = Depends(requires("consumption.view")),
) -> JSONResponse:
    """Price hypothetical events at list price: nothing is charged or recorded."""
    caller.check_account(body.account_id)
    at = body.occurred_at or rt.clock.now()
    results: list[dict[str, Any]] = []
    total = 0
    with rt.database.read() as session:
        account = get_account(session, body.account_id)
        resolver = PriceListResolver(session)
        for index, raw in enumerate(body.events):
            try:
                event = _quote_adapter.validate_python(raw)
                if event.account_id not in (None, account.id):
                    raise InvalidRequest(
                        f"event account_id {event.account_id!r} is not the quote's "
                        f"account_id {account.id!r}; leave it out or make them equal",
                        code="account_mismatch",
                    )
                (rating,) = quote(
                    session,
                    account,
                    [ratable(event)],
                    at=event.occurred_at or at,
                    resolver=resolver,
                )
            except ValidationError as exc:
                results.append({"index": index, "error": describe_validation_error(exc.errors())})
                continue
            except TollgateError as exc:
                results.append(
                    {"index": index, "error": {"code": exc.code, "message": exc.message}}
                )
                continue
            total += rating.cost
            results.append(
                {
                    "index": index,
                    "cost": format_amount(rating.cost),
                    "unit": rating.unit,
                    "quantity": rating.quantity,
                    "quantity_unit": rating.quantity_unit,
                }
            )
        quoted = {
            "account_id": account.id,
            "unit": account.unit,
            "results": results,
            "total": format_amount(total),
        }
    return answer(QuoteAnswer, quoted)
