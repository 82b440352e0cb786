"""Who is calling, and what they may do: one dependency per route, ``requires(rule)``.

Every request carries ``Authorization: Bearer <key>``: an operator key (full access)
or an account key (one account, some rights; see :mod:`tollgate.access`). The checks
run in this order, the same for every route, before the body is looked at:

1. no, wrong or revoked key: 401 ``unauthorized``;
2. an account key naming another account — in the path (``account_id``) or through
   the id of a reservation or authorization that belongs to it: 404, the very answer
   a missing account, reservation or authorization gets, so that a key learns nothing
   about the accounts it cannot see;
3. a right the key lacks (or a route only the operator may call): 403 ``forbidden``.

An account named in a request *body* is checked by the route, once the body is valid,
with :meth:`Caller.check_account` (same 404).
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from fastapi import Depends, Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from tollgate.access import service as access
from tollgate.accounts.service import account_not_found
from tollgate.errors import Forbidden, NotFound, Unauthorized
from tollgate.ledger import reservation_not_found
from tollgate.ledger.models import Reservation
from tollgate.usage.authorizations import authorization_not_found
from tollgate.usage.models import Authorization

# The rule of routes that only the operator may call: no account key holds it, not
# even an admin one (usage, grants, price lists… are the operator's platform talking).
OPERATOR = "operator"


@dataclass(frozen=True)
class Caller:
    """The authenticated caller: the operator (``account_id`` None) or an account key."""

    account_id: str | None
    rights: frozenset[str]
    key_id: str | None = None

    @property
    def is_operator(self) -> bool:
        return self.account_id is None

    def holds(self, rule: str) -> bool:
        if self.is_operator:
            return True
        return rule != OPERATOR and access.holds(self.rights, rule)

    def may_grant(self, rights: Iterable[str]) -> bool:
        return self.is_operator or access.may_grant(self.rights, rights)

    def check_account(self, account_id: str) -> None:
        """404, exactly as for a missing account, unless the caller may see ``account_id``."""
        if not self.is_operator and account_id != self.account_id:
            raise account_not_found(account_id)


OPERATOR_CALLER = Caller(account_id=None, rights=frozenset(access.RIGHTS))


def authenticate(request: Request) -> Caller:
    """FastAPI dependency: the caller, or 401."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("send an API key as 'Authorization: Bearer <key>'")
    runtime = request.app.state.runtime
    if _is_operator_key(token, runtime.settings.operator_keys):
        caller = OPERATOR_CALLER
    else:
        # Looked up by its hash: the comparison the database makes reveals nothing
        # about the secret.
        with runtime.database.read() as session:
            key = access.find_active_key(session, token)
            if key is None:
                raise Unauthorized("the API key is not valid (unknown or revoked)")
            caller = Caller(account_id=key.account_id, rights=key.right_set, key_id=key.id)
    request.state.caller = caller
    return caller


def _is_operator_key(token: str, operator_keys: tuple[str, ...]) -> bool:
    # Compare against every key so that timing tells nothing about which one matched.
    matched = False
    for key in operator_keys:
        matched |= hmac.compare_digest(token.encode(), key.encode())
    return matched


def _reservation_owner(session: Session, reservation_id: str) -> str | None:
    return session.scalar(select(Reservation.account_id).where(Reservation.id == reservation_id))


def _authorization_owner(session: Session, authorization_id: str) -> str | None:
    return session.scalar(
        select(Authorization.account_id).where(Authorization.id == authorization_id)
    )


# Path parameters that name something belonging to one account: how to find that
# account, and the 404 a missing one answers.
_OWNED_BY_ID: dict[str, tuple[Callable[[Session, str], str | None], Callable[[str], NotFound]]] = {
    "reservation_id": (_reservation_owner, reservation_not_found),
    "authorization_id": (_authorization_owner, authorization_not_found),
}


class Requires:
    """FastAPI dependency: the caller, if it may use the route; ``rule`` is a right of
    SPEC §1 or :data:`OPERATOR`."""

    def __init__(self, rule: str) -> None:
        if rule != OPERATOR and rule not in access.RIGHTS:
            raise ValueError(f"unknown right {rule!r}")
        self.rule = rule

    def __call__(self, request: Request, caller: Caller = Depends(authenticate)) -> Caller:
        if caller.is_operator:
            return caller
        self._check_scope(request, caller)
        if not caller.holds(self.rule):
            if self.rule == OPERATOR:
                raise Forbidden("only the operator may do this; account keys cannot")
            raise Forbidden(f"this API key lacks the '{self.rule}' right")
        return caller

    @staticmethod
    def _check_scope(request: Request, caller: Caller) -> None:
        params = request.path_params
        if "account_id" in params:
            caller.check_account(params["account_id"])
        owned = [(name, value) for name, value in params.items() if name in _OWNED_BY_ID]
        if not owned:
            return
        with request.app.state.runtime.database.read() as session:
            for name, value in owned:
                owner_of, not_found = _OWNED_BY_ID[name]
                if owner_of(session, value) != caller.account_id:
                    raise not_found(value)

    def __repr__(self) -> str:
        return f"requires({self.rule!r})"


def requires(rule: str) -> Requires:
    """``Depends(requires("consumption.view"))`` on a route: who may call it."""
    return Requires(rule)
