"""Usage events: their input, how they are rated for an account, and their answer.

The hot path that records them is :mod:`tollgate.usage.recorder`.
"""

from __future__ import annotations

import hashlib
import json
import json.encoder
from collections.abc import Callable, Iterable
from dataclasses import dataclass, fields
from datetime import datetime
from operator import attrgetter
from typing import Any, cast

from sqlalchemy.orm import Session

from tollgate.errors import InvalidRequest
from tollgate.ledger import rules
from tollgate.ledger.batch import LedgerAccount
from tollgate.ledger.rules import Draw
from tollgate.money import format_amount
from tollgate.rating.rater import Ratable, RatableEvent, Rating
from tollgate.rating.service import PriceListResolver


@dataclass(frozen=True)
class UsageInput:
    """A usage event as the operator reports it (already validated at the edge)."""

    id: str
    account_id: str
    channel: str
    occurred_at: datetime
    list_id: str | None = None
    user_id: str | None = None
    customer_id: str | None = None
    direction: str | None = None
    to: str | None = None
    from_: str | None = None
    duration_seconds: int | None = None
    text: str | None = None
    segments: int | None = None
    count: int | None = None
    category: str | None = None
    allow_debt: bool = False

    def fingerprint(self) -> str:
        """A digest of the event's content: a replay must match it exactly.

        Stored digests are compared with replays, so this text must never change:
        the compact JSON (ASCII only) of the list of the field values, in field
        order, with ``occurred_at`` as its ``isoformat()``.
        """
        content = list(_field_values(self))
        content[3] = self.occurred_at.isoformat()
        return hashlib.sha256(_fast_compact_json(content).encode()).hexdigest()

    # Rating reads a UsageInput directly: it has every field of a RatableEvent (a
    # direction of None means outbound).


_FIELDS = tuple(f.name for f in fields(UsageInput))
_field_values = attrgetter(*_FIELDS)
_compact = json.JSONEncoder(separators=(",", ":"))
# What json.dumps(..., separators=(",", ":")) builds on every call.
_compact_json = _compact.encode
# How that encoder writes a str (ensure_ascii), quotes included.
_json_string = json.encoder.encode_basestring_ascii
assert _FIELDS[3] == "occurred_at"


def _one_shot_encoder() -> Callable[[object, int], Iterable[str]] | None:
    """The C encoder ``_compact_json`` makes anew on every call, made once.

    It is built with exactly the arguments ``JSONEncoder.iterencode`` gives it, but
    ``markers=None``: no dict of ids to watch for circular references. That changes
    no output, only the error a circular value ends in, and any error is retried
    with ``_compact_json`` itself (see ``_fast_compact_json``). None if this Python
    has no C encoder or it does not answer like ``_compact_json``.
    """
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None or _compact.indent is not None or not _compact.ensure_ascii:
        return None
    try:
        encoder = make(
            None,
            _compact.default,
            json.encoder.encode_basestring_ascii,
            _compact.indent,
            _compact.key_separator,
            _compact.item_separator,
            _compact.sort_keys,
            _compact.skipkeys,
            _compact.allow_nan,
        )
        probe = ['\u00e9"\\\n\x00\U0001f600', 1, -2, None, True, False, {"k": [2.5]}]
        if "".join(encoder(probe, 0)) != _compact_json(probe):
            return None
    except Exception:  # noqa: BLE001 - another Python's make_encoder: use the generic path
        return None
    return cast(Callable[[object, int], Iterable[str]], encoder)


_ONE_SHOT = _one_shot_encoder()


def _fast_compact_json(value: object) -> str:
    """``_compact_json(value)``, the same text, without re-making the C encoder."""
    if _ONE_SHOT is not None:
        try:
            return "".join(_ONE_SHOT(value, 0))
        except Exception:  # noqa: BLE001 - re-raised, as ever, by the generic encoder
            # Whatever went wrong, the generic encoder raises it as it always did.
            return _compact_json(value)
    return _compact_json(value)


def spending_tag(channel: str) -> str:
    """The tag lots' ``applies_to`` and revenue accounts know a channel by."""
    return "day_pass" if channel == "agent_login" else channel


