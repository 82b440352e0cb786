"""Probes for whatever runs Tollgate (a load balancer, Kubernetes): no key needed.

``/healthz`` answers as long as the process serves HTTP; ``/readyz`` only when the
database answers and its schema is the one this code expects, so that traffic is sent
only to an instance that can take it.
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError

from tollgate import migrate
from tollgate.api.answers import answer
from tollgate.api.deps import Runtime, runtime
from tollgate.api.errors import error_response
from tollgate.api.schemas import Alive, Ready

# Left out of the OpenAPI document: they are for the infrastructure, not API clients,
# and take no key (docs/reliability.md describes them).
router = APIRouter(include_in_schema=False)
log = logging.getLogger("tollgate.api")


@router.get("/healthz", response_model=Alive)
async def healthz() -> JSONResponse:
    """The process is up. (``async``: it must answer even when every worker thread is busy.)"""
    return answer(Alive, {"status": "ok"})


@router.get("/readyz", response_model=Ready)
def readyz(rt: Runtime = Depends(runtime)) -> JSONResponse:
    """The database answers and its schema is current."""
    try:
        current = migrate.is_current(rt.database)
    except SQLAlchemyError as exc:
        # The class only: a driver's message may name hosts and users.
        log.warning("not ready: the database is not reachable (%s)", type(exc).__name__)
        return error_response(503, "not_ready", "the database is not reachable")
    if not current:
        log.warning("not ready: the database schema is not current")
        return error_response(
            503, "not_ready", "the database schema is not current: run 'tollgate db upgrade'"
        )
    return answer(Ready, {"status": "ready", "schema": migrate.head_revision()})
