"""The FastAPI application factory."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import FastAPI

from tollgate import __version__
from tollgate.api.errors import install_error_handlers
from tollgate.clock import Clock, SystemClock
from tollgate.config import Settings
from tollgate.db import Database


@dataclass
class Runtime:
    """What every request needs: the store, the clock and the settings."""

    database: Database
    clock: Clock
    settings: Settings


def create_app(
    settings: Settings | None = None,
    *,
    database: Database | None = None,
    clock: Clock | None = None,
) -> FastAPI:
    from tollgate.api.routes import accounts, authorizations, credit, price_lists, reservations, usage

    settings = settings or Settings.from_env()
    database = database or Database(settings.database_url)
    app = FastAPI(
        title="Tollgate",
        version=__version__,
        description="Prepaid credit and usage billing for communication platforms.",
        openapi_url="/openapi.json",
    )
    app.state.runtime = Runtime(database=database, clock=clock or SystemClock(), settings=settings)
    install_error_handlers(app)
    app.include_router(accounts.router)
    app.include_router(credit.router)
    app.include_router(reservations.router)
    app.include_router(price_lists.router)
    app.include_router(usage.router)
    app.include_router(authorizations.router)
    return app