def rate_for_account(
    resolver: PriceListResolver,
    account: LedgerAccount,
    event: Ratable,
    at: datetime,
) -> Rating:
    rating = resolver.rate(account.price_list_id, event, at)
    if rating.unit != account.unit:
        raise InvalidRequest(
            f"price list {account.price_list_id!r} prices in {rating.unit} but account "
            f"{account.id!r} holds {account.unit}",
            code="unratable",
        )
    rules.check_amount(rating.cost, "the cost of this event")
    return rating


def answer_of(
    *,
    event_id: str,
    unit: str,
    money: int,
    quantity: int,
    quantity_unit: str,
    draws: Iterable[Draw],
    debt: int,
    total: int,
    reserved: int,
) -> dict[str, Any]:
    """The answer to a recorded usage event (also what a replay answers)."""
    answer, _ = _answer(
        event_id,
        unit,
        money,
        quantity,
        quantity_unit,
        draws,
        debt,
        total,
        reserved,
        with_text=False,
    )
    return answer


def answer_of_with_json(
    *,
    event_id: str,
    unit: str,
    money: int,
    quantity: int,
    quantity_unit: str,
    draws: Iterable[Draw],
    debt: int,
    total: int,
    reserved: int,
) -> tuple[dict[str, Any], str]:
    """``answer_of(...)`` and the text stored for it: ``_compact_json`` of that answer.

    The text is written directly when every value has its plain type (str, int, as
    ``answer_of`` expects): amounts come from :func:`format_amount` of a plain int,
    which only ever holds ``-``, ``.`` and digits, so they need no escaping, and
    strings are escaped by the very function the JSON encoder uses. Anything else
    (a subclass, a None lot id...) is encoded by the generic encoder, so the text
    is always byte for byte ``_compact_json(answer)``.
    """
    answer, text = _answer(
        event_id, unit, money, quantity, quantity_unit, draws, debt, total, reserved, with_text=True
    )
    assert text is not None
    return answer, text


def _answer(
    event_id: Any,
    unit: Any,
    money: Any,
    quantity: Any,
    quantity_unit: Any,
    draws: Iterable[Draw],
    debt: Any,
    total: Any,
    reserved: Any,
    *,
    with_text: bool,
) -> tuple[dict[str, Any], str | None]:
    exact = with_text and (
        type(event_id) is str
        and type(unit) is str
        and type(quantity) is int
        and type(quantity_unit) is str
        and type(money) is int
        and type(debt) is int
        and type(total) is int
        and type(reserved) is int
    )
    cost = format_amount(money)
    paid_by = []
    paid_by_json = []
    for draw in draws:
        lot_id, draw_unit, amount = draw.lot_id, draw.unit, draw.amount
        formatted = format_amount(amount)
        paid_by.append({"lot_id": lot_id, "unit": draw_unit, "amount": formatted})
        if exact:
            if type(lot_id) is int and type(draw_unit) is str and type(amount) is int:
                paid_by_json.append(
                    f'{{"lot_id":{lot_id},"unit":{_json_string(draw_unit)},"amount":"{formatted}"}}'
                )
            else:
                exact = False
    owed = format_amount(debt)
    balance_total = format_amount(total)
    available = format_amount(total - reserved)
    answer = {
        "id": event_id,
        "cost": cost,
        "unit": unit,
        "quantity": quantity,
        "quantity_unit": quantity_unit,
        "paid_by": paid_by,
        "debt": owed,
        "balance": {"total": balance_total, "available": available},
    }
    if not exact:
        return answer, _compact_json(answer) if with_text else None
    return answer, (
        f'{{"id":{_json_string(event_id)},"cost":"{cost}","unit":{_json_string(unit)},'
        f'"quantity":{quantity},"quantity_unit":{_json_string(quantity_unit)},'
        f'"paid_by":[{",".join(paid_by_json)}],"debt":"{owed}",'
        f'"balance":{{"total":"{balance_total}","available":"{available}"}}}}'
    )


def quote(
    session: Session,
    account: LedgerAccount,
    events: list[RatableEvent],
    *,
    at: datetime,
    resolver: PriceListResolver,
) -> list[Rating]:
    """Price hypothetical events at list price; nothing is charged or recorded."""
    return [rate_for_account(resolver, account, event, at) for event in events]
