"""Price lists (rate cards): versioned by ``effective_from``, operator-only."""

from __future__ import annotations

import re
from typing import Annotated, Any

import phonenumbers
from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import JSONResponse
from pydantic import BeforeValidator, ConfigDict, Field, StrictStr, WithJsonSchema
from pydantic_core import PydanticCustomError

from tollgate.api.answers import answer, refusals
from tollgate.api.auth import OPERATOR, requires
from tollgate.api.deps import Runtime, runtime
from tollgate.api.schemas import (
    MAX_PRICE_UNITS,
    Instant,
    PriceListIdInPath,
    PriceListsPage,
    PriceListVersionAnswer,
    PriceListVersionsPage,
    Request,
    Unit,
    WholeNumber,
    no_nul_text,
)
from tollgate.clock import format_instant
from tollgate.money import format_amount
from tollgate.rating import rater, rows, service
from tollgate.rating.rater import PriceRow
from tollgate.rating.service import StoredVersion, VersionHeader

router = APIRouter(
    prefix="/v1/price-lists",
    tags=["price lists"],
    dependencies=[Depends(requires(OPERATOR))],
    responses=refusals(409),
)


_PRICE = re.compile(r"^[0-9]{1,4}(\.[0-9]{1,6})?$")


def _decimal_string(value: object) -> object:
    # Bounded (schemas.MAX_PRICE_UNITS) so that no event's cost can pass 64 bits.
    if value is not None and not isinstance(value, str):
        raise PydanticCustomError(
            "invalid_amount", 'must be a decimal string such as "0.014", not a number'
        )
    if isinstance(value, str) and not _PRICE.fullmatch(value):
        raise PydanticCustomError(
            "invalid_amount",
            'must be a decimal string from "0" to "{top}" with at most 6 decimals, such as "0.014"',
            {"top": f"{MAX_PRICE_UNITS - 1}.999999"},
        )
    return value


DecimalString = Annotated[
    str,
    BeforeValidator(_decimal_string),
    WithJsonSchema({"type": "string", "pattern": _PRICE.pattern, "examples": ["0.014"]}),
]


def _row_rules(schema: dict[str, Any]) -> None:
    """What rating.service.parse_row accepts, in the schema too, so that a row the
    schema allows is a row the server stores (the service keeps the checks)."""
    no_nul_text(schema)
    star = rater.ANY
    fields = schema["properties"]
    fields["channel"]["enum"] = list(rater.CHANNELS)
    fields["direction"]["enum"] = [*rater.DIRECTIONS, star, None]
    fields["number_type"]["enum"] = [*rater.NUMBER_TYPES, star, None]
    fields["category"]["enum"] = [*rater.CATEGORIES, star, None]
    fields["destination"]["anyOf"] = [
        {"type": "string", "enum": [star, *sorted(phonenumbers.SUPPORTED_REGIONS)]},
        {"type": "string", "pattern": rows.PREFIX.pattern},
        {"type": "null"},
    ]
    fields["per"]["anyOf"] = [
        {"type": "integer", "minimum": 1, "maximum": rows.MAX_PER},
        {"type": "null"},
    ]
    # first/next seconds, each 1 to 86,400 (the pattern allows up to 9,999 of each).
    fields["increment"]["anyOf"] = [
        {"type": "string", "pattern": r"^[1-9][0-9]{0,3}/[1-9][0-9]{0,3}$"},
        {"type": "null"},
    ]
    absent = {"enum": [star, None]}
    unset: dict[str, Any] = {"type": "null"}

    def unless(channels: list[str], then: dict[str, Any]) -> dict[str, Any]:
        return {"if": {"properties": {"channel": {"enum": channels}}}, "else": then}

    schema["allOf"] = [
        unless(
            sorted(rater.ADDRESSED_CHANNELS),
            {"properties": {n: absent for n in ("direction", "destination", "number_type")}},
        ),
        unless(["whatsapp_template"], {"properties": {"category": absent}}),
        unless(["voice"], {"properties": {"increment": unset, "connect_fee": unset}}),
    ]


