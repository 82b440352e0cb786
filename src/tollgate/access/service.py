"""Issuing, listing, revoking and recognising account API keys; what rights allow."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from tollgate.access.models import ApiKey
from tollgate.accounts.models import Account
from tollgate.errors import NotFound

ADMIN = "admin"
# SPEC §1, in the order keys list them.
RIGHTS = (ADMIN, "consumption.view", "credit.buy", "sms.send", "numbers.manage", "users.manage")
SECRET_PREFIX = "tg_"


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def canonical(rights: Iterable[str]) -> tuple[str, ...]:
    """The rights, each once, in the order of :data:`RIGHTS`."""
    wanted = set(rights)
    unknown = wanted - set(RIGHTS)
    if unknown:
        raise ValueError(f"unknown rights: {sorted(unknown)}")
    return tuple(right for right in RIGHTS if right in wanted)


def holds(rights: frozenset[str], right: str) -> bool:
    return ADMIN in rights or right in rights


def may_grant(granter: frozenset[str], rights: Iterable[str]) -> bool:
    """Whether a key holding ``granter`` may create (or revoke) a key holding ``rights``:
    never one more powerful than itself, and only admin makes admins."""
    if ADMIN in granter:
        return True
    wanted = set(rights)
    return ADMIN not in wanted and wanted <= granter


@dataclass(frozen=True)
class IssuedKey:
    key: ApiKey
    secret: str  # the only moment the secret exists outside its holder's hands


def issue_key(
    session: Session, account: Account, *, name: str, rights: Iterable[str], now: datetime
) -> IssuedKey:
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(
        id="key_" + secrets.token_hex(12),
        account_id=account.id,
        name=name,
        rights=",".join(canonical(rights)),
        hash=hash_secret(secret),
        created_at=now,
        revoked_at=None,
    )
    session.add(key)
    session.flush()
    return IssuedKey(key, secret)


def list_keys(session: Session, account_id: str) -> list[ApiKey]:
    return list(
        session.scalars(
            select(ApiKey)
            .where(ApiKey.account_id == account_id)
            .order_by(ApiKey.created_at, ApiKey.id)
        )
    )


def get_key(session: Session, account_id: str, key_id: str) -> ApiKey:
    key = session.scalar(select(ApiKey).where(ApiKey.account_id == account_id, ApiKey.id == key_id))
    if key is None:
        raise NotFound(
            f"account {account_id!r} has no API key {key_id!r}", code="api_key_not_found"
        )
    return key


def revoke_key(session: Session, key: ApiKey, *, now: datetime) -> None:
    """Revoking twice keeps the first instant (conditionally, so that two concurrent
    revocations cannot overwrite each other)."""
    session.execute(
        update(ApiKey)
        .where(ApiKey.id == key.id, ApiKey.revoked_at.is_(None))
        .values(revoked_at=now)
    )


def find_active_key(session: Session, secret: str) -> ApiKey | None:
    """The unrevoked key whose secret this is, if any."""
    key = session.scalar(select(ApiKey).where(ApiKey.hash == hash_secret(secret)))
    if key is None or key.revoked_at is not None:
        return None
    return key
