"""Usage events, batches and quotes: the hot path."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from pydantic import TypeAdapter, ValidationError

from tollgate.accounts.service import get_account
from tollgate.api.app import Runtime
from tollgate.api.auth import OPERATOR, Caller, requires
from tollgate.api.deps import runtime
from tollgate.api.errors import describe_validation_error
from tollgate.api.schemas import (
    BatchAnswer,
    QuoteAnswer,
    QuoteEvent,
    QuoteRequest,
    UsageAnswer,
    UsageBatch,
    UsageEventIn,
)
from tollgate.errors import TollgateError
from tollgate.money import format_amount
from tollgate.rating.rater import RatableEvent
from tollgate.rating.service import PriceListResolver
from tollgate.usage.recorder import UsageRecorder
from tollgate.usage.service import UsageInput, quote

router = APIRouter(prefix="/v1", tags=["usage"])

_event_adapter = TypeAdapter(UsageEventIn)
_quote_adapter = TypeAdapter(QuoteEvent)


def usage_input(event: UsageEventIn) -> UsageInput:
    fields = event.model_dump()
    return UsageInput(**fields)


@router.post(
    "/usage",
    dependencies=[Depends(requires(OPERATOR))],
    response_model=None,
    responses={200: {"model": UsageAnswer}},
)
def post_usage(body: UsageEventIn, rt: Runtime = Depends(runtime)) -> dict:
    now = rt.clock.now()
    with rt.database.write() as session:
        (result,) = UsageRecorder(session, now=now).record([usage_input(body)])
        if isinstance(result, TollgateError):
            # Raised inside the transaction: a refused event leaves nothing behind, not
            # even the expiry its account's lock caught up on.
            raise result
    return result


def _error(event_id: str | None, exc: TollgateError) -> dict:
    return {"id": event_id, "error": {"code": exc.code, "message": exc.message}}


@router.post(
    "/usage/batch",
    dependencies=[Depends(requires(OPERATOR))],
    response_model=None,
    responses={200: {"model": BatchAnswer}},
)
def post_usage_batch(body: UsageBatch, rt: Runtime = Depends(runtime)) -> dict:
    """Up to 1,000 events in one transaction; each succeeds or fails on its own."""
    now = rt.clock.now()
    results: list[dict | None] = []
    valid: list[UsageInput] = []
    for raw in body.events:
        try:
            valid.append(usage_input(_event_adapter.validate_python(raw)))
            results.append(None)
        except ValidationError as exc:
            event_id = raw.get("id") if isinstance(raw.get("id"), str) else None
            results.append({"id": event_id, "error": describe_validation_error(exc.errors())})
    with rt.database.write() as session:
        recorded = UsageRecorder(session, now=now).record(valid)
    answers = iter(zip(valid, recorded, strict=True))
    for position, result in enumerate(results):
        if result is None:
            event, answer = next(answers)
            results[position] = answer if isinstance(answer, dict) else _error(event.id, answer)
    return {"results": results}


@router.post("/quotes", response_model=None, responses={200: {"model": QuoteAnswer}})
def post_quote(
    body: QuoteRequest,
    rt: Runtime = Depends(runtime),
    caller: Caller = Depends(requires("consumption.view")),
) -> dict:
    """Price hypothetical events at list price: nothing is charged or recorded."""
    caller.check_account(body.account_id)
    at = body.occurred_at or rt.clock.now()
    results: list[dict] = []
    total = 0
    with rt.database.read() as session:
        account = get_account(session, body.account_id)
        resolver = PriceListResolver(session)
        for index, raw in enumerate(body.events):
            try:
                event = _quote_adapter.validate_python(raw)
                (rating,) = quote(
                    session,
                    account,
                    [
                        RatableEvent(
                            **{**event.model_dump(), "direction": event.direction or "outbound"}
                        )
                    ],
                    at=at,
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
        return {
            "account_id": account.id,
            "unit": account.unit,
            "results": results,
            "total": format_amount(total),
        }
