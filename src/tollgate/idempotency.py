"""Stored first answers of idempotent write requests.

A request carrying an idempotency key is answered once; a replay with the same key
and the same body gets the stored answer and changes nothing; the same key with a
different body is a conflict. The record is written in the same transaction as the
effect, so either both exist or neither does.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Integer, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from tollgate.db import Base, UTCDateTime
from tollgate.errors import Conflict


class IdempotencyRecord(Base):
    __tablename__ = "idempotency_records"

    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), primary_key=True)
    scope: Mapped[str] = mapped_column(String(40), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    response_body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


def fingerprint(payload: Any) -> str:
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def find_replay(
    session: Session, *, account_id: str, scope: str, key: str, request_hash: str
) -> tuple[int, Any] | None:
    """The stored answer for this key, or None when the key is new."""
    record = session.scalar(
        select(IdempotencyRecord).where(
            IdempotencyRecord.account_id == account_id,
            IdempotencyRecord.scope == scope,
            IdempotencyRecord.key == key,
        )
    )
    if record is None:
        return None
    if record.request_hash != request_hash:
        raise Conflict(
            f"idempotency key {key!r} was already used with a different request body",
            code="idempotency_conflict",
        )
    return record.status_code, json.loads(record.response_body)


def remember(
    session: Session,
    *,
    account_id: str,
    scope: str,
    key: str,
    request_hash: str,
    status_code: int,
    body: Any,
    now: datetime,
) -> None:
    session.add(
        IdempotencyRecord(
            account_id=account_id,
            scope=scope,
            key=key,
            request_hash=request_hash,
            status_code=status_code,
            response_body=json.dumps(body, separators=(",", ":")),
            created_at=now,
        )
    )


def answer_once(
    session: Session,
    *,
    account_id: str,
    scope: str,
    key: str | None,
    payload: Any,
    now: datetime,
    create: Callable[[], Any],
    status_code: int = 201,
) -> tuple[Any, bool]:
    """Run ``create`` once per key: answers ``(body, replayed)``.

    Without a key ``create`` simply runs. The caller holds the account's lock, so two
    requests with one key cannot both miss the record.
    """
    if not key:
        return create(), False
    request_hash = fingerprint(payload)
    replay = find_replay(
        session, account_id=account_id, scope=scope, key=key, request_hash=request_hash
    )
    if replay is not None:
        return replay[1], True
    body = create()
    remember(
        session,
        account_id=account_id,
        scope=scope,
        key=key,
        request_hash=request_hash,
        status_code=status_code,
        body=body,
        now=now,
    )
    return body, False
