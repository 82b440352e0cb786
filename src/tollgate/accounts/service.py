"""Creating, reading and changing accounts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tollgate import ledger
from tollgate.accounts.models import Account
from tollgate.errors import Conflict, NotFound


def create_account(
    session: Session,
    *,
    account_id: str,
    name: str,
    unit: str,
    now: datetime,
    timezone: str = "UTC",
    country: str | None = None,
    price_list_id: str = "default",
) -> Account:
    if session.get(Account, account_id) is not None:
        raise Conflict(f"account {account_id!r} already exists", code="account_exists")
    account = Account(
        id=account_id,
        name=name,
        unit=unit,
        timezone=timezone,
        country=country,
        price_list_id=price_list_id,
        status="active",
        debt=0,
        created_at=now,
        updated_at=now,
    )
    session.add(account)
    ledger.open_pool(session, account_id, unit)
    try:
        session.flush()
    except IntegrityError as exc:  # a concurrent request created it first
        raise Conflict(f"account {account_id!r} already exists", code="account_exists") from exc
    return account


def account_not_found(account_id: str) -> NotFound:
    # Also the answer to an account key naming another account: the two must not differ.
    return NotFound(f"account {account_id!r} does not exist", code="account_not_found")


def get_account(session: Session, account_id: str) -> Account:
    account = session.get(Account, account_id)
    if account is None:
        raise account_not_found(account_id)
    return account


CHANGEABLE = ("name", "timezone", "country", "price_list_id")


def update_account(session: Session, account: Account, changes: dict, *, now: datetime) -> Account:
    for field_name, value in changes.items():
        if field_name not in CHANGEABLE:
            raise AssertionError(f"{field_name} cannot be changed")  # pragma: no cover
        setattr(account, field_name, value)
    account.updated_at = now
    session.flush()
    return account