class PriceRowIn(Request):
    model_config = ConfigDict(json_schema_extra=_row_rules)

    channel: StrictStr = Field(
        max_length=32, description="voice, sms, email, whatsapp_template or day_pass"
    )
    direction: StrictStr | None = Field(
        None, max_length=32, description="outbound, inbound or * (default)"
    )
    destination: StrictStr | None = Field(
        None, max_length=32, description="ISO country (FR), E.164 prefix (+3933) or * (default)"
    )
    number_type: StrictStr | None = Field(
        None, max_length=32, description="mobile, fixed, toll_free, premium, … or * (default)"
    )
    category: StrictStr | None = Field(
        None,
        max_length=32,
        description="WhatsApp template category (marketing, utility, authentication) or *",
    )
    price: DecimalString = Field(
        max_length=40, description="decimal string, the price of `per` units"
    )
    per: WholeNumber | None = Field(
        None, description="units the price covers; 60 for voice, else 1"
    )
    increment: StrictStr | None = Field(
        None, max_length=32, description="voice: first/next seconds, default 60/60"
    )
    connect_fee: DecimalString | None = Field(
        None, max_length=40, description="voice: charged once per answered call"
    )


class PriceListPut(Request):
    unit: Unit
    effective_from: Instant | None = None
    rows: Annotated[list[PriceRowIn], Field(min_length=1, max_length=service.MAX_ROWS)]


def row_view(row: PriceRow) -> dict[str, Any]:
    voice = row.channel == "voice"
    return {
        "channel": row.channel,
        "direction": row.direction,
        "destination": row.destination,
        "number_type": row.number_type,
        "category": row.category,
        "price": format_amount(row.price),
        "per": row.per,
        "increment": row.increment if voice else None,
        "connect_fee": format_amount(row.connect_fee) if voice else None,
    }


def header_view(header: VersionHeader) -> dict[str, Any]:
    return {
        "id": header.price_list_id,
        "version": header.version,
        "unit": header.unit,
        "effective_from": format_instant(header.effective_from),
        "created_at": format_instant(header.created_at),
        "row_count": header.row_count,
    }


def version_view(stored: StoredVersion) -> dict[str, Any]:
    return {**header_view(stored.header), "rows": [row_view(row) for row in stored.card.rows]}


@router.put(
    "/{price_list_id}",
    status_code=201,
    response_model=PriceListVersionAnswer,
    responses={
        200: {"model": PriceListVersionAnswer, "description": "The same version again: unchanged"}
    },
)
def put_price_list(
    price_list_id: PriceListIdInPath, body: PriceListPut, rt: Runtime = Depends(runtime)
) -> JSONResponse:
    """Create a new version; older versions still rate events dated before it.

    Sending exactly the latest version again changes nothing and answers 200.
    """
    service.check_price_list_id(price_list_id)
    now = rt.clock.now()
    rows = [row.model_dump(exclude_none=True) for row in body.rows]
    with rt.database.write() as session:
        stored, created = service.put_price_list(
            session,
            price_list_id,
            unit=body.unit,
            rows=rows,
            now=now,
            effective_from=body.effective_from,
        )
        version = version_view(stored)
    return answer(PriceListVersionAnswer, version, status_code=201 if created else 200)


@router.get("", response_model=PriceListsPage)
def list_price_lists(rt: Runtime = Depends(runtime)) -> JSONResponse:
    with rt.database.read() as session:
        summaries = service.list_price_lists(session)
    page = {"data": [{"id": pid, "versions": count} for pid, count in summaries]}
    return answer(PriceListsPage, page)


@router.get("/{price_list_id}", response_model=PriceListVersionAnswer)
def get_price_list(
    price_list_id: PriceListIdInPath,
    at: Annotated[Instant | None, Query(description="instant (default: now)")] = None,
    rt: Runtime = Depends(runtime),
) -> JSONResponse:
    """The version in force now, or at ``at``."""
    moment = rt.clock.now() if at is None else at
    with rt.database.read() as session:
        version = version_view(service.get_price_list(session, price_list_id, at=moment))
    return answer(PriceListVersionAnswer, version)


@router.get(
    "/{price_list_id}/versions",
    response_model=PriceListVersionsPage,
)
def list_versions(price_list_id: PriceListIdInPath, rt: Runtime = Depends(runtime)) -> JSONResponse:
    now = rt.clock.now()
    with rt.database.read() as session:
        headers = service.list_versions(session, price_list_id)
    in_force = [h for h in headers if h.effective_from <= now]
    current = max(in_force, key=lambda h: (h.effective_from, h.version)) if in_force else None
    listed = [
        {**header_view(h), "in_force": current is not None and h.version == current.version}
        for h in headers
    ]
    return answer(PriceListVersionsPage, {"data": listed})


@router.get(
    "/{price_list_id}/versions/{version}",
    response_model=PriceListVersionAnswer,
)
def get_version(
    price_list_id: PriceListIdInPath,
    version: Annotated[int, Path(ge=1, le=2**31 - 1)],
    rt: Runtime = Depends(runtime),
) -> JSONResponse:
    with rt.database.read() as session:
        found = version_view(service.get_version(session, price_list_id, version))
    return answer(PriceListVersionAnswer, found)
