"""Turning domain objects into API answers (amounts as decimal strings)."""

from __future__ import annotations

from typing import Any

from tollgate.accounts.models import Account
from tollgate.clock import format_instant
from tollgate.ledger import BalanceView, Draw
from tollgate.ledger.models import JournalEntry, Lot, Posting, Reservation
from tollgate.money import format_amount


def account_view(account: Account) -> dict[str, Any]:
    return {
        "id": account.id,
        "name": account.name,
        "unit": account.unit,
        "timezone": account.timezone,
        "country": account.country,
        "price_list_id": account.price_list_id,
        "status": account.status,
        "debt": format_amount(account.debt),
        "created_at": format_instant(account.created_at),
        "updated_at": format_instant(account.updated_at),
    }


def lot_view(lot: Lot) -> dict[str, Any]:
    return {
        "id": lot.id,
        "unit": lot.unit,
        "source": lot.source,
        "amount": format_amount(lot.amount),
        "remaining": format_amount(lot.remaining),
        "reserved": format_amount(lot.reserved),
        "expires_at": format_instant(lot.expires_at),
        "priority": lot.priority,
        "applies_to": lot.applies_to_list,
    }


def _figures(balance: int, reserved: int) -> dict[str, Any]:
    return {
        "balance": format_amount(balance),
        "reserved": format_amount(reserved),
        "available": format_amount(balance - reserved),
    }


def balance_answer(view: BalanceView) -> dict[str, Any]:
    return {
        "account_id": view.account.id,
        "unit": view.account.unit,
        "total": format_amount(view.total),
        "reserved": format_amount(view.reserved),
        "available": format_amount(view.available),
        "unassigned": _figures(view.unassigned.balance, view.unassigned.reserved),
        "lists": [
            {"list_id": figures.list_id, **_figures(figures.balance, figures.reserved)}
            for figures in view.lists
        ],
        "lots": [lot_view(lot) for lot in view.lots],
        "allowances": [
            {
                "unit": unit,
                "remaining": format_amount(remaining),
                "reserved": format_amount(reserved),
                "available": format_amount(remaining - reserved),
            }
            for unit, remaining, reserved in view.allowances
        ],
    }


def draws_view(draws: list[Draw]) -> list[dict[str, Any]]:
    return [{"lot_id": d.lot_id, "unit": d.unit, "amount": format_amount(d.amount)} for d in draws]


def reservation_view(
    reservation: Reservation, holds: list[tuple[int, int]] | None = None
) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "id": reservation.id,
        "account_id": reservation.account_id,
        "unit": reservation.unit,
        "list_id": reservation.list_id,
        "amount": format_amount(reservation.amount),
        "held": format_amount(reservation.held),
        "captured": None if reservation.captured is None else format_amount(reservation.captured),
        "status": reservation.status,
        "created_at": format_instant(reservation.created_at),
        "expires_at": format_instant(reservation.expires_at),
        "ended_at": format_instant(reservation.ended_at),
    }
    if holds is not None:
        answer["holds"] = [
            {"lot_id": lot_id, "amount": format_amount(amount)} for lot_id, amount in holds
        ]
    return answer


def journal_entry_view(entry: JournalEntry, postings: list[Posting]) -> dict[str, Any]:
    return {
        "id": entry.id,
        "kind": entry.kind,
        "reference": entry.reference,
        "memo": entry.memo,
        "created_at": format_instant(entry.created_at),
        "postings": [
            {
                "ledger_account": posting.ledger_account,
                "unit": posting.unit,
                "amount": format_amount(posting.amount),
                "lot_id": posting.lot_id,
            }
            for posting in postings
        ],
    }
