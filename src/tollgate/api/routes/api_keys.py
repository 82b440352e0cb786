"""An account's API keys: create (the secret is answered this once), list, revoke."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Response
from fastapi.responses import JSONResponse

from tollgate.access import service as access
from tollgate.access.models import ApiKey
from tollgate.accounts.service import get_account
from tollgate.api.answers import answer
from tollgate.api.auth import Caller, requires
from tollgate.api.deps import Runtime, runtime
from tollgate.api.schemas import ApiKeyCreate, ApiKeyIssued, ApiKeysPage
from tollgate.clock import format_instant
from tollgate.errors import Forbidden

router = APIRouter(prefix="/v1/accounts", tags=["api keys"])

ManagesUsers = Depends(requires("users.manage"))


def key_view(key: ApiKey) -> dict[str, Any]:
    return {
        "id": key.id,
        "name": key.name,
        "rights": key.rights.split(","),
        "created_at": format_instant(key.created_at),
        "revoked_at": format_instant(key.revoked_at),
    }


@router.post("/{account_id}/api-keys", status_code=201, response_model=ApiKeyIssued)
def create_api_key(
    account_id: str,
    body: ApiKeyCreate,
    rt: Runtime = Depends(runtime),
    caller: Caller = ManagesUsers,
) -> JSONResponse:
    """``key`` is the secret: it is shown in this answer only, and only its hash is kept."""
    if not caller.may_grant(body.rights):
        raise Forbidden(
            "a key can only grant rights it holds itself, and only an admin key grants admin"
        )
    now = rt.clock.now()
    with rt.database.write() as session:
        account = get_account(session, account_id)
        issued = access.issue_key(session, account, name=body.name, rights=body.rights, now=now)
        key = {
            "id": issued.key.id,
            "name": issued.key.name,
            "rights": issued.key.rights.split(","),
            "key": issued.secret,
        }
    return answer(ApiKeyIssued, key, status_code=201)


@router.get("/{account_id}/api-keys", response_model=ApiKeysPage)
def list_api_keys(
    account_id: str, rt: Runtime = Depends(runtime), _: Caller = ManagesUsers
) -> JSONResponse:
    """Every key of the account, revoked ones included; never a secret."""
    with rt.database.read() as session:
        get_account(session, account_id)
        keys = [key_view(key) for key in access.list_keys(session, account_id)]
    return answer(ApiKeysPage, {"data": keys})


@router.delete(
    "/{account_id}/api-keys/{key_id}",
    status_code=204,
    response_class=Response,
    responses={204: {"description": "Revoked (or already revoked)"}},
)
def revoke_api_key(
    account_id: str, key_id: str, rt: Runtime = Depends(runtime), caller: Caller = ManagesUsers
) -> Response:
    """The key stops working at once. Revoking a revoked key changes nothing."""
    now = rt.clock.now()
    with rt.database.write() as session:
        get_account(session, account_id)
        key = access.get_key(session, account_id, key_id)
        if not caller.may_grant(key.right_set):
            raise Forbidden("a key can only revoke keys whose rights it holds itself")
        access.revoke_key(session, key, now=now)
    return Response(status_code=204)
