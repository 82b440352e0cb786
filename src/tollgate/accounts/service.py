"""Creating, reading and changing accounts."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tollgate import ledger
from tollgate.accounts.models import Account
from tollgate.clock import format_instant, parse_instant
from tollgate.errors import Conflict, InvalidRequest, NotFound


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
    try:
        session.flush()
    except IntegrityError as exc:  # a concurrent request created it first
        raise Conflict(f"account {account_id!r} already exists", code="account_exists") from exc
    ledger.open_pool(session, account_id, unit)
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


def update_account(
    session: Session, account: Account, changes: dict[str, Any], *, now: datetime
) -> Account:
    for field_name, value in changes.items():
        if field_name not in CHANGEABLE:
            raise AssertionError(f"{field_name} cannot be changed")  # pragma: no cover
        setattr(account, field_name, value)
    account.updated_at = now
    session.flush()
    return account


def list_accounts(
    session: Session,
    *,
    limit: int,
    cursor: str | None = None,
    status: str | None = None,
    only: str | None = None,
) -> tuple[list[Account], str | None]:
    """Accounts newest first, ``limit`` at a time; answers the page and the cursor of the
    next one (None on the last page). ``only`` restricts the list to one account (an
    account key sees its own account and nothing else)."""
    query = select(Account).order_by(Account.created_at.desc(), Account.id.desc())
    if status is not None:
        query = query.where(Account.status == status)
    if only is not None:
        query = query.where(Account.id == only)
    if cursor is not None:
        created_at, last_id = _read_cursor(cursor)
        query = query.where(
            or_(
                Account.created_at < created_at,
                and_(Account.created_at == created_at, Account.id < last_id),
            )
        )
    page = list(session.scalars(query.limit(limit + 1)))
    if len(page) <= limit:
        return page, None
    page = page[:limit]
    return page, _write_cursor(page[-1])


# A cursor is the sort key of the last account seen, so that a page never repeats or
# skips an account even while new ones are created. Opaque to clients.
def _write_cursor(account: Account) -> str:
    text = f"{format_instant(account.created_at)} {account.id}"
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _read_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        instant, last_id = text.split(" ", 1)
        return parse_instant(instant), last_id
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidRequest(
            "cursor is not one this API answered: pass next_cursor from the previous page",
            code="invalid_cursor",
        ) from None
